/** Per-node reconnect backoff: `initialMs * multiplier^(attempt-1)`, capped at `maxMs`, ± `jitter`. */
export interface BackoffOptions {
  /** Delay after the first failure. */
  readonly initialMs: number;
  /** Ceiling of the delay before jitter. */
  readonly maxMs: number;
  /** Growth factor per failure. */
  readonly multiplier: number;
  /** Random spread as a fraction of the delay (0.2 = ±20 %). */
  readonly jitter: number;
}

/** What the cluster does with a connected member that discovery no longer names. */
export type RemovalPolicy = 'keep' | 'disconnect';

/** The scheduler's tunables, each with its default in {@link DEFAULT_GEN_CLUSTER_OPTIONS}. */
export interface SchedulerOptions {
  /** Time between refreshes; `Infinity` or `'infinity'` runs only the first one. */
  readonly refreshIntervalMs: number | 'infinity';
  /** `'keep'` leaves a member that left discovery connected (it may be handing off work); `'disconnect'` drops it. */
  readonly removalPolicy: RemovalPolicy;
  /** How many connection attempts run at once. */
  readonly connectConcurrency: number;
  /** How long one connection attempt may take. */
  readonly connectTimeoutMs: number;
  /** How long one discovery lookup may take before it counts as failed. */
  readonly discoveryTimeoutMs: number;
  /** Per-node reconnect backoff. */
  readonly backoff: BackoffOptions;
}

/**
 * Every default of the library, in one place: `GenCluster`, `GenClusterModule.forRoot`,
 * `forRootAsync` and the environment reader all start from this object.
 */
export const DEFAULT_GEN_CLUSTER_OPTIONS: Readonly<SchedulerOptions> = Object.freeze({
  refreshIntervalMs: 5_000,
  removalPolicy: 'keep',
  connectConcurrency: 16,
  connectTimeoutMs: 5_000,
  discoveryTimeoutMs: 10_000,
  backoff: Object.freeze({ initialMs: 1_000, maxMs: 15_000, multiplier: 2, jitter: 0.2 }),
});

/**
 * How long a side must keep `size >= needed`, after losing quorum, before quorum counts as
 * regained (the `quorum` option's `stableMs`).
 */
export const DEFAULT_QUORUM_STABLE_MS = 3_000;
