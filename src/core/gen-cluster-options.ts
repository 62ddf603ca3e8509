import type { ConnectFailureReportOptions } from './connect-failure-report.js';
import type { BackoffOptions, SchedulerOptions } from './defaults.js';
import type { FormationOptions } from './formation-options.js';
import type { ClusterLogger } from './logger.js';
import type { QuorumOptions } from './quorum.js';
import type { DiscoveryStrategy, DistStrategy } from './strategy.js';

/** Options of {@link GenCluster}. Only `node`, `discovery` and `dist` are required. */
export interface GenClusterOptions extends Partial<Omit<SchedulerOptions, 'backoff'>> {
  /** This node's name, `name@host`. */
  readonly node: string;
  /** Who the peers should be. */
  readonly discovery: DiscoveryStrategy;
  /** How to connect to them. */
  readonly dist: DistStrategy;
  /** Per-node reconnect backoff; unset fields take their defaults. */
  readonly backoff?: Partial<BackoffOptions>;
  /**
   * Where logs go; a console logger for warnings and errors when unset. A logger from
   * `createClusterLogger` gets structured fields and filters by its level; any other gets every
   * level it has a method for, message only.
   */
  readonly logger?: ClusterLogger;
  /**
   * When repeated connect failures count as persistent and how often they are summarised.
   * @internal Tests shorten the intervals; the defaults are not a setting.
   */
  readonly connectFailureReport?: Partial<ConnectFailureReportOptions>;
  /** Uniform random source in [0, 1) for backoff jitter; `Math.random` when unset. */
  readonly random?: () => number;
  /**
   * A quorum rule: membership snapshots carry a `quorum` field, `quorumChanged` events are
   * emitted and leadership runs only on a side with quorum. None when unset.
   */
  readonly quorum?: QuorumOptions;
  /**
   * The formation gate (Akka Bootstrap's required contact points and stable margin): the cluster
   * counts as formed once `minMembers` peers (default 0) are connected and the discovered set has
   * not changed for `stableMarginMs` (default 5 s). Setting it makes `notFormed` a readiness
   * reason and logs the formation; `formed`, `formed$` and `waitForFormation` work either way,
   * with the defaults when unset.
   */
  readonly formation?: FormationOptions;
}
