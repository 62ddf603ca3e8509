import { Logger } from '@nestjs/common';
import type { ClusterLogFormat, ClusterLogLevel } from '../config/index.js';
import { type StructuredLogger, createClusterLogger } from '../core/index.js';

/** The options of one cluster that shape its logger (as `GenClusterModuleOptions` has them). */
export interface NestClusterLoggerOptions {
  /** The most verbose level written; `'log'` when unset. */
  readonly logLevel?: ClusterLogLevel;
  /** `'text'` (Nest's `Logger`) when unset, or `'json'` (one object per line on stdout). */
  readonly logFormat?: ClusterLogFormat;
}

/**
 * The logger of the cluster named `name`, for the engine: lines above `logLevel` dropped, then in
 * text mode Nest's `Logger` with the context `GenCluster:<name>` (so the application's logger and
 * its levels apply as well), in JSON mode one object per line written to `process.stdout`.
 *
 * @example
 * new GenCluster({ ...options, logger: createNestClusterLogger('default', { logLevel: 'debug' }) });
 *
 * @throws InvalidConfigError for an unknown level or format.
 */
export function createNestClusterLogger(
  name: string,
  options: NestClusterLoggerOptions = {},
): StructuredLogger {
  const context = `GenCluster:${name}`;
  return createClusterLogger({
    level: options.logLevel ?? 'log',
    format: options.logFormat ?? 'text',
    context,
    sink: new Logger(context),
    write: line => void process.stdout.write(`${line}\n`),
  });
}
