/**
 * The Nest wiring of leadership: this node's start time and hidden flag come from the dist, with
 * no stand-in for a dist that announces none (peers would never count such a node eligible).
 */
import { GenCluster, GenClusterError, type Peer } from '../core/index.js';
import { TestDiscovery, TestDist } from '../testing/index.js';
import { until } from '../../test/support/wait.js';
import { createPrimitives } from './cluster-primitives.js';

const SELF = 'self@h';
const A = 'a@h';

describe('createPrimitives', () => {
  const closing: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
  });

  /** A started cluster with `a` (started at `aStartedAt`) connected, its primitives started. */
  async function primitives(dist: TestDist, aStartedAt = 200) {
    const lines: string[] = [];
    const logger = {
      log: (m: string) => void lines.push(`log ${m}`),
      warn: (m: string) => void lines.push(`warn ${m}`),
      error: (m: string) => void lines.push(`error ${m}`),
    };
    const a: Peer = { node: A, meta: { startedAt: aStartedAt } };
    const cluster = new GenCluster({ node: SELF, discovery: new TestDiscovery([a]), dist, logger });
    const built = createPrimitives({
      cluster,
      idle: false,
      dist,
      messaging: undefined as never,
      carriesMessages: false,
      services: { kind: 'unsupported', error: () => new GenClusterError('ERR_NOT_STARTED', 'x') },
      quorumConfigured: false,
      leadership: { settleMs: 20 },
      logger,
    });
    closing.push(async () => {
      await built.close();
      await cluster.stop();
    });
    await cluster.start();
    built.start();
    return { leadership: built.leadership, lines };
  }

  const warnings = (lines: string[]) =>
    lines.filter(l => l.startsWith('warn') && l.includes('announces start times'));

  it('a dist without a start time: never leads (no Date.now() stand-in), warns once', async () => {
    // a started after any stand-in this node could take from its clock now
    const { leadership, lines } = await primitives(new TestDist(), Date.now() + 3_600_000);
    await until(() => leadership.leader() === A, 5_000, 'a leads, though it started later');
    expect(leadership.isLeader()).toBe(false);
    expect(warnings(lines)).toHaveLength(1);
  });

  it('a dist with a start time leads when it started first; a hidden one never does', async () => {
    const announcing = Object.assign(new TestDist(), { startedAt: 100 });
    const first = await primitives(announcing);
    await until(() => first.leadership.isLeader(), 5_000, 'self leads');
    expect(warnings(first.lines)).toEqual([]);
    const hidden = Object.assign(new TestDist(), { startedAt: 100, hidden: true });
    const second = await primitives(hidden);
    await until(() => second.leadership.leader() === A, 5_000, 'a leads');
    expect(second.leadership.isLeader()).toBe(false);
  });
});
