import type { InjectionToken, Type } from '@nestjs/common';
import type { ClusterOptions } from '../config/index.js';
import type { DiscoveryStrategy, DistStrategy } from '../core/index.js';
import type { BuiltInDiscoveryOptions } from '../discovery/index.js';
import type { BuiltInDistOptions } from '../distribution/index.js';

/**
 * How to get a strategy: built-in options (`{ strategy: 'static', nodes: [...] }`), an instance,
 * a class (taken from the module's providers when registered there, otherwise instantiated with
 * dependency injection), or the injection token of a provider.
 */
export type StrategyOption<TStrategy, TBuiltIn> =
  TBuiltIn | TStrategy | Type<TStrategy> | Exclude<InjectionToken, Type<unknown>>;

/**
 * Options of one cluster. Every field is optional; the environment fills what is left out.
 * @publicApi
 */
export interface GenClusterModuleOptions extends Omit<ClusterOptions, 'discovery' | 'dist'> {
  /** Who the peers are; `GEN_CLUSTER_DISCOVERY` when unset. Without one, no cluster starts. */
  readonly discovery?: StrategyOption<DiscoveryStrategy, BuiltInDiscoveryOptions>;
  /** How to connect; the built-in TCP mesh (`{ strategy: 'tcp' }`) when unset. */
  readonly dist?: StrategyOption<DistStrategy, BuiltInDistOptions>;
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
