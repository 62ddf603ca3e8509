import { ClusterSeries } from './cluster-series.js';
import { ClusterMetricSet } from './metric-set.js';
import { type ClusterMetricsOptions, resolveMetricsOptions } from './metrics.options.js';
import { type MetricsSource, checkMetricsSource } from './metrics-source.js';

/**
 * Prometheus metrics of one cluster (names in `METRIC_NAMES`, each labelled `cluster`).
 *
 * Gauges and the messaging counters are read from the cluster at each scrape; membership events
 * are counted as they happen; request latency is timed by a messaging hook. Several clusters may
 * attach to one registry under different `cluster` labels.
 *
 * @example
 * const metrics = ClusterMetrics.attach({ cluster: 'default', engine: cluster, messaging, dist });
 * // serve `await register.metrics()` as text/plain; later:
 * metrics.close();
 */
export class ClusterMetrics {
  private closed = false;

  private constructor(
    private readonly set: ClusterMetricSet,
    private readonly series: ClusterSeries,
  ) {}

  /**
   * Registers `source`'s metrics in the registry (prom-client's global `register` by default).
   * Throws `InvalidConfigError` for a bad option or source, for a `cluster` label already attached
   * to that registry, or for buckets other than those of a cluster already there.
   */
  static attach(source: MetricsSource, options?: ClusterMetricsOptions): ClusterMetrics {
    const resolved = resolveMetricsOptions(options);
    checkMetricsSource(source);
    const set = ClusterMetricSet.acquire(resolved.registry, resolved.buckets);
    const series = new ClusterSeries(set.metrics, source, resolved.maxTopics);
    set.add(series);
    try {
      series.start(series.quorumRule ? set.quorumGauge() : undefined);
    } catch (error) {
      set.release(series);
      throw error;
    }
    return new ClusterMetrics(set, series);
  }

  /** The `cluster` label of these metrics. */
  get cluster(): string {
    return this.series.cluster;
  }

  /**
   * Stops counting and removes this cluster's series; the metrics leave the registry with the
   * last cluster. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.series.close();
    this.set.release(this.series);
  }
}
