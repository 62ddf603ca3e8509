import { jest } from '@jest/globals';
import { type ClusterEvent, GenCluster } from '../core/index.js';
import { advance, silent } from '../../test/support/engine-harness.js';
import { InMemoryNetwork } from './in-memory-network.js';
import { TestDiscovery } from './test-strategies.js';

const NODES = ['a@test', 'b@test', 'c@test'];
const INTERVAL = 1_000;

function cluster(network: InMemoryNetwork, node: string) {
  const discovery = new TestDiscovery(NODES);
  const engine = new GenCluster({
    node,
    discovery,
    dist: network.dist(),
    logger: silent,
    refreshIntervalMs: INTERVAL,
    removalPolicy: 'disconnect',
    random: () => 0.5,
  });
  const events: ClusterEvent[] = [];
  engine.events$.subscribe(e => events.push(e));
  return { node, engine, discovery, events };
}

describe('InMemoryDist admission (removalPolicy "disconnect")', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('keeps a node out while the others do not discover it, although it keeps dialling; it rejoins once listed', async () => {
    const network = new InMemoryNetwork();
    const [a, b, c] = NODES.map(node => cluster(network, node));
    for (const n of [a!, b!, c!]) await n.engine.start();
    await advance(0);
    expect(c!.engine.nodes()).toEqual(['a@test', 'b@test']);

    a!.discovery.answer = ['a@test', 'b@test'];
    b!.discovery.answer = ['a@test', 'b@test'];
    await advance(INTERVAL);
    expect(c!.engine.nodes()).toEqual([]);
    const since = (events: ClusterEvent[]) => events.length;
    const marks = [a!, b!, c!].map(n => since(n.events));
    await advance(4 * INTERVAL); // more than three intervals
    expect(a!.engine.nodes()).toEqual(['b@test']);
    expect(b!.engine.nodes()).toEqual(['a@test']);
    expect(c!.engine.nodes()).toEqual([]);
    const later = [a!, b!, c!].map((n, i) => n.events.slice(marks[i]));
    for (const events of later)
      expect(events.filter(e => e.type === 'nodeUp' || e.type === 'nodeDown')).toEqual([]);
    // c kept dialling both, and was refused each time
    const refused = later[2]!.filter(e => e.type === 'connectFailed').map(e => e.node);
    expect(refused).toEqual(expect.arrayContaining(['a@test', 'b@test']));

    a!.discovery.answer = NODES;
    b!.discovery.answer = NODES;
    await advance(INTERVAL);
    for (const n of [a!, b!, c!])
      expect(n.engine.nodes()).toEqual(NODES.filter(other => other !== n.node));
    for (const n of [a!, b!, c!]) await n.engine.stop();
  });

  it('refreshes the dialled node once when a new node dials it, instead of refusing it for an interval', async () => {
    const network = new InMemoryNetwork();
    const a = cluster(network, 'a@test');
    a.discovery.answer = ['a@test'];
    await a.engine.start();
    await advance(0);
    const calls = a.discovery.calls;
    const fresh = cluster(network, 'n@test');
    fresh.discovery.answer = ['a@test', 'n@test'];
    a.discovery.answer = ['a@test', 'n@test']; // listed, but a's next refresh is an interval away
    await fresh.engine.start();
    await advance(0);
    expect(a.discovery.calls).toBe(calls + 1);
    expect(a.engine.nodes()).toEqual(['n@test']);
    expect(fresh.engine.nodes()).toEqual(['a@test']);
    await a.engine.stop();
    await fresh.engine.stop();
  });
});
