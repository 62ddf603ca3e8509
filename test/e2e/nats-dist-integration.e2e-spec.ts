/**
 * The NATS dist against a real nats-server (Debian's, on a free loopback port): three nodes in
 * this process, each a GenCluster on a NatsDist that is also its discovery. Short timings
 * (heartbeat 100 ms, failure timeout 500 ms) keep the suite to a few seconds.
 */
import {
  type ClusterEvent,
  GenCluster,
  type GenClusterOptions,
  type NodeDownReason,
} from '../../src/core/index.js';
import { NatsDist, type NatsDistOptions } from '../../src/nats/dist/index.js';
import { quietLogger } from '../support/dist-context.js';
import { NatsServer, stopAllNatsServers } from '../support/nats-server.js';
import { until } from '../support/wait.js';

const COOKIE = 'nats-dist-spec-cookie';
const HEARTBEAT = 100;
const FAILURE = 500;
/**
 * "Nobody is declared down" has no event to wait for: only a window shows it. A detector that
 * wrongly fired would do so one failure timeout (plus a heartbeat tick) into a silence, or into
 * the time after it ends. Twice the failure timeout of silence leaves four ticks of margin; one
 * and a half after its end, two ticks.
 */
const SILENCE_WINDOW = 2 * FAILURE;
const AFTER_WINDOW = 1.5 * FAILURE;

interface TestNode {
  readonly name: string;
  readonly dist: NatsDist;
  readonly cluster: GenCluster;
  readonly events: ClusterEvent[];
  downs(): { node: string; reason: NodeDownReason }[];
  members(): string[];
}

let server: NatsServer;
const running: TestNode[] = [];
let namespaceSeq = 0;

beforeAll(async () => {
  server = await NatsServer.start();
});

afterEach(async () => {
  await Promise.allSettled(running.splice(0).map(n => n.cluster.stop()));
});

afterAll(async () => {
  await stopAllNatsServers();
});

function distOptions(namespace: string, extra: Partial<NatsDistOptions> = {}): NatsDistOptions {
  return {
    servers: server.url,
    cookie: COOKIE,
    namespace,
    heartbeatIntervalMs: HEARTBEAT,
    failureTimeoutMs: FAILURE,
    reconnectTimeWaitMs: 50,
    requestTimeoutMs: 2_000,
    ...extra,
  };
}

async function startNode(
  name: string,
  namespace: string,
  extra: Partial<NatsDistOptions> = {},
  engine: Partial<GenClusterOptions> = {},
): Promise<TestNode> {
  const dist = new NatsDist(distOptions(namespace, extra));
  const node = `${name}@127.0.0.1`;
  const cluster = new GenCluster({
    node,
    discovery: dist.discovery(),
    dist,
    refreshIntervalMs: 200,
    logger: quietLogger,
    ...engine,
  });
  const events: ClusterEvent[] = [];
  cluster.events$.subscribe(event => events.push(event));
  await cluster.start();
  const test: TestNode = {
    name: node,
    dist,
    cluster,
    events,
    downs: () =>
      events.flatMap(e => (e.type === 'nodeDown' ? [{ node: e.node, reason: e.reason }] : [])),
    members: () => [...cluster.membership.members].sort(),
  };
  running.push(test);
  return test;
}

async function formCluster(names: string[], extra: Partial<NatsDistOptions> = {}) {
  const namespace = `spec-${process.pid}-${++namespaceSeq}`;
  const nodes = await Promise.all(names.map(n => startNode(n, namespace, extra)));
  await until(
    () =>
      nodes.every(
        n =>
          n.members().length === nodes.length - 1 &&
          n.cluster.health().discovered === nodes.length - 1,
      ),
    5_000,
    'every node to see and discover the others',
  );
  return { namespace, nodes };
}

describe('NatsDist with a real nats-server', () => {
  it('forms a cluster of three and carries requests, sends, broadcasts and requestAll', async () => {
    const { nodes } = await formCluster(['a', 'b', 'c']);
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    expect(a.members()).toEqual([b.name, c.name]);
    // leadership reads each member's announced start time
    const peerB = a.cluster.membership.members.includes(b.name);
    expect(peerB).toBe(true);
    expect(a.dist.members().find(p => p.node === b.name)?.meta).toEqual({
      startedAt: b.dist.startedAt,
    });

    const got: string[] = [];
    for (const n of nodes) {
      n.dist.messaging.on('echo', (payload: unknown, ctx) => {
        got.push(`${n.name}<-${ctx.from}:${String(payload)}`);
        return `${n.name}:${String(payload)}`;
      });
    }
    await expect(a.dist.messaging.request(b.name, 'echo', 'hi')).resolves.toBe(`${b.name}:hi`);
    a.dist.messaging.send(c.name, 'echo', 'one-way');
    expect(a.dist.messaging.broadcast('echo', 'all')).toBe(2);
    const all = await a.dist.messaging.requestAll!<string>('echo', 'q');
    expect(all.map(r => (r.ok ? r.value : r.error.message)).sort()).toEqual([
      `${b.name}:q`,
      `${c.name}:q`,
    ]);
    await until(() => got.length === 6, 2_000, 'the one-way messages');
    expect(got).toEqual(
      expect.arrayContaining([`${c.name}<-${a.name}:one-way`, `${b.name}<-${a.name}:all`]),
    );
    expect(a.dist.stats().nats.refusals).toEqual({});
  });

  it('keeps per-pair order and carries a 3 MiB binary message intact (fragments)', async () => {
    const { nodes } = await formCluster(['a', 'b']);
    const [a, b] = nodes as [TestNode, TestNode];
    const received: Buffer[] = [];
    b.dist.messaging.on('blob', (payload: Buffer) => void received.push(payload));
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32BE(i, i);
    const order: number[] = [];
    b.dist.messaging.on('seq', (n: number) => void order.push(n));
    a.dist.messaging.send(b.name, 'blob', big);
    for (let i = 0; i < 200; i++) a.dist.messaging.send(b.name, 'seq', i);
    await until(() => received.length === 1 && order.length === 200, 5_000, 'the big message');
    expect(Buffer.compare(received[0]!, big)).toBe(0);
    expect(order).toEqual([...Array(200).keys()]);
  });

  it('sees a gracefully stopped node leave at once, and a crashed one go down after the failure timeout', async () => {
    const { nodes } = await formCluster(['a', 'b', 'c']);
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    const leftAt = performance.now();
    await b.cluster.stop();
    await until(() => a.downs().length === 1, 2_000, 'b to be seen leaving');
    const leftAfter = performance.now() - leftAt;
    // reason left proves the goodbye was heard (silence would say heartbeatTimeout)
    expect(a.downs()).toEqual([{ node: b.name, reason: 'left' }]);
    console.log(`NATS dist: a graceful stop seen as left after ${Math.round(leftAfter)} ms`);

    const crashedAt = performance.now();
    await c.dist.crashForTest();
    await until(() => a.downs().length === 2, 3_000, 'c to be declared down');
    const downAfter = performance.now() - crashedAt;
    expect(a.downs()[1]).toEqual({ node: c.name, reason: 'heartbeatTimeout' });
    expect(downAfter).toBeGreaterThanOrEqual(FAILURE - 2 * HEARTBEAT);
    console.log(
      `NATS dist: left seen in ${leftAfter.toFixed(0)} ms, crash in ${downAfter.toFixed(0)} ms`,
    );
  });

  it('sees a restart under the same name as the old start down (restarted) and the new one up', async () => {
    const { namespace, nodes } = await formCluster(['a', 'b']);
    const [a, b] = nodes as [TestNode, TestNode];
    await b.dist.crashForTest();
    const b2 = await startNode('b', namespace);
    await until(() => a.events.filter(e => e.type === 'nodeUp').length === 2, 3_000, 'b again');
    expect(a.downs()).toEqual([{ node: b.name, reason: 'restarted' }]);
    await expect(a.dist.messaging.request(b2.name, 'none', 1)).rejects.toMatchObject({
      code: 'ERR_NO_HANDLER',
    });
  });

  it("under removalPolicy 'disconnect', admits heard nodes once its own discovery names them", async () => {
    const namespace = `spec-${process.pid}-${++namespaceSeq}`;
    // A long refresh interval: a new node is discovered through the refresh it asks for.
    const engine = { removalPolicy: 'disconnect' as const, refreshIntervalMs: 60_000 };
    const a = await startNode('a', namespace, {}, engine);
    const b = await startNode('b', namespace, {}, engine);
    await until(
      () => a.members().length === 1 && b.members().length === 1,
      3_000,
      'a and b to admit each other',
    );
    await expect(a.dist.disconnect({ node: b.name })).resolves.toBe(true);
    expect(a.downs()).toEqual([{ node: b.name, reason: 'disconnected' }]);
  });

  it('never admits a node without the cookie, nor delivers its messages or replays', async () => {
    const { namespace, nodes } = await formCluster(['a', 'b']);
    const [a, b] = nodes as [TestNode, TestNode];
    const handled: string[] = [];
    a.dist.messaging.on('t', (_p, ctx) => void handled.push(ctx.from));
    // A node of the same namespace with another cookie: well-formed but forged packets.
    const stranger = await startNode('x', namespace, { cookie: 'not-the-cookie' });
    // A raw client: garbage on the presence subject and a's inbox, and replays of real packets.
    const { connect } = await import('@nats-io/transport-node');
    const raw = await connect({ servers: server.url });
    try {
      const presence = `gc.${namespace}.p`;
      const inbox = `gc.${namespace}.n.${a.dist.incarnation!}`;
      const captured: Uint8Array[] = [];
      raw.subscribe(presence, { callback: (_e, m) => void captured.push(m.data) });
      const capturedFrames: Uint8Array[] = [];
      raw.subscribe(inbox, { callback: (_e, m) => void capturedFrames.push(m.data) });
      await raw.flush();
      b.dist.messaging.send(a.name, 't', 'real');
      await until(() => captured.length > 2 && capturedFrames.length > 0, 2_000, 'captures');
      for (const packet of captured.slice(0, 3)) raw.publish(presence, packet);
      for (const frame of capturedFrames) raw.publish(inbox, frame);
      raw.publish(presence, Buffer.from('GCNP garbage'));
      raw.publish(inbox, Buffer.from('garbage'));
      raw.publish(inbox, Buffer.alloc(0));
      expect(() => stranger.dist.messaging.send(a.name, 't', 'forged')).toThrow(
        expect.objectContaining({ code: 'ERR_NODE_DOWN' }),
      );
      await raw.flush();
      await until(
        () => {
          const r = a.dist.stats().nats.refusals;
          return (r['presence.badMac'] ?? 0) > 0 && (r['frame.replayed'] ?? 0) > 0;
        },
        2_000,
        'the refusals to be counted',
      );
      const refusals = a.dist.stats().nats.refusals;
      expect(refusals['presence.replayed']).toBeGreaterThan(0);
      expect(a.members()).toEqual([b.name]);
      expect(stranger.members()).toEqual([]);
      expect(handled).toEqual([b.name]);
    } finally {
      await raw.close();
    }
  });

  it('never brings a dead node back from a recording of its presence replayed to a start that never saw it', async () => {
    const { namespace, nodes } = await formCluster(['a', 'b']);
    const [a, b] = nodes as [TestNode, TestNode];
    const { connect } = await import('@nats-io/transport-node');
    const raw = await connect({ servers: server.url });
    try {
      const presence = `gc.${namespace}.p`;
      const bInbox = `gc.${namespace}.n.${b.dist.incarnation!}`;
      const recorded: Uint8Array[] = [];
      raw.subscribe(presence, { callback: (_e, m) => void recorded.push(m.data) });
      await raw.flush();
      await until(() => recorded.length > 6, 2_000, 'some presence recorded');
      await b.dist.crashForTest();
      await until(() => a.downs().length === 1, 2_000, 'b down');
      // A start that never heard b: the recording passes its replay guard, but b cannot answer.
      const c = await startNode('c', namespace);
      await until(() => c.members().length === 1, 2_000, 'c to see a');
      const asked: Uint8Array[] = [];
      raw.subscribe(bInbox, { callback: (_e, m) => void asked.push(m.data) });
      await raw.flush();
      for (const packet of recorded) raw.publish(presence, packet);
      await raw.flush();
      // c asks b's start to answer (a directed hello): it has read the replay.
      await until(() => asked.length > 0, 2_000, 'c to ask the replayed start');
      const deadline = performance.now() + AFTER_WINDOW;
      await until(() => performance.now() > deadline, AFTER_WINDOW + 500, 'the window');
      expect(c.members()).toEqual([a.name]);
      expect(c.events.filter(e => e.type === 'nodeUp' && e.node === b.name)).toEqual([]);
    } finally {
      await raw.close();
    }
  });

  it('declares nobody down while the server hangs unnoticed by the client (own presence not echoed)', async () => {
    const { nodes } = await formCluster(['a', 'b']);
    server.pause();
    try {
      // The client pings every 5 s: it does not notice a hang this short. Silence of everyone,
      // this node included, is this node's own link's fault: membership freezes.
      const from = performance.now();
      await until(() => performance.now() - from > SILENCE_WINDOW, 5_000, 'the hang');
      for (const n of nodes) expect(n.downs()).toEqual([]);
    } finally {
      server.resume();
    }
    const back = performance.now();
    await until(() => performance.now() - back > AFTER_WINDOW, 3_000, 'the window after');
    for (const n of nodes) {
      expect(n.downs()).toEqual([]);
      expect(n.members()).toHaveLength(1);
    }
  });

  it('freezes membership while NATS is down, and finds the same members after it restarts', async () => {
    const { namespace, nodes } = await formCluster(['a', 'b', 'c']);
    await server.kill();
    await until(
      () => nodes.every(n => n.events.some(e => e.type === 'distDisconnected')),
      3_000,
      'every node to report distDisconnected',
    );
    for (const n of nodes) {
      expect(n.cluster.health()).toMatchObject({ distConnected: false, dist: { listening: true } });
      // the dist's discovery fails while cut off: the last good answer stands
      expect(n.cluster.health().discovered).toBe(2);
    }
    // A node started while NATS is down: init resolves after firstConnectWaitMs, cut off.
    const d = await startNode('d', namespace, { firstConnectWaitMs: 100 });
    expect(d.events.map(e => e.type)).toContain('distDisconnected');
    const outageFrom = performance.now();
    // Down for two failure timeouts: silence must not declare anyone down.
    await until(() => performance.now() - outageFrom > SILENCE_WINDOW, 5_000, 'the outage');
    await expect(nodes[0]!.dist.messaging.request(nodes[1]!.name, 'x', 1)).rejects.toMatchObject({
      code: 'ERR_NODE_DOWN',
    });
    await server.restart();
    const all = [...nodes, d];
    await until(
      () => all.every(n => n.events.some(e => e.type === 'distConnected')),
      5_000,
      'every node to report distConnected',
    );
    await until(() => all.every(n => n.members().length === 3), 3_000, 'd to join everyone');
    // Beyond the failure timeout after the reconnect: everyone was heard again.
    const back = performance.now();
    await until(() => performance.now() - back > AFTER_WINDOW, 3_000, 'the window after');
    for (const n of all) {
      expect(n.downs()).toEqual([]);
      expect(n.members()).toHaveLength(3);
    }
  });
});
