/**
 * The chaos soak's settings: the timings the nodes run with, the bounds derived from them, and the
 * two modes (short and long, both in `npm run test:soak`; long also `npm run chaos`).
 */

/** The options every chaos node starts with (passed to `GenClusterModule.forRoot`). */
export const CHAOS_TIMINGS = Object.freeze({
  heartbeatMs: 500,
  failureTimeoutMs: 3_000,
  handshakeStepTimeoutMs: 2_000,
  handshakeTotalTimeoutMs: 4_000,
  connectTimeoutMs: 4_000,
  backoff: Object.freeze({ initialMs: 250, maxMs: 3_000, multiplier: 2, jitter: 0.2 }),
  requestTimeoutMs: 3_000,
});

/** `forRoot` options of a chaos node built from {@link CHAOS_TIMINGS}. */
export function nodeOptions(timings = CHAOS_TIMINGS): object {
  return {
    connectTimeoutMs: timings.connectTimeoutMs,
    backoff: timings.backoff,
    dist: {
      strategy: 'tcp',
      heartbeatMs: timings.heartbeatMs,
      failureTimeoutMs: timings.failureTimeoutMs,
      handshakeStepTimeoutMs: timings.handshakeStepTimeoutMs,
      handshakeTotalTimeoutMs: timings.handshakeTotalTimeoutMs,
      requestTimeoutMs: timings.requestTimeoutMs,
    },
  };
}

/**
 * How long after the last fault every view must equal the live reachable set:
 * failure timeout (a link that died silently is noticed) + the longest backoff delay, jitter
 * included (the retry that was scheduled while the peer was away) + the handshake deadline (a dial
 * that was already under way when the fault ended; the connect timeout when it is longer)
 * + how late the harness can see it (a node reports a changed view within 100 ms, the harness
 * polls every 100 ms: 500 ms covers both with margin).
 */
export function convergenceBoundMs(timings = CHAOS_TIMINGS): number {
  const backoffMax = timings.backoff.maxMs * (1 + timings.backoff.jitter);
  const handshake = Math.max(timings.handshakeTotalTimeoutMs, timings.connectTimeoutMs);
  return Math.ceil(timings.failureTimeoutMs + backoffMax + handshake + OBSERVATION_SLACK_MS);
}

/** How late the harness can observe a view change (see {@link convergenceBoundMs}). */
export const OBSERVATION_SLACK_MS = 500;

/** One run's settings. */
export interface ChaosConfig {
  readonly mode: 'short' | 'long';
  /** Processes (slots). */
  readonly nodes: number;
  /** Total time of fault injection (all bursts). */
  readonly durationMs: number;
  /** Faults are injected for this long, then everything recovers and a checkpoint checks. */
  readonly burstMs: number;
  /** Delay between two faults: uniform in [min, max]. */
  readonly faultEveryMs: readonly [number, number];
  /** Slots never killed or restarted (still paused and partitioned): heap growth is measured on them. */
  readonly witnesses: number;
  /** At most this many slots down or paused at once. */
  readonly maxImpaired: number;
  readonly seed: number;
  /** Print the live report on stderr. */
  readonly live: boolean;
  /** Where the JSON summary goes. */
  readonly reportPath: string;
  /** Post-GC heap of a witness at the end may exceed its baseline by this much. */
  readonly heapSlackBytes: number;
  /** Open fds of any node at a checkpoint may exceed the largest baseline by this much. */
  readonly fdSlack: number;
  /** Deadline for one process to print its ready line. */
  readonly startTimeoutMs: number;
}

/** A seed from `CHAOS_SEED`, or a fresh one (printed, so that the run can be repeated). */
export function chaosSeed(env = process.env): number {
  const given = env.CHAOS_SEED;
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new Error(`CHAOS_SEED must be an integer from 0 to 4294967295, not ${given}`);
    return seed;
  }
  return Math.floor(Math.random() * 0x100000000);
}

/** The settings of `mode`, with `CHAOS_*` overrides from the environment (seed, live report, bounds; durations in long mode). */
export function chaosConfig(mode: 'short' | 'long', env = process.env): ChaosConfig {
  const short = mode === 'short';
  const number = (name: string, fallback: number) => {
    const value = env[name];
    if (value === undefined || value === '') return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < 0)
      throw new Error(`${name} must be a non-negative number, not ${value}`);
    return parsed;
  };
  return {
    mode,
    nodes: 10,
    // the short mode has a fixed shape: it runs beside the long one in `test:soak`, where CHAOS_DURATION_MS set
    // for a soak must not make it long
    durationMs: short ? 25_000 : number('CHAOS_DURATION_MS', 600_000),
    burstMs: short ? 25_000 : number('CHAOS_BURST_MS', 45_000),
    faultEveryMs: [1_500, 4_000],
    witnesses: 3,
    maxImpaired: 3,
    seed: chaosSeed(env),
    live: env.CHAOS_LIVE === '1',
    reportPath:
      env.CHAOS_REPORT ?? `bench/results/${short ? 'chaos-short-latest' : 'chaos-latest'}.json`,
    heapSlackBytes: number('CHAOS_HEAP_SLACK_BYTES', 8 * 1024 * 1024),
    fdSlack: number('CHAOS_FD_SLACK', 2),
    startTimeoutMs: 45_000,
  };
}

/** Deterministic uniform numbers in [0, 1) from a 32-bit seed (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
