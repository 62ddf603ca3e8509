/**
 * The tracing hooks with the real OpenTelemetry SDK (NodeTracerProvider registered globally, an
 * in-memory exporter), called as the messaging layer calls them: the sender's `outgoing`, then the
 * headers it returned handed to the receiver's `incoming`.
 */
import { jest } from '@jest/globals';
import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { AlwaysOffSampler, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { InvalidConfigError, type MessagingInstrumentation } from '../core/index.js';
import {
  type TestProvider,
  disableGlobals,
  testProvider,
} from '../../test/fixtures/apps/otel/test-provider.js';
import { GEN_CLUSTER_TRACER_NAME, createTracingInstrumentation } from './index.js';

const A = 'a@test';
const B = 'b@test';

const request = {
  node: B,
  topic: 'greet',
  kind: 'request',
  operation: 'request',
  internal: false,
} as const;
const served = { from: A, topic: 'greet', kind: 'request', internal: false } as const;

/** A request from a to b under a root span: the client and server spans, ended with `outcome`. */
function roundTrip(
  hooks: MessagingInstrumentation,
  { remoteError }: { remoteError?: Error } = {},
): { inside: string | undefined } {
  let inside: string | undefined;
  const tracer = trace.getTracer('spec');
  tracer.startActiveSpan('root', root => {
    const scope = hooks.outgoing!(request)!;
    const incoming = hooks.incoming!(served, scope.headers)!;
    context.with(trace.deleteSpan(context.active()), () => {
      incoming.run(() => {
        inside = trace.getActiveSpan()?.spanContext().spanId;
      });
    });
    incoming.end(remoteError ? 'error' : 'ok', remoteError);
    scope.end(remoteError ? 'remoteError' : 'ok', remoteError);
    root.end();
  });
  return { inside };
}

function only(spans: ReadableSpan[]): ReadableSpan {
  expect(spans).toHaveLength(1);
  return spans[0]!;
}

describe('createTracingInstrumentation', () => {
  let otel: TestProvider | undefined;

  afterEach(async () => {
    await otel?.close();
    otel = undefined;
    disableGlobals();
    jest.restoreAllMocks();
  });

  it('does nothing and carries no headers while no provider is registered', () => {
    const hooks = createTracingInstrumentation();
    expect(propagation.fields()).toEqual([]);
    expect(hooks.outgoing!(request)).toBeUndefined();
    expect(
      hooks.incoming!(served, {
        traceparent: '00-' + '1'.repeat(32) + '-' + '2'.repeat(16) + '-01',
      }),
    ).toBeUndefined();
  });

  it('continues the trace on the serving side: server span child of the client span, child of the root', () => {
    otel = testProvider();
    const { inside } = roundTrip(createTracingInstrumentation());

    const root = only(otel.spans('root'));
    const client = only(otel.spans('greet request'));
    const server = only(otel.spans('greet process'));
    expect(client.kind).toBe(SpanKind.CLIENT);
    expect(server.kind).toBe(SpanKind.SERVER);
    expect(client.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(server.parentSpanContext?.spanId).toBe(client.spanContext().spanId);
    expect(server.spanContext().traceId).toBe(root.spanContext().traceId);
    expect(inside).toBe(server.spanContext().spanId);
    expect(client.instrumentationScope.name).toBe(GEN_CLUSTER_TRACER_NAME);
    expect(client.attributes).toEqual({
      'messaging.system': 'gen_cluster',
      'messaging.destination.name': 'greet',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'request',
      'gen_cluster.peer': B,
      'gen_cluster.outcome': 'ok',
    });
    expect(server.attributes).toEqual({
      'messaging.system': 'gen_cluster',
      'messaging.destination.name': 'greet',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'gen_cluster.peer': A,
    });
    expect(client.status.code).toBe(SpanStatusCode.UNSET);
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('carries the W3C traceparent of the client span', () => {
    otel = testProvider();
    const scope = createTracingInstrumentation().outgoing!(request)!;
    scope.end('ok');
    const client = only(otel.spans('greet request'));
    expect(scope.headers).toEqual({
      traceparent: `00-${client.spanContext().traceId}-${client.spanContext().spanId}-01`,
    });
  });

  it('marks both spans ERROR and records the exception when the handler throws', () => {
    otel = testProvider();
    roundTrip(createTracingInstrumentation(), { remoteError: new Error('no greeting today') });

    for (const span of [only(otel.spans('greet request')), only(otel.spans('greet process'))]) {
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no greeting today' });
      expect(span.events.map(event => event.name)).toEqual(['exception']);
      expect(span.events[0]!.attributes?.['exception.message']).toBe('no greeting today');
    }
    expect(only(otel.spans('greet request')).attributes['gen_cluster.outcome']).toBe('remoteError');
  });

  it.each(['timeout', 'nodeDown', 'aborted', 'refused', 'closed'] as const)(
    'marks the client span ERROR for outcome %s, naming it when there is no error',
    outcome => {
      otel = testProvider();
      createTracingInstrumentation().outgoing!(request)!.end(outcome);
      const client = only(otel.spans('greet request'));
      expect(client.status).toEqual({ code: SpanStatusCode.ERROR, message: outcome });
      expect(client.attributes['gen_cluster.outcome']).toBe(outcome);
    },
  );

  it('records PRODUCER and CONSUMER spans for sends and broadcasts (no peer for a broadcast)', () => {
    otel = testProvider();
    const hooks = createTracingInstrumentation();
    const send = hooks.outgoing!({ ...request, kind: 'oneWay', operation: 'send' })!;
    const consume = hooks.incoming!({ ...served, kind: 'oneWay' }, send.headers)!;
    consume.run(() => undefined);
    consume.end('ok');
    send.end('sent');
    hooks.outgoing!({ ...request, node: '*', kind: 'oneWay', operation: 'broadcast' })!.end('sent');

    const producer = only(otel.spans('greet send'));
    const consumer = only(otel.spans('greet process'));
    const broadcast = only(otel.spans('greet broadcast'));
    expect(producer.kind).toBe(SpanKind.PRODUCER);
    expect(consumer.kind).toBe(SpanKind.CONSUMER);
    expect(broadcast.kind).toBe(SpanKind.PRODUCER);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(producer.attributes['gen_cluster.outcome']).toBe('sent');
    expect(producer.status.code).toBe(SpanStatusCode.UNSET);
    expect(broadcast.attributes['messaging.operation.name']).toBe('broadcast');
    expect(broadcast.attributes['gen_cluster.peer']).toBeUndefined();
  });

  it('leaves one-way messages alone with oneWay: false', () => {
    otel = testProvider();
    const hooks = createTracingInstrumentation({ oneWay: false });
    expect(hooks.outgoing!({ ...request, kind: 'oneWay', operation: 'send' })).toBeUndefined();
    expect(hooks.incoming!({ ...served, kind: 'oneWay' }, undefined)).toBeUndefined();
    expect(hooks.outgoing!(request)).toBeDefined();
  });

  it('never traces internal ($gc.) topics', () => {
    otel = testProvider();
    const hooks = createTracingInstrumentation();
    expect(hooks.outgoing!({ ...request, topic: '$gc.reg.hello', internal: true })).toBeUndefined();
    expect(
      hooks.incoming!({ ...served, topic: '$gc.sys.info', internal: true }, undefined),
    ).toBeUndefined();
    expect(otel.exporter.getFinishedSpans()).toEqual([]);
  });

  it('starts a root server span when the request carried no context', () => {
    otel = testProvider();
    const scope = createTracingInstrumentation().incoming!(served, undefined)!;
    scope.run(() => undefined);
    scope.end('ok');
    expect(only(otel.spans('greet process')).parentSpanContext).toBeUndefined();
  });

  it('carries nothing for an unsampled root', () => {
    otel = testProvider({ sampler: new AlwaysOffSampler() });
    expect(createTracingInstrumentation().outgoing!(request)).toBeUndefined();
  });

  it('picks up a provider registered later within a second, and notices its removal', () => {
    // Only the timers are fake: the SDK's span clocks stay real.
    jest.useFakeTimers({
      doNotFake: ['Date', 'performance', 'hrtime', 'nextTick', 'queueMicrotask', 'setImmediate'],
    });
    try {
      const hooks = createTracingInstrumentation();
      expect(hooks.outgoing!(request)).toBeUndefined();
      otel = testProvider();
      jest.advanceTimersByTime(999);
      expect(hooks.outgoing!(request)).toBeUndefined();
      jest.advanceTimersByTime(1);
      hooks.outgoing!(request)!.end('ok');
      expect(otel.spans('greet request')).toHaveLength(1);
      disableGlobals();
      jest.advanceTimersByTime(1_000);
      expect(hooks.outgoing!(request)).toBeUndefined();
    } finally {
      jest.useRealTimers();
    }
  });

  it('uses a given tracer provider without any global registration', () => {
    otel = testProvider({ register: false });
    const hooks = createTracingInstrumentation({ tracerProvider: otel.provider });
    const scope = hooks.outgoing!(request)!;
    // No global propagator: the span is recorded, nothing to carry.
    expect(scope.headers).toBeUndefined();
    scope.end('ok');
    expect(otel.spans('greet request')).toHaveLength(1);
  });

  it('refuses unknown options and values of the wrong shape, naming the option', () => {
    const bad = (options: unknown, name: RegExp): void => {
      expect(() => createTracingInstrumentation(options as never)).toThrow(InvalidConfigError);
      expect(() => createTracingInstrumentation(options as never)).toThrow(name);
    };
    bad({ oneway: false }, /tracing\.oneway/);
    bad({ oneWay: 'yes' }, /tracing\.oneWay/);
    bad({ tracerProvider: {} }, /tracing\.tracerProvider/);
    bad({ propagator: { inject: () => undefined } }, /tracing\.propagator/);
  });
});
