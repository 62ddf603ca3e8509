/**
 * The messaging layer's log: at most one line per level and key every 10 s (a peer sending
 * garbage, or a hook failing on every message, must not flood it), and a failing logger never
 * breaks message handling.
 */
import { type ClusterLogger, type LogFields, RateLimitedLog, logsAt } from '../../core/index.js';
import type { DispatchLogLevel } from './dispatch.js';

/**
 * Writes one rate-limited line.
 * @internal
 */
export type MessagingLog = (
  level: DispatchLogLevel,
  key: string,
  message: string,
  fields?: LogFields,
) => void;

/**
 * A rate-limited log writing to `logger` (structured already).
 * @internal
 */
export function messagingLog(logger: ClusterLogger): MessagingLog {
  const limit = new RateLimitedLog(10_000, 1_000);
  return (level, key, message, fields) => {
    if (!logsAt(logger, level)) return;
    limit.write(`${level}|${key}`, message, text => {
      try {
        if (level === 'debug') logger.debug?.(text, fields);
        else logger[level](text, fields);
      } catch {
        // A failing logger must not break message handling.
      }
    });
  };
}
