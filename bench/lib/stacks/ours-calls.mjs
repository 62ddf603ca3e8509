// This library's calls over 3 serving nodes (section `calls`), without Nest: per process a
// GenCluster with static discovery on the TCP mesh dist (the defaults of ours.mjs) and a
// ServiceRegistry, so every node announces what it serves. Each server registers `echo` with
// `messaging.on`; the caller lists the 3 servers as its peers and waits until the registry shows
// all 3 serving `echo`. Two variants differ only in how the caller picks the server:
// - `call`: `caller.call('echo', payload)` of a ServiceCaller (round-robin, the default);
// - `request`: plain `messaging.request(server, 'echo', payload)`, rotated over the 3 by hand,
//   the baseline of what the registry and the selection cost.
// Imported from the build (dist/src, or BENCH_DIST).
import { distUrl, payloadOf } from '../common.mjs';
import { COOKIE, quiet } from './ours.mjs';

const lib = await import(distUrl('index.js'));
const { GenCluster, StaticDiscovery, TcpDist } = lib;

/** The registry and the caller: from the main entry once it re-exports them, else the layer's. */
async function primitives() {
  if (typeof lib.ServiceRegistry === 'function' && typeof lib.ServiceCaller === 'function')
    return lib;
  return import(distUrl('primitives', 'index.js'));
}
const { ServiceCaller, ServiceRegistry } = await primitives();

/** A node with its registry (built before start, so it sees the first nodeUp). */
async function startNode(name, peers, handlers = messaging => messaging) {
  const dist = new TcpDist({ cookie: COOKIE, port: 0 });
  const cluster = new GenCluster({
    node: name,
    discovery: new StaticDiscovery(peers),
    dist,
    logger: quiet(name),
  });
  const registry = new ServiceRegistry({ cluster, messaging: dist.messaging });
  handlers(dist.messaging);
  await cluster.start();
  return {
    cluster,
    dist,
    registry,
    close: async () => {
      registry.close();
      await cluster.stop();
    },
  };
}

/** One serving node; `served()` counts the echo requests it answered. */
export async function serveCalls({ name }) {
  let served = 0;
  const node = await startNode(name, [], messaging =>
    messaging.on('echo', p => {
      served++;
      return p;
    }),
  );
  return { port: node.dist.port, node: node.cluster.self, served: () => served, close: node.close };
}

/** The stack of one variant, `'call'` or `'request'`, as child.mjs expects it. */
export function variant(kind) {
  if (kind !== 'call' && kind !== 'request') throw new Error(`unknown calls variant ${kind}`);
  return {
    serveCalls,
    /** The caller, once its registry shows every one of `servers` serving `echo`. */
    async connectCalls({ name, servers, timeoutMs = 30_000 }) {
      const node = await startNode(
        name,
        servers.map(s => `${s.node}:${s.port}`),
      );
      const serving = await node.registry.waitForServers('echo', {
        count: servers.length,
        timeoutMs,
      });
      const messaging = node.dist.messaging;
      let payload = payloadOf(32);
      let issue;
      if (kind === 'call') {
        const caller = new ServiceCaller(node.registry, messaging);
        issue = cb => caller.call('echo', payload).then(() => cb(), cb);
      } else {
        const targets = [...serving].sort();
        let next = 0;
        issue = cb => {
          const server = targets[next];
          next = next + 1 === targets.length ? 0 : next + 1;
          messaging.request(server, 'echo', payload).then(() => cb(), cb);
        };
      }
      return {
        servers: serving.length,
        prepare(size) {
          payload = payloadOf(size);
        },
        issue: cb => issue(cb),
        close: node.close,
      };
    },
  };
}
