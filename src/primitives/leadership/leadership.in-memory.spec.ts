/**
 * Leadership on real parts: GenClusters on an InMemoryNetwork, each with its messaging (for
 * `$gc.lead.abdicate`) and a real ServiceRegistry (for terms), the start times in the dist's
 * presence. Every singleton run is recorded with its times, so overlaps can be checked.
 */
import { GenCluster, type QuorumOptions } from '../../core/index.js';
import { InMemoryNetwork } from '../../testing/index.js';
import { silent } from '../../../test/support/engine-harness.js';
import { until } from '../../../test/support/wait.js';
import { ServiceRegistry } from '../registry/service-registry.js';
import { Leadership } from './leadership.js';

const A = 'a@test';
const B = 'b@test';
const C = 'c@test';

/** One line of the shared singleton log. */
interface RunEvent {
  readonly node: string;
  readonly what: 'start' | 'aborted' | 'stopBegins' | 'stopEnds';
  readonly term: number;
  readonly at: number;
}

interface TestNode {
  readonly name: string;
  readonly cluster: GenCluster;
  readonly registry: ServiceRegistry;
  readonly leadership: Leadership;
  readonly dist: ReturnType<InMemoryNetwork['dist']>;
  /** Moves this node's monotonic clock forward (a freeze as the guard sees it). */
  freeze(ms: number): void;
}

describe('Leadership on an in-memory cluster', () => {
  let network: InMemoryNetwork;
  let log: RunEvent[];
  const nodes: TestNode[] = [];

  beforeEach(() => {
    network = new InMemoryNetwork();
    log = [];
  });

  afterEach(async () => {
    for (const node of nodes.splice(0)) {
      await node.leadership.close();
      node.registry.close();
      await node.cluster.stop();
    }
  });

  /** A node started at `startedAt` running the singleton `job` (whose stop takes 30 ms). */
  async function start(name: string, startedAt: number, quorum?: QuorumOptions): Promise<TestNode> {
    const dist = network.dist(undefined, { startedAt });
    const cluster = new GenCluster({
      node: name,
      discovery: network.discovery(),
      dist,
      logger: silent,
      refreshIntervalMs: 50,
      ...(quorum ? { quorum } : {}),
    });
    const registry = new ServiceRegistry({ cluster, messaging: dist.messaging });
    let offset = 0;
    const leadership = new Leadership({
      cluster,
      idle: false,
      startedAt,
      quorumConfigured: quorum !== undefined,
      messaging: dist.messaging,
      registry,
      options: { settleMs: 100 },
      now: () => performance.now() + offset,
    });
    leadership.singleton('job', {
      start: ctx => {
        log.push({ node: name, what: 'start', term: ctx.term, at: performance.now() });
        ctx.signal.addEventListener('abort', () =>
          log.push({ node: name, what: 'aborted', term: ctx.term, at: performance.now() }),
        );
      },
      stop: async ctx => {
        log.push({ node: name, what: 'stopBegins', term: ctx.term, at: performance.now() });
        await new Promise(resolve => setTimeout(resolve, 30));
        log.push({ node: name, what: 'stopEnds', term: ctx.term, at: performance.now() });
      },
    });
    await cluster.start();
    leadership.start();
    const node = {
      name,
      cluster,
      registry,
      leadership,
      dist,
      freeze: (ms: number) => (offset += ms),
    };
    nodes.push(node);
    return node;
  }

  /** Who runs `job` now according to the log (started and not stopped). */
  function running(): string[] {
    const now = new Map<string, boolean>();
    for (const event of log)
      if (event.what === 'start' || event.what === 'stopEnds')
        now.set(event.node, event.what === 'start');
    return [...now]
      .filter(([, on]) => on)
      .map(([node]) => node)
      .sort();
  }

  /** The most runs at once in the log, counting a run until its stop hook returned. */
  function maxConcurrent(): number {
    let current = 0;
    let most = 0;
    for (const event of [...log].sort((x, y) => x.at - y.at)) {
      if (event.what === 'start') current++;
      else if (event.what === 'stopEnds') current--;
      most = Math.max(most, current);
    }
    return most;
  }

  const starts = (node?: string) =>
    log.filter(e => e.what === 'start' && (node === undefined || e.node === node));

  async function agreed(trio: readonly TestNode[], leader: string): Promise<void> {
    await until(
      () => trio.every(n => n.leadership.leader() === leader) && running().includes(leader),
      10_000,
      `all agree on ${leader}, and it runs the singleton`,
    );
  }

  it('lets the earliest start lead and run the singleton exactly once; every node learns its term', async () => {
    const trio = [await start(B, 2_000), await start(C, 3_000), await start(A, 1_000)];
    await agreed(trio, A);
    await until(
      () => trio.every(n => n.leadership.term === starts(A)[0]!.term),
      5_000,
      'every node sees the term the leader announced',
    );
    expect(starts()).toHaveLength(1);
    expect(starts(A)[0]!.term).toBeGreaterThanOrEqual(1);
    expect(trio.map(n => n.leadership.isLeader())).toEqual([false, false, true]);
  });

  it('hands over on abdicate without overlap: the next starts only after the old stop returned', async () => {
    const [a, b, c] = [await start(A, 1_000), await start(B, 2_000), await start(C, 3_000)];
    await agreed([a, b, c], A);
    const termA = starts(A)[0]!.term;
    await a.leadership.abdicate();
    expect(a.leadership.isLeader()).toBe(false);
    // the successor starts on the message, before a leaves the cluster
    await until(() => running().includes(B), 5_000, 'b runs the singleton');
    expect(b.cluster.nodes()).toContain(A);
    const stopEnds = log.find(e => e.node === A && e.what === 'stopEnds')!;
    const startB = starts(B)[0]!;
    expect(startB.at).toBeGreaterThanOrEqual(stopEnds.at);
    expect(startB.term).toBeGreaterThan(termA);
    expect(c.leadership.leader()).toBe(B);
    await a.cluster.leave();
    await until(() => c.leadership.term === startB.term, 5_000, 'c learns the new term');
    expect(running()).toEqual([B]);
    expect(maxConcurrent()).toBe(1);
  });

  it('takes over when the leader is killed without abdicating', async () => {
    const [a, b, c] = [await start(A, 1_000), await start(B, 2_000), await start(C, 3_000)];
    await agreed([a, b, c], A);
    const termA = starts(A)[0]!.term;
    // kill -9: its process runs nothing more (its leadership sends no abdicate), no refresh of
    // its own reconnects it, and its peers see connectionClosed
    await a.leadership.close();
    a.cluster.pause();
    await a.dist.close();
    await agreed([b, c], B);
    expect(starts(B)[0]!.term).toBeGreaterThan(termA);
  });

  it('with quorum 3 and a 2|1 partition, the 1-side has no leader and stops its singleton', async () => {
    const quorum = { expectedSize: 3, stableMs: 200 };
    const [a, b, c] = [
      await start(A, 1_000, quorum),
      await start(B, 2_000, quorum),
      await start(C, 3_000, quorum),
    ];
    await agreed([a, b, c], A);
    const termA = starts(A)[0]!.term;
    await until(() => [b, c].every(n => n.leadership.term === termA), 5_000, 'term known');
    network.partition(A, B);
    network.partition(A, C);
    expect(a.leadership.isLeader()).toBe(false);
    expect(a.leadership.whyNot()).toBe('noQuorum');
    expect(a.leadership.leader()).toBeUndefined();
    await agreed([b, c], B);
    await until(() => running().length === 1, 5_000, 'a stopped');
    expect(running()).toEqual([B]);
    // in memory both sides see the cut at once: a was told to stop (signal aborted) before b
    // started; over TCP b would only see it after the failure timeout
    const stopA = log.find(e => e.node === A && e.what === 'aborted')!;
    const termB = starts(B)[0]!.term;
    expect(stopA.at).toBeLessThanOrEqual(starts(B)[0]!.at);
    expect(termB).toBeGreaterThan(termA);
    network.heal(A, B);
    network.heal(A, C);
    // a regains quorum after the stable margin and, started first, leads again (flip-back)
    await agreed([a, b, c], A);
    await until(() => running().length === 1, 5_000, 'b stopped');
    // b was told to stop when a came back, settleMs (100 ms) before a started; a stop hook that
    // runs longer than settleMs would overlap a's start (a flip-back is not an abdication)
    const stopB = log.find(e => e.node === B && e.what === 'aborted')!;
    const startA = starts(A).at(-1)!;
    expect(startA.at).toBeGreaterThanOrEqual(stopB.at);
    expect(startA.term).toBeGreaterThan(termB);
  });

  it('suspends a frozen leader at once and lets it lead again once settled, with a new term', async () => {
    const [a, b, c] = [await start(A, 1_000), await start(B, 2_000), await start(C, 3_000)];
    await agreed([a, b, c], A);
    const termA = starts(A)[0]!.term;
    a.freeze(3_000); // its clock jumped: no timer of it has run since
    expect(a.leadership.isLeader()).toBe(false);
    expect(a.leadership.whyNot()).toBe('frozen');
    await until(() => starts(A).length === 2, 5_000, 'a settled and started again');
    expect(log.filter(e => e.node === A).map(e => e.what)).toEqual([
      'start',
      'aborted',
      'stopBegins',
      'stopEnds',
      'start',
    ]);
    expect(starts(A)[1]!.term).toBeGreaterThan(termA);
    expect(starts(B)).toEqual([]); // the others kept a as leader: nobody else ran it
    await until(() => [b, c].every(n => n.leadership.term === starts(A)[1]!.term), 5_000);
  });
});
