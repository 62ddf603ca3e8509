// This library's calls over 3 serving nodes (section `calls`), without Nest: per process a
// GenCluster with static discovery on the TCP mesh dist (the defaults of ours.mjs) and a
// ServiceRegistry, so every node announces what it serves. Each server registers `echo` with
// `messaging.on`; every node lists all four as its static peers (as Moleculer's static urls do),
// and the caller waits until its registry shows all 3 serving `echo`. Two variants differ only in how the caller picks the server:
// - `call`: `caller.call('echo', payload)` of a ServiceCaller (round-robin, the default);
// - `request`: plain `messaging.request(server, 'echo', payload)`, rotated over the 3 by hand,
//   the baseline of what the registry and the selection cost.
// Imported from the build (dist/src, or BENCH_DIST).
// CPU per call counts the registry's background work too (none once the tables are in sync).
import { distUrl, payloadOf } from '../common.mjs';
import { COOKIE, quiet } from './ours.mjs';

const lib = await import(distUrl('index.js'));
const { GenCluster, StaticDiscovery, TcpDist } = lib;

/**
 * The registry and the caller: from the main entry once it re-exports them, else the layer's;
 * `{}` for a build that has neither (one from before issue 14: `ours-request` still runs there,
 * without a registry, for comparison with that build).
 */
async function loadPrimitives() {
  if (typeof lib.ServiceRegistry === 'function') return lib;
  try {
    return await import(distUrl('primitives', 'index.js'));
  } catch {
    return {};
  }
}
const { ServiceCaller, ServiceRegistry } = await loadPrimitives();

/** A node with its registry (built before start, so it sees the first nodeUp). */
async function startNode({ name, port, all }, handlers = messaging => messaging) {
  const dist = new TcpDist({ cookie: COOKIE, port });
  const peers = all.filter(n => n.node !== name).map(n => `${n.node}:${n.port}`);
  const cluster = new GenCluster({
    node: name,
    discovery: new StaticDiscovery(peers),
    dist,
    logger: quiet(name),
  });
  const registry = ServiceRegistry
    ? new ServiceRegistry({ cluster, messaging: dist.messaging })
    : undefined;
  handlers(dist.messaging);
  await cluster.start();
  return {
    cluster,
    dist,
    registry,
    close: async () => {
      registry?.close();
      await cluster.stop();
    },
  };
}

/** One serving node; `served()` counts the echo requests it answered. */
export async function serveCalls(args) {
  let served = 0;
  const node = await startNode(args, messaging =>
    messaging.on('echo', p => {
      served++;
      return p;
    }),
  );
  return { port: node.dist.port, node: node.cluster.self, served: () => served, close: node.close };
}

/** The names of `servers` once they are members and each has answered an `echo`. */
async function answering(node, names, timeoutMs) {
  await node.cluster.waitForMembers(names.length, { timeoutMs });
  await Promise.all(names.map(n => node.dist.messaging.request(n, 'echo', null, { timeoutMs })));
  return names;
}

/** The stack of one variant, `'call'` or `'request'`, as child.mjs expects it. */
export function variant(kind) {
  if (kind !== 'call' && kind !== 'request') throw new Error(`unknown calls variant ${kind}`);
  return {
    serveCalls,
    /**
     * The caller: `call` once its registry shows every one of `servers` serving `echo`;
     * `request` once all of them are members and each has answered an `echo`, which needs no
     * registry.
     */
    async connectCalls({ name, port, all, timeoutMs = 30_000 }) {
      if (kind === 'call' && !ServiceCaller)
        throw new Error(`ours-call: the build in ${distUrl()} has no ServiceCaller`);
      const node = await startNode({ name, port, all });
      const servers = all.map(n => n.node).filter(n => n !== name);
      const serving =
        kind === 'call'
          ? await node.registry.waitForServers('echo', { count: servers.length, timeoutMs })
          : await answering(node, servers, timeoutMs);
      const messaging = node.dist.messaging;
      let payload = payloadOf(32);
      const targets = [...serving].sort();
      let next = 0;
      const caller = kind === 'call' ? new ServiceCaller(node.registry, messaging) : undefined;
      const issue =
        kind === 'call'
          ? cb => caller.call('echo', payload).then(() => cb(), cb)
          : cb => {
              const server = targets[next];
              next = next + 1 === targets.length ? 0 : next + 1;
              messaging.request(server, 'echo', payload).then(() => cb(), cb);
            };
      return {
        servers: serving.length,
        prepare(size) {
          payload = payloadOf(size);
        },
        issue,
        close: node.close,
      };
    },
  };
}
