/**
 * What a cluster of the Nest module serves operators besides messaging: the system topics
 * (`gen-cluster` CLI, live page), Prometheus metrics and tracing hooks, built by the provider
 * factory from the module options and taken down on shutdown.
 */
import {
  type ClusterEvent,
  type ClusterHealthSnapshot,
  type ClusterMessaging,
  type DistStrategy,
  GenClusterError,
  InvalidConfigError,
  checkInteger,
  checkKnownKeys,
  checkOneOf,
} from '../core/index.js';
import { type SystemClient, type SystemCluster, SystemService } from '../primitives/index.js';
import type { Observable } from 'rxjs';
import type {
  ClusterMetricsSettings,
  GenClusterModuleOptions,
  MetricsRegistryLike,
} from './gen-cluster-options.interface.js';
import { NestMessages } from './gen-cluster.messages.js';
import { attachMetrics, loadTracingHooks } from './optional-integrations.js';

/** The module options this file reads. */
export const OPERATIONS_OPTION_KEYS = ['metrics', 'metricsOptions', 'tracing'] as const;

/** A cluster's operations side, as `ClusterService` holds it. @internal */
export interface ClusterOperations {
  /** The system topics' client; `undefined` when the cluster serves none (idle, no messaging). */
  readonly system?: SystemClient;
  /** `GEN_CLUSTER_MIN_MEMBERS`: readiness' default `minMembers`. */
  readonly minMembers?: number;
  /** Removes the hooks, closes the metrics and the system topics (never throws). */
  close(): void;
}

/** What the operations are attached to. @internal */
export interface OperationsTarget {
  readonly name: string;
  readonly engine: {
    readonly events$: Observable<ClusterEvent>;
    health(): ClusterHealthSnapshot;
  };
  /** The cluster's messaging, when it has one that can carry the system topics. */
  readonly messaging?: ClusterMessaging;
  readonly dist?: DistStrategy;
  /** The engine whose system topics to serve (a cluster with messaging), if any. */
  readonly systemOf?: SystemCluster;
  readonly namespace?: string;
}

/** Refuses bad `metrics`, `metricsOptions` and `tracing` options at bootstrap. */
export function checkOperationsOptions(name: string, options: GenClusterModuleOptions): void {
  const { metrics, metricsOptions, tracing } = options as Record<string, unknown>;
  if (metrics !== undefined && typeof metrics !== 'boolean' && !isRegistryLike(metrics))
    throw new InvalidConfigError(NestMessages.badMetrics(name, metrics), { option: 'metrics' });
  if (metricsOptions !== undefined) {
    checkKnownKeys('metricsOptions', metricsOptions, ['maxTopics', 'buckets']);
    if (metricsOptions.maxTopics !== undefined)
      checkInteger('metricsOptions.maxTopics', metricsOptions.maxTopics, 1);
    const buckets = metricsOptions.buckets;
    if (buckets !== undefined && !isBucketList(buckets))
      throw new InvalidConfigError(NestMessages.badBuckets(name, buckets), {
        option: 'metricsOptions.buckets',
      });
  }
  if (tracing !== undefined) checkOneOf('tracing', tracing, ['auto', true, false]);
}

/**
 * Builds the operations of one cluster: the system topics (when it has messaging), then the
 * tracing hooks (`tracing`, default `'auto'`) and the metrics (`metrics`). A missing optional
 * package asked for rejects with `OptionalPackageMissingError`, after taking down what was built.
 */
export async function attachOperations(
  target: OperationsTarget,
  options: GenClusterModuleOptions,
  minMembers: number | undefined,
): Promise<ClusterOperations> {
  const closers: (() => void)[] = [];
  const close = () => {
    for (const closer of closers.splice(0).reverse()) {
      try {
        closer();
      } catch {
        // shutting down: one part failing to detach must not keep the others attached
      }
    }
  };
  let system: SystemClient | undefined;
  try {
    if (target.systemOf !== undefined && target.messaging !== undefined) {
      const service = SystemService.attach(target.systemOf, target.messaging, {
        namespace: target.namespace,
        distName: target.dist?.name,
      });
      closers.push(() => service.close());
      system = service.client;
    }
    const tracing = options.tracing ?? 'auto';
    if (tracing !== false) {
      const hooks = await loadTracingHooks(tracing);
      if (hooks !== undefined) {
        const instrument = target.messaging?.instrument?.bind(target.messaging);
        if (instrument !== undefined) closers.push(instrument(hooks));
        else if (tracing === true)
          throw new GenClusterError(
            'ERR_MESSAGING_UNSUPPORTED',
            NestMessages.noInstrument(target.name),
          );
      }
    }
    if (options.metrics !== undefined && options.metrics !== false) {
      const handle = await attachMetrics(
        {
          cluster: target.name,
          engine: target.engine,
          ...(target.messaging ? { messaging: target.messaging } : {}),
          ...(target.dist ? { dist: target.dist } : {}),
        },
        options.metrics,
        options.metricsOptions,
      );
      closers.push(() => handle.close());
    }
  } catch (error) {
    close();
    throw error;
  }
  return { system, minMembers, close };
}

/**
 * Runs `start` (the bootstrap's start of the cluster); when it rejects, closes `operations`
 * before rethrowing, so that a failed bootstrap leaves no metrics in the registry, hooks on the
 * messaging or system topics behind, even when the app is never closed. @internal
 */
export async function startOrRelease(
  start: () => Promise<void>,
  operations: ClusterOperations,
): Promise<void> {
  try {
    await start();
  } catch (error) {
    operations.close();
    throw error;
  }
}

/**
 * Whether `value` looks like a prom-client `Registry`, checked by what the `./metrics` entry
 * uses of one (the same four methods), so an object that passes here is never refused later.
 */
function isRegistryLike(value: unknown): value is MetricsRegistryLike {
  const registry = value as Partial<Record<keyof MetricsRegistryLike, unknown>> | null;
  return (
    typeof registry === 'object' &&
    registry !== null &&
    typeof registry.registerMetric === 'function' &&
    typeof registry.getSingleMetric === 'function' &&
    typeof registry.removeSingleMetric === 'function' &&
    typeof registry.metrics === 'function'
  );
}

function isBucketList(value: unknown): value is ClusterMetricsSettings['buckets'] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (b, i) =>
        typeof b === 'number' &&
        Number.isFinite(b) &&
        b > 0 &&
        (i === 0 || b > (value[i - 1] as number)),
    )
  );
}
