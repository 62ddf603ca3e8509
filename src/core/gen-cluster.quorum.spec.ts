import { jest } from '@jest/globals';
import { InvalidConfigError } from './errors.js';
import type { ClusterEvent, Membership, QuorumState } from './events.js';
import { GenCluster } from './gen-cluster.js';
import { InMemoryNetwork } from '../testing/index.js';
import { SELF, advance, setupEngine, silent } from '../../test/support/engine-harness.js';
import { flushPromises, until } from '../../test/support/wait.js';

const A = 'a@10.0.0.2';
const B = 'b@10.0.0.3';

/** An engine on scripted strategies with every event and snapshot recorded in one sequence. */
function setup(options: Parameters<typeof setupEngine>[0], peers = [A, B]) {
  const engine = setupEngine(options, peers);
  const seen: (ClusterEvent | Membership)[] = [];
  engine.cluster.events$.subscribe(event => seen.push(event));
  engine.cluster.membership$.subscribe(snapshot => seen.push(snapshot));
  // a node that goes down is not dialled back at once: each test brings it up itself
  engine.dist.outcome = () => 'hang';
  return { ...engine, seen };
}

const quorum = (has: boolean, size: number, expectedSize = 3): QuorumState => ({
  has,
  size,
  needed: Math.floor(expectedSize / 2) + 1,
  expectedSize,
});

describe('GenCluster quorum', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('leaves snapshots and events as they were without the option', async () => {
    const { cluster, dist, seen } = setup({});
    await cluster.start();
    await flushPromises(); // the first discovery round
    dist.up({ node: A });
    dist.down(A);
    expect(seen.filter(item => 'members' in item && 'quorum' in item)).toEqual([]);
    expect(seen.filter(item => 'type' in item && item.type === 'quorumChanged')).toEqual([]);
    expect(Object.keys(cluster.membership)).toEqual(['self', 'members']);
    expect(cluster.hasQuorum()).toBe(true);
    await cluster.stop();
  });

  it('refuses a bad quorum option at construction', () => {
    expect(() => setup({ quorum: { expectedSize: 0 } })).toThrow(InvalidConfigError);
    expect(() => setup({ quorum: { expectedSize: 'discovered' } as never })).toThrow(
      /unsafe: true/,
    );
    expect(() => setup({ quorum: { expectedSize: 3, stabelMs: 5 } as never })).toThrow(
      /quorum\.stabelMs/,
    );
  });

  it('starts without quorum and forms it at once when the majority connects', async () => {
    const { cluster, dist, seen } = setup({ quorum: { expectedSize: 3, stableMs: 10_000 } });
    expect(cluster.hasQuorum()).toBe(false);
    expect(cluster.membership).toEqual({ self: SELF, members: [], quorum: quorum(false, 1) });
    await cluster.start();
    await flushPromises(); // the first discovery round
    dist.up({ node: A });
    expect(cluster.hasQuorum()).toBe(true);
    await flushPromises(); // the snapshot follows a microtask after the events
    expect(seen).toEqual([
      { self: SELF, members: [], quorum: quorum(false, 1) },
      { type: 'discovered', node: A, peer: { node: A } },
      { type: 'discovered', node: B, peer: { node: B } },
      { type: 'nodeUp', node: A, peer: { node: A } },
      { type: 'quorumChanged', quorum: quorum(true, 2) },
      { self: SELF, members: [A], quorum: quorum(true, 2) },
    ]);
    await cluster.stop();
  });

  it('loses quorum at once with the nodeDown: the nodeDown, then quorumChanged, then the snapshot', async () => {
    const { cluster, dist, seen } = setup({ quorum: { expectedSize: 3 } });
    await cluster.start();
    await flushPromises(); // the first discovery round
    dist.up({ node: A });
    dist.up({ node: B });
    dist.down(B, 'heartbeatTimeout');
    expect(cluster.hasQuorum()).toBe(true);
    await flushPromises(); // the snapshot with A (one for the three changes)
    seen.length = 0;
    dist.down(A, 'heartbeatTimeout');
    expect(cluster.hasQuorum()).toBe(false);
    // the events at once, the snapshot a microtask later
    expect(seen).toEqual([
      { type: 'nodeDown', node: A, reason: 'heartbeatTimeout' },
      { type: 'quorumChanged', quorum: quorum(false, 1) },
    ]);
    await flushPromises();
    expect(seen).toEqual([
      { type: 'nodeDown', node: A, reason: 'heartbeatTimeout' },
      { type: 'quorumChanged', quorum: quorum(false, 1) },
      { self: SELF, members: [], quorum: quorum(false, 1) },
    ]);
    await cluster.stop();
  });

  it('logs no quorum loss on a graceful stop; its nodeDowns and quorumChanged are delivered as before', async () => {
    const lines: string[] = [];
    const logger = {
      log: (m: string) => void lines.push(`log ${m}`),
      warn: (m: string) => void lines.push(`warn ${m}`),
      error: (m: string) => void lines.push(`error ${m}`),
    };
    const { cluster, dist, seen } = setup({ quorum: { expectedSize: 3 }, logger });
    await cluster.start();
    await flushPromises(); // the first discovery round
    dist.up({ node: A });
    expect(cluster.hasQuorum()).toBe(true);
    expect(lines.filter(l => l.includes('Quorum formed'))).toHaveLength(1);
    await flushPromises(); // the snapshot with A
    seen.length = 0;
    await cluster.stop();
    expect(lines.filter(l => l.includes('Quorum lost'))).toEqual([]);
    expect(seen).toEqual([
      { type: 'nodeDown', node: A, reason: 'stopped' },
      { type: 'quorumChanged', quorum: quorum(false, 1) },
      { self: SELF, members: [], quorum: quorum(false, 1) },
    ]);
  });

  it('regains quorum only after stableMs, with a quorumChanged and a new snapshot', async () => {
    const { cluster, dist, seen } = setup({ quorum: { expectedSize: 3, stableMs: 2_000 } });
    await cluster.start();
    await flushPromises(); // the first discovery round
    dist.up({ node: A });
    dist.down(A);
    await flushPromises();
    seen.length = 0;
    dist.up({ node: A });
    expect(cluster.hasQuorum()).toBe(false);
    await flushPromises();
    expect(seen).toEqual([
      { type: 'nodeUp', node: A, peer: { node: A } },
      { self: SELF, members: [A], quorum: quorum(false, 2) },
    ]);
    await advance(1_999);
    expect(cluster.hasQuorum()).toBe(false);
    expect(seen).toHaveLength(2);
    await advance(1);
    expect(cluster.hasQuorum()).toBe(true);
    await flushPromises();
    expect(seen.slice(2)).toEqual([
      { type: 'quorumChanged', quorum: quorum(true, 2) },
      { self: SELF, members: [A], quorum: quorum(true, 2) },
    ]);
    await cluster.stop();
  });

  it('never regains over a link that flaps every 500 ms with stableMs 3,000', async () => {
    const { cluster, dist, seen } = setup({ quorum: { expectedSize: 3, stableMs: 3_000 } });
    await cluster.start();
    await flushPromises(); // the first discovery round
    dist.up({ node: A });
    for (let i = 0; i < 30; i++) {
      if (i % 2 === 0) dist.down(A);
      else dist.up({ node: A });
      await advance(500);
      expect(cluster.hasQuorum()).toBe(false);
    }
    const changes = seen.flatMap(item =>
      'type' in item && item.type === 'quorumChanged' ? [item.quorum.has] : [],
    );
    expect(changes).toEqual([true, false]);
    await cluster.stop();
  });

  it('cancels a pending regain on stop', async () => {
    const { cluster, dist, seen } = setup({ quorum: { expectedSize: 3, stableMs: 2_000 } });
    await cluster.start();
    await flushPromises(); // the first discovery round
    dist.up({ node: A });
    dist.down(A);
    dist.up({ node: A });
    await cluster.stop();
    const before = seen.length;
    await advance(10_000);
    expect(seen).toHaveLength(before);
    expect(jest.getTimerCount()).toBe(0);
  });

  it("follows discovery's answer with expectedSize 'discovered' (unsafe)", async () => {
    const { cluster, discovery, dist } = setup(
      { quorum: { expectedSize: 'discovered', unsafe: true, stableMs: 1_000 } },
      [A, B, 'c@10.0.0.4', 'd@10.0.0.5'],
    );
    const snapshots: (QuorumState | undefined)[] = [];
    cluster.membership$.subscribe(snapshot => snapshots.push(snapshot.quorum));
    // alone, before discovery answered: no quorum, even though 1 >= needed of "1"
    expect(cluster.membership.quorum).toEqual(quorum(false, 1, 1));
    await cluster.start();
    await flushPromises(); // the first discovery round
    expect(cluster.membership.quorum).toEqual(quorum(false, 1, 5));
    dist.up({ node: A });
    dist.up({ node: B });
    expect(cluster.membership.quorum).toEqual(quorum(true, 3, 5));
    // discovery names more nodes: 3 of 7 is no majority
    discovery.answer = [A, B, 'c@10.0.0.4', 'd@10.0.0.5', 'e@10.0.0.6', 'f@10.0.0.7'];
    // not awaited: the round's connects to the new names hang (this dist never answers them)
    void cluster.refresh();
    await flushPromises();
    expect(cluster.membership.quorum).toEqual(quorum(false, 3, 7));
    // and fewer again: the majority is back, counted as a regain (after stableMs)
    discovery.answer = [A, B];
    void cluster.refresh();
    await flushPromises();
    expect(cluster.membership.quorum).toEqual(quorum(false, 3, 3));
    await advance(1_000);
    expect(cluster.membership.quorum).toEqual(quorum(true, 3, 3));
    await flushPromises();
    // A and B came up in one synchronous run: one snapshot for both
    expect(snapshots.map(q => q && `${q.has}:${q.size}/${q.expectedSize}`)).toEqual([
      'false:1/1',
      'false:1/5',
      'true:3/5',
      'false:3/7',
      'false:3/3',
      'true:3/3',
    ]);
    await cluster.stop();
  });
});

describe('GenCluster quorum on an in-memory network', () => {
  const NODES = ['n1@test', 'n2@test', 'n3@test', 'n4@test', 'n5@test'];

  it('keeps quorum on the 3-side of a 3 | 2 partition only, and the 2-side regains it after healing', async () => {
    const network = new InMemoryNetwork();
    const clusters = NODES.map(
      node =>
        new GenCluster({
          node,
          discovery: network.discovery(),
          dist: network.dist(),
          logger: silent,
          refreshIntervalMs: 50,
          quorum: { expectedSize: 5, stableMs: 300 },
        }),
    );
    const changes = clusters.map(cluster => {
      const seen: boolean[] = [];
      cluster.events$.subscribe(e => e.type === 'quorumChanged' && seen.push(e.quorum.has));
      return seen;
    });
    try {
      await Promise.all(clusters.map(cluster => cluster.start()));
      await until(() => clusters.every(c => c.nodes().length === 4), 10_000, 'a full mesh');
      expect(clusters.map(c => c.hasQuorum())).toEqual([true, true, true, true, true]);
      const [major, minor] = [NODES.slice(0, 3), NODES.slice(3)];
      for (const a of major) for (const b of minor) network.partition(a, b);
      expect(clusters.map(c => c.nodes().length)).toEqual([2, 2, 2, 1, 1]);
      // lost at once: no wait needed on the minority side
      expect(clusters.map(c => c.hasQuorum())).toEqual([true, true, true, false, false]);
      expect(clusters[3]!.membership.quorum).toEqual({
        has: false,
        size: 2,
        needed: 3,
        expectedSize: 5,
      });
      const healedAt = performance.now();
      for (const a of major) for (const b of minor) network.heal(a, b);
      await until(() => clusters.every(c => c.nodes().length === 4), 10_000, 'the healed mesh');
      await until(() => clusters.every(c => c.hasQuorum()), 10_000, 'quorum everywhere');
      // regained only after the stable margin (a little slack for timer granularity)
      expect(performance.now() - healedAt).toBeGreaterThanOrEqual(290);
      expect(changes).toEqual([[true], [true], [true], [true, false, true], [true, false, true]]);
    } finally {
      await Promise.all(clusters.map(cluster => cluster.stop()));
    }
  });
});
