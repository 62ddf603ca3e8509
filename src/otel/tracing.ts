import {
  type MessagingInstrumentation,
  OptionalPackageMissingError,
  loadOptional,
} from '../core/index.js';
import { OtelMessages } from './otel.messages.js';
// Types only (erased): the module itself is imported dynamically below.
import type { createTracingInstrumentation } from './tracing-instrumentation.js';

/** The optional peer that tracing needs. */
export const OTEL_API_PACKAGE = '@opentelemetry/api';

/** What {@link loadTracing} imports: the module that imports `@opentelemetry/api` statically. */
export interface TracingModule {
  readonly createTracingInstrumentation: typeof createTracingInstrumentation;
}

/**
 * The `tracing` option of `GenClusterModule`, as the Nest glue loads it. This module imports
 * nothing of OpenTelemetry itself (so it always loads): it imports the hooks, and with them
 * `@opentelemetry/api`, dynamically.
 *
 * Used by `src/nest` as `const { loadTracing } = await import('../otel/tracing.js')`, then
 * `await loadTracing(mode)`; the result goes to `messaging.instrument(hooks)` when defined.
 * - `'auto'`: the hooks when `@opentelemetry/api` is installed, `undefined` when it is not.
 * - `true`: the hooks, or {@link OptionalPackageMissingError} naming `@opentelemetry/api`.
 * Other failures (a broken install) are thrown in both modes.
 * @param load imports the hooks' module (tests pass a failing one)
 */
export async function loadTracing(
  mode: 'auto' | true,
  load: () => Promise<TracingModule> = () => import('./tracing-instrumentation.js'),
): Promise<MessagingInstrumentation | undefined> {
  try {
    const tracing = await loadOptional(OTEL_API_PACKAGE, OtelMessages.tracingPurpose, load);
    return tracing.createTracingInstrumentation();
  } catch (error) {
    if (mode === 'auto' && isApiMissing(error)) return undefined;
    throw error;
  }
}

/** Whether `error` says that `@opentelemetry/api` itself could not be found. */
function isApiMissing(error: unknown): boolean {
  if (!(error instanceof OptionalPackageMissingError)) return false;
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  return (
    cause?.code === 'ERR_MODULE_NOT_FOUND' &&
    typeof cause.message === 'string' &&
    cause.message.includes(`'${OTEL_API_PACKAGE}'`)
  );
}
