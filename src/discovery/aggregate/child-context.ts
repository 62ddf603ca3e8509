import type { ClusterLogger, DiscoveryContext, LogFields } from '../../core/index.js';

/**
 * A logger that writes through `logger` with every line prefixed by `source`
 * (`aggregate[1] hosts: ...`) and, for structured sinks, a `source` field, so the lines of two
 * children of one aggregate can be told apart.
 */
export function prefixedLogger(logger: ClusterLogger, source: string): ClusterLogger {
  const tag = (fields: LogFields | undefined): LogFields => ({ source, ...fields });
  const prefixed: ClusterLogger = {
    log: (message, fields) => logger.log(`${source}: ${message}`, tag(fields)),
    warn: (message, fields) => logger.warn(`${source}: ${message}`, tag(fields)),
    error: (message, fields) => logger.error(`${source}: ${message}`, tag(fields)),
  };
  // optional levels stay absent when the parent has none, as callers test for them
  if (logger.debug)
    prefixed.debug = (message, fields) => logger.debug?.(`${source}: ${message}`, tag(fields));
  if (logger.verbose)
    prefixed.verbose = (message, fields) => logger.verbose?.(`${source}: ${message}`, tag(fields));
  return prefixed;
}

/**
 * The context one child of an aggregate gets: the parent's, with its logger prefixed by the
 * child's `source` and the sources it reports tagged with it (`aggregate[0] local / host b`).
 */
export function childContext(parent: DiscoveryContext, source: string): DiscoveryContext {
  const report = parent.reportError;
  return {
    ...parent,
    logger: prefixedLogger(parent.logger, source),
    ...(report
      ? {
          reportError: (error: Error, inner: string, consecutive?: number) =>
            report(error, `${source} / ${inner}`, consecutive),
        }
      : {}),
  };
}
