/**
 * Process groups on real parts: three GenClusters on an InMemoryNetwork, each with the real
 * Messaging, its ServiceRegistry and its ProcessGroups; receipts are recorded by real handlers,
 * and links are cut, healed and restarted through the network and the engines.
 */
import { filter } from 'rxjs';
import { type GenCluster } from '../../core/index.js';
import { InMemoryNetwork } from '../../testing/index.js';
import { inMemoryEngine } from '../../../test/support/engine-harness.js';
import { until } from '../../../test/support/wait.js';
import { ServiceRegistry } from '../registry/service-registry.js';
import type { GroupsChange } from './groups.types.js';
import { ProcessGroups } from './process-groups.js';

const A = 'a@test';
const B = 'b@test';
const C = 'c@test';

interface TestNode {
  readonly name: string;
  readonly cluster: GenCluster;
  readonly registry: ServiceRegistry;
  readonly groups: ProcessGroups;
  /** What this node's `work` handler received: `from payload`. */
  readonly received: string[];
}

describe('ProcessGroups on an in-memory cluster', () => {
  let network: InMemoryNetwork;
  const started: TestNode[] = [];

  /** A node that joins `joins` before it starts (as a Nest provider's onModuleInit would). */
  async function node(name: string, joins: readonly string[] = []): Promise<TestNode> {
    const { cluster, dist } = inMemoryEngine(network, name, 50);
    const { messaging } = dist;
    const registry = new ServiceRegistry({ cluster, messaging });
    const groups = new ProcessGroups({ cluster, messaging, registry });
    const received: string[] = [];
    messaging.on('work', (payload, context) => {
      received.push(`${context.from} ${String(payload)}`);
    });
    for (const group of joins) groups.join(group);
    await cluster.start();
    const entry = { name, cluster, registry, groups, received };
    started.push(entry);
    return entry;
  }

  async function stop(entry: TestNode): Promise<void> {
    started.splice(started.indexOf(entry), 1);
    entry.groups.close();
    entry.registry.close();
    await entry.cluster.stop();
  }

  /** Three nodes that see each other. */
  async function three(): Promise<TestNode[]> {
    const nodes = [await node(A), await node(B), await node(C)];
    for (const n of nodes)
      await until(() => n.cluster.nodes().length === 2, 5_000, `${n.name} sees two`);
    return nodes;
  }

  const sameView = (nodes: readonly TestNode[]): boolean => {
    const views = nodes.map(n => JSON.stringify([...n.groups.groups()]));
    return views.every(view => view === views[0]);
  };

  beforeEach(() => {
    network = new InMemoryNetwork();
  });

  afterEach(async () => {
    for (const entry of [...started]) await stop(entry);
  });

  it('publishes to exactly the nodes that joined, this node included, once each; then not to one that left', async () => {
    const [a, b, c] = await three();
    a.groups.join('workers');
    b.groups.join('workers');
    for (const n of [a, b, c])
      await until(() => n.groups.members('workers').length === 2, 5_000, `${n.name} sees both`);
    expect(c.groups.members('workers')).toEqual([A, B]);
    expect(a.groups.joined()).toEqual(['workers']);
    expect(c.groups.joined()).toEqual([]);

    expect(c.groups.publish('workers', 'work', 1)).toEqual({ sentTo: [A, B], failed: [] });
    expect(a.groups.publish('workers', 'work', 2)).toEqual({ sentTo: [A, B], failed: [] });
    await until(() => a.received.length === 2 && b.received.length === 2, 5_000, 'receipts');
    expect(a.received.sort()).toEqual([`${A} 2`, `${C} 1`]);
    expect(b.received.sort()).toEqual([`${A} 2`, `${C} 1`]);
    expect(c.received).toEqual([]);

    b.groups.leave('workers');
    expect(b.groups.members('workers')).toEqual([A]);
    await until(() => c.groups.members('workers').length === 1, 5_000, 'c sees b leave');
    expect(c.groups.publish('workers', 'work', 3)).toEqual({ sentTo: [A], failed: [] });
    await until(() => a.received.length === 3, 5_000, 'a gets 3');
    // C's probe travels on the C-B link after 3 would have: once B has it, B never got 3.
    c.groups.join('probe');
    await until(() => b.groups.members('probe').length === 1, 5_000);
    expect(b.received).toHaveLength(2);
    expect(c.groups.publish('nobody', 'work', 4)).toEqual({ sentTo: [], failed: [] });
  });

  it('reports join, leave and sync on groups$, and members$ replays then follows', async () => {
    const [a, b] = await three();
    // A lists B's probe once B answered A's hello: B's later changes reach A as deltas.
    b.groups.join('probe');
    await until(() => a.groups.members('probe').length === 1, 5_000, 'a synced with b');
    const changes: GroupsChange[] = [];
    a.groups.groups$
      .pipe(filter(change => change.group !== 'probe'))
      .subscribe(change => changes.push(change));
    const seen: (readonly string[])[] = [];
    a.groups.members$('g').subscribe(members => seen.push(members));
    b.groups.join('g');
    await until(() => a.groups.members('g').length === 1, 5_000);
    a.groups.join('g');
    b.groups.leave('g');
    await until(() => a.groups.members('g').length === 1 && changes.length === 3, 5_000);
    expect(changes).toEqual([
      { group: 'g', members: [B], node: B, reason: 'join' },
      { group: 'g', members: [A, B], node: A, reason: 'join' },
      { group: 'g', members: [A], node: B, reason: 'leave' },
    ]);
    expect(seen).toEqual([[], [B], [A, B], [A]]);
    // A late subscriber gets the current members first.
    const late: (readonly string[])[] = [];
    a.groups.members$('g').subscribe(members => late.push(members));
    expect(late).toEqual([[A]]);
    // A node that comes up with groups already joined arrives by its table: reason sync.
    changes.length = 0;
    await node('d@test', ['g', 'h']);
    await until(() => a.groups.members('h').length === 1, 5_000, 'd synced');
    expect(changes).toEqual([
      { group: 'g', members: [A, 'd@test'], node: 'd@test', reason: 'sync' },
      { group: 'h', members: ['d@test'], node: 'd@test', reason: 'sync' },
    ]);
  });

  it('converges after a partition heals, changes made on either side included', async () => {
    const nodes = await three();
    const [a, b, c] = nodes;
    a.groups.join('g');
    c.groups.join('g');
    await until(() => sameView(nodes) && b.groups.members('g').length === 2, 5_000);
    network.partition(A, C);
    expect(a.groups.members('g')).toEqual([A]);
    expect(c.groups.members('g')).toEqual([C]);
    expect(b.groups.members('g')).toEqual([A, C]);
    // Changes while apart: C leaves g and joins h, A joins h; B sees both sides.
    c.groups.leave('g');
    c.groups.join('h');
    a.groups.join('h');
    await until(() => b.groups.members('h').length === 2, 5_000, 'b sees both sides');
    expect(a.groups.members('h')).toEqual([A]);
    network.heal(A, C);
    await until(() => a.groups.members('h').length === 2, 5_000, 'a learns c after healing');
    await until(() => sameView(nodes), 5_000, 'one view');
    expect([...a.groups.groups()]).toEqual([
      ['g', [A]],
      ['h', [A, C]],
    ]);
  });

  it('does not list a restarted node in its old groups until it joins again', async () => {
    const [a, b] = await three();
    b.groups.join('g');
    await until(() => a.groups.members('g').length === 1, 5_000);
    await stop(b);
    await until(() => a.groups.members('g').length === 0, 5_000, 'b gone');
    const again = await node(B);
    await until(() => a.cluster.nodes().includes(B), 5_000, 'b back');
    again.groups.join('other');
    await until(() => a.groups.members('other').length === 1, 5_000, 'b synced');
    expect(a.groups.members('g')).toEqual([]);
    again.groups.join('g');
    await until(() => a.groups.members('g').length === 1, 5_000, 'b joined again');
    expect(a.groups.members('g')).toEqual([B]);
  });

  it('removes a node that goes down from every group in the same delivery as its nodeDown', async () => {
    const [a, b, c] = await three();
    for (const group of ['g1', 'g2', 'g3']) b.groups.join(group);
    a.groups.join('g2');
    await until(() => a.groups.members('g3').length === 1, 5_000, 'a sees b');
    await until(() => c.groups.members('g3').length === 1, 5_000, 'c sees b');
    const changes: GroupsChange[] = [];
    a.groups.groups$.subscribe(change => changes.push(change));
    const atNodeDown: unknown[] = [];
    // Application code subscribes after the registry and the groups.
    a.cluster.events$.subscribe(event => {
      if (event.type === 'nodeDown' && event.node === B)
        atNodeDown.push({ groups: [...a.groups.groups()], changes: [...changes] });
    });
    network.partition(A, B);
    expect(atNodeDown).toEqual([
      {
        groups: [['g2', [A]]],
        changes: [
          { group: 'g1', members: [], node: B, reason: 'nodeDown' },
          { group: 'g2', members: [A], node: B, reason: 'nodeDown' },
          { group: 'g3', members: [], node: B, reason: 'nodeDown' },
        ],
      },
    ]);
    expect(c.groups.members('g1')).toEqual([B]);
  });
});
