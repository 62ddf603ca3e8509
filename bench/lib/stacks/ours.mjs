// This library, as an application uses it without Nest: a GenCluster with static discovery on the
// built-in TCP mesh dist (defaults unless stated: msgpack payloads, heartbeat 1 s, failure
// timeout 5 s, queue bounds 64 MiB / 10,000 messages), imported from the build (dist/src, or
// BENCH_DIST).
import { firstValueFrom, filter, timeout } from 'rxjs';
import { distUrl, messagingClient, now, payloadOf, yieldTurn } from '../common.mjs';

const lib = await import(distUrl('index.js'));
const { GenCluster, StaticDiscovery, TcpDist } = lib;

export const COOKIE = 'bench-cookie-3f9c2a7d41e8b6c0';
export const quiet = label => ({
  log: () => undefined,
  warn: m => process.stderr.write(`[${label}] warn ${m}\n`),
  error: m => process.stderr.write(`[${label}] error ${m}\n`),
});

/** Starts one node; `report` gets membership and up/down events stamped with the wall clock. */
export async function startNode({ name, port = 0, peers = [], dist = {}, scheduler = {} }, report) {
  const tcp = new TcpDist({ cookie: COOKIE, port, ...dist });
  const cluster = new GenCluster({
    node: name,
    discovery: new StaticDiscovery(peers),
    dist: tcp,
    logger: quiet(name),
    ...scheduler,
  });
  if (report) {
    cluster.membership$.subscribe(m => report({ ev: 'members', t: now(), n: m.members.length }));
    cluster.events$.subscribe(e => {
      if (e.type === 'nodeDown') report({ ev: 'down', t: now(), node: e.node, reason: e.reason });
      else if (e.type === 'nodeUp') report({ ev: 'up', t: now(), node: e.node });
    });
  }
  await cluster.start();
  let received = 0;
  tcp.messaging.on('echo', p => p);
  tcp.messaging.on('sink', () => {
    received++;
  });
  tcp.messaging.on('count', () => received);
  return { cluster, dist: tcp, port: tcp.port, name: cluster.self };
}

// --- request/response and one-way pair -----------------------------------------------------

export async function serve() {
  const node = await startNode({ name: 'srv@127.0.0.1' });
  return { port: node.port, node: node.name };
}

export async function connect({ port }) {
  const server = 'srv@127.0.0.1';
  const node = await startNode({ name: 'cli@127.0.0.1', peers: [`${server}:${port}`] });
  await node.cluster.waitForMembers(1, { timeoutMs: 15_000 });
  return messagingClient(node.dist.messaging, server, () => node.cluster.stop());
}

/** Broadcasts to every member for `ms`; deliveries are counted by the receivers. */
export async function broadcast(node, { size, ms, maxCount, expect }) {
  const messaging = node.dist.messaging;
  const payload = payloadOf(size);
  const members = node.cluster.nodes();
  const counts = () =>
    Promise.all(members.map(m => messaging.request(m, 'count', null, { timeoutMs: 60_000 })));
  const before = await counts();
  const t0 = performance.now();
  const end = t0 + ms;
  let broadcasts = 0;
  let partial = 0;
  while (broadcasts < maxCount && performance.now() < end) {
    for (let i = 0; i < 256 && broadcasts < maxCount; i++) {
      const queued = messaging.broadcast('sink', payload);
      broadcasts++;
      if (queued < expect) {
        partial++;
        break; // a full queue somewhere: let the sockets drain
      }
    }
    await yieldTurn();
  }
  const after = await counts();
  const elapsedMs = performance.now() - t0;
  const deliveries = after.reduce((sum, c, i) => sum + c - before[i], 0);
  return { broadcasts, partial, deliveries, elapsedMs, receivers: members.length };
}

// --- memory per connection -----------------------------------------------------------------

/** Starts `count` nodes in this process, each linked to `target` only (transitive off). */
export async function many({ count, target, prefix = 'm' }) {
  const nodes = [];
  for (let i = 0; i < count; i++) {
    nodes.push(
      await startNode({
        name: `${prefix}${i}@127.0.0.1`,
        peers: [target],
        dist: { transitive: false },
        scheduler: { refreshIntervalMs: 60_000 },
      }),
    );
  }
  await Promise.all(nodes.map(n => n.cluster.waitForMembers(1, { timeoutMs: 30_000 })));
  return { nodes: nodes.length };
}

// --- the engine alone: one refresh as the discovered set grows -----------------------------

/** A dist whose connect succeeds at once (and reports the node up, as a real one does). */
class InstantDist {
  name = 'instant';
  connected = new Map();
  init(context) {
    this.context = context;
  }
  members() {
    return [...this.connected.values()];
  }
  async connect(peer) {
    this.connected.set(peer.node, peer);
    this.context.nodeUp(peer);
    return true;
  }
  async disconnect(peer) {
    this.connected.delete(peer.node);
    this.context.nodeDown(peer.node, 'disconnected');
    return true;
  }
  async close() {}
}

class ListDiscovery {
  name = 'list';
  constructor(peers) {
    this.list = peers;
  }
  peers() {
    return this.list;
  }
}

/**
 * For each size: the first refresh (discover N peers and connect them all, until membership shows
 * N) and a steady refresh (all connected: discovery + diff), in this process.
 */
export async function refreshScale({ sizes, steadyReps, timeoutMs }, report) {
  const out = [];
  for (const size of sizes) {
    const peers = Array.from({ length: size }, (_, i) => ({
      node: `p${i}@127.0.0.1`,
      port: 20_000 + (i % 40_000),
    }));
    const cluster = new GenCluster({
      node: 'self@127.255.255.254',
      discovery: new ListDiscovery(peers),
      dist: new InstantDist(),
      logger: quiet('refresh'),
      refreshIntervalMs: Infinity,
      connectTimeoutMs: 600_000,
    });
    const formed = firstValueFrom(
      cluster.membership$.pipe(
        filter(m => m.members.length >= size),
        timeout({ first: timeoutMs }),
      ),
    ).then(
      () => true,
      () => false,
    );
    const t0 = performance.now();
    await cluster.start();
    const ok = await formed;
    const firstMs = performance.now() - t0;
    const steady = [];
    if (ok) {
      for (let r = 0; r < steadyReps; r++) {
        const s = performance.now();
        await cluster.refresh();
        steady.push(performance.now() - s);
        await yieldTurn();
      }
    }
    await cluster.stop();
    out.push({ size, firstMs: ok ? firstMs : null, timedOut: !ok, steady });
    report?.({ ev: 'refresh', ...out[out.length - 1] });
    if (!ok) break; // larger sets would only be slower
  }
  return out;
}
