/**
 * The `./metrics` entry: Prometheus metrics of a cluster through the optional peer `prom-client`
 * (15.x). Only this folder imports prom-client.
 */
export { ClusterMetrics } from './cluster-metrics.js';
export { type MetricsSource } from './metrics-source.js';
export {
  type ClusterMetricsOptions,
  DEFAULT_BUCKETS,
  DEFAULT_MAX_TOPICS,
} from './metrics.options.js';
export { METRIC_NAMES, OTHER_TOPIC, HIDDEN_PEER } from './metric-names.js';

/** The codes of the errors the metrics entry throws (`InvalidConfigError` only). */
export type MetricsErrorCode = 'ERR_INVALID_CONFIG';
