import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import { InvalidConfigError } from '../core/index.js';
import type { ClusterSeries } from './cluster-series.js';
import { LatencyHistogram } from './latency-histogram.js';
import { METRIC_NAMES } from './metric-names.js';
import { MetricsMessages } from './metrics.messages.js';

/** The metric objects of one registry, shared by every cluster registered in it. */
export interface ClusterMetricObjects {
  readonly members: Gauge<'cluster'>;
  readonly discoveredNodes: Gauge<'cluster'>;
  readonly requestsInFlight: Gauge<'cluster'>;
  readonly requestsServing: Gauge<'cluster'>;
  readonly sendQueueBytes: Gauge<'cluster' | 'peer'>;
  readonly nodeUp: Counter<'cluster'>;
  readonly nodeDown: Counter<'cluster' | 'reason'>;
  readonly discoveryErrors: Counter<'cluster'>;
  readonly connectFailures: Counter<'cluster'>;
  readonly distConnected: Gauge<'cluster'>;
  readonly distDisconnects: Counter<'cluster'>;
  readonly handshakeRefusals: Counter<'cluster' | 'reason'>;
  readonly messagesSent: Counter<'cluster'>;
  readonly messagesReceived: Counter<'cluster'>;
  readonly sentBytes: Counter<'cluster'>;
  readonly receivedBytes: Counter<'cluster'>;
  readonly requests: Counter<'cluster' | 'outcome'>;
  readonly requestDuration: LatencyHistogram;
}

const sets = new WeakMap<Registry, ClusterMetricSet>();

/**
 * Every cluster's metrics in one registry: each metric is created once per registry, labelled by
 * `cluster`, and its `collect()` (run by prom-client at each scrape) reads every registered
 * cluster, so two named clusters in one app share the metric objects and never clash.
 */
export class ClusterMetricSet {
  /** The registered clusters, by their `cluster` label. */
  readonly clusters = new Map<string, ClusterSeries>();
  readonly metrics: ClusterMetricObjects;
  /** The quorum gauge: in the registry only while a cluster with a quorum rule is attached. */
  private quorum: Gauge<'cluster'> | undefined;

  private constructor(
    private readonly registry: Registry,
    readonly buckets: readonly number[],
  ) {
    this.metrics = this.create();
  }

  /**
   * The set of `registry`, created (and its metrics registered) on first use. Throws
   * {@link InvalidConfigError} when `buckets` differ from the existing histogram's, or when the
   * registry holds a metric of one of our names that this module did not create.
   */
  static acquire(registry: Registry, buckets: readonly number[]): ClusterMetricSet {
    const existing = sets.get(registry);
    if (existing) {
      if (!sameBuckets(existing.buckets, buckets)) {
        throw new InvalidConfigError(MetricsMessages.bucketsDiffer(buckets, existing.buckets), {
          option: 'metricsOptions.buckets',
        });
      }
      return existing;
    }
    for (const name of Object.values(METRIC_NAMES)) {
      if (registry.getSingleMetric(name) !== undefined) {
        throw new InvalidConfigError(MetricsMessages.nameTaken(name), {
          option: 'metricsOptions.registry',
        });
      }
    }
    const set = new ClusterMetricSet(registry, buckets);
    sets.set(registry, set);
    return set;
  }

  /** Registers a cluster; throws {@link InvalidConfigError} when its label is taken. */
  add(series: ClusterSeries): void {
    if (this.clusters.has(series.cluster)) {
      throw new InvalidConfigError(MetricsMessages.duplicateCluster(series.cluster), {
        option: 'cluster',
      });
    }
    this.clusters.set(series.cluster, series);
  }

  /**
   * The quorum gauge, registered by the first cluster with a quorum rule. Throws
   * {@link InvalidConfigError} when the registry holds a metric of its name that is not ours.
   */
  quorumGauge(): Gauge<'cluster'> {
    if (this.quorum) return this.quorum;
    const name = METRIC_NAMES.quorum;
    if (this.registry.getSingleMetric(name) !== undefined) {
      throw new InvalidConfigError(MetricsMessages.nameTaken(name), {
        option: 'metricsOptions.registry',
      });
    }
    this.quorum = new Gauge({
      name,
      help: MetricsMessages.help.quorum,
      labelNames: ['cluster'],
      registers: [this.registry],
    });
    return this.quorum;
  }

  /**
   * Unregisters a cluster; the last one with a quorum rule removes the quorum gauge, the last one
   * out every metric.
   */
  release(series: ClusterSeries): void {
    if (this.clusters.get(series.cluster) !== series) return;
    this.clusters.delete(series.cluster);
    const clusters = [...this.clusters.values()];
    if (this.quorum && !clusters.some(s => s.quorumRule)) {
      this.registry.removeSingleMetric(METRIC_NAMES.quorum);
      this.quorum = undefined;
    }
    if (clusters.length > 0) return;
    for (const name of Object.values(METRIC_NAMES)) {
      // the quorum gauge went above if it was ours; a metric of that name now is someone else's
      if (name !== METRIC_NAMES.quorum) this.registry.removeSingleMetric(name);
    }
    sets.delete(this.registry);
  }

  private create(): ClusterMetricObjects {
    const registers = [this.registry];
    const help = MetricsMessages.help;
    const each = (collect: (series: ClusterSeries) => void) => () => {
      for (const series of this.clusters.values()) collect(series);
    };
    const gauge = <L extends string>(
      name: string,
      text: string,
      labelNames: L[],
      collect?: (series: ClusterSeries) => void,
    ) =>
      new Gauge<L>({
        name,
        help: text,
        labelNames,
        registers,
        ...(collect && { collect: each(collect) }),
      });
    const counter = <L extends string>(
      name: string,
      text: string,
      labelNames: L[],
      collect?: (series: ClusterSeries) => void,
    ) =>
      new Counter<L>({
        name,
        help: text,
        labelNames,
        registers,
        ...(collect && { collect: each(collect) }),
      });
    const n = METRIC_NAMES;
    return {
      members: gauge(n.members, help.members, ['cluster'], s => s.collectMembers()),
      discoveredNodes: gauge(n.discoveredNodes, help.discoveredNodes, ['cluster'], s =>
        s.collectDiscovered(),
      ),
      requestsInFlight: gauge(n.requestsInFlight, help.requestsInFlight, ['cluster'], s =>
        s.collectInFlight(),
      ),
      requestsServing: gauge(n.requestsServing, help.requestsServing, ['cluster'], s =>
        s.collectServing(),
      ),
      sendQueueBytes: gauge(n.sendQueueBytes, help.sendQueueBytes, ['cluster', 'peer'], s =>
        s.collectSendQueues(),
      ),
      nodeUp: counter(n.nodeUp, help.nodeUp, ['cluster']),
      nodeDown: counter(n.nodeDown, help.nodeDown, ['cluster', 'reason']),
      discoveryErrors: counter(n.discoveryErrors, help.discoveryErrors, ['cluster']),
      connectFailures: counter(n.connectFailures, help.connectFailures, ['cluster']),
      distConnected: gauge(n.distConnected, help.distConnected, ['cluster']),
      distDisconnects: counter(n.distDisconnects, help.distDisconnects, ['cluster']),
      handshakeRefusals: counter(
        n.handshakeRefusals,
        help.handshakeRefusals,
        ['cluster', 'reason'],
        s => s.collectRefusals(),
      ),
      messagesSent: counter(n.messagesSent, help.messagesSent, ['cluster'], s =>
        s.collectMessaging('messagesSent'),
      ),
      messagesReceived: counter(n.messagesReceived, help.messagesReceived, ['cluster'], s =>
        s.collectMessaging('messagesReceived'),
      ),
      sentBytes: counter(n.sentBytes, help.sentBytes, ['cluster'], s =>
        s.collectMessaging('sentBytes'),
      ),
      receivedBytes: counter(n.receivedBytes, help.receivedBytes, ['cluster'], s =>
        s.collectMessaging('receivedBytes'),
      ),
      requests: counter(n.requests, help.requests, ['cluster', 'outcome'], s =>
        s.collectRequests(),
      ),
      requestDuration: this.histogram(n.requestDuration, help.requestDuration),
    };
  }

  private histogram(name: string, help: string): LatencyHistogram {
    const histogram = new LatencyHistogram(name, help, this.buckets);
    // The registry reads a metric through get() (and reset()); this one has both.
    this.registry.registerMetric(histogram as unknown as Metric);
    return histogram;
  }
}

function sameBuckets(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((bound, i) => bound === b[i]);
}
