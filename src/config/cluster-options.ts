import type {
  BackoffOptions,
  DiscoveryStrategy,
  DistStrategy,
  SchedulerOptions,
} from '../core/index.js';
import type { BuiltInDiscoveryOptions } from '../discovery/index.js';
import type { BuiltInDistOptions } from '../distribution/index.js';

/**
 * Options of one cluster, without any framework: what `createCluster()` takes, and the base of
 * `GenClusterModule.forRoot()`'s options. Every field is optional; the environment
 * (`GEN_CLUSTER_*`) fills what is left out unless `useEnv` is `false`.
 */
export interface ClusterOptions extends Partial<Omit<SchedulerOptions, 'backoff'>> {
  /** This node's name, `name@host`; `GEN_CLUSTER_NODE`, else `node-<pid>@<hostname>`. */
  readonly node?: string;
  /**
   * Who the peers are: a built-in strategy's options (`{ strategy: 'dns', domain: '...' }`) or a
   * strategy instance. `GEN_CLUSTER_DISCOVERY` when unset; without either, no cluster runs.
   */
  readonly discovery?: BuiltInDiscoveryOptions | DiscoveryStrategy;
  /** How to connect: built-in options or a dist instance; the TCP mesh (`{ strategy: 'tcp' }`) when unset. */
  readonly dist?: BuiltInDistOptions | DistStrategy;
  /** Per-node reconnect backoff; unset fields keep their defaults. */
  readonly backoff?: Partial<BackoffOptions>;
  /**
   * Whether `GEN_CLUSTER_*` variables fill the fields left out (default `true`). Explicit options
   * win; built-in strategy options of the same strategy are merged field by field.
   */
  readonly useEnv?: boolean;
}
