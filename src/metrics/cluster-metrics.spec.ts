import { Gauge, Registry, register } from 'prom-client';
import { Subject } from 'rxjs';
import {
  type ClusterEvent,
  type ClusterHealthSnapshot,
  type DistStats,
  InvalidConfigError,
  type MessagingInstrumentation,
  type MessagingStatsSnapshot,
  type OutgoingMessageInfo,
  type QuorumState,
  type RequestOutcome,
} from '../core/index.js';
import { type MetricFamily, parsePrometheus } from '../../test/support/prometheus-text.js';
import { ClusterMetrics, METRIC_NAMES, type MetricsSource } from './index.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends object ? Mutable<T[K]> : T[K] };

/** A cluster the metrics can read, every figure set by the test. */
class FakeCluster {
  readonly events = new Subject<ClusterEvent>();
  health: Mutable<ClusterHealthSnapshot> = {
    state: 'running',
    members: 2,
    discovered: 3,
    lastDiscoveryOkAgoMs: 10,
    consecutiveDiscoveryErrors: 0,
    lastDiscoveryError: undefined,
    refreshIntervalMs: 5_000,
    dist: { listening: true },
  };
  stats: Mutable<MessagingStatsSnapshot> = {
    messagesSent: 0,
    bytesSent: 0,
    messagesReceived: 0,
    bytesReceived: 0,
    requests: { ok: 0, remoteError: 0, timeout: 0, nodeDown: 0, other: 0 },
    inFlight: 0,
    serving: 0,
  };
  /** What the dist's stats() answers; undefined: it answers nothing (a dist without stats). */
  dist: DistStats | undefined = { links: [], handshakeRefusals: {} };
  hooks: MessagingInstrumentation[] = [];

  /** @param quorum the snapshot's quorum state: set for a cluster with a quorum rule */
  constructor(
    readonly name: string,
    public quorum?: QuorumState,
  ) {}

  source(): MetricsSource {
    const stats = () => this.stats;
    const membership = () => ({ quorum: this.quorum });
    return {
      cluster: this.name,
      engine: {
        events$: this.events,
        health: () => this.health,
        get membership() {
          return membership();
        },
      },
      messaging: {
        get stats() {
          return stats();
        },
        instrument: hooks => {
          this.hooks.push(hooks);
          return () => (this.hooks = this.hooks.filter(h => h !== hooks));
        },
      },
      dist: { stats: () => this.dist as DistStats },
    };
  }

  /** One request through the installed hooks, ended with `outcome`. */
  request(topic: string, outcome: RequestOutcome = 'ok', internal = false): void {
    const info: OutgoingMessageInfo = {
      node: 'b@h',
      topic,
      kind: 'request',
      operation: 'request',
      internal,
    };
    for (const hooks of this.hooks) hooks.outgoing?.(info)?.end(outcome);
  }
}

async function scrape(registry: Registry): Promise<MetricFamily[]> {
  return parsePrometheus(await registry.metrics());
}

/**
 * The `_count` series of histogram `name`, labels included: the parser folds a labelled
 * histogram's series into one, so its `_count` lines are parsed on their own (as untyped samples).
 */
async function histogramCounts(registry: Registry, name: string) {
  const lines = (await registry.metrics())
    .split('\n')
    .filter(line => line.startsWith(`${name}_count{`));
  const [counts] = parsePrometheus(lines.join('\n') + '\n');
  return (counts?.metrics ?? []).map(m => ({ labels: m.labels ?? {}, count: Number(m.value) }));
}

function family(families: MetricFamily[], name: string): MetricFamily {
  const found = families.find(f => f.name === name);
  if (!found) throw new Error(`no metric ${name} in ${families.map(f => f.name).join(', ')}`);
  return found;
}

/** The value of the series of `name` whose labels include `labels`, or undefined. */
function value(families: MetricFamily[], name: string, labels: Record<string, string>) {
  const series = family(families, name).metrics.find(m =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  );
  return series?.value === undefined ? undefined : Number(series.value);
}

function labelValues(families: MetricFamily[], name: string, label: string, cluster: string) {
  return family(families, name)
    .metrics.filter(m => m.labels?.cluster === cluster)
    .map(m => m.labels?.[label])
    .sort();
}

const HAS_QUORUM: QuorumState = { has: true, size: 3, needed: 2, expectedSize: 3 };
const NO_QUORUM: QuorumState = { has: false, size: 1, needed: 2, expectedSize: 3 };

describe('ClusterMetrics', () => {
  let registry: Registry;
  const attached: ClusterMetrics[] = [];
  const attach = (...args: Parameters<typeof ClusterMetrics.attach>) => {
    const metrics = ClusterMetrics.attach(...args);
    attached.push(metrics);
    return metrics;
  };

  beforeEach(() => {
    registry = new Registry();
  });
  afterEach(() => {
    for (const metrics of attached.splice(0)) metrics.close();
  });

  it('registers every metric, each with the cluster label, gauges read at scrape', async () => {
    // with a quorum rule: the quorum gauge is registered too
    const a = new FakeCluster('default', HAS_QUORUM);
    attach(a.source(), { registry });
    a.stats.inFlight = 4;
    a.stats.serving = 1;
    const families = await scrape(registry);
    expect(families.map(f => f.name).sort()).toEqual(Object.values(METRIC_NAMES).sort());
    expect(value(families, METRIC_NAMES.members, { cluster: 'default' })).toBe(2);
    expect(value(families, METRIC_NAMES.discoveredNodes, { cluster: 'default' })).toBe(3);
    expect(value(families, METRIC_NAMES.requestsInFlight, { cluster: 'default' })).toBe(4);
    expect(value(families, METRIC_NAMES.requestsServing, { cluster: 'default' })).toBe(1);
    a.health.members = 5;
    expect(value(await scrape(registry), METRIC_NAMES.members, { cluster: 'default' })).toBe(5);
    for (const f of families) {
      for (const series of f.metrics) {
        if (series.labels) expect(series.labels.cluster).toBe('default');
      }
    }
  });

  it('counts membership events as they happen, every nodeDown reason present from the start', async () => {
    const a = new FakeCluster('default');
    attach(a.source(), { registry });
    let families = await scrape(registry);
    expect(labelValues(families, METRIC_NAMES.nodeDown, 'reason', 'default')).toHaveLength(7);
    expect(value(families, METRIC_NAMES.nodeUp, { cluster: 'default' })).toBe(0);
    a.events.next({ type: 'nodeUp', node: 'b@h', peer: { node: 'b@h', port: 1 } });
    a.events.next({ type: 'nodeUp', node: 'c@h', peer: { node: 'c@h', port: 2 } });
    a.events.next({ type: 'nodeDown', node: 'c@h', reason: 'heartbeatTimeout' });
    a.events.next({ type: 'discoveryError', error: new Error('x'), consecutive: 1 });
    a.events.next({
      type: 'connectFailed',
      node: 'd@h',
      error: new Error('y'),
      attempt: 1,
      retryInMs: 100,
    });
    a.events.next({ type: 'lost', node: 'd@h' });
    families = await scrape(registry);
    expect(value(families, METRIC_NAMES.nodeUp, { cluster: 'default' })).toBe(2);
    expect(
      value(families, METRIC_NAMES.nodeDown, { cluster: 'default', reason: 'heartbeatTimeout' }),
    ).toBe(1);
    expect(value(families, METRIC_NAMES.nodeDown, { cluster: 'default', reason: 'left' })).toBe(0);
    expect(value(families, METRIC_NAMES.discoveryErrors, { cluster: 'default' })).toBe(1);
    expect(value(families, METRIC_NAMES.connectFailures, { cluster: 'default' })).toBe(1);
  });

  it('shows whether the dist is connected, and counts its disconnects, from the events', async () => {
    const a = new FakeCluster('default');
    attach(a.source(), { registry });
    const read = async () => {
      const f = await scrape(registry);
      return {
        connected: value(f, METRIC_NAMES.distConnected, { cluster: 'default' }),
        disconnects: value(f, METRIC_NAMES.distDisconnects, { cluster: 'default' }),
      };
    };
    expect(family(await scrape(registry), METRIC_NAMES.distConnected)).toMatchObject({
      type: 'GAUGE',
      help: "Whether this node's dist is connected (1) or cut off from its broker (0; the NATS dist without NATS); always 1 for the TCP mesh.",
    });
    expect(family(await scrape(registry), METRIC_NAMES.distDisconnects)).toMatchObject({
      type: 'COUNTER',
      help: "Times this node's dist was cut off from its broker (distDisconnected events; the NATS dist losing NATS).",
    });
    expect(await read()).toEqual({ connected: 1, disconnects: 0 });
    a.events.next({ type: 'distDisconnected', reason: 'connection to 127.0.0.1:4222 closed' });
    expect(await read()).toEqual({ connected: 0, disconnects: 1 });
    a.events.next({ type: 'distConnected', downForMs: 1_200 });
    expect(await read()).toEqual({ connected: 1, disconnects: 1 });
    a.events.next({ type: 'distDisconnected', reason: 'stale' });
    expect(await read()).toEqual({ connected: 0, disconnects: 2 });
  });

  it('starts the dist gauge at 0 for a dist already cut off when the metrics attach', async () => {
    const a = new FakeCluster('default');
    a.health.distConnected = false;
    const metrics = attach(a.source(), { registry });
    const f = await scrape(registry);
    expect(value(f, METRIC_NAMES.distConnected, { cluster: 'default' })).toBe(0);
    expect(value(f, METRIC_NAMES.distDisconnects, { cluster: 'default' })).toBe(0);
    metrics.close();
    expect(await registry.metrics()).not.toContain('gen_cluster_dist_connected{');
  });

  it('adds running totals as deltas at scrape, so the counters only grow', async () => {
    const a = new FakeCluster('default');
    attach(a.source(), { registry });
    const read = async () => {
      const f = await scrape(registry);
      return {
        sent: value(f, METRIC_NAMES.messagesSent, { cluster: 'default' }),
        bytes: value(f, METRIC_NAMES.receivedBytes, { cluster: 'default' }),
        ok: value(f, METRIC_NAMES.requests, { cluster: 'default', outcome: 'ok' }),
        remote: value(f, METRIC_NAMES.requests, { cluster: 'default', outcome: 'remote_error' }),
        nodeDown: value(f, METRIC_NAMES.requests, { cluster: 'default', outcome: 'node_down' }),
        refused: value(f, METRIC_NAMES.handshakeRefusals, {
          cluster: 'default',
          reason: 'cookie',
        }),
      };
    };
    a.stats.messagesSent = 10;
    a.stats.bytesReceived = 1_000;
    a.stats.requests.ok = 7;
    a.stats.requests.nodeDown = 1;
    a.dist = { links: [], handshakeRefusals: { cookie: 2 } };
    const firstScrape = {
      sent: 10,
      bytes: 1_000,
      ok: 7,
      remote: 0,
      nodeDown: 1,
      refused: 2,
    };
    expect(await read()).toEqual(firstScrape);
    // A second scrape with nothing new adds nothing.
    expect(await read()).toEqual(firstScrape);
    a.stats.messagesSent = 15;
    a.stats.requests.remoteError = 3;
    a.dist = { links: [], handshakeRefusals: { cookie: 5 } };
    expect(await read()).toMatchObject({ sent: 15, remote: 3, refused: 5 });
    // The source starts over (a new messaging layer): what it counts since is added on top.
    a.stats.messagesSent = 4;
    a.stats.requests.ok = 2;
    expect(await read()).toMatchObject({ sent: 19, ok: 9 });
  });

  it('times requests per topic, internal topics and refused requests not counted', async () => {
    const a = new FakeCluster('default');
    attach(a.source(), { registry });
    a.request('orders.get');
    a.request('orders.get', 'timeout');
    a.request('$gc.reg.sync', 'ok', true);
    a.request('orders.get', 'refused');
    expect(family(await scrape(registry), METRIC_NAMES.requestDuration).type).toBe('HISTOGRAM');
    expect(await histogramCounts(registry, METRIC_NAMES.requestDuration)).toEqual([
      { labels: { cluster: 'default', topic: 'orders.get' }, count: 2 },
    ]);
  });

  it('labels at most maxTopics topics and counts the rest under topic="_other"', async () => {
    const a = new FakeCluster('default');
    attach(a.source(), { registry, maxTopics: 2 });
    for (const topic of ['t1', 't2', 't3', 't4', 't1', 't3']) a.request(topic);
    const counts = Object.fromEntries(
      (await histogramCounts(registry, METRIC_NAMES.requestDuration)).map(m => [
        m.labels.topic,
        m.count,
      ]),
    );
    expect(counts).toEqual({ t1: 2, t2: 1, _other: 3 });
  });

  it('gives each member link its queued bytes, sums hidden links, and drops a peer that went down', async () => {
    const a = new FakeCluster('default');
    attach(a.source(), { registry });
    const link = (node: string, queuedBytes: number, hidden = false) => ({
      node,
      hidden,
      queuedBytes,
      queuedMessages: 1,
      bytesIn: 0,
      bytesOut: 0,
    });
    a.dist = {
      links: [link('b@h', 100), link('c@h', 0), link('cli-1@h', 7, true), link('cli-2@h', 5, true)],
      handshakeRefusals: {},
    };
    let families = await scrape(registry);
    expect(value(families, METRIC_NAMES.sendQueueBytes, { peer: 'b@h' })).toBe(100);
    expect(value(families, METRIC_NAMES.sendQueueBytes, { peer: '_hidden' })).toBe(12);
    expect(labelValues(families, METRIC_NAMES.sendQueueBytes, 'peer', 'default')).toEqual([
      '_hidden',
      'b@h',
      'c@h',
    ]);
    // The series goes with the nodeDown event, not only at the next read of the links.
    a.events.next({ type: 'nodeDown', node: 'b@h', reason: 'connectionClosed' });
    a.dist = undefined;
    families = await scrape(registry);
    expect(labelValues(families, METRIC_NAMES.sendQueueBytes, 'peer', 'default')).toEqual([
      '_hidden',
      'c@h',
    ]);
    // A link gone (and the hidden ones) since the last scrape loses its series too.
    a.dist = { links: [link('b@h', 1)], handshakeRefusals: {} };
    families = await scrape(registry);
    expect(labelValues(families, METRIC_NAMES.sendQueueBytes, 'peer', 'default')).toEqual(['b@h']);
  });

  it('keeps two clusters in one registry apart by their cluster label', async () => {
    const a = new FakeCluster('default');
    const b = new FakeCluster('orders');
    attach(a.source(), { registry });
    const metricsB = attach(b.source(), { registry });
    b.health.members = 9;
    a.request('x');
    b.request('y');
    b.request('y');
    let families = await scrape(registry);
    expect(value(families, METRIC_NAMES.members, { cluster: 'default' })).toBe(2);
    expect(value(families, METRIC_NAMES.members, { cluster: 'orders' })).toBe(9);
    expect(
      (await histogramCounts(registry, METRIC_NAMES.requestDuration))
        .map(m => `${m.labels.cluster}/${m.labels.topic}=${m.count}`)
        .sort(),
    ).toEqual(['default/x=1', 'orders/y=2']);
    metricsB.close();
    families = await scrape(registry);
    expect(value(families, METRIC_NAMES.members, { cluster: 'orders' })).toBeUndefined();
    expect(value(families, METRIC_NAMES.members, { cluster: 'default' })).toBe(2);
    expect(await registry.metrics()).not.toContain('cluster="orders"');
    expect(b.hooks).toHaveLength(0);
    expect(b.events.observed).toBe(false);
  });

  it('refuses a second attach of the same cluster label to one registry, naming it', () => {
    const a = new FakeCluster('orders');
    attach(a.source(), { registry });
    let error: unknown;
    try {
      attach(new FakeCluster('orders').source(), { registry });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).code).toBe('ERR_INVALID_CONFIG');
    expect((error as Error).message).toContain('"orders"');
    // Another registry takes it.
    expect(() =>
      attach(new FakeCluster('orders').source(), { registry: new Registry() }),
    ).not.toThrow();
  });

  it('takes the metrics out of the registry with the last cluster, and can attach again', async () => {
    const a = new FakeCluster('default');
    attach(a.source(), { registry }).close();
    expect(registry.getSingleMetric(METRIC_NAMES.members)).toBeUndefined();
    expect((await registry.metrics()).trim()).toBe('');
    attach(a.source(), { registry, buckets: [0.1, 1] });
    expect(registry.getSingleMetric(METRIC_NAMES.members)).toBeDefined();
  });

  it("uses prom-client's global register when no registry is given", async () => {
    const a = new FakeCluster('global-test');
    const metrics = attach(a.source());
    expect(register.getSingleMetric(METRIC_NAMES.members)).toBeDefined();
    expect(await register.metrics()).toContain('cluster="global-test"');
    metrics.close();
    expect(register.getSingleMetric(METRIC_NAMES.members)).toBeUndefined();
  });

  it('refuses bad options and sources with InvalidConfigError naming the option', () => {
    const source = new FakeCluster('default').source();
    const refuses = (options: unknown, pattern: RegExp, what: unknown = source) => {
      expect(() => ClusterMetrics.attach(what as MetricsSource, options as never)).toThrow(
        InvalidConfigError,
      );
      expect(() => ClusterMetrics.attach(what as MetricsSource, options as never)).toThrow(pattern);
    };
    refuses({ registry, maxTopics: -1 }, /metricsOptions\.maxTopics.*-1/);
    refuses({ registry, maxTopics: 1.5 }, /metricsOptions\.maxTopics/);
    refuses({ registry, buckets: [] }, /metricsOptions\.buckets/);
    refuses({ registry, buckets: [1, 0.5] }, /metricsOptions\.buckets/);
    refuses({ registry, buckets: [0, 1] }, /metricsOptions\.buckets/);
    refuses({ registry, buckets: [1, Infinity] }, /metricsOptions\.buckets/);
    refuses({ registry: {} }, /metricsOptions\.registry/);
    refuses(
      { registry, maxTopic: 3 },
      /metricsOptions\.maxTopic.*known: registry, maxTopics, buckets/,
    );
    refuses('yes', /metricsOptions/);
    refuses({ registry }, /source\.cluster/, { ...source, cluster: '' });
    refuses({ registry }, /source\.engine/, { ...source, engine: {} });
    refuses({ registry }, /source/, null);
    expect(registry.getSingleMetric(METRIC_NAMES.members)).toBeUndefined();
  });

  it('refuses other buckets than the histogram a registry already has, and a name it did not create', () => {
    attach(new FakeCluster('a').source(), { registry, buckets: [0.1, 1] });
    expect(() =>
      ClusterMetrics.attach(new FakeCluster('b').source(), { registry, buckets: [0.2, 1] }),
    ).toThrow(/metricsOptions\.buckets.*another cluster/);
    expect(() =>
      ClusterMetrics.attach(new FakeCluster('b').source(), { registry, buckets: [0.1, 1] }),
    ).not.toThrow();
    const other = new Registry();
    other.registerMetric(new Gauge({ name: METRIC_NAMES.members, help: 'mine', registers: [] }));
    expect(() => ClusterMetrics.attach(new FakeCluster('c').source(), { registry: other })).toThrow(
      /already has a metric named "gen_cluster_members"/,
    );
  });

  it('lists the 19 metrics, the quorum gauge included', () => {
    expect(Object.values(METRIC_NAMES).sort()).toEqual([
      'gen_cluster_connect_failures_total',
      'gen_cluster_discovered_nodes',
      'gen_cluster_discovery_errors_total',
      'gen_cluster_dist_connected',
      'gen_cluster_dist_disconnects_total',
      'gen_cluster_handshake_refusals_total',
      'gen_cluster_members',
      'gen_cluster_messages_received_total',
      'gen_cluster_messages_sent_total',
      'gen_cluster_node_down_total',
      'gen_cluster_node_up_total',
      'gen_cluster_quorum',
      'gen_cluster_received_bytes_total',
      'gen_cluster_request_duration_seconds',
      'gen_cluster_requests_in_flight',
      'gen_cluster_requests_serving',
      'gen_cluster_requests_total',
      'gen_cluster_send_queue_bytes',
      'gen_cluster_sent_bytes_total',
    ]);
  });

  it('registers no quorum gauge for a cluster without a quorum rule', async () => {
    const a = new FakeCluster('default');
    attach(a.source(), { registry });
    a.events.next({ type: 'quorumChanged', quorum: HAS_QUORUM });
    const names = (await scrape(registry)).map(f => f.name);
    expect(names).not.toContain(METRIC_NAMES.quorum);
    expect(names).toHaveLength(Object.values(METRIC_NAMES).length - 1);
    expect(registry.getSingleMetric(METRIC_NAMES.quorum)).toBeUndefined();
  });

  it('sets the quorum gauge from the snapshot, then on each quorumChanged', async () => {
    const a = new FakeCluster('default', NO_QUORUM);
    attach(a.source(), { registry });
    const read = async () =>
      value(await scrape(registry), METRIC_NAMES.quorum, { cluster: 'default' });
    expect(family(await scrape(registry), METRIC_NAMES.quorum)).toMatchObject({
      type: 'GAUGE',
      help: "Whether this node's side of the cluster has quorum (1) or not (0); only for a cluster with a quorum rule.",
    });
    expect(await read()).toBe(0);
    a.events.next({ type: 'quorumChanged', quorum: HAS_QUORUM });
    expect(await read()).toBe(1);
    a.events.next({ type: 'nodeDown', node: 'b@h', reason: 'heartbeatTimeout' });
    a.events.next({ type: 'quorumChanged', quorum: NO_QUORUM });
    expect(await read()).toBe(0);
    // the other figures are not disturbed by the new event type
    expect(
      value(await scrape(registry), METRIC_NAMES.nodeDown, {
        cluster: 'default',
        reason: 'heartbeatTimeout',
      }),
    ).toBe(1);
  });

  it('keeps the quorum gauge while a cluster with a rule is attached, and only its series', async () => {
    const plain = new FakeCluster('plain');
    const ruled = new FakeCluster('ruled', HAS_QUORUM);
    attach(plain.source(), { registry });
    const metricsRuled = attach(ruled.source(), { registry });
    let families = await scrape(registry);
    expect(family(families, METRIC_NAMES.quorum).metrics.map(m => m.labels?.cluster)).toEqual([
      'ruled',
    ]);
    expect(value(families, METRIC_NAMES.quorum, { cluster: 'ruled' })).toBe(1);
    metricsRuled.close();
    families = await scrape(registry);
    expect(families.map(f => f.name)).not.toContain(METRIC_NAMES.quorum);
    expect(value(families, METRIC_NAMES.members, { cluster: 'plain' })).toBe(2);
    // a cluster with a rule attached again brings the gauge back
    attach(new FakeCluster('again', NO_QUORUM).source(), { registry });
    expect(value(await scrape(registry), METRIC_NAMES.quorum, { cluster: 'again' })).toBe(0);
  });

  it('refuses a quorum gauge name the registry already holds, leaving nothing behind', () => {
    const other = new Registry();
    other.registerMetric(new Gauge({ name: METRIC_NAMES.quorum, help: 'mine', registers: [] }));
    expect(() =>
      ClusterMetrics.attach(new FakeCluster('q', HAS_QUORUM).source(), { registry: other }),
    ).toThrow(/already has a metric named "gen_cluster_quorum"/);
    expect(other.getSingleMetric(METRIC_NAMES.members)).toBeUndefined();
  });

  it('reads no messaging or dist figures when the source has none', async () => {
    const a = new FakeCluster('default');
    const { engine } = a.source();
    attach({ cluster: 'default', engine }, { registry });
    const families = await scrape(registry);
    expect(value(families, METRIC_NAMES.members, { cluster: 'default' })).toBe(2);
    expect(family(families, METRIC_NAMES.messagesSent).metrics).toHaveLength(0);
    expect(family(families, METRIC_NAMES.sendQueueBytes).metrics).toHaveLength(0);
  });
});
