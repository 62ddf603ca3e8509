/**
 * User-facing texts of the `./otel` entry (error messages), kept in one place like every layer's
 * catalog.
 */
export const OtelMessages = {
  /** The purpose named when `@opentelemetry/api` cannot be loaded for `tracing: true`. */
  tracingPurpose: 'trace propagation (tracing: true)',
  tracerProviderInvalid: 'a TracerProvider (an object with getTracer())',
  propagatorInvalid: 'a TextMapPropagator (an object with inject() and extract())',
  oneWayInvalid: 'true or false',
} as const;
