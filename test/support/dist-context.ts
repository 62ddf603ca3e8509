import type { ClusterLogger, DistContext } from '../../src/core/index.js';

/** A logger that drops everything, for dist specs that do not look at logs. */
export const quietLogger: ClusterLogger = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** The context an engine hands a dist's `init`, for node `self`: quiet, and deaf to node events. */
export const distContext = (self: string): DistContext => ({
  self,
  logger: quietLogger,
  nodeUp: () => undefined,
  nodeDown: () => undefined,
});
