/**
 * NATS as discovery only (`GEN_CLUSTER_DISCOVERY=nats://...`, NatsDiscovery) with the TCP dist:
 * three node processes find each other through one real nats-server on loopback and connect by
 * the TCP mesh (each member is held by a TCP link to its dist port). A fourth node with another
 * cookie on the same server and namespace is never discovered (its announcements are not signed
 * with the cluster's key) and never a member. A node stopped gracefully leaves at once.
 */
import { NatsServer } from '../support/nats-server.js';
import { killAllNatsNodes, type NatsNode, fullMesh, startNatsNode } from '../support/nats-nodes.js';
import { TEST_COOKIE } from '../support/nodes.js';
import { until } from '../support/wait.js';

const names = ['d1', 'd2', 'd3'].map(n => `${n}@127.0.0.1`);
const STRANGER = 'x@127.0.0.1';

/** createCluster options: the TCP dist on an ephemeral port, NATS `discovery`. */
const tcpWith = (discovery: unknown, cookie = TEST_COOKIE) => ({
  dist: {
    strategy: 'tcp',
    cookie,
    port: 0,
    portMapper: false,
    heartbeatMs: 200,
    failureTimeoutMs: 1_000,
  },
  discovery,
  refreshIntervalMs: 200,
  backoff: { initialMs: 50, maxMs: 400 },
});

describe('NATS discovery for the TCP mesh (real nats-server)', () => {
  let server: NatsServer | undefined;
  let nodes: NatsNode[] = [];

  afterAll(async () => {
    await killAllNatsNodes();
    await server?.close();
  });

  it('finds the members through NATS and connects them by TCP; another cookie is never found', async () => {
    server = await NatsServer.start();
    const discovery = {
      strategy: 'nats',
      servers: [server.url],
      intervalMs: 200,
      failureTimeoutMs: 1_000,
    };
    nodes = await Promise.all([
      // the short form, as GEN_CLUSTER_DISCOVERY takes it
      startNatsNode(names[0]!, tcpWith(server.url)),
      ...names.slice(1).map(n => startNatsNode(n, tcpWith(discovery))),
      startNatsNode(STRANGER, tcpWith(discovery, 'another-cookie-0123456789')),
    ]);
    const members = nodes.slice(0, 3);
    const stranger = nodes[3]!;
    const startedAt = performance.now();
    await fullMesh(members, 10_000);
    console.log(
      `NATS discovery: three TCP nodes formed ${Math.round(performance.now() - startedAt)} ms after they were ready`,
    );

    // each member is held by a TCP link to the peer's dist port
    const states = await Promise.all(members.map(n => n.state()));
    for (const [i, state] of states.entries()) {
      expect(state.dist).toBe('tcp');
      const peers = names.filter((_, j) => j !== i);
      expect(state.members.sort()).toEqual(peers);
      for (const peer of peers) {
        const link = state.links?.[peer];
        expect(link).toBeTruthy();
        const peerPort = states[names.indexOf(peer)]!.port;
        // the link is ours to its listener, or its to ours
        expect(link!.remotePort === peerPort || link!.localPort === state.port).toBe(true);
      }
    }
    // the stranger heard nothing it could verify and connected to no one; no one saw it
    const strangerState = await stranger.state();
    expect(strangerState.members).toEqual([]);
    expect(strangerState.discovered).toEqual([]);
    for (const state of await Promise.all(members.map(n => n.state())))
      expect(state.discovered).not.toContain(STRANGER);
    for (const node of members)
      expect(node.lines.filter(l => l.event === 'connectFailed' && l.node === STRANGER)).toEqual(
        [],
      );

    // a graceful stop: the others drop it at once (reason left)
    const [d1, d2, d3] = members as [NatsNode, NatsNode, NatsNode];
    const marks = [d1.mark(), d2.mark()];
    const stoppedAt = performance.now();
    await d3.stop(3_000);
    await until(
      () =>
        [d1, d2].every((n, i) =>
          n.events('nodeDown', marks[i]).some(l => l.node === d3.node && l.reason === 'left'),
        ),
      3_000,
      'd3 left on d1 and d2',
    );
    console.log(
      `NATS discovery: a stopped node left its peers ${Math.round(performance.now() - stoppedAt)} ms after SIGTERM`,
    );
    expect(d3.lines.some(l => l.stopped)).toBe(true);
  });
});
