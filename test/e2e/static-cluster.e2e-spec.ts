import { type SampleNode, TEST_COOKIE, startNode, stopAll } from '../support/nodes.js';
import { freeSharedPort } from '../support/ports.js';
import { until } from '../support/wait.js';

/**
 * The Kubernetes check of gen_cluster's CI (`length(nodes()) == 2` on each of three pods),
 * reproduced with processes: each "pod" has its own loopback address and all share one port.
 */
describe('three sample nodes on 127.0.0.2-4 with one fixed port and static discovery', () => {
  const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
  let nodes: SampleNode[] = [];
  let port = 0;

  beforeAll(async () => {
    port = await freeSharedPort(hosts);
    const names = hosts.map(h => `app@${h}`);
    nodes = await Promise.all(
      hosts.map(host =>
        startNode({
          GEN_CLUSTER_NODE: `app@${host}`,
          GEN_CLUSTER_PORT: String(port),
          GEN_CLUSTER_DISCOVERY: `static:${names.join(',')}`,
          GEN_CLUSTER_COOKIE: TEST_COOKIE,
        }),
      ),
    );
  });
  afterAll(stopAll);

  it('gives every node exactly the two others', async () => {
    await until(
      async () => (await Promise.all(nodes.map(n => n.members()))).every(m => m?.length === 2),
      15_000,
      'a full mesh of three',
    );
    for (const [i, node] of nodes.entries()) {
      const view = await node.cluster();
      expect(view.self).toBe(`app@${hosts[i]}`);
      expect(view.members).toEqual(hosts.filter((_, j) => j !== i).map(h => `app@${h}`));
    }
  });

  it('reports a node killed with SIGKILL as down on the others, and takes it back when it restarts', async () => {
    const [a, b, c] = nodes as [SampleNode, SampleNode, SampleNode];
    await c.kill();
    await until(
      async () => (await a.members())?.length === 1 && (await b.members())?.length === 1,
      5_000,
      'c to be reported down',
    );
    nodes[2] = await startNode({
      GEN_CLUSTER_NODE: 'app@127.0.0.4',
      GEN_CLUSTER_PORT: String(port),
      GEN_CLUSTER_DISCOVERY: `static:${hosts.map(h => `app@${h}`).join(',')}`,
    });
    await until(
      async () => (await Promise.all(nodes.map(n => n.members()))).every(m => m?.length === 2),
      20_000,
      'the restarted node to rejoin',
    );
  });
});

describe('failure detection between processes', () => {
  const hosts = ['127.0.0.5', '127.0.0.6', '127.0.0.7'];
  const names = hosts.map(h => `app@${h}`);
  let port = 0;
  let nodes: SampleNode[] = [];
  const env = (host: string) => ({
    GEN_CLUSTER_NODE: `app@${host}`,
    GEN_CLUSTER_PORT: String(port),
    GEN_CLUSTER_DISCOVERY: `static:${names.join(',')}`,
    GEN_CLUSTER_REFRESH_INTERVAL_MS: '1000',
  });
  const fullMesh = async () =>
    (await Promise.all(nodes.map(n => n.members()))).every(m => m?.length === 2);

  // One cluster for both tests (starting three Nest processes is most of a test's time): the
  // first one ends with the mesh whole again, and each test waits for a full mesh and judges only
  // the events that came after it.
  beforeAll(async () => {
    port = await freeSharedPort(hosts);
    nodes = await Promise.all(hosts.map(h => startNode(env(h))));
  });
  beforeEach(async () => {
    await until(fullMesh, 15_000, 'a full mesh of three');
  });
  afterAll(stopAll);

  it('declares a SIGSTOPped node down within the failure window (timeout ± heartbeat), and takes it back after SIGCONT', async () => {
    const [a, b, c] = nodes as [SampleNode, SampleNode, SampleNode];
    const before = (await a.changes()).length;
    c.signal('SIGSTOP');
    const stoppedAt = performance.now();
    await until(
      async () => (await a.members())?.length === 1 && (await b.members())?.length === 1,
      15_000,
      'c declared down',
      50,
    );
    const detectedAfter = performance.now() - stoppedAt;
    // defaults: heartbeat 1 s, failure timeout 5 s, so the window is 4-6 s; 2 s of slack above for
    // the polling and a loaded machine, none below: detecting early would be a bug.
    expect(detectedAfter).toBeGreaterThanOrEqual(4_000);
    expect(detectedAfter).toBeLessThan(8_000);
    const reasons = (await a.changes())
      .slice(before)
      .filter(e => e.type === 'nodeDown')
      .map(e => e.reason);
    expect(reasons).toEqual(['heartbeatTimeout']);
    c.signal('SIGCONT');
    await until(fullMesh, 20_000, 'c to rejoin after SIGCONT');
  });

  it('reports a graceful stop (SIGTERM) as "left"', async () => {
    const [a, b, c] = nodes as [SampleNode, SampleNode, SampleNode];
    const before = await Promise.all([a, b].map(async n => (await n.changes()).length));
    await c.stop();
    // Nest's shutdown hooks close the app, then re-raise the signal
    expect(c.exitCode === 0 || c.exitSignal === 'SIGTERM').toBe(true);
    await until(
      async () => (await a.members())?.length === 1 && (await b.members())?.length === 1,
      5_000,
      'c gone',
    );
    for (const [i, survivor] of [a, b].entries()) {
      const downs = (await survivor.changes()).slice(before[i]).filter(e => e.type === 'nodeDown');
      expect(downs).toEqual([expect.objectContaining({ node: 'app@127.0.0.7', reason: 'left' })]);
    }
  });
});
