import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type TracerProvider,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  propagation,
  trace,
} from '@opentelemetry/api';
import {
  type IncomingMessageInfo,
  type IncomingScope,
  type MessageHeaders,
  type MessagingInstrumentation,
  type OutgoingMessageInfo,
  type OutgoingScope,
  type RequestOutcome,
  checkKnownKeys,
  invalidOption,
  toError,
} from '../core/index.js';
import { OtelMessages } from './otel.messages.js';
import { TracerSource } from './provider-detection.js';

/** Options of {@link createTracingInstrumentation}. */
export interface TracingOptions {
  /** The tracer provider to use; the global one (`trace.getTracerProvider()`) when unset. */
  readonly tracerProvider?: TracerProvider;
  /** The propagator that writes and reads the headers; the global one (`propagation`) when unset. */
  readonly propagator?: TextMapPropagator;
  /** Also trace one-way messages (`send`, `broadcast`) and their handlers (default true). */
  readonly oneWay?: boolean;
}

/** The value of `messaging.system` on every span. */
const MESSAGING_SYSTEM = 'gen_cluster';

/**
 * Messaging hooks that carry the W3C trace context (or whatever the propagator writes) in the
 * message headers and record a span for each message: CLIENT `"{topic} request"` around a request
 * and SERVER `"{topic} process"` around its handler; PRODUCER `"{topic} send"` /
 * `"{topic} broadcast"` and CONSUMER `"{topic} process"` for one-way messages. Internal topics
 * (`$gc.`) are never traced. While no tracer provider is registered (and none is given) the hooks
 * return at once and carry nothing.
 *
 * @example
 * // without Nest (GenClusterModule installs them itself, option `tracing`):
 * const off = dist.messaging.instrument(createTracingInstrumentation());
 *
 * @publicApi
 */
export function createTracingInstrumentation(
  options: TracingOptions = {},
): MessagingInstrumentation {
  checkTracingOptions(options);
  const source = new TracerSource(options.tracerProvider);
  const propagator = options.propagator;
  const oneWay = options.oneWay ?? true;

  const inject = (ctx: Context): MessageHeaders | undefined => {
    const carrier: Record<string, string> = {};
    if (propagator) propagator.inject(ctx, carrier, defaultTextMapSetter);
    else propagation.inject(ctx, carrier);
    // Whether anything was written, without allocating a key array.
    for (const _ in carrier) return carrier;
    return undefined;
  };
  const extract = (headers: MessageHeaders | undefined): Context => {
    if (!headers) return ROOT_CONTEXT;
    return propagator
      ? propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter)
      : propagation.extract(ROOT_CONTEXT, headers);
  };

  return {
    outgoing(info: OutgoingMessageInfo): OutgoingScope | undefined {
      if (info.internal || (!oneWay && info.kind === 'oneWay')) return undefined;
      const tracer = source.current();
      if (!tracer) return undefined;
      const parent = context.active();
      const span = tracer.startSpan(
        `${info.topic} ${info.operation}`,
        {
          kind: info.kind === 'request' ? SpanKind.CLIENT : SpanKind.PRODUCER,
          attributes: attributes(info.topic, 'send', info.operation, info.node),
        },
        parent,
      );
      // An unsampled root: nothing is recorded here and nothing upstream to pass on.
      const upstream = trace.getSpanContext(parent);
      if (!span.isRecording() && !(upstream && trace.isSpanContextValid(upstream))) {
        return undefined;
      }
      return {
        headers: inject(trace.setSpan(parent, span)),
        end: (outcome: RequestOutcome | 'sent', error?: Error) => {
          span.setAttribute('gen_cluster.outcome', outcome);
          if (outcome !== 'ok' && outcome !== 'sent') fail(span, error, outcome);
          span.end();
        },
      };
    },

    incoming(
      info: IncomingMessageInfo,
      headers: MessageHeaders | undefined,
    ): IncomingScope | undefined {
      if (info.internal || (!oneWay && info.kind === 'oneWay')) return undefined;
      const tracer = source.current();
      if (!tracer) return undefined;
      const parent = extract(headers);
      const span = tracer.startSpan(
        `${info.topic} process`,
        {
          kind: info.kind === 'request' ? SpanKind.SERVER : SpanKind.CONSUMER,
          attributes: attributes(info.topic, 'process', 'process', info.from),
        },
        parent,
      );
      const active = trace.setSpan(parent, span);
      return {
        run: <R>(fn: () => R): R => context.with(active, fn),
        end: (outcome: 'ok' | 'error', error?: unknown) => {
          if (outcome === 'error') fail(span, error, outcome);
          span.end();
        },
      };
    },
  };
}

/** The attributes every span carries (OpenTelemetry messaging conventions, plus the peer). */
function attributes(topic: string, type: string, name: string, peer: string): Attributes {
  const result: Attributes = {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.destination.name': topic,
    'messaging.operation.type': type,
    'messaging.operation.name': name,
  };
  // A broadcast has no single peer ('*').
  if (peer !== '*') result['gen_cluster.peer'] = peer;
  return result;
}

/** Marks `span` failed: status ERROR with the error's message, and the exception recorded. */
function fail(span: Span, error: unknown, outcome: string): void {
  if (error === undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
    return;
  }
  const exception = toError(error);
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
}

/** Refuses unknown keys and values of the wrong shape, naming the option. */
function checkTracingOptions(options: TracingOptions): void {
  const value: unknown = options;
  checkKnownKeys('tracing', value, ['tracerProvider', 'propagator', 'oneWay']);
  const { tracerProvider, propagator, oneWay } = options;
  if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== 'function') {
    throw invalidOption(
      'tracing.tracerProvider',
      tracerProvider,
      OtelMessages.tracerProviderInvalid,
    );
  }
  if (
    propagator !== undefined &&
    (typeof propagator?.inject !== 'function' || typeof propagator.extract !== 'function')
  ) {
    throw invalidOption('tracing.propagator', propagator, OtelMessages.propagatorInvalid);
  }
  if (oneWay !== undefined && typeof oneWay !== 'boolean') {
    throw invalidOption('tracing.oneWay', oneWay, OtelMessages.oneWayInvalid);
  }
}
