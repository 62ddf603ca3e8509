/**
 * The logging surface the core needs. Nest's `Logger` satisfies it, so the Nest layer can pass one
 * with a per-cluster context; the core itself never imports Nest.
 */

/** The levels of the cluster's logger, most severe first (Nest's names). */
export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;

/** One of {@link LOG_LEVELS}; a logger at a level writes that level and the ones before it. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `'text'`: one readable line per entry through a sink; `'json'`: one JSON object per line. */
export type LogFormat = 'text' | 'json';

/**
 * The structured facts of one log line. In JSON mode each becomes a field of the line; in text
 * mode they are dropped (the message says the same), except the stack of an `error` line.
 */
export interface LogFields {
  /** A stable name of what happened, for aggregators: `nodeUp`, `connectFailing`, ... */
  readonly event?: string;
  /** This node (the engine fills it in). */
  readonly node?: string;
  /** The other node the line is about. */
  readonly peer?: string;
  /** A short stable token of why: an error code, a node-down reason, a refusal reason. */
  readonly reason?: string;
  /** The error behind the line; `error` lines carry its stack. */
  readonly error?: unknown;
  /** Any other fact (counts, durations, a topic); plain JSON values. */
  readonly [field: string]: unknown;
}

/**
 * Where the cluster logs. Every method takes the message and, optionally, its structured
 * {@link LogFields}. A logger that ignores the second argument (a plain function, Nest's `Logger`)
 * is fine: the engine wraps a logger that does not come from `createClusterLogger`, so such a
 * logger only ever receives the message.
 */
export interface ClusterLogger {
  verbose?(message: string, fields?: LogFields): void;
  debug?(message: string, fields?: LogFields): void;
  log(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Logs warnings and errors to the console, nothing else: the default outside Nest. */
export const consoleLogger = (context: string): ClusterLogger => ({
  log: () => undefined,
  warn: message => console.warn(`[${context}] ${message}`),
  error: message => console.error(`[${context}] ${message}`),
});
