/**
 * The registry on real parts: GenClusters on an InMemoryNetwork, each with the real Messaging
 * (through DeferredMessaging, so handlers registered before start are announced), its
 * ServiceRegistry, and real node events (partitions, restarts, leaving).
 */
import { type GenCluster } from '../../core/index.js';
import { type InMemoryNetwork as Network, InMemoryNetwork } from '../../testing/index.js';
import { inMemoryEngine } from '../../../test/support/engine-harness.js';
import { until } from '../../../test/support/wait.js';
import { ServiceCaller } from '../calls/service-caller.js';
import { ServiceRegistry } from './service-registry.js';

const A = 'a@test';
const B = 'b@test';
const C = 'c@test';
const D = 'd@test';

interface TestNode {
  readonly cluster: GenCluster;
  readonly registry: ServiceRegistry;
  readonly messaging: GenClusterMessaging;
}
type GenClusterMessaging = ReturnType<Network['dist']>['messaging'];

describe('ServiceRegistry on an in-memory cluster', () => {
  let network: InMemoryNetwork;
  const started: TestNode[] = [];
  /** Requests each node's handlers ran. */
  const handled = new Map<string, number>();

  /** A node whose handlers are registered before it starts, as a Nest app's are. */
  async function node(name: string, serves: readonly string[]): Promise<TestNode> {
    const { cluster, dist } = inMemoryEngine(network, name, 50);
    const messaging = dist.messaging;
    const registry = new ServiceRegistry({ cluster, messaging });
    for (const topic of serves)
      messaging.on(topic, () => {
        handled.set(name, (handled.get(name) ?? 0) + 1);
        return name;
      });
    await cluster.start();
    const entry = { cluster, registry, messaging };
    started.push(entry);
    return entry;
  }

  async function stop(entry: TestNode): Promise<void> {
    entry.registry.close();
    await entry.cluster.stop();
  }

  beforeEach(() => {
    network = new InMemoryNetwork();
    handled.clear();
  });

  afterEach(async () => {
    for (const entry of started.splice(0)) await stop(entry);
  });

  it('lists handlers registered before start on every node, and follows partitions', async () => {
    const a = await node(A, ['echo']);
    await node(B, ['echo']);
    const c = await node(C, []);
    await until(() => c.registry.servers('echo').length === 2, 5_000, 'c lists a and b');
    expect(a.registry.servers('echo')).toEqual([A, B]);
    const seenAtNodeDown: string[][] = [];
    c.cluster.events$.subscribe(event => {
      if (event.type === 'nodeDown') seenAtNodeDown.push(c.registry.servers('echo'));
    });
    network.partition(C, B);
    expect(seenAtNodeDown).toEqual([[A]]);
    network.heal(C, B);
    await until(() => c.registry.servers('echo').length === 2, 5_000, 'b back after a hello');
  });

  it('replaces the entries of a node that left (nodeDown) and came back under the same name', async () => {
    const a = await node(A, []);
    const b = await node(B, ['old']);
    await until(() => a.registry.servers('old').length === 1, 10_000);
    await stop(b);
    started.splice(started.indexOf(b), 1);
    await until(() => a.registry.servers('old').length === 0, 10_000, 'old entries gone');
    await node(B, ['new']);
    await until(() => a.registry.servers('new').length === 1, 10_000);
    expect(a.registry.servers('old')).toEqual([]);
  });

  it('drains under load with no failed call (retries: 0), then leaves', async () => {
    const a = await node(A, ['echo']);
    await node(B, ['echo']);
    const d = await node(D, []);
    await until(() => d.registry.servers('echo').length === 2, 5_000);
    const caller = new ServiceCaller(d.registry, d.messaging);
    const failures: unknown[] = [];
    const served: Record<string, number> = {};
    let running = true;
    const worker = async () => {
      while (running) {
        try {
          const by = await caller.call<string>('echo', null, { retries: 0 });
          served[by] = (served[by] ?? 0) + 1;
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const workers = Array.from({ length: 10 }, worker);
    await until(() => (served[A] ?? 0) > 20, 5_000, 'a serving');
    const result = await a.registry.drain({ timeoutMs: 5_000 });
    expect(result).toMatchObject({ unacked: [], servingLeft: 0 });
    expect(result.acked).toBeGreaterThanOrEqual(2);
    // Answers still on their way back may arrive later; no request may reach A any more.
    const handledByA = handled.get(A);
    await stop(a);
    started.splice(started.indexOf(a), 1);
    await until(() => (served[B] ?? 0) > 200, 10_000, 'b keeps serving');
    running = false;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(handled.get(A)).toBe(handledByA);
  });
});
