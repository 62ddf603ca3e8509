/**
 * The tracing hooks on real parts: two GenClusters on an InMemoryNetwork (the real Messaging, its
 * envelopes and headers), each with its ServiceRegistry (whose `$gc.reg.` chatter must never be
 * traced), the hooks installed with `messaging.instrument()`, and the real OpenTelemetry SDK.
 */
import {
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  propagation,
  trace,
} from '@opentelemetry/api';
import {
  type ClusterMessaging,
  type GenCluster,
  type MessageHeaders,
  type MessagingInstrumentation,
} from '../core/index.js';
import { ServiceRegistry } from '../primitives/index.js';
import { InMemoryNetwork } from '../testing/index.js';
import { inMemoryEngine } from '../../test/support/engine-harness.js';
import { until } from '../../test/support/wait.js';
import {
  type TestProvider,
  disableGlobals,
  testProvider,
} from '../../test/fixtures/apps/otel/test-provider.js';
import { createTracingInstrumentation } from './index.js';

const A = 'a@test';
const B = 'b@test';

interface TestNode {
  readonly cluster: GenCluster;
  readonly messaging: ClusterMessaging;
  readonly registry: ServiceRegistry;
}

/** Records the headers each incoming message carried (traces nothing). */
function headerSpy(
  seen: { topic: string; headers: MessageHeaders | undefined }[],
): MessagingInstrumentation {
  return {
    incoming: (info, headers) => {
      seen.push({ topic: info.topic, headers });
      return undefined;
    },
  };
}

describe('tracing over the in-memory network', () => {
  let network: InMemoryNetwork;
  let nodes: Map<string, TestNode>;
  let otel: TestProvider | undefined;
  /** What b received, with the headers each message carried. */
  let seen: { topic: string; headers: MessageHeaders | undefined }[];
  const node = (name: string): TestNode => nodes.get(name)!;

  const start = async (): Promise<void> => {
    network = new InMemoryNetwork();
    nodes = new Map();
    seen = [];
    for (const name of [A, B]) {
      const { cluster, dist } = inMemoryEngine(network, name, 100);
      const messaging = dist.messaging;
      messaging.instrument!(createTracingInstrumentation());
      if (name === B) messaging.instrument!(headerSpy(seen));
      const registry = new ServiceRegistry({ cluster, messaging });
      messaging.on<{ fail?: boolean }>('greet', async payload => {
        await new Promise(resolve => setImmediate(resolve));
        if (payload.fail) throw new Error('no greeting today');
        return { activeSpanId: trace.getActiveSpan()?.spanContext().spanId };
      });
      nodes.set(name, { cluster, messaging, registry });
    }
    for (const entry of nodes.values()) await entry.cluster.start();
    await until(
      () => node(A).cluster.nodes().includes(B) && node(B).cluster.nodes().includes(A),
      10_000,
    );
  };

  afterEach(async () => {
    for (const entry of nodes.values()) {
      entry.registry.close();
      await entry.cluster.stop();
    }
    await otel?.close();
    otel = undefined;
    disableGlobals();
  });

  it("continues a's trace on b: parent and child across the two nodes", async () => {
    otel = testProvider();
    await start();
    const tracer = trace.getTracer('spec');
    const answer = await tracer.startActiveSpan('root', async root => {
      try {
        return await node(A).messaging.request<{ activeSpanId: string }>(B, 'greet', {});
      } finally {
        root.end();
      }
    });
    await until(() => otel!.spans('greet process').length === 1, 5_000);
    const root = otel.spans('root')[0]!;
    const client = otel.spans('greet request')[0]!;
    const server = otel.spans('greet process')[0]!;
    expect(client.kind).toBe(SpanKind.CLIENT);
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(client.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(server.parentSpanContext?.spanId).toBe(client.spanContext().spanId);
    expect(server.spanContext().traceId).toBe(root.spanContext().traceId);
    expect(answer.activeSpanId).toBe(server.spanContext().spanId);
    expect(client.attributes).toMatchObject({
      'messaging.system': 'gen_cluster',
      'messaging.destination.name': 'greet',
      'gen_cluster.peer': B,
      'gen_cluster.outcome': 'ok',
    });
    expect(server.attributes).toMatchObject({ 'gen_cluster.peer': A });
  });

  it('marks both spans ERROR when the remote handler throws', async () => {
    otel = testProvider();
    await start();
    await expect(node(A).messaging.request(B, 'greet', { fail: true })).rejects.toThrow(
      /no greeting today/,
    );
    await until(() => otel!.spans('greet process').length === 1, 5_000);
    for (const span of [otel.spans('greet request')[0]!, otel.spans('greet process')[0]!]) {
      expect(span.status.code).toBe(SpanStatusCode.ERROR);
      expect(span.events.map(e => e.name)).toContain('exception');
    }
  });

  it('records no span for the registry chatter ($gc. topics)', async () => {
    otel = testProvider();
    await start();
    await until(() => seen.some(s => s.topic.startsWith('$gc.')), 5_000, 'registry chatter');
    await node(A).messaging.request(B, 'greet', {});
    const topics = otel.exporter
      .getFinishedSpans()
      .map(s => s.attributes['messaging.destination.name']);
    expect(topics).toContain('greet');
    expect(topics.filter(t => String(t).startsWith('$gc.'))).toEqual([]);
    expect(seen.filter(s => s.topic.startsWith('$gc.')).every(s => s.headers === undefined)).toBe(
      true,
    );
  });

  it('carries no headers while no tracer provider is registered, even with a propagator and an upstream context', async () => {
    // register() then trace.disable(): the W3C propagator and the context manager stay.
    otel = testProvider();
    trace.disable();
    expect(propagation.fields()).toContain('traceparent');
    await start();
    const upstream = trace.setSpanContext(context.active(), {
      traceId: '1'.repeat(32),
      spanId: '2'.repeat(16),
      traceFlags: TraceFlags.SAMPLED,
    });
    await context.with(upstream, async () => {
      await node(A).messaging.request(B, 'greet', {});
      node(A).messaging.send(B, 'greet', {});
    });
    await until(() => seen.filter(s => s.topic === 'greet').length === 2, 5_000);
    expect(seen.filter(s => s.topic === 'greet')).toEqual([
      { topic: 'greet', headers: undefined },
      { topic: 'greet', headers: undefined },
    ]);
    expect(otel.exporter.getFinishedSpans()).toEqual([]);
  });
});
