import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BridgedHosts } from '../support/bridged-hosts.js';
import { NamespacedSample } from '../support/namespaced-samples.js';
import { HttpRelay } from '../support/netns.js';
import { until } from '../support/wait.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sampleMain = join(root, 'dist', 'sample', 'main.js');

/** Short gossip timings for every node: a peer unheard for 8 × 250 ms drops out. */
const INTERVAL_MS = 250;
const MISSED = 8;
const EXPIRY_MS = INTERVAL_MS * MISSED;
const gossip = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    strategy: 'gossip',
    intervalMs: INTERVAL_MS,
    missedIntervals: MISSED,
    ...extra,
  });

/**
 * Multicast gossip between real processes on real hosts: each node runs the built sample in its
 * own network namespace, all joined by one bridge (multicast crosses it, TTL 1), the only cluster
 * configuration being `GEN_CLUSTER_DISCOVERY` (gossip) and the shared cookie.
 *
 * - h0: zero configuration (no node name: `node-<pid>@<its address>`), multicast route;
 * - h1, h2: named, multicast route;
 * - h3: named, no multicast route, gossips through the `interface` option (an interface name);
 * - h4: another cluster namespace, same cookie: never discovered, discovers nobody;
 * - h5: neither route nor `interface`: reports ERR_GOSSIP_SOCKET with both fixes, never crashes.
 */
describe('gossip discovery between hosts on one bridge', () => {
  let net: BridgedHosts;
  /** One relay, in h0: it reaches every node's HTTP port across the bridge (unicast). */
  let relay: HttpRelay;
  let nodes: NamespacedSample[] = [];

  beforeAll(async () => {
    net = await BridgedHosts.create({
      count: 6,
      tag: 'gsp',
      multicastRoute: [true, true, true, false, true, false],
    });
    relay = await HttpRelay.start(net.hosts[0]!.namespace);
    const named = (i: number) => ({ GEN_CLUSTER_NODE: `n${i}@${net.address(i)}` });
    const envs: Record<string, string>[] = [
      { GEN_CLUSTER_DISCOVERY: gossip() },
      { ...named(1), GEN_CLUSTER_DISCOVERY: gossip() },
      { ...named(2), GEN_CLUSTER_DISCOVERY: gossip() },
      { ...named(3), GEN_CLUSTER_DISCOVERY: gossip({ interface: 'eth0' }) },
      { ...named(4), GEN_CLUSTER_DISCOVERY: gossip(), GEN_CLUSTER_NAMESPACE: 'other' },
      { ...named(5), GEN_CLUSTER_DISCOVERY: gossip() },
    ];
    const started = await Promise.allSettled(
      envs.map((env, i) =>
        NamespacedSample.start(
          net.hosts[i]!.namespace,
          relay,
          { ...env, HTTP_HOST: net.address(i) },
          { main: sampleMain, singleton: 'none', timeoutMs: 90_000 },
        ),
      ),
    );
    // Kept even when one failed, so afterAll stops the ones that started.
    nodes = started.flatMap(s => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find(s => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(nodes.map(n => n.process.kill()));
    await relay?.stop();
    net?.destroy();
  });

  const get = <T>(i: number, path: string) =>
    relay.get<T>(`http://${net.address(i)}:${nodes[i]!.http}${path}`);
  const view = (i: number) => get<{ self: string; members: string[] }>(i, '/cluster');
  const discovered = async (i: number) => (await get<string[]>(i, '/cluster/discovered')) ?? [];
  const selves: string[] = [];

  it('forms a full mesh with gossip alone, a zero-configuration name dialable at its address, and a host without a multicast route joining through the interface option', async () => {
    const mesh = [0, 1, 2, 3];
    for (const i of mesh) selves[i] = (await view(i))!.self;
    expect(selves[0]).toBe(`node-${nodes[0]!.process.pid}@${net.address(0)}`);
    const full = async () => {
      const views = await Promise.all(mesh.map(view));
      return views.every(
        (v, k) =>
          v !== undefined &&
          JSON.stringify(v.members) ===
            JSON.stringify(
              mesh
                .filter(j => j !== mesh[k])
                .map(j => selves[j])
                .sort(),
            ),
      );
    };
    await until(full, 10_000, 'a full mesh of h0-h3').catch(async error => {
      throw new Error(`${(error as Error).message}\n${nodes.map(n => n.tail(15)).join('\n')}`);
    });
  });

  it('never discovers a node of another namespace (same cookie), which discovers nobody', async () => {
    const other = (await view(4))!;
    for (const i of [0, 1, 2, 3]) expect(await discovered(i)).not.toContain(other.self);
    expect(await discovered(4)).toEqual([]);
    expect(other.members).toEqual([]);
    // h4 gossips fine (else this would prove nothing): no socket warning in its log
    expect(nodes[4]!.process.output.filter(l => l.includes('Gossip discovery cannot'))).toEqual([]);
  });

  it('reports a host with neither a multicast route nor the interface option, naming both fixes, and keeps running', async () => {
    const h5 = nodes[5]!;
    await until(
      () => h5.process.output.some(l => l.includes('ip route add 224.0.0.0/4 dev eth0')),
      5_000,
      'the route advice in h5 log',
    );
    const advice = h5.process.output.find(l => l.includes('ip route add 224.0.0.0/4'))!;
    expect(advice).toContain('"interface"');
    expect(h5.process.exitCode).toBeUndefined();
    expect((await view(5))?.members).toEqual([]);
    for (const i of [0, 1, 2, 3]) expect(await discovered(i)).not.toContain(`n5@${net.address(5)}`);
  });

  it('drops a gracefully stopped node at once (leaving), and a killed one after the missed intervals', async () => {
    const graceful = selves[2]!;
    await nodes[2]!.process.stop(5_000);
    // Had it not announced that it leaves, it would stay for about EXPIRY_MS after its exit.
    await until(
      async () => !(await discovered(0)).includes(graceful),
      EXPIRY_MS / 2,
      'h2 dropped on its leaving announcement',
    );

    const killed = selves[1]!;
    expect(await discovered(0)).toContain(killed);
    const killedAt = performance.now();
    await nodes[1]!.process.kill();
    await until(
      async () => !(await discovered(0)).includes(killed),
      EXPIRY_MS + 3_000,
      'h1 dropped after its silence',
    );
    expect(performance.now() - killedAt).toBeGreaterThanOrEqual(EXPIRY_MS - 2 * INTERVAL_MS);
    // h3 expires it on its own clock, at most a round and a refresh later
    await until(
      async () => !(await discovered(3)).includes(killed),
      4 * INTERVAL_MS,
      'h3 dropping h1',
    );
    expect((await view(0))!.members).toEqual([selves[3]]);
  });
});
