import { jest } from '@jest/globals';
import { type ClusterEvent, type DistContext, GenCluster, type Peer } from '../core/index.js';
import { silent } from '../../test/support/engine-harness.js';
import { until } from '../../test/support/wait.js';
import { InMemoryNetwork } from './in-memory-network.js';

jest.setTimeout(20_000);

const A_STARTED = 1_700_000_000_000;
const B_STARTED = 1_700_000_000_500;

/** A context that records the peers reported up. */
function recording(self: string): { context: DistContext; ups: Peer[] } {
  const ups: Peer[] = [];
  return {
    ups,
    context: { self, logger: silent, nodeUp: peer => ups.push(peer), nodeDown: () => undefined },
  };
}

describe('InMemoryDist start time', () => {
  it('puts each node’s start time in its presence: nodeUp and members() carry meta.startedAt', async () => {
    const network = new InMemoryNetwork();
    const a = network.dist(undefined, { startedAt: A_STARTED });
    const b = network.dist('default', { startedAt: B_STARTED });
    const ra = recording('a@test');
    const rb = recording('b@test');
    a.init(ra.context);
    b.init(rb.context);
    await expect(a.connect({ node: 'b@test' })).resolves.toBe(true);
    expect(ra.ups).toEqual([{ node: 'b@test', meta: { startedAt: B_STARTED } }]);
    expect(rb.ups).toEqual([{ node: 'a@test', meta: { startedAt: A_STARTED } }]);
    expect(a.members()).toEqual([{ node: 'b@test', meta: { startedAt: B_STARTED } }]);
    expect(b.members()).toEqual([{ node: 'a@test', meta: { startedAt: A_STARTED } }]);
    await a.close();
    await b.close();
  });

  it('is undefined before start, the option once started, else Date.now() at start', () => {
    const network = new InMemoryNetwork();
    const given = network.dist(undefined, { startedAt: A_STARTED });
    const unset = network.dist();
    expect(given.startedAt).toBeUndefined();
    expect(unset.startedAt).toBeUndefined();
    given.init(recording('a@test').context);
    const before = Date.now();
    unset.init(recording('b@test').context);
    const after = Date.now();
    expect(given.startedAt).toBe(A_STARTED);
    expect(unset.startedAt).toBeGreaterThanOrEqual(before);
    expect(unset.startedAt).toBeLessThanOrEqual(after);
  });

  it('has no failureTimeoutMs: a lost link is reported at once', () => {
    expect(new InMemoryNetwork().dist().failureTimeoutMs).toBeUndefined();
  });

  it.each([
    ['0', 0],
    ['a fraction', 1.5],
    ['2^53', 2 ** 53],
    ['a string', '1'],
  ])('refuses a start time of %s, naming the option', (_what, value) => {
    const make = () => new InMemoryNetwork().dist(undefined, { startedAt: value as number });
    expect(make).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }));
    expect(make).toThrow(/startedAt/);
  });

  it('reaches the engine: nodeUp events and memberPeers() carry meta.startedAt', async () => {
    const network = new InMemoryNetwork();
    const engines = [
      ['a@test', A_STARTED],
      ['b@test', B_STARTED],
    ].map(([node, startedAt]) => {
      const engine = new GenCluster({
        node: node as string,
        discovery: network.discovery(),
        dist: network.dist(undefined, { startedAt: startedAt as number }),
        logger: silent,
        refreshIntervalMs: 50,
      });
      const events: ClusterEvent[] = [];
      engine.events$.subscribe(event => events.push(event));
      return { engine, events };
    });
    const [a, b] = engines as [(typeof engines)[0], (typeof engines)[0]];
    try {
      await a.engine.start();
      await b.engine.start();
      await until(
        () => a.engine.nodes().length === 1 && b.engine.nodes().length === 1,
        5_000,
        'a and b linked',
      );
      const up = (events: ClusterEvent[]) => events.find(event => event.type === 'nodeUp');
      expect(up(a.events)).toMatchObject({
        node: 'b@test',
        peer: { node: 'b@test', meta: { startedAt: B_STARTED } },
      });
      expect(up(b.events)).toMatchObject({
        node: 'a@test',
        peer: { node: 'a@test', meta: { startedAt: A_STARTED } },
      });
      expect(a.engine.memberPeers()).toEqual([{ node: 'b@test', meta: { startedAt: B_STARTED } }]);
    } finally {
      await a.engine.stop();
      await b.engine.stop();
    }
  });
});
