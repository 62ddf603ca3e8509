import type { InjectionToken, Type } from '@nestjs/common';
import type { BackoffOptions, SchedulerOptions } from '../core/defaults.js';
import type { DiscoveryStrategy, DistStrategy } from '../core/strategy.js';
import type { BuiltInDiscoveryOptions } from '../discovery/index.js';
import type { BuiltInDistOptions } from '../distribution/index.js';

/**
 * How to get a strategy: built-in options (`{ strategy: 'static', nodes: [...] }`), an instance,
 * a class (taken from the module's providers when registered there, otherwise instantiated with
 * dependency injection), or the injection token of a provider.
 */
export type StrategyOption<TStrategy, TBuiltIn> =
  TBuiltIn | TStrategy | Type<TStrategy> | Exclude<InjectionToken, Type<unknown>>;

/** Options of one cluster. Every field is optional; the environment fills what is left out. */
export interface GenClusterModuleOptions extends Partial<Omit<SchedulerOptions, 'backoff'>> {
  /** This node's name, `name@host`; `GEN_CLUSTER_NODE`, else `node-<pid>@<hostname>`. */
  readonly node?: string;
  /** Who the peers are; `GEN_CLUSTER_DISCOVERY` when unset. Without one, no cluster starts. */
  readonly discovery?: StrategyOption<DiscoveryStrategy, BuiltInDiscoveryOptions>;
  /** How to connect; the built-in TCP mesh (`{ strategy: 'tcp' }`) when unset. */
  readonly dist?: StrategyOption<DistStrategy, BuiltInDistOptions>;
  /** Per-node reconnect backoff; unset fields keep their defaults. */
  readonly backoff?: Partial<BackoffOptions>;
  /**
   * Whether `GEN_CLUSTER_*` variables fill the fields left out (default `true`). Explicit options
   * win; built-in strategy options of the same strategy are merged field by field.
   */
  readonly useEnv?: boolean;
  /** Start on application bootstrap (default `true`); otherwise call `ClusterService.start()`. */
  readonly autoStart?: boolean;
}

/** Options that shape the module graph, so they sit beside (not inside) the async factory. */
export interface GenClusterModuleExtras {
  /** Name of this cluster, for several clusters in one app; inject it with `@InjectCluster(name)`. */
  readonly name?: string;
  /** Register the module globally. */
  readonly isGlobal?: boolean;
}

/** A class that builds the options, for `forRootAsync({ useClass })`. */
export interface GenClusterOptionsFactory {
  createGenClusterOptions(): GenClusterModuleOptions | Promise<GenClusterModuleOptions>;
}
