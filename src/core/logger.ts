/**
 * The logging surface the core needs. Nest's `Logger` satisfies it, so the Nest layer passes one
 * with a per-cluster context; the core itself never imports Nest.
 */
export interface ClusterLogger {
  debug?(message: string): void;
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Logs warnings and errors to the console, nothing else: the default outside Nest. */
export const consoleLogger = (context: string): ClusterLogger => ({
  log: () => undefined,
  warn: message => console.warn(`[${context}] ${message}`),
  error: message => console.error(`[${context}] ${message}`),
});
