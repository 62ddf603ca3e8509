import { GenCluster, type MessageHeaders } from '../core/index.js';
import { silent } from '../../test/support/engine-harness.js';
import { until } from '../../test/support/wait.js';
import { InMemoryNetwork } from './in-memory-network.js';
import { TestDiscovery } from './test-strategies.js';

const NODES = ['a@test', 'b@test', 'c@test'];
const started: GenCluster[] = [];

/** Three started nodes; each records the headers its `incoming` hook was given. */
async function trio(network: InMemoryNetwork) {
  const nodes = NODES.map(node => {
    const dist = network.dist();
    const engine = new GenCluster({
      node,
      discovery: new TestDiscovery(NODES),
      dist,
      logger: silent,
      refreshIntervalMs: 1_000,
    });
    const seen: (MessageHeaders | undefined)[] = [];
    dist.messaging.instrument({
      outgoing: () => ({ headers: { traceparent: `from ${node}` }, end: () => undefined }),
      incoming: (_info, headers) => {
        seen.push(headers);
        return undefined;
      },
    });
    dist.messaging.on('ask', () => 'ok');
    return { engine, dist, seen };
  });
  started.push(...nodes.map(node => node.engine));
  for (const { engine } of nodes) await engine.start();
  await until(() => nodes.every(({ engine }) => engine.nodes().length === 2), 5_000);
  return nodes;
}

describe('InMemoryNetwork headers', () => {
  afterEach(async () => {
    for (const engine of started.splice(0)) await engine.stop();
  });

  it('carries instrumentation headers between nodes by default', async () => {
    const [a, b] = await trio(new InMemoryNetwork());
    await expect(a!.dist.messaging.request('b@test', 'ask', null)).resolves.toBe('ok');
    expect(b!.seen).toEqual([{ traceparent: 'from a@test' }]);
  });

  it('carries none to or from a legacy node, as a peer without the headers capability', async () => {
    const [a, b, c] = await trio(new InMemoryNetwork({ legacyNodes: ['b@test'] }));
    const toB = a!.dist.messaging.request('b@test', 'ask', null);
    const fromB = b!.dist.messaging.request('c@test', 'ask', null);
    const toC = a!.dist.messaging.request('c@test', 'ask', null);
    await Promise.all([toB, fromB, toC]);
    expect(b!.seen).toEqual([undefined]);
    expect(c!.seen).toEqual([undefined, { traceparent: 'from a@test' }]);
  });
});
