import { performance } from 'node:perf_hooks';
import type {
  MessagingInstrumentation,
  OutgoingMessageInfo,
  OutgoingScope,
  RequestOutcome,
} from '../core/index.js';
import type { LatencyHistogram, LatencySeries } from './latency-histogram.js';
import { OTHER_TOPIC } from './metric-names.js';

/**
 * Times one request from `outgoing` to its end. One small object per request and no label
 * lookup: the series is resolved once per topic.
 */
class RequestTimer implements OutgoingScope {
  private readonly start = performance.now();

  constructor(private readonly series: LatencySeries) {}

  end(outcome: RequestOutcome | 'sent'): void {
    // A request refused before it left, or cut short by closing, measured nothing of the peer.
    if (outcome === 'refused' || outcome === 'closed' || outcome === 'sent') return;
    this.series.observe((performance.now() - this.start) / 1000);
  }
}

/**
 * The `outgoing` hook behind `gen_cluster_request_duration_seconds`: times this node's requests on
 * user topics (internal `$gc.` topics skipped), with the first `maxTopics` distinct topics as their
 * own series and every later one under `topic="_other"`.
 */
export class RequestLatency implements MessagingInstrumentation {
  private readonly series = new Map<string, LatencySeries>();
  private other: LatencySeries | undefined;

  constructor(
    private readonly histogram: LatencyHistogram,
    private readonly cluster: string,
    private readonly maxTopics: number,
  ) {}

  /** An arrow property, so the messaging layer may call it detached from this object. */
  readonly outgoing = (info: OutgoingMessageInfo): OutgoingScope | undefined => {
    if (info.operation !== 'request' || info.internal) return undefined;
    return new RequestTimer(this.series.get(info.topic) ?? this.add(info.topic));
  };

  /** Removes every series this hook created. */
  removeSeries(): void {
    for (const series of this.series.values()) this.histogram.remove(series);
    if (this.other) this.histogram.remove(this.other);
    this.series.clear();
    this.other = undefined;
  }

  private add(topic: string): LatencySeries {
    if (this.series.size >= this.maxTopics) {
      this.other ??= this.histogram.create({ cluster: this.cluster, topic: OTHER_TOPIC });
      return this.other;
    }
    const series = this.histogram.create({ cluster: this.cluster, topic });
    this.series.set(topic, series);
    return series;
  }
}
