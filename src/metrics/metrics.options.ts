import { type Registry, register } from 'prom-client';
import { InvalidConfigError, checkInteger, checkKnownKeys } from '../core/index.js';
import { MetricsMessages } from './metrics.messages.js';

/** Options of the Prometheus metrics of one cluster. */
export interface ClusterMetricsOptions {
  /** The registry to register in; prom-client's global `register` when unset. */
  readonly registry?: Registry;
  /**
   * The most distinct topics the latency histogram labels per cluster (default 50, 0 to 10,000);
   * requests on any further topic are counted under `topic="_other"`, so a topic naming scheme
   * with ids in it cannot grow the series without bound.
   */
  readonly maxTopics?: number;
  /**
   * Upper bounds, in seconds, of the latency histogram's buckets (default
   * {@link DEFAULT_BUCKETS}). Clusters sharing a registry share the histogram, so they must give
   * the same buckets.
   */
  readonly buckets?: readonly number[];
}

/** The options with their defaults applied. */
export interface ResolvedMetricsOptions {
  readonly registry: Registry;
  readonly maxTopics: number;
  readonly buckets: readonly number[];
}

/** Default latency buckets, 0.5 ms to 10 s: loopback answers land low, a timeout lands high. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 10,
]);

/** Default of {@link ClusterMetricsOptions.maxTopics}. */
export const DEFAULT_MAX_TOPICS = 50;

/** The ceiling of `maxTopics`: each topic is a dozen series per cluster. */
export const MAX_TOPICS_LIMIT = 10_000;

/** The most buckets accepted (each is one series per topic). */
export const MAX_BUCKETS = 64;

const KNOWN_KEYS = ['registry', 'maxTopics', 'buckets'];

/** Checks the options and applies the defaults; throws {@link InvalidConfigError} naming the option. */
export function resolveMetricsOptions(options: unknown): ResolvedMetricsOptions {
  if (options === undefined) {
    return { registry: register, maxTopics: DEFAULT_MAX_TOPICS, buckets: DEFAULT_BUCKETS };
  }
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigError(MetricsMessages.optionsShape(options), {
      option: 'metricsOptions',
    });
  }
  checkKnownKeys('metricsOptions', options, KNOWN_KEYS);
  const {
    registry = register,
    maxTopics = DEFAULT_MAX_TOPICS,
    buckets = DEFAULT_BUCKETS,
  } = options;
  if (!isRegistry(registry)) {
    throw new InvalidConfigError(MetricsMessages.registryInvalid(registry), {
      option: 'metricsOptions.registry',
    });
  }
  checkInteger('metricsOptions.maxTopics', maxTopics, 0, MAX_TOPICS_LIMIT);
  if (!areBuckets(buckets)) {
    throw new InvalidConfigError(MetricsMessages.bucketsInvalid(buckets, MAX_BUCKETS), {
      option: 'metricsOptions.buckets',
    });
  }
  return { registry, maxTopics, buckets: Object.freeze([...buckets]) };
}

/** Structural check, so a registry from another copy of prom-client is accepted too. */
function isRegistry(value: unknown): value is Registry {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.registerMetric === 'function' &&
    typeof candidate.getSingleMetric === 'function' &&
    typeof candidate.removeSingleMetric === 'function' &&
    typeof candidate.metrics === 'function'
  );
}

function areBuckets(value: unknown): value is readonly number[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BUCKETS) return false;
  let previous = 0;
  for (const bound of value as unknown[]) {
    if (typeof bound !== 'number' || !Number.isFinite(bound) || bound <= previous) return false;
    previous = bound;
  }
  return true;
}
