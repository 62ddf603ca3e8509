import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import type {
  ClusterEvent,
  MessagingInstrumentation,
  OutgoingMessageInfo,
} from '../../src/index.js';
import { ClusterMetrics, METRIC_NAMES } from '../../src/metrics/index.js';
import {
  type SampleNode,
  fixtureAppMain,
  staticNodeEnv,
  startNode,
  stopAll,
} from '../support/nodes.js';
import { freePort } from '../support/ports.js';
import { parsePrometheus, promtoolCheck } from '../support/prometheus-text.js';
import { until } from '../support/wait.js';

/**
 * The value of the series of `name` whose labels include `labels` (a labelled histogram's
 * `_count` series are found by their own name: the parser folds a labelled histogram into one).
 */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const lines = text.split('\n').filter(line => line.startsWith(`${name}{`));
  const [family] = parsePrometheus(`${lines.join('\n')}\n`);
  const found = family?.metrics.find(m =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  );
  return found?.value === undefined ? undefined : Number(found.value);
}

const DEFAULT = { cluster: 'default' };

describe('Prometheus metrics of real nodes', () => {
  afterAll(stopAll);

  it('counts requests, latency, a wrong-cookie handshake, and serves promtool-clean text', async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const names = ['a', 'b'].map(n => `${n}@127.0.0.1`);
    const intruderName = 'x@127.0.0.1';
    const main = fixtureAppMain('metrics');
    const [a, b, intruder] = (await Promise.all([
      startNode(staticNodeEnv(names, ports, 0), { main, timeoutMs: 30_000 }),
      startNode(staticNodeEnv(names, ports, 1), { main, timeoutMs: 30_000 }),
      // Another cookie, dialling a: a refuses the handshake.
      startNode(
        {
          ...staticNodeEnv([intruderName, names[0]!], [ports[2]!, ports[0]!], 0),
          GEN_CLUSTER_COOKIE: 'not-the-cluster-cookie',
        },
        { main, timeoutMs: 30_000 },
      ),
    ])) as [SampleNode, SampleNode, SampleNode];
    const scrape = async (node: SampleNode) => {
      const response = await fetch(`http://127.0.0.1:${node.http}/metrics`);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return response.text();
    };

    await until(
      async () =>
        (await a.members())?.join() === names[1] && (await b.members())?.join() === names[0],
      15_000,
      'a and b to see each other',
    );
    const refused = async () =>
      sample(await scrape(a), METRIC_NAMES.handshakeRefusals, { ...DEFAULT, reason: 'bad-cookie' });
    await until(async () => ((await refused()) ?? 0) >= 1, 15_000, "a's bad-cookie refusals");

    const before = await scrape(a);
    expect(sample(before, METRIC_NAMES.members, DEFAULT)).toBe(1);
    expect(sample(before, METRIC_NAMES.nodeUp, DEFAULT)).toBeGreaterThanOrEqual(1);
    expect(sample(before, METRIC_NAMES.sendQueueBytes, { ...DEFAULT, peer: names[1]! })).toBe(0);
    // The second, named cluster of the same app, in the same registry under its own label.
    expect(sample(before, METRIC_NAMES.members, { cluster: 'second' })).toBe(0);

    const echo = await fetch(
      `http://127.0.0.1:${a.http}/echo/${encodeURIComponent(names[1]!)}?count=5`,
    );
    expect(await echo.json()).toEqual({ ok: 5 });

    const after = await scrape(a);
    const ok = { ...DEFAULT, outcome: 'ok' };
    expect(
      sample(after, METRIC_NAMES.requests, ok)! - sample(before, METRIC_NAMES.requests, ok)!,
    ).toBeGreaterThanOrEqual(5);
    const echoTopic = { ...DEFAULT, topic: 'metrics.echo' };
    expect(sample(before, `${METRIC_NAMES.requestDuration}_count`, echoTopic)).toBeUndefined();
    expect(sample(after, `${METRIC_NAMES.requestDuration}_count`, echoTopic)).toBe(5);
    expect(sample(after, METRIC_NAMES.messagesSent, DEFAULT)).toBeGreaterThan(
      sample(before, METRIC_NAMES.messagesSent, DEFAULT)!,
    );
    expect(sample(await scrape(b), METRIC_NAMES.messagesReceived, DEFAULT)).toBeGreaterThanOrEqual(
      5,
    );
    expect(promtoolCheck(after)).toEqual({ code: 0, output: '' });
    expect(promtoolCheck(await scrape(intruder))).toEqual({ code: 0, output: '' });
  }, 60_000);

  it('renders every series kind (hidden links, topics past the limit, two clusters) promtool-clean', async () => {
    const registry = new Registry();
    const events = new Subject<ClusterEvent>();
    const hooks: MessagingInstrumentation[] = [];
    const source = (cluster: string) => ({
      cluster,
      engine: {
        events$: events,
        health: () => ({
          state: 'running' as const,
          members: 1,
          discovered: 2,
          lastDiscoveryOkAgoMs: 1,
          consecutiveDiscoveryErrors: 0,
          lastDiscoveryError: undefined,
          refreshIntervalMs: 1_000,
          dist: { listening: true },
        }),
      },
      messaging: {
        stats: {
          messagesSent: 3,
          bytesSent: 300,
          messagesReceived: 2,
          bytesReceived: 200,
          requests: { ok: 1, remoteError: 1, timeout: 1, nodeDown: 1, other: 1 },
          inFlight: 1,
          serving: 1,
        },
        instrument: (h: MessagingInstrumentation) => {
          hooks.push(h);
          return () => undefined;
        },
      },
      dist: {
        stats: () => ({
          links: [
            {
              node: 'b@h',
              hidden: false,
              queuedBytes: 5,
              queuedMessages: 1,
              bytesIn: 1,
              bytesOut: 1,
            },
            {
              node: 'cli@h',
              hidden: true,
              queuedBytes: 2,
              queuedMessages: 1,
              bytesIn: 1,
              bytesOut: 1,
            },
          ],
          handshakeRefusals: { 'bad-cookie': 2 },
        }),
      },
    });
    const attached = [
      ClusterMetrics.attach(source('default'), { registry, maxTopics: 1 }),
      ClusterMetrics.attach(source('orders'), { registry, maxTopics: 1 }),
    ];
    try {
      events.next({ type: 'nodeDown', node: 'c@h', reason: 'heartbeatTimeout' });
      for (const topic of ['t1', 't2', 't3']) {
        const info: OutgoingMessageInfo = {
          node: 'b@h',
          topic,
          kind: 'request',
          operation: 'request',
          internal: false,
        };
        for (const h of hooks) h.outgoing?.(info)?.end('ok');
      }
      const text = await registry.metrics();
      expect(
        sample(text, `${METRIC_NAMES.requestDuration}_count`, {
          cluster: 'orders',
          topic: '_other',
        }),
      ).toBe(2);
      expect(sample(text, METRIC_NAMES.sendQueueBytes, { ...DEFAULT, peer: '_hidden' })).toBe(2);
      expect(promtoolCheck(text)).toEqual({ code: 0, output: '' });
    } finally {
      for (const metrics of attached) metrics.close();
    }
  });
});
