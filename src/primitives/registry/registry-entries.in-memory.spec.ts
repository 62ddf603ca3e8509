/**
 * Generic registry entries on real parts: GenClusters on an InMemoryNetwork, each with the real
 * Messaging and its ServiceRegistry, with real node events (partition, heal, restart).
 */
import { type GenCluster } from '../../core/index.js';
import { InMemoryNetwork } from '../../testing/index.js';
import { inMemoryEngine } from '../../../test/support/engine-harness.js';
import { until } from '../../../test/support/wait.js';
import { ServiceRegistry } from './service-registry.js';

const A = 'a@test';
const B = 'b@test';

interface TestNode {
  readonly cluster: GenCluster;
  readonly registry: ServiceRegistry;
}

describe('ServiceRegistry generic entries on an in-memory cluster', () => {
  let network: InMemoryNetwork;
  const started: TestNode[] = [];

  async function node(name: string): Promise<TestNode> {
    const { cluster, dist } = inMemoryEngine(network, name, 50);
    const registry = new ServiceRegistry({ cluster, messaging: dist.messaging });
    await cluster.start();
    const entry = { cluster, registry };
    started.push(entry);
    return entry;
  }

  async function stop(entry: TestNode): Promise<void> {
    started.splice(started.indexOf(entry), 1);
    entry.registry.close();
    await entry.cluster.stop();
  }

  beforeEach(() => {
    network = new InMemoryNetwork();
  });

  afterEach(async () => {
    for (const entry of started.splice(0)) {
      entry.registry.close();
      await entry.cluster.stop();
    }
  });

  it('announces and withdraws to a peer, and follows a partition and its healing', async () => {
    const a = await node(A);
    const b = await node(B);
    b.registry.announce('group', 'workers');
    await until(() => a.registry.nodesOf('group', 'workers').length === 1, 5_000, 'b on a');
    a.registry.announce('group', 'workers');
    await until(() => b.registry.nodesOf('group', 'workers').length === 2, 5_000, 'a on b');
    network.partition(A, B);
    expect(a.registry.nodesOf('group', 'workers')).toEqual([A]);
    expect(b.registry.nodesOf('group', 'workers')).toEqual([B]);
    // Changed on one side while apart: learned by the other's hello after healing.
    b.registry.withdraw('group', 'workers');
    b.registry.announce('term', '2');
    network.heal(A, B);
    await until(() => a.registry.nodesOf('term', '2').length === 1, 5_000, 'term after heal');
    await until(() => b.registry.nodesOf('group', 'workers').length === 1, 5_000, 'a after heal');
    expect(a.registry.nodesOf('group', 'workers')).toEqual([A]);
    expect(b.registry.nodesOf('group', 'workers')).toEqual([A]);
  });

  it('forgets the entries of a node that restarted under the same name until it announces them again', async () => {
    const a = await node(A);
    const b = await node(B);
    b.registry.announce('group', 'workers');
    await until(() => a.registry.nodesOf('group', 'workers').length === 1, 5_000, 'b on a');
    await stop(b);
    await until(() => a.registry.nodesOf('group', 'workers').length === 0, 5_000, 'b gone');
    const again = await node(B);
    await until(() => a.cluster.nodes().includes(B), 5_000, 'b back as a member');
    again.registry.announce('term', '1');
    await until(() => a.registry.nodesOf('term', '1').length === 1, 5_000, 'b synced again');
    expect(a.registry.nodesOf('group', 'workers')).toEqual([]);
    again.registry.announce('group', 'workers');
    await until(() => a.registry.nodesOf('group', 'workers').length === 1, 5_000, 'rejoined');
  });
});
