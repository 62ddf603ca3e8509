import { performance } from 'node:perf_hooks';
import type { Histogram } from 'prom-client';
import type {
  MessagingInstrumentation,
  OutgoingMessageInfo,
  OutgoingScope,
  RequestOutcome,
} from '../core/index.js';
import { OTHER_TOPIC } from './metric-names.js';

/** One histogram series, as prom-client's `labels()` returns it. */
interface Observer {
  observe(value: number): void;
}

/**
 * Times one request from `outgoing` to its end. One small object per request and no label
 * lookup: the series is resolved once per topic.
 */
class RequestTimer implements OutgoingScope {
  private readonly start = performance.now();

  constructor(private readonly series: Observer) {}

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
  private readonly series = new Map<string, Observer>();
  private other: Observer | undefined;

  constructor(
    private readonly histogram: Histogram<'cluster' | 'topic'>,
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
    for (const topic of this.series.keys()) {
      this.histogram.remove({ cluster: this.cluster, topic });
    }
    if (this.other) this.histogram.remove({ cluster: this.cluster, topic: OTHER_TOPIC });
    this.series.clear();
    this.other = undefined;
  }

  private add(topic: string): Observer {
    if (this.series.size >= this.maxTopics) {
      this.other ??= this.histogram.labels({ cluster: this.cluster, topic: OTHER_TOPIC });
      return this.other;
    }
    const series = this.histogram.labels({ cluster: this.cluster, topic });
    this.series.set(topic, series);
    return series;
  }
}
