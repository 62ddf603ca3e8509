/**
 * The request latency histogram, counted by hand and handed to prom-client at scrape.
 *
 * Why not prom-client's `Histogram`: its `observe()` builds a label object and a hash string per
 * call (measured at several times the cost of the rest of the hook), and the hook runs on every
 * request. Here a request costs a bucket search and three additions on a series resolved once per
 * topic; the registry reads the series through `get()`, the method by which prom-client's
 * `Registry` reads every metric (text format, JSON, cluster aggregation), in the same shape as
 * prom-client's own histogram.
 */

/** The labels of one latency series. */
export interface LatencyLabels {
  readonly cluster: string;
  readonly topic: string;
}

/** One series: counts per bucket (not cumulative; past the last bound only in `count`). */
export class LatencySeries {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly labels: LatencyLabels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  /** Counts one duration, in seconds. */
  observe(seconds: number): void {
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]!++;
    this.count++;
    this.sum += seconds;
  }

  /** The series' samples in prom-client's shape: cumulative buckets, `+Inf`, sum, count. */
  samples(name: string): HistogramSample[] {
    const out: HistogramSample[] = [];
    const bucket = `${name}_bucket`;
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      out.push({
        metricName: bucket,
        labels: { ...this.labels, le: this.bounds[i]! },
        value: cumulative,
      });
    }
    out.push({ metricName: bucket, labels: { ...this.labels, le: '+Inf' }, value: this.count });
    out.push({ metricName: `${name}_sum`, labels: { ...this.labels }, value: this.sum });
    out.push({ metricName: `${name}_count`, labels: { ...this.labels }, value: this.count });
    return out;
  }

  /** Back to zero (prom-client's `resetMetrics()`). */
  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/** One sample as prom-client's registry formats it. */
export interface HistogramSample {
  readonly metricName: string;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
}

/** The metric object registered in the registry: every cluster's latency series. */
export class LatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Set<LatencySeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  /** A new series, shown from its creation on. */
  create(labels: LatencyLabels): LatencySeries {
    const series = new LatencySeries(labels, this.buckets);
    this.series.add(series);
    return series;
  }

  /** Stops showing a series. */
  remove(series: LatencySeries): void {
    this.series.delete(series);
  }

  /** What the registry reads at each scrape (prom-client's `Metric.get()`). */
  get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: HistogramSample[];
  }> {
    const values: HistogramSample[] = [];
    for (const series of this.series) values.push(...series.samples(this.name));
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  /** Zeroes every series (prom-client's `Registry.resetMetrics()`). */
  reset(): void {
    for (const series of this.series) series.reset();
  }
}
