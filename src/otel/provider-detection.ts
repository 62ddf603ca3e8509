import { ProxyTracerProvider, type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import { VERSION } from '../core/index.js';

/** The name of the tracer that records gen-cluster's messaging spans (the instrumentation scope). */
export const GEN_CLUSTER_TRACER_NAME = '@gen-cluster/nestjs';

/** How often, at most, the global tracer provider is looked at again. */
const RECHECK_MS = 1_000;

/** The no-op provider a `ProxyTracerProvider` hands out before any provider is registered. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * Answers "is anyone recording?" for the hot path without allocating or reading a clock per
 * message: the answer and the tracer are cached, and a one-shot timer (unref'd, armed only when a
 * message asks after the previous one fired) marks the cache stale after a second, so a provider
 * registered after bootstrap is picked up within a second of traffic.
 */
export class TracerSource {
  private tracer: Tracer | undefined;
  private stale = true;
  private readonly expire = (): void => {
    this.stale = true;
  };
  private provider: TracerProvider | undefined;

  /** @param given a provider passed in the options: it is always used, never looked up. */
  constructor(private readonly given: TracerProvider | undefined) {
    if (given) this.tracer = given.getTracer(GEN_CLUSTER_TRACER_NAME, VERSION);
  }

  /** The tracer to use now, or undefined when no provider is registered (nothing is traced). */
  current(): Tracer | undefined {
    if (this.given) return this.tracer;
    if (!this.stale) return this.tracer;
    this.stale = false;
    setTimeout(this.expire, RECHECK_MS).unref();
    const provider = registeredProvider();
    if (provider !== this.provider) {
      this.provider = provider;
      this.tracer = provider?.getTracer(GEN_CLUSTER_TRACER_NAME, VERSION);
    }
    return this.tracer;
  }
}

/** The globally registered provider, or undefined while the global one is still the no-op. */
function registeredProvider(): TracerProvider | undefined {
  const global = trace.getTracerProvider() as TracerProvider & { getDelegate?: () => unknown };
  if (typeof global.getDelegate !== 'function') return global;
  const delegate = global.getDelegate() as TracerProvider;
  // A provider from another copy of the API has that copy's no-op: recognised by its class name.
  if (delegate === NOOP_PROVIDER || delegate.constructor?.name === 'NoopTracerProvider') {
    return undefined;
  }
  return delegate;
}
