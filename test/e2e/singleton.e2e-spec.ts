import { stopAll } from '../support/nodes.js';
import { freeSharedPort } from '../support/ports.js';
import { type TimedLine, type TimedSample, startTimedSample } from '../support/timed-samples.js';
import { until } from '../support/wait.js';

/**
 * Leadership and the sample's singleton on five real processes (docs/primitives.md): each "pod"
 * on its own loopback address with one shared port, static discovery, heartbeat 200 ms and
 * failure timeout 1 s (test/support/timed-sample.mjs: the sample as it is, timings shortened).
 * The nodes start one after the other, so their start times, and so their seniority, are
 * n1 < n2 < ... < n5. What is checked is the sample's own output: `singleton sample-heartbeat
 * started on <self> (term <n>)`, `... stopped on <self>`, the `@Cron`-gated tick lines and the
 * engine's `Node down: <node> (<reason>).`, each with the time it arrived here (one machine, one
 * clock), and `GET /cluster/leader` on every node.
 */

const HEARTBEAT_MS = 200;
const FAILURE_TIMEOUT_MS = 1_000;
/** Leadership's `settleMs` (its default): how long membership must stay still before leading. */
const SETTLE_MS = 500;
/** Slack for a loaded machine (two Jest workers, five Nest processes on two cores). */
const SLACK_MS = 2_000;
const SINGLETON = 'sample-heartbeat';
const HOSTS = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
const NAMES = HOSTS.map((host, i) => `n${i + 1}@${host}`);

const STARTED = new RegExp(`singleton ${SINGLETON} started on (\\S+) \\(term (\\d+)\\)`);
const STOPPED = new RegExp(`singleton ${SINGLETON} stopped on (\\S+)`);
/** A run of the sample's `@Cron`-gated tick (printed with `SAMPLE_SINGLETON_TICKS=1`). */
const TICK = /singleton tick on (\S+) \(term \d+\)/;
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const nodeDown = (name: string) => new RegExp(`Node down: ${escaped(name)} \\(`);

/** One start or stop of the singleton on one node. */
interface SingletonEvent {
  readonly kind: 'started' | 'stopped';
  readonly node: string;
  readonly term?: number;
  readonly at: number;
}

/** `GET /cluster/leader` of the sample. */
interface LeaderAnswer {
  readonly leader: string | null;
  readonly self: string;
}

describe('the sample singleton on five processes (heartbeat 200 ms, failure timeout 1 s)', () => {
  let port = 0;
  /** By index: nodes[0] is n1, the oldest. A restarted node replaces its entry. */
  const nodes: TimedSample[] = [];
  /** Every process started, the replaced ones too, for the singleton's whole history. */
  const everyProcess: TimedSample[] = [];

  const start = async (i: number) => {
    const node = await startTimedSample({
      GEN_CLUSTER_NODE: NAMES[i]!,
      GEN_CLUSTER_PORT: String(port),
      GEN_CLUSTER_DISCOVERY: `static:${NAMES.join(',')}`,
      GEN_CLUSTER_REFRESH_INTERVAL_MS: '500',
      SAMPLE_TEST_OPTIONS: JSON.stringify({
        dist: { heartbeatMs: HEARTBEAT_MS, failureTimeoutMs: FAILURE_TIMEOUT_MS },
      }),
      SAMPLE_SINGLETON_TICKS: '1',
    });
    nodes[i] = node;
    everyProcess.push(node);
    return node;
  };

  /**
   * The singleton's starts and stops on `processes` since `since`, in arrival order; lines of one
   * process keep their own order (a stop and a start can arrive in one chunk, at one time).
   */
  const events = (since = 0, processes = everyProcess): SingletonEvent[] =>
    processes
      .flatMap(p =>
        p.lines
          .filter(line => line.at >= since)
          .flatMap((line): SingletonEvent[] => {
            const started = STARTED.exec(line.text);
            if (started)
              return [
                { kind: 'started', node: started[1]!, term: Number(started[2]), at: line.at },
              ];
            const stopped = STOPPED.exec(line.text);
            return stopped ? [{ kind: 'stopped', node: stopped[1]!, at: line.at }] : [];
          }),
      )
      // a stable sort: equal times keep each process's line order
      .sort((a, b) => a.at - b.at);
  const startsSince = (since: number) => events(since).filter(e => e.kind === 'started');
  /** The first line of `node` matching `pattern` since `since`. */
  const firstLine = (node: TimedSample, pattern: RegExp, since: number): TimedLine | undefined =>
    node.matches(pattern, since)[0]?.line;
  /** Live processes whose last singleton line says it runs there (a stopped process counts). */
  const running = () =>
    nodes.filter(n => n.exitCode === undefined && events(0, [n]).at(-1)?.kind === 'started');

  const leaderOf = async (node: TimedSample): Promise<LeaderAnswer | undefined> => {
    try {
      const response = await fetch(`http://127.0.0.1:${node.http}/cluster/leader`, {
        signal: AbortSignal.timeout(1_000),
      });
      return response.status === 200 ? ((await response.json()) as LeaderAnswer) : undefined;
    } catch {
      return undefined;
    }
  };
  /** Waits until every node in `among` answers `GET /cluster/leader` with `leader`. */
  const allAgree = async (among: TimedSample[], leader: string, timeoutMs: number) => {
    let seen: (LeaderAnswer | undefined)[] = [];
    try {
      await until(
        async () => {
          seen = await Promise.all(among.map(leaderOf));
          return seen.every(
            (answer, i) => answer?.leader === leader && answer.self === among[i]!.name,
          );
        },
        timeoutMs,
        `every node to name ${leader} as the leader`,
        50,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; they answered ${JSON.stringify(seen)}`);
    }
  };
  const describeHistory = () =>
    events()
      .map(
        e => `${e.at.toFixed(0)} ${e.kind} ${e.node}${e.term === undefined ? '' : ` t${e.term}`}`,
      )
      .join('\n');

  /** {@link until}, its error followed by the singleton's history so far. */
  const waitFor = async (condition: () => boolean, timeoutMs: number, what: string) => {
    try {
      await until(condition, timeoutMs, what);
    } catch (error) {
      throw new Error(`${(error as Error).message}; the singleton's lines:\n${describeHistory()}`);
    }
  };

  beforeAll(async () => {
    port = await freeSharedPort(HOSTS);
    // one after the other: each start time is later than the one before
    for (let i = 0; i < NAMES.length; i++) await start(i);
  }, 60_000);
  afterAll(stopAll);

  it('elects the oldest node: exactly one start, on n1, and GET /cluster/leader agrees on all five', async () => {
    await allAgree(nodes, NAMES[0]!, 10_000 + SLACK_MS);
    await waitFor(() => running().length === 1, 5_000, `${SINGLETON} to start on n1`);
    const starts = startsSince(0);
    expect(starts.map(e => e.node)).toEqual([NAMES[0]]);
    expect(starts[0]!.term).toBeGreaterThanOrEqual(1);
    expect(running().map(n => n.name)).toEqual([NAMES[0]]);
  });

  it('kill -9 of the leader: the next-oldest starts it soon after detecting the loss, no other node does, and the term grows', async () => {
    const [n1, n2] = nodes as [TimedSample, TimedSample];
    const termBefore = startsSince(0).at(-1)!.term!;
    const killedAt = performance.now();
    await n1.kill();
    await waitFor(
      () => startsSince(killedAt).length > 0,
      FAILURE_TIMEOUT_MS + SLACK_MS,
      'a successor',
    );
    const [successor] = startsSince(killedAt);
    expect(successor!.node).toBe(NAMES[1]);
    expect(successor!.term!).toBeGreaterThan(termBefore);
    // detection here is the closed connection; the successor starts right after it saw the loss
    const detected = firstLine(n2, nodeDown(NAMES[0]!), killedAt);
    expect(detected).toBeDefined();
    expect(successor!.at).toBeGreaterThanOrEqual(detected!.at);
    expect(successor!.at - detected!.at).toBeLessThanOrEqual(1_000);
    await allAgree(nodes.slice(1), NAMES[1]!, 5_000);
    expect(startsSince(killedAt).map(e => e.node)).toEqual([NAMES[1]]);
  });

  it('a restarted node (same name, a new start time) joins without taking leadership', async () => {
    const restartedAt = performance.now();
    const n1 = await start(0);
    // it settles (every discovered node connected, then settleMs) and names n2 like the others
    await allAgree(nodes, NAMES[1]!, 10_000 + SLACK_MS);
    expect(firstLine(n1, STARTED, 0)).toBeUndefined();
    expect(startsSince(restartedAt)).toEqual([]);
    expect(running().map(n => n.name)).toEqual([NAMES[1]]);
  });

  it('SIGSTOP of the leader: the next one starts only after failure detection; after SIGCONT exactly one runs again within one failure timeout, and the resumed node runs no gated tick while another runs', async () => {
    const [, n2, n3] = nodes as [TimedSample, TimedSample, TimedSample];
    const termBefore = startsSince(0).at(-1)!.term!;
    const stoppedAt = performance.now();
    n2.signal('SIGSTOP');
    await waitFor(
      () => startsSince(stoppedAt).length > 0,
      FAILURE_TIMEOUT_MS + HEARTBEAT_MS + SLACK_MS,
      'a successor of the stopped leader',
    );
    const [successor] = startsSince(stoppedAt);
    expect(successor!.node).toBe(NAMES[2]);
    expect(successor!.term!).toBeGreaterThan(termBefore);
    // not before the silent leader could be declared down: the failure timeout less one heartbeat
    // (silence is counted from the last frame received, up to a heartbeat before the SIGSTOP)
    expect(successor!.at - stoppedAt).toBeGreaterThanOrEqual(FAILURE_TIMEOUT_MS - HEARTBEAT_MS);
    const detected = firstLine(n3, nodeDown(NAMES[1]!), stoppedAt);
    expect(detected).toBeDefined();
    expect(successor!.at).toBeGreaterThanOrEqual(detected!.at);

    // the only fixed wait of the suite: how long the leader stays frozen
    await new Promise(resolve => setTimeout(resolve, 3_000 - (performance.now() - stoppedAt)));
    // while it was, n3 alone took over
    expect(startsSince(stoppedAt).map(e => e.node)).toEqual([NAMES[2]]);
    const resumedAt = performance.now();
    n2.signal('SIGCONT');
    // the oldest live node leads again (n1 restarted, so it is the youngest): n2 takes it back,
    // a handover like any other (docs/primitives.md); every node agrees, and only n2 runs it
    await allAgree(nodes, NAMES[1]!, FAILURE_TIMEOUT_MS + SETTLE_MS + 5_000 + SLACK_MS);
    await waitFor(
      () => running().length === 1 && running()[0] === n2,
      FAILURE_TIMEOUT_MS + SETTLE_MS + SLACK_MS,
      `n2 alone running ${SINGLETON} again`,
    );
    // from SIGCONT on, the runners by the lines: n2 (still believing) and n3 at first
    const runners = new Set([NAMES[1]!, NAMES[2]!]);
    let convergedAt = resumedAt;
    // overlap: the time two or more ran at once, n2's stale belief after SIGCONT included
    let overlapMs = 0;
    let since = resumedAt;
    for (const e of events(resumedAt, nodes)) {
      if (runners.size >= 2) overlapMs += e.at - since;
      since = e.at;
      if (e.kind === 'started') runners.add(e.node);
      else runners.delete(e.node);
      if (runners.size === 1) convergedAt = e.at;
    }
    expect(runners).toEqual(new Set([NAMES[1]]));
    // taking it back is a new term, above n3's
    const retaken = events(resumedAt, [n2]).find(e => e.kind === 'started');
    expect(retaken?.term).toBeGreaterThan(successor!.term!);
    const convergedMs = convergedAt - resumedAt;
    expect(convergedMs).toBeLessThanOrEqual(FAILURE_TIMEOUT_MS + SETTLE_MS + SLACK_MS);

    // the resumed node stopped its stale run (freeze detected) before anything else
    expect(events(resumedAt, [n2])[0]?.kind).toBe('stopped');
    process.stdout.write(
      `singleton e2e: SIGSTOP successor after ${(successor!.at - stoppedAt).toFixed(0)} ms; ` +
        `overlap after SIGCONT ${overlapMs.toFixed(0)} ms (bound ${FAILURE_TIMEOUT_MS} ms); ` +
        `one runner again ${convergedMs.toFixed(0)} ms after SIGCONT\n`,
    );
    expect(overlapMs).toBeLessThanOrEqual(FAILURE_TIMEOUT_MS);

    // n2's gated tick never ran while n3 ran the singleton: none between SIGCONT and n3's stop
    // (or until now, when n3 still runs it)
    const n3Stop = events(resumedAt, [n3]).find(e => e.kind === 'stopped');
    const n3RanUntil = n3Stop?.at ?? performance.now();
    const staleTicks = n2.matches(TICK, resumedAt).filter(({ line }) => line.at <= n3RanUntil);
    expect(staleTicks.map(t => t.line.text)).toEqual([]);
    // and the ticks come from the one runner: every n2 tick after SIGCONT is after its new start
    for (const tick of n2.matches(TICK, resumedAt))
      expect(tick.line.at).toBeGreaterThanOrEqual(retaken!.at);
  });

  it('graceful SIGTERM of the leader: the successor starts only after the old leader stopped (no overlap)', async () => {
    const leader = running()[0]!;
    const seniority = NAMES.indexOf(leader.name);
    const termAt = performance.now();
    leader.signal('SIGTERM');
    await waitFor(
      () => startsSince(termAt).length > 0,
      5_000 + SLACK_MS,
      'a successor after SIGTERM',
    );
    const stop = events(termAt, [leader]).find(e => e.kind === 'stopped');
    const [successor] = startsSince(termAt);
    expect(stop).toBeDefined();
    expect(successor!.at).toBeGreaterThanOrEqual(stop!.at);
    // the next-oldest live node: n1 restarted, so it is the youngest
    const next = [...NAMES.slice(seniority + 1), NAMES[0]!].find(name => name !== leader.name)!;
    expect(successor!.node).toBe(next);
    await leader.exited;
    await allAgree(
      nodes.filter(n => n.exitCode === undefined),
      next,
      5_000,
    );
    expect(startsSince(termAt).map(e => e.node)).toEqual([next]);
  });
});
