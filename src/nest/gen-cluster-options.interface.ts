import type { InjectionToken, Type } from '@nestjs/common';
import type {
  BuiltInDiscoveryOptions,
  BuiltInDistOptions,
  ClusterOptions,
  DiscoveryShortForm,
} from '../config/index.js';
import type { DiscoveryStrategy, DistStrategy } from '../core/index.js';
import type { DrainOptions, LeadershipOptions } from '../primitives/index.js';

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
  /**
   * Who the peers are: built-in options, a short form as in `GEN_CLUSTER_DISCOVERY` (`'local'`,
   * `'dns:my-svc.my-ns'`), an instance, a class or a provider token. `GEN_CLUSTER_DISCOVERY` when
   * unset; without one, no cluster starts, unless the dist finds its peers itself (the NATS
   * dist, e.g. `GEN_CLUSTER_DIST=nats://10.0.0.1:4222` alone: then it is the discovery).
   */
  readonly discovery?: StrategyOption<
    DiscoveryStrategy,
    BuiltInDiscoveryOptions | DiscoveryShortForm
  >;
  /**
   * How to connect: built-in options (`{ strategy: 'tcp' }`, `{ strategy: 'nats', servers }`), an
   * instance, a class or a provider token. `GEN_CLUSTER_DIST` when unset, else the TCP mesh.
   */
  readonly dist?: StrategyOption<DistStrategy, BuiltInDistOptions>;
  /** Start on application bootstrap (default `true`); otherwise call `ClusterService.start()`. */
  readonly autoStart?: boolean;
  /**
   * On shutdown, before leaving: withdraw this node's topics from its peers, wait for their
   * acknowledgements (`ackTimeoutMs`, 2 s), then for the requests this node is serving
   * (the whole drain within `timeoutMs`, 10 s; `GEN_CLUSTER_DRAIN_TIMEOUT_MS` when unset), so
   * that no call is routed to a node that is going away. On by default; `false` leaves at once.
   * Needs `app.enableShutdownHooks()`, as every Nest shutdown hook does.
   */
  readonly drain?: false | DrainOptions;
  /**
   * Prometheus metrics of this cluster (needs `prom-client`, loaded only when set): `true`
   * registers them in prom-client's global `register`, a `Registry` instance in that registry
   * (two named clusters share one registry: every series has a `cluster` label). Off by default.
   * The series are registered when the module is built and removed on shutdown: if the cluster
   * fails to start on bootstrap they are removed before the error propagates; if the app fails to
   * initialise for another reason, `app.close()` removes them (until then a new app in the same
   * process cannot register them again in the same registry).
   */
  readonly metrics?: boolean | MetricsRegistryLike;
  /** Options of the metrics (taken only with `metrics`). */
  readonly metricsOptions?: ClusterMetricsSettings;
  /**
   * Trace context across nodes with OpenTelemetry: `'auto'` (the default) traces when
   * `@opentelemetry/api` is installed and costs nothing when it is not; `true` requires the
   * package (bootstrap fails without it); `false` turns tracing off.
   */
  readonly tracing?: 'auto' | boolean;
  /** Timings of leadership (freeze tolerance, settling, stop timeout); defaults from the dist. */
  readonly leadership?: LeadershipOptions;
}

/**
 * A prom-client `Registry`, described by what it has, so that this package's types name no
 * optional package.
 */
export interface MetricsRegistryLike {
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
  metrics(): Promise<string>;
}

/** Options of a cluster's Prometheus metrics. */
export interface ClusterMetricsSettings {
  /** Most distinct topics in the request latency histogram; others count as `_other`. */
  readonly maxTopics?: number;
  /** Buckets of the request latency histogram, in seconds, ascending. */
  readonly buckets?: readonly number[];
}

/** Options that shape the module graph, so they sit beside (not inside) the async factory. */
export interface GenClusterModuleExtras {
  /** Name of this cluster, for several clusters in one app; inject it with `@InjectCluster(name)`. */
  readonly name?: string;
  /**
   * Register the cluster globally (default `true`), so every module of the app can inject its
   * `ClusterService` after one `forRoot`/`forRootAsync` in the root module, as with
   * `TypeOrmModule.forRoot`. `false` limits it to the importing module.
   */
  readonly isGlobal?: boolean;
}

/** A class that builds the options, for `forRootAsync({ useClass })`. */
export interface GenClusterOptionsFactory {
  createGenClusterOptions(): GenClusterModuleOptions | Promise<GenClusterModuleOptions>;
}
