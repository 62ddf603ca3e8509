// One process of the scale runner (bench/scale.mjs): it hosts several GenCluster nodes, on the
// TCP mesh (static discovery of every node's port) or on NATS (the NATS dist's own presence),
// and obeys the runner over IPC ({ id, cmd, args } -> { id, ok, result | error }, plus { ev }
// events). It exits when the runner goes away, and after an hour whatever happens.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { distUrl, now } from './lib/common.mjs';
import { childProcess, serveCommands, usageCommand } from './lib/child-ipc.mjs';
import { natsDistClass } from './lib/nats-dist.mjs';

const send = childProcess(process.argv[2] ?? 'scale-child');

const COOKIE = 'bench-scale-cookie-5d1e9a7c3b28f064';
const quiet = name => ({
  log: () => undefined,
  warn: m => process.stderr.write(`[${name}] warn ${m}\n`),
  error: m => process.stderr.write(`[${name}] error ${m}\n`),
});

/** Event-loop delay since the last `stats` (10 ms resolution, beyond its own timer). */
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();

/** The nodes of this process: { name, cluster, dist, members, formedAt, downs }. */
const nodes = [];
let expected = 0;
let formedSent = false;

function checkFormed() {
  if (formedSent || nodes.length === 0) return;
  if (nodes.some(n => n.formedAt === null)) return;
  formedSent = true;
  send({ ev: 'formed', t: Math.max(...nodes.map(n => n.formedAt)) });
}

const usage = usageCommand(false);

/** Sums the numeric fields of the dists' stats(): links' bytes for TCP, the counters for NATS. */
function distTotals() {
  const totals = { nodes: nodes.length, bytesIn: 0, bytesOut: 0, links: 0, other: {} };
  for (const node of nodes) {
    const stats = node.dist.stats?.();
    if (!stats) continue;
    if (Array.isArray(stats.links)) {
      totals.links += stats.links.length;
      for (const l of stats.links) {
        totals.bytesIn += l.bytesIn ?? 0;
        totals.bytesOut += l.bytesOut ?? 0;
      }
    }
    // any other numeric counters (the NATS dist's messages and bytes), flattened one level
    for (const [key, value] of Object.entries(stats)) {
      if (typeof value === 'number') totals.other[key] = (totals.other[key] ?? 0) + value;
      else if (value && typeof value === 'object' && !Array.isArray(value))
        for (const [k, v] of Object.entries(value))
          if (typeof v === 'number')
            totals.other[`${key}.${k}`] = (totals.other[`${key}.${k}`] ?? 0) + v;
    }
  }
  return totals;
}

const commands = {
  /** Imports the library (and the NATS dist) before anything is timed. */
  async load({ dist }) {
    await import(distUrl('index.js'));
    if (dist === 'nats') await natsDistClass();
    return { ok: true };
  },
  /**
   * Starts this process's nodes at once. `dist`: 'tcp' (every node listens on its `port`, static
   * discovery of `peers`) or 'nats' (`natsUrl`; presence on NATS finds the peers). A node is
   * formed when it sees `expect` members (N − 1).
   */
  async start({ dist, names, ports, peers, natsUrl, heartbeatMs, failureTimeoutMs, expect }) {
    const lib = await import(distUrl('index.js'));
    const { GenCluster, StaticDiscovery, TcpDist } = lib;
    const NatsDist = dist === 'nats' ? await natsDistClass() : null;
    expected = expect;
    const t0 = now();
    const built = names.map((name, i) => {
      let d;
      let discovery;
      if (dist === 'tcp') {
        d = new TcpDist({ cookie: COOKIE, port: ports[i], heartbeatMs, failureTimeoutMs });
        discovery = new StaticDiscovery(peers);
      } else {
        d = new NatsDist({
          servers: natsUrl,
          cookie: COOKIE,
          heartbeatIntervalMs: heartbeatMs,
          failureTimeoutMs,
        });
        discovery = d.discovery();
      }
      const cluster = new GenCluster({ node: name, discovery, dist: d, logger: quiet(name) });
      const node = { name, cluster, dist: d, members: 0, formedAt: null, downs: 0, ups: 0 };
      node.downReasons = {};
      cluster.membership$.subscribe(m => {
        node.members = m.members.length;
        if (node.formedAt === null && node.members >= expected) {
          node.formedAt = now();
          checkFormed();
        }
      });
      cluster.events$.subscribe(e => {
        if (e.type === 'nodeDown') {
          node.downs++;
          node.downReasons[e.reason] = (node.downReasons[e.reason] ?? 0) + 1;
        } else if (e.type === 'nodeUp') node.ups++;
      });
      nodes.push(node);
      return node;
    });
    await Promise.all(built.map(n => n.cluster.start()));
    checkFormed();
    return { t0, t: now() };
  },
  /** Members seen by each node (min, max), nodes formed, nodeDown/nodeUp events so far. */
  progress() {
    const counts = nodes.map(n => n.members);
    const downReasons = {};
    for (const n of nodes)
      for (const [reason, count] of Object.entries(n.downReasons))
        downReasons[reason] = (downReasons[reason] ?? 0) + count;
    return {
      downReasons,
      min: Math.min(...counts),
      max: Math.max(...counts),
      formed: nodes.filter(n => n.formedAt !== null).length,
      downs: nodes.reduce((s, n) => s + n.downs, 0),
      ups: nodes.reduce((s, n) => s + n.ups, 0),
    };
  },
  /** Usage, the dists' counters, progress, and the event-loop delay since the last call. */
  stats() {
    const loop = {
      p99Ms: lag.percentile(99) / 1e6,
      maxMs: lag.max / 1e6,
    };
    lag.reset();
    return { ...usage(), dist: distTotals(), ...commands.progress(), loop };
  },
  usage,
  /** Stops every node (graceful, bounded by `ms`); the runner kills the process after. */
  async stop({ ms = 5_000 } = {}) {
    const all = Promise.allSettled(nodes.map(n => n.cluster.stop()));
    await Promise.race([all, new Promise(resolve => setTimeout(resolve, ms))]);
    return { ok: true };
  },
};

serveCommands(commands, send);
