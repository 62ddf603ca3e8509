/**
 * The system topics on real parts: three GenClusters on an InMemoryNetwork, each with the real
 * Messaging and its SystemService, asked by one another through the SystemClient.
 */
import { type GenCluster, type MessagingDistStrategy, VERSION } from '../../core/index.js';
import { InMemoryNetwork } from '../../testing/index.js';
import { inMemoryEngine } from '../../../test/support/engine-harness.js';
import { until } from '../../../test/support/wait.js';
import { SystemService } from './system-service.js';
import { SYSTEM_TOPICS } from './system.types.js';

const A = 'a@test';
const B = 'b@test';
const C = 'c@test';

interface TestNode {
  readonly cluster: GenCluster;
  readonly system: SystemService;
}

describe('SystemService on an in-memory cluster', () => {
  let network: InMemoryNetwork;
  const started: TestNode[] = [];

  async function node(name: string, namespace?: string): Promise<TestNode> {
    const { cluster, dist } = inMemoryEngine(network, name, 50);
    const system = SystemService.attach(cluster, dist.messaging, namespace ? { namespace } : {});
    dist.messaging.on('user.echo', payload => payload);
    await cluster.start();
    const entry = { cluster, system };
    started.push(entry);
    return entry;
  }

  async function trio(): Promise<[TestNode, TestNode, TestNode]> {
    const nodes = [await node(A, 'ops'), await node(B), await node(C)] as const;
    await until(
      () =>
        nodes.every(
          n => n.cluster.nodes().length === 2 && n.cluster.discoveredPeers().length === 2,
        ),
      5_000,
      'a full mesh, every node discovered',
    );
    return [...nodes];
  }

  beforeEach(() => {
    network = new InMemoryNetwork();
  });

  afterEach(async () => {
    for (const entry of started.splice(0)) {
      entry.system.close();
      await entry.cluster.stop();
    }
  });

  it('answers info with version, members, peers, user topics only and recent events', async () => {
    const [a, b] = await trio();
    const info = await b.system.client.info(A);
    expect(info).toMatchObject({
      v: 1,
      node: A,
      version: VERSION,
      namespace: 'ops',
      dist: a.cluster.strategies.dist.name,
      state: 'running',
      members: [B, C],
      discovered: [B, C],
    });
    expect(info.peers.map(p => p.node).sort()).toEqual([B, C]);
    expect(info.served).toEqual([{ topic: 'user.echo', kind: 'handler' }]);
    const ups = info.events.filter(e => e.type === 'nodeUp').map(e => e.node);
    expect(ups.sort()).toEqual([B, C]);
    expect(info.seq).toBe(info.events.at(-1)!.seq);
    expect((await b.system.client.info(B)).namespace).toBeUndefined();
  });

  it('pings a peer and itself, in milliseconds', async () => {
    const [a] = await trio();
    const rtt = await a.system.client.ping(B);
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(rtt).toBeLessThan(1_000);
    expect(await a.system.client.ping(A)).toBeGreaterThanOrEqual(0);
  });

  it('pages events after a sequence number, with nodeDown and its reason', async () => {
    const [a, , c] = await trio();
    const before = await a.system.client.events(B, 0);
    expect(before.gap).toBe(false);
    expect(before.events.length).toBeGreaterThan(0);
    network.leave(
      c.cluster.strategies.dist as ReturnType<InMemoryNetwork['dist']>,
      'connectionClosed',
    );
    await until(() => a.cluster.nodes().length === 1, 5_000, 'c gone from a');
    const after = await a.system.client.events(B, before.seq);
    expect(after.events.map(e => [e.type, e.node, e.reason])).toContainEqual([
      'nodeDown',
      C,
      'connectionClosed',
    ]);
    expect(after.events.every(e => e.seq > before.seq)).toBe(true);
  });

  it('gives an overview of every node, itself included, sorted', async () => {
    const [a] = await trio();
    const overview = await a.system.client.overview({ timeoutMs: 2_000 });
    expect(overview.self).toBe(A);
    expect(overview.nodes.map(n => n.node)).toEqual([A, B, C]);
    for (const entry of overview.nodes) {
      expect(entry.ok).toBe(true);
      if (entry.ok) expect(entry.info.members).toHaveLength(2);
    }
  });

  it('marks a node without system topics as older; ping still measures it', async () => {
    const [a, b] = await trio();
    b.system.close();
    const overview = await a.system.client.overview({ timeoutMs: 2_000 });
    expect(overview.nodes.find(n => n.node === B)).toMatchObject({ ok: false, older: true });
    await expect(a.system.client.info(B)).rejects.toMatchObject({ code: 'ERR_NO_HANDLER' });
    expect(await a.system.client.ping(B)).toBeGreaterThanOrEqual(0);
  });

  it('registers the reserved topics, which user code may not take', async () => {
    const [a] = await trio();
    const messaging = a.cluster.strategies.dist as ReturnType<InMemoryNetwork['dist']>;
    expect(() => messaging.messaging.on(SYSTEM_TOPICS.info, () => 1)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_TOPIC' }) as Error,
    );
  });

  it('tells each start apart by a boot id, the same in info and in events pages', async () => {
    const [a, b] = await trio();
    const info = await b.system.client.info(A);
    const page = await b.system.client.events(A, 0);
    expect(info.boot).toMatch(/^[0-9a-f-]{36}$/);
    expect(page.boot).toBe(info.boot);
    expect((await b.system.client.info(B)).boot).not.toBe(info.boot);
    // A new start of A's system service (what a restarted node has): a new id.
    a.system.close();
    const again = SystemService.attach(
      a.cluster,
      (a.cluster.strategies.dist as MessagingDistStrategy).messaging,
    );
    try {
      const restarted = await b.system.client.events(A, 0);
      expect(restarted.boot).toMatch(/^[0-9a-f-]{36}$/);
      expect(restarted.boot).not.toBe(info.boot);
    } finally {
      again.close();
    }
  });
});
