import type { Gauge } from 'prom-client';
import type { Subscription } from 'rxjs';
import type { ClusterEvent, MessagingStatsSnapshot, NodeDownReason } from '../core/index.js';
import type { ClusterMetricObjects } from './metric-set.js';
import { HIDDEN_PEER, OTHER_TOPIC, REQUEST_OUTCOMES } from './metric-names.js';
import type { MetricsSource } from './metrics-source.js';
import { RequestLatency } from './request-latency.js';

/** Every `nodeDown` reason, so each series exists (at 0) from the start. */
const NODE_DOWN_REASONS: readonly NodeDownReason[] = [
  'left',
  'connectionClosed',
  'heartbeatTimeout',
  'disconnected',
  'restarted',
  'stopped',
  'unknown',
];

/** The most distinct handshake refusal reasons labelled per cluster; later ones go to `_other`. */
const MAX_REFUSAL_REASONS = 32;

/** The messaging counters read at scrape, by the metric they feed. */
type MessagingCounter = 'messagesSent' | 'messagesReceived' | 'sentBytes' | 'receivedBytes';

const MESSAGING_FIELDS: Readonly<Record<MessagingCounter, keyof MessagingStatsSnapshot>> = {
  messagesSent: 'messagesSent',
  messagesReceived: 'messagesReceived',
  sentBytes: 'bytesSent',
  receivedBytes: 'bytesReceived',
};

/**
 * One cluster's series in a registry's shared metrics: pushes its events, times its requests, and
 * answers each metric's `collect()` at scrape. Figures the source keeps as running totals are
 * added to the counters as the difference since the last scrape, so the counters only grow.
 */
export class ClusterSeries {
  readonly cluster: string;
  /** Whether the cluster has a quorum rule (its snapshots carry `quorum`): it gets the gauge. */
  readonly quorumRule: boolean;
  private quorum: Gauge<'cluster'> | undefined;
  private readonly labels: { readonly cluster: string };
  private readonly seen = new Map<string, number>();
  private readonly refusalReasons = new Set<string>();
  private readonly nodeDownReasons = new Set<string>(NODE_DOWN_REASONS);
  private queuePeers = new Set<string>();
  private readonly latency: RequestLatency;
  private subscription: Subscription | undefined;
  private uninstrument: (() => void) | undefined;

  constructor(
    private readonly metrics: ClusterMetricObjects,
    private readonly source: MetricsSource,
    maxTopics: number,
  ) {
    this.cluster = source.cluster;
    this.quorumRule = source.engine.membership?.quorum !== undefined;
    this.labels = { cluster: this.cluster };
    this.latency = new RequestLatency(metrics.requestDuration, this.cluster, maxTopics);
  }

  /**
   * Creates the event counters at 0, listens to events and installs the latency hook.
   * @param quorum the quorum gauge, for a cluster with a quorum rule: set now, then on each
   *   `quorumChanged`
   */
  start(quorum?: Gauge<'cluster'>): void {
    const { metrics, labels } = this;
    this.quorum = quorum;
    quorum?.set(labels, this.source.engine.membership?.quorum?.has ? 1 : 0);
    metrics.nodeUp.inc(labels, 0);
    metrics.discoveryErrors.inc(labels, 0);
    metrics.connectFailures.inc(labels, 0);
    metrics.distDisconnects.inc(labels, 0);
    // cut off already (a node started while NATS is down): then the events say when it connects
    metrics.distConnected.set(labels, this.source.engine.health().distConnected === false ? 0 : 1);
    for (const reason of NODE_DOWN_REASONS) metrics.nodeDown.inc({ ...labels, reason }, 0);
    this.subscription = this.source.engine.events$.subscribe(event => this.onEvent(event));
    this.uninstrument = this.source.messaging?.instrument?.(this.latency);
  }

  /** Stops listening, removes the hook and every series of this cluster. */
  close(): void {
    this.subscription?.unsubscribe();
    this.uninstrument?.();
    this.subscription = undefined;
    this.uninstrument = undefined;
    const { metrics, labels, cluster } = this;
    this.quorum?.remove(labels);
    for (const gauge of [
      metrics.members,
      metrics.discoveredNodes,
      metrics.requestsInFlight,
      metrics.requestsServing,
      metrics.distConnected,
    ]) {
      gauge.remove(labels);
    }
    for (const counter of [
      metrics.nodeUp,
      metrics.discoveryErrors,
      metrics.connectFailures,
      metrics.distDisconnects,
      metrics.messagesSent,
      metrics.messagesReceived,
      metrics.sentBytes,
      metrics.receivedBytes,
    ]) {
      counter.remove(labels);
    }
    for (const reason of this.nodeDownReasons) metrics.nodeDown.remove({ cluster, reason });
    for (const reason of this.refusalReasons) metrics.handshakeRefusals.remove({ cluster, reason });
    for (const outcome of Object.values(REQUEST_OUTCOMES)) {
      metrics.requests.remove({ cluster, outcome });
    }
    for (const peer of this.queuePeers) metrics.sendQueueBytes.remove({ cluster, peer });
    this.queuePeers.clear();
    this.latency.removeSeries();
  }

  collectMembers(): void {
    this.metrics.members.set(this.labels, this.source.engine.health().members);
  }

  collectDiscovered(): void {
    this.metrics.discoveredNodes.set(this.labels, this.source.engine.health().discovered);
  }

  collectInFlight(): void {
    const stats = this.source.messaging?.stats;
    if (stats) this.metrics.requestsInFlight.set(this.labels, stats.inFlight);
  }

  collectServing(): void {
    const stats = this.source.messaging?.stats;
    if (stats) this.metrics.requestsServing.set(this.labels, stats.serving);
  }

  /** Queued bytes per member link; hidden links summed; links gone since last scrape removed. */
  collectSendQueues(): void {
    const stats = this.source.dist?.stats?.();
    if (!stats) return;
    const gauge = this.metrics.sendQueueBytes;
    const { cluster } = this;
    const peers = new Set<string>();
    let hiddenBytes = 0;
    let hidden = false;
    for (const link of stats.links) {
      if (link.hidden) {
        hidden = true;
        hiddenBytes += link.queuedBytes;
      } else {
        gauge.set({ cluster, peer: link.node }, link.queuedBytes);
        peers.add(link.node);
      }
    }
    if (hidden) {
      gauge.set({ cluster, peer: HIDDEN_PEER }, hiddenBytes);
      peers.add(HIDDEN_PEER);
    }
    for (const peer of this.queuePeers) {
      if (!peers.has(peer)) gauge.remove({ cluster, peer });
    }
    this.queuePeers = peers;
  }

  collectRefusals(): void {
    const stats = this.source.dist?.stats?.();
    if (!stats) return;
    for (const [key, total] of Object.entries(stats.handshakeRefusals)) {
      const delta = this.advance(`refusal:${key}`, total);
      let reason = key;
      if (!this.refusalReasons.has(key)) {
        if (this.refusalReasons.size >= MAX_REFUSAL_REASONS) reason = OTHER_TOPIC;
        this.refusalReasons.add(reason);
      }
      this.metrics.handshakeRefusals.inc({ cluster: this.cluster, reason }, delta);
    }
  }

  collectMessaging(counter: MessagingCounter): void {
    const stats = this.source.messaging?.stats;
    if (!stats) return;
    const total = stats[MESSAGING_FIELDS[counter]] as number;
    this.metrics[counter].inc(this.labels, this.advance(counter, total));
  }

  collectRequests(): void {
    const stats = this.source.messaging?.stats;
    if (!stats) return;
    for (const [field, outcome] of Object.entries(REQUEST_OUTCOMES)) {
      const total = stats.requests[field as keyof typeof REQUEST_OUTCOMES];
      const delta = this.advance(`requests:${field}`, total);
      this.metrics.requests.inc({ cluster: this.cluster, outcome }, delta);
    }
  }

  private onEvent(event: ClusterEvent): void {
    const { metrics, labels } = this;
    switch (event.type) {
      case 'nodeUp':
        metrics.nodeUp.inc(labels);
        break;
      case 'nodeDown':
        this.nodeDownReasons.add(event.reason);
        metrics.nodeDown.inc({ cluster: this.cluster, reason: event.reason });
        if (this.queuePeers.delete(event.node)) {
          metrics.sendQueueBytes.remove({ cluster: this.cluster, peer: event.node });
        }
        break;
      case 'discoveryError':
        metrics.discoveryErrors.inc(labels);
        break;
      case 'connectFailed':
        metrics.connectFailures.inc(labels);
        break;
      case 'distDisconnected':
        metrics.distConnected.set(labels, 0);
        metrics.distDisconnects.inc(labels);
        break;
      case 'distConnected':
        metrics.distConnected.set(labels, 1);
        break;
      case 'quorumChanged':
        this.quorum?.set(labels, event.quorum.has ? 1 : 0);
        break;
      default:
        break;
    }
  }

  /**
   * What `total` grew by since the last scrape. A total smaller than before means the source
   * started over (a new messaging layer): everything it counted since is new.
   */
  private advance(key: string, total: number): number {
    const last = this.seen.get(key) ?? 0;
    this.seen.set(key, total);
    return total >= last ? total - last : total;
  }
}
