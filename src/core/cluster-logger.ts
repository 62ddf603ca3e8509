/**
 * The cluster's logger: a level filter and a format in front of the engine, its strategies and
 * messaging. Text goes through any {@link ClusterLogger} sink (Nest's `Logger` in the Nest
 * layer); JSON is one object per line for log aggregators. Framework-free.
 */
import { toError } from './errors.js';
import {
  type ClusterLogger,
  LOG_LEVELS,
  type LogFields,
  type LogFormat,
  type LogLevel,
} from './logger.js';
import { CoreMessages } from './messages.js';
import { checkOneOf, invalidOption } from './validate.js';

/** Marks the loggers made here, so the engine passes them on as they are instead of wrapping them. */
const STRUCTURED = Symbol.for('gen-cluster.structured-logger');

const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/** Options of {@link createClusterLogger}. */
export interface ClusterLoggerOptions {
  /** Lines above this level are dropped; default `'log'` (membership changes, warnings, errors). */
  readonly level?: LogLevel;
  /** Default `'text'`. */
  readonly format?: LogFormat;
  /** Who logs, e.g. `GenCluster:default`: the `context` field of JSON lines, the default sink's prefix. */
  readonly context?: string;
  /** Where text lines go; the console (every level, prefixed with the context) when unset. */
  readonly sink?: ClusterLogger;
  /** Where JSON lines go, one per call without the newline; `process.stdout` when unset. */
  readonly write?: (line: string) => void;
  /** Fields every line carries, e.g. `{ node }`. */
  readonly fields?: LogFields;
  /** The clock of the `time` field; `new Date()` when unset (tests pin it). */
  readonly clock?: () => Date;
}

/**
 * A logger made by {@link createClusterLogger}: every level is a method, each takes optional
 * {@link LogFields}, and lines above {@link level} are dropped.
 */
export interface StructuredLogger extends ClusterLogger {
  /** The most verbose level written. */
  readonly level: LogLevel;
  /** How lines are written. */
  readonly format: LogFormat;
  verbose(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  /** Whether a line at `level` would be written (to skip building costly messages). */
  enabled(level: LogLevel): boolean;
  /** The same logger with `fields` added to every line (a field given at the call wins). */
  child(fields: LogFields): StructuredLogger;
}

/**
 * Builds the cluster's logger. Text mode hands each line's message to the sink method of its
 * level (an `error` line with an error in its fields gets the stack appended); JSON mode writes
 * `{"time","level","context","event","node","peer","reason","message",...}` per line, the first
 * eight always present (`null` when unknown), then the other fields. A sink or writer that throws
 * is ignored: logging never breaks the cluster.
 *
 * @example
 * const logger = createClusterLogger({ level: 'debug', format: 'json', context: 'GenCluster:a' });
 * new GenCluster({ node: 'a@10.0.0.1', discovery, dist, logger });
 *
 * @throws InvalidConfigError for an unknown level or format, or a sink without the log methods.
 */
export function createClusterLogger(options: ClusterLoggerOptions = {}): StructuredLogger {
  const level = options.level ?? 'log';
  const format = options.format ?? 'text';
  checkOneOf('logLevel', level, LOG_LEVELS);
  checkOneOf('logFormat', format, LOG_FORMATS);
  const sink = options.sink;
  if (
    sink !== undefined &&
    (typeof sink !== 'object' ||
      sink === null ||
      typeof sink.log !== 'function' ||
      typeof sink.warn !== 'function' ||
      typeof sink.error !== 'function')
  )
    throw invalidOption('logger', sink, CoreMessages.loggerShape());
  const writer: Writer =
    format === 'json'
      ? jsonWriter(
          options.context,
          options.write ?? (line => void process.stdout.write(`${line}\n`)),
          options.clock ?? (() => new Date()),
        )
      : textWriter(sink ?? consoleSink(options.context));
  return levelled(level, format, writer, options.fields ?? {});
}

/** Whether `logger` was made by {@link createClusterLogger}. */
export function isStructuredLogger(logger: unknown): logger is StructuredLogger {
  return (
    typeof logger === 'object' &&
    logger !== null &&
    (logger as { [STRUCTURED]?: unknown })[STRUCTURED] === true
  );
}

/**
 * Whether a line at `level` would be written, so a caller can skip building it (and keep it out
 * of its rate limiter) when the level is filtered out.
 */
export function logsAt(logger: ClusterLogger, level: LogLevel): boolean {
  if (isStructuredLogger(logger)) return logger.enabled(level);
  return level === 'debug' || level === 'verbose' ? logger.debug !== undefined : true;
}

/**
 * `logger` as a {@link StructuredLogger}: as it is when it is one, otherwise wrapped as a text
 * sink that receives every level it has a method for (its owner filters) and never the fields.
 */
export function asStructuredLogger(logger: ClusterLogger): StructuredLogger {
  return isStructuredLogger(logger)
    ? logger
    : createClusterLogger({ level: 'verbose', sink: logger });
}

/** Writes one line that passed the level filter. */
type Writer = (level: LogLevel, message: string, fields: LogFields) => void;

function levelled(
  level: LogLevel,
  format: LogFormat,
  writer: Writer,
  bound: LogFields,
): StructuredLogger {
  const most = LOG_LEVELS.indexOf(level);
  const enabled = (at: LogLevel) => LOG_LEVELS.indexOf(at) <= most;
  const at =
    (which: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      if (!enabled(which)) return;
      try {
        writer(which, message, fields === undefined ? bound : { ...bound, ...fields });
      } catch {
        // A failing sink must not break what logged.
      }
    };
  return {
    [STRUCTURED]: true,
    level,
    format,
    error: at('error'),
    warn: at('warn'),
    log: at('log'),
    debug: at('debug'),
    verbose: at('verbose'),
    enabled,
    child: fields => levelled(level, format, writer, { ...bound, ...fields }),
  } as StructuredLogger;
}

function textWriter(sink: ClusterLogger): Writer {
  return (level, message, fields) => {
    const write = sink[level];
    if (typeof write !== 'function') return;
    const stack = level === 'error' ? stackOf(fields.error) : undefined;
    write.call(sink, stack === undefined ? message : `${message}\n${stack}`);
  };
}

function consoleSink(context: string | undefined): ClusterLogger {
  const prefix = context === undefined ? '' : `[${context}] `;
  return {
    verbose: message => console.debug(prefix + message),
    debug: message => console.debug(prefix + message),
    log: message => console.log(prefix + message),
    warn: message => console.warn(prefix + message),
    error: message => console.error(prefix + message),
  };
}

function jsonWriter(
  context: string | undefined,
  write: (line: string) => void,
  clock: () => Date,
): Writer {
  return (level, message, fields) => {
    const { event, node, peer, reason, error, ...extra } = fields;
    const entry: Record<string, unknown> = {
      time: clock().toISOString(),
      level,
      context: context ?? null,
      event: event ?? null,
      node: node ?? null,
      peer: peer ?? null,
      reason: reason ?? null,
      message,
    };
    for (const [key, value] of Object.entries(extra))
      if (value !== undefined && !(key in entry)) entry[key] = value;
    if (error !== undefined) {
      entry.error = errorFields(error);
      const stack = level === 'error' ? stackOf(error) : undefined;
      if (stack !== undefined) entry.stack = stack;
    }
    write(stringify(entry));
  };
}

/** The JSON text of a line; a field that cannot be serialised (a cycle) drops the extra fields. */
function stringify(entry: Record<string, unknown>): string {
  const replacer = (_key: string, value: unknown) =>
    typeof value === 'bigint'
      ? value.toString()
      : value instanceof Error
        ? errorFields(value)
        : value;
  try {
    return JSON.stringify(entry, replacer);
  } catch {
    const { time, level, context, event, node, peer, reason, message } = entry;
    return JSON.stringify({ time, level, context, event, node, peer, reason, message });
  }
}

function errorFields(value: unknown): Record<string, unknown> {
  const error = toError(value);
  const code = (error as { code?: unknown }).code;
  return {
    name: String(error.name),
    message: String(error.message),
    ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
  };
}

function stackOf(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  try {
    const stack = toError(value).stack;
    return typeof stack === 'string' && stack !== '' ? stack : undefined;
  } catch {
    return undefined;
  }
}
