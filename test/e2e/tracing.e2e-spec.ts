import { type SampleNode, startFixtureMesh, stopAll } from '../support/nodes.js';
import { until } from '../support/wait.js';
import type { SpanRecord, TraceAnswer } from '../fixtures/apps/otel/trace.controller.js';
import type { Greeting } from '../fixtures/apps/otel/trace-topics.js';

/**
 * Trace propagation across real processes: three processes of the otel fixture app
 * (test/fixtures/apps/otel, built by `npm run build`) on 127.0.0.1. Each registers a real
 * NodeTracerProvider whose finished spans it keeps in memory and lists at `GET /trace/spans`;
 * a and b run GenClusterModule with `tracing: true`, c with `tracing: false`. A route starts a
 * root span and makes the cluster call inside it; the test reads both sides' spans.
 */

/** OpenTelemetry's SpanStatusCode.ERROR. */
const ERROR = 2;

async function get<T>(node: SampleNode, path: string): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${node.http}${path}`);
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

const spansOf = (node: SampleNode): Promise<SpanRecord[]> => get(node, '/trace/spans');

/** Waits until `node` finished a span named `name` in trace `traceId`, and returns it. */
async function spanIn(node: SampleNode, name: string, traceId: string): Promise<SpanRecord> {
  let found: SpanRecord | undefined;
  await until(
    async () => {
      found = (await spansOf(node)).find(s => s.name === name && s.traceId === traceId);
      return found !== undefined;
    },
    5_000,
    `${node.name} to finish "${name}" of trace ${traceId}`,
  );
  return found!;
}

describe('trace propagation across processes (@opentelemetry/api 1.9 + sdk-trace-node 2.x)', () => {
  let a: SampleNode;
  let b: SampleNode;
  let c: SampleNode;

  beforeAll(async () => {
    const env = (i: number): Record<string, string> => (i === 2 ? { FIXTURE_TRACING: 'off' } : {});
    [a, b, c] = await startFixtureMesh('otel', env);
  }, 60_000);
  afterAll(stopAll);

  it("continues a's trace on b: b's server span is the child of a's client span", async () => {
    const answer = await get<TraceAnswer>(a, `/trace/request/${b.name}`);
    expect(answer.error).toBeUndefined();
    const greeting = answer.value as Greeting;
    expect(greeting.servedBy).toBe(b.name);

    const client = await spanIn(a, 'trace.greet request', answer.traceId);
    const server = await spanIn(b, 'trace.greet process', answer.traceId);
    expect(client).toMatchObject({
      kind: 'CLIENT',
      parentSpanId: answer.rootSpanId,
      status: { code: 0 },
      attributes: {
        'messaging.system': 'gen_cluster',
        'messaging.destination.name': 'trace.greet',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'request',
        'gen_cluster.peer': b.name,
        'gen_cluster.outcome': 'ok',
      },
    });
    expect(server).toMatchObject({
      kind: 'SERVER',
      parentSpanId: client.spanId,
      status: { code: 0 },
      attributes: {
        'messaging.system': 'gen_cluster',
        'messaging.destination.name': 'trace.greet',
        'messaging.operation.type': 'process',
        'gen_cluster.peer': a.name,
      },
    });
    // The Nest handler ran inside the server span, across its awaits.
    expect(greeting.activeSpanId).toBe(server.spanId);
  });

  it("continues a one-way message's trace: b's CONSUMER span is the child of a's PRODUCER span", async () => {
    const id = `note-${Date.now()}`;
    const answer = await get<TraceAnswer>(a, `/trace/send/${b.name}?id=${id}`);
    expect(answer.error).toBeUndefined();
    const producer = await spanIn(a, 'trace.note send', answer.traceId);
    const consumer = await spanIn(b, 'trace.note process', answer.traceId);
    expect(producer).toMatchObject({ kind: 'PRODUCER', parentSpanId: answer.rootSpanId });
    expect(producer.attributes['gen_cluster.outcome']).toBe('sent');
    expect(consumer).toMatchObject({ kind: 'CONSUMER', parentSpanId: producer.spanId });
    const note = await get<{ received: boolean; activeSpanId: string | null }>(
      b,
      `/trace/note/${id}`,
    );
    expect(note).toEqual({ received: true, activeSpanId: consumer.spanId });
  });

  it('marks both spans ERROR, with the exception recorded, when the remote handler throws', async () => {
    const answer = await get<TraceAnswer>(a, `/trace/request/${b.name}?fail=1`);
    expect(answer.error).toContain('no greeting today');
    const client = await spanIn(a, 'trace.greet request', answer.traceId);
    const server = await spanIn(b, 'trace.greet process', answer.traceId);
    expect(server.parentSpanId).toBe(client.spanId);
    for (const span of [client, server]) {
      expect(span.status.code).toBe(ERROR);
      expect(span.events).toContain('exception');
    }
    expect(client.attributes['gen_cluster.outcome']).toBe('remoteError');
  });

  it('carries nothing from a node with tracing: false: the served request starts a new trace', async () => {
    const answer = await get<TraceAnswer>(c, `/trace/request/${a.name}`);
    expect(answer.error).toBeUndefined();
    expect((answer.value as Greeting).servedBy).toBe(a.name);

    let server: SpanRecord | undefined;
    await until(
      async () => {
        server = (await spansOf(a)).find(
          s => s.name === 'trace.greet process' && s.attributes['gen_cluster.peer'] === c.name,
        );
        return server !== undefined;
      },
      5_000,
      "a's server span for c's request",
    );
    expect(server!.parentSpanId).toBeUndefined();
    expect(server!.traceId).not.toBe(answer.traceId);
    // c recorded its own root span only: no client span, since no hooks are installed there.
    const onC = (await spansOf(c)).filter(s => s.traceId === answer.traceId).map(s => s.name);
    expect(onC).toEqual(['fixture root']);
  });

  it('records no span for internal ($gc.) topics', async () => {
    for (const node of [a, b]) {
      const topics = (await spansOf(node)).map(s => s.attributes['messaging.destination.name']);
      expect(topics.filter(t => typeof t === 'string' && t.startsWith('$gc.'))).toEqual([]);
    }
  });
});
