/**
 * The `./otel` entry: OpenTelemetry trace propagation over gen-cluster messaging. Needs the
 * optional peer `@opentelemetry/api` (1.9.x with `@opentelemetry/sdk-trace-node` 2.x).
 */
export { type TracingOptions, createTracingInstrumentation } from './tracing-instrumentation.js';
export { GEN_CLUSTER_TRACER_NAME } from './provider-detection.js';
