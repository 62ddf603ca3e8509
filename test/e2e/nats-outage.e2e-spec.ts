/**
 * NATS entirely down, under a formed cluster of node processes on the NATS dist (heartbeat 200 ms,
 * failure timeout 1 s, one real nats-server on loopback): the server is killed with SIGKILL for
 * three failure timeouts, then started again on the same port.
 *
 * While it is down: every node emits `distDisconnected`, and reads not ready with reason
 * `distDisconnected` once the outage outlasts the readiness grace; no node emits nodeDown (membership is frozen: a node cut off cannot tell who
 * is alive); a node started meanwhile starts (neither hangs nor fails) and reports itself
 * disconnected; a node killed meanwhile stays a member, frozen.
 * Once NATS is back: `distConnected` everywhere, the killed node declared down
 * (`heartbeatTimeout`) within the failure timeout of the reconnect, the others all members again
 * with no nodeDown, the node started during the outage joined, every node ready.
 * Then NATS frozen (SIGSTOP) as long: nothing closes, every node only stops hearing (itself
 * included, so it freezes its membership before any peer's silence counts): no nodeDown.
 * The 31 s outage of the issue, with default timings: test/soak/nats-outage.soak-spec.ts.
 */
import { NatsServer } from '../support/nats-server.js';
import {
  killAllNatsNodes,
  type NatsNode,
  fullMesh,
  natsNodeOptions,
  startNatsNode,
} from '../support/nats-nodes.js';
import { until } from '../support/wait.js';

const FAILURE_TIMEOUT_MS = 1_000;
const OUTAGE_MS = 3 * FAILURE_TIMEOUT_MS;
/**
 * Readiness tolerates a broker outage this long (discoveryGraceMs; 30 s by default), then says
 * distDisconnected: every pod loses the broker at once, and a blip must not empty the Service.
 */
const GRACE_MS = OUTAGE_MS / 2;
const readiness = { discoveryGraceMs: GRACE_MS };
const names = ['o1', 'o2', 'o3'].map(n => `${n}@127.0.0.1`);
const LATE = 'o4@127.0.0.1';

describe('NATS down, then back (real nats-server)', () => {
  let server: NatsServer | undefined;
  let nodes: NatsNode[] = [];

  /**
   * `node` says it is cut off; its readiness is up within the grace, down (`distDisconnected`)
   * after it.
   */
  async function expectCutOff(node: NatsNode) {
    const state = await node.state();
    expect(state.health.distConnected).toBe(false);
    const outageMs = state.health.distDisconnectedForMs;
    expect(outageMs).toEqual(expect.any(Number));
    if (outageMs! > GRACE_MS)
      expect(state.ready).toMatchObject({ up: false, reason: 'distDisconnected' });
    else expect(state.ready.up).toBe(true);
    return state;
  }

  afterAll(async () => {
    await killAllNatsNodes();
    await server?.close();
  });

  it('freezes membership while NATS is down, starts a node meanwhile, and recovers when it is back', async () => {
    server = await NatsServer.start();
    const options = natsNodeOptions(server.url, {
      failureTimeoutMs: FAILURE_TIMEOUT_MS,
      reconnectTimeWaitMs: 200,
    });
    nodes = await Promise.all(names.map(n => startNatsNode(n, options, { readiness })));
    await fullMesh(nodes, 10_000);
    const [o1, o2, o3] = nodes as [NatsNode, NatsNode, NatsNode];
    const marks = nodes.map(n => n.mark());

    await server.kill();
    const downAt = performance.now();
    await until(
      () => nodes.every((n, i) => n.events('distDisconnected', marks[i]).length === 1),
      5_000,
      'distDisconnected on every node',
    );
    const noticedMs = Math.round(performance.now() - downAt);
    for (const node of nodes) await expectCutOff(node);

    // a node started while NATS is down starts (after the first connect wait) and says it is cut off
    const startedAt = performance.now();
    const [late] = await Promise.all([
      startNatsNode(LATE, options, { timeoutMs: 20_000, readiness }),
      o3.kill(), // and a node dies during the outage
    ]);
    nodes.push(late);
    const lateStartMs = Math.round(performance.now() - startedAt);
    expect(late.events('distDisconnected')).toHaveLength(1);
    await expectCutOff(late);

    // The outage's length is what the test is about: waited out, not a condition.
    await until(() => performance.now() - downAt > OUTAGE_MS, OUTAGE_MS + 1_000, 'the outage', 50);
    for (const [i, node] of [o1, o2].entries()) {
      // cut off longer than the grace by now: not ready
      expect((await expectCutOff(node)).ready).toMatchObject({
        up: false,
        reason: 'distDisconnected',
      });
      expect(node.since(marks[i]!).filter(l => l.event === 'nodeDown')).toEqual([]);
      expect((await node.state()).members.sort()).toEqual(names.filter(n => n !== node.node));
    }

    await server.restart();
    const backAt = performance.now();
    const live = [o1, o2, late];
    await until(
      () => live.every((n, i) => n.events('distConnected', i < 2 ? marks[i] : 0).length === 1),
      5_000,
      'distConnected on every live node',
    );
    const reconnectedMs = Math.round(performance.now() - backAt);
    // o3 died during the outage: declared down within the failure timeout of the reconnect
    await until(
      () => [o1, o2].every(n => n.events('nodeDown').some(l => l.node === o3.node)),
      FAILURE_TIMEOUT_MS + 4_000,
      'o3 declared down after the reconnect',
      10,
    );
    const o3DownMs = Math.round(performance.now() - backAt);
    // counted from the reconnect (generous: a tick, a heartbeat and a loaded machine on top)
    expect(o3DownMs - reconnectedMs).toBeLessThan(FAILURE_TIMEOUT_MS + 2_000);
    await fullMesh(live, 5_000);
    const joinedMs = Math.round(performance.now() - backAt);
    for (const [i, node] of [o1, o2].entries())
      expect(node.since(marks[i]!).filter(l => l.event === 'nodeDown')).toEqual([
        expect.objectContaining({ node: o3.node, reason: 'heartbeatTimeout' }),
      ]);
    expect(late.events('nodeDown')).toEqual([]);
    for (const node of live) {
      const state = await node.state();
      expect(state.health.distConnected).not.toBe(false);
      expect(state.ready.up).toBe(true);
    }
    nodes = live;
    const downFor = live.flatMap(n => n.events('distConnected').map(l => l.downForMs));
    console.log(
      `NATS outage of ${OUTAGE_MS} ms: distDisconnected on all ${noticedMs} ms after the kill; a node started meanwhile was ready in ${lateStartMs} ms; after the restart: distConnected on all in ${reconnectedMs} ms (downForMs ${downFor.join(', ')}), the node killed meanwhile down in ${o3DownMs} ms (failure timeout ${FAILURE_TIMEOUT_MS} ms), the late node joined in ${joinedMs} ms`,
    );
  });

  it('keeps the members through NATS frozen (SIGSTOP) past the failure timeout: silence, no close', async () => {
    await fullMesh(nodes, 5_000);
    const marks = nodes.map(n => n.mark());
    server!.pause();
    const frozenAt = performance.now();
    try {
      // nothing closes: each node only stops hearing everyone, itself included. Its own presence
      // not coming back freezes its membership before any peer's silence counts.
      await until(
        () => performance.now() - frozenAt > OUTAGE_MS,
        OUTAGE_MS + 1_000,
        'the freeze',
        50,
      );
    } finally {
      server!.resume();
    }
    const resumedAt = performance.now();
    await fullMesh(nodes, 5_000);
    // a nodeDown for the freeze would come within a failure timeout of the thaw: that window is
    // what is checked, so it is waited out
    await until(
      () => performance.now() - resumedAt > 2 * FAILURE_TIMEOUT_MS,
      2 * FAILURE_TIMEOUT_MS + 1_000,
      'two failure timeouts after the resume',
      50,
    );
    for (const [i, node] of nodes.entries()) {
      expect(
        node.since(marks[i]!).filter(l => l.event === 'nodeDown' || l.event === 'nodeUp'),
      ).toEqual([]);
      expect((await node.state()).members.sort()).toEqual(
        nodes
          .filter(o => o !== node)
          .map(o => o.node)
          .sort(),
      );
    }
    const reported = nodes.filter((n, i) => n.events('distDisconnected', marks[i]).length > 0);
    console.log(
      `NATS frozen ${OUTAGE_MS} ms: no nodeDown; distDisconnected reported by ${reported.length} of ${nodes.length} nodes (the client's pings notice a silent server after about two ping intervals)`,
    );
  });
});
