/**
 * How the engine reports failed connection attempts. A failed dial is routine while a peer starts
 * or restarts, so each attempt is a `debug` line; a peer that keeps failing is a problem a person
 * must see, so it is reported at `warn` once it is clearly persistent, summarised while it lasts,
 * and its recovery is logged at `log`.
 */
import type { ClusterLogger, LogFields } from './logger.js';
import { CoreMessages } from './messages.js';

/** When failures to one peer count as persistent, and how often they are summarised. */
export interface ConnectFailureReportOptions {
  /** Failing at least this long (first failure to the latest)... */
  readonly persistentAfterMs: number;
  /** ...and at least this many attempts in a row: then it is persistent. */
  readonly persistentAfterAttempts: number;
  /** Least time between two reports of one persistent failure. */
  readonly summaryIntervalMs: number;
}

/**
 * The defaults: a restarting peer comes back well within 30 s, and with the default backoff
 * (1 s doubling to 15 s) a peer down that long has failed 5 or 6 times. Once a minute after that.
 */
export const DEFAULT_CONNECT_FAILURE_REPORT: Readonly<ConnectFailureReportOptions> = Object.freeze({
  persistentAfterMs: 30_000,
  persistentAfterAttempts: 3,
  summaryIntervalMs: 60_000,
});

/**
 * Error codes of a refused handshake that no retry fixes without a configuration change (another
 * cookie, namespace, name, protocol version, timing or certificate): persistent at the first one.
 * A dist reports such a refusal with one of these codes.
 */
const REFUSAL_CODES: ReadonlySet<string> = new Set([
  'ERR_BAD_COOKIE',
  'ERR_NAMESPACE_MISMATCH',
  'ERR_NAME_MISMATCH',
  'ERR_VERSION_MISMATCH',
  'ERR_TIMING_MISMATCH',
  'ERR_TLS_CERT_NAME',
  'ERR_TLS_HANDSHAKE',
]);

/** Reasons of those codes that a peer going away mid-handshake also produces. */
const TRANSIENT_REASONS: ReadonlySet<string> = new Set(['timeout', 'closed', 'tls']);

/** Whether `error` is a refusal that retrying cannot fix (see `REFUSAL_CODES`). */
export function isPersistentRefusal(error: Error): boolean {
  const { code, reason } = error as { code?: unknown; reason?: unknown };
  return (
    typeof code === 'string' &&
    REFUSAL_CODES.has(code) &&
    !(typeof reason === 'string' && TRANSIENT_REASONS.has(reason))
  );
}

interface Streak {
  attempts: number;
  readonly firstAt: number;
  /** When it was last reported at `warn`; `undefined` while it is not persistent. */
  reportedAt?: number;
}

/**
 * Failures in a row per peer, and the log lines they call for. A peer has an entry from its first
 * failed attempt until it connects or is forgotten (it left discovery, the cluster stopped), so
 * the table is bounded by discovery.
 */
export class ConnectFailureReport {
  private readonly streaks = new Map<string, Streak>();

  /**
   * @param logger where the lines go
   * @param options the thresholds (see {@link DEFAULT_CONNECT_FAILURE_REPORT})
   * @param now the monotonic clock, in milliseconds
   */
  constructor(
    private readonly logger: ClusterLogger,
    private readonly options: ConnectFailureReportOptions = DEFAULT_CONNECT_FAILURE_REPORT,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * An attempt to connect to `node` failed: a `warn` when that makes the failure persistent or a
   * summary is due, a `debug` line otherwise.
   * @param attempt the attempt number the backoff counts (for the debug line)
   * @param retryInMs when the next attempt is due, `undefined` when none is planned
   */
  failed(node: string, attempt: number, error: Error, retryInMs: number | undefined): void {
    const now = this.now();
    let streak = this.streaks.get(node);
    if (streak === undefined) {
      streak = { attempts: 0, firstAt: now };
      this.streaks.set(node, streak);
    }
    streak.attempts++;
    const forMs = now - streak.firstAt;
    const fields: LogFields = {
      peer: node,
      reason: reasonOf(error),
      attempts: streak.attempts,
      failingForMs: Math.round(forMs),
      retryInMs,
      error,
    };
    const { persistentAfterMs, persistentAfterAttempts, summaryIntervalMs } = this.options;
    if (streak.reportedAt === undefined) {
      if (
        isPersistentRefusal(error) ||
        (streak.attempts >= persistentAfterAttempts && forMs >= persistentAfterMs)
      ) {
        streak.reportedAt = now;
        this.logger.warn(CoreMessages.connectFailing(node, streak.attempts, forMs, error), {
          ...fields,
          event: 'connectFailing',
        });
        return;
      }
    } else if (now - streak.reportedAt >= summaryIntervalMs) {
      streak.reportedAt = now;
      this.logger.warn(CoreMessages.connectStillFailing(node, streak.attempts, forMs, error), {
        ...fields,
        event: 'connectStillFailing',
      });
      return;
    }
    this.logger.debug?.(CoreMessages.connectFailed(node, attempt, error, retryInMs), {
      ...fields,
      event: 'connectFailed',
    });
  }

  /** `node` is connected: a persistent failure has recovered (logged), any other is forgotten. */
  connected(node: string): void {
    const streak = this.streaks.get(node);
    if (streak === undefined) return;
    this.streaks.delete(node);
    if (streak.reportedAt === undefined) return;
    const forMs = this.now() - streak.firstAt;
    this.logger.log(CoreMessages.connectRecovered(node, streak.attempts, forMs), {
      event: 'connectRecovered',
      peer: node,
      attempts: streak.attempts,
      failingForMs: Math.round(forMs),
    });
  }

  /** `node` is no longer wanted (it left discovery): a persistent failure ends with a line. */
  forget(node: string): void {
    const streak = this.streaks.get(node);
    if (streak === undefined) return;
    this.streaks.delete(node);
    if (streak.reportedAt === undefined) return;
    const forMs = this.now() - streak.firstAt;
    this.logger.log(CoreMessages.connectAbandoned(node, streak.attempts, forMs), {
      event: 'connectAbandoned',
      peer: node,
      attempts: streak.attempts,
      failingForMs: Math.round(forMs),
    });
  }

  /** Forgets every peer without a line (the cluster stopped). */
  clear(): void {
    this.streaks.clear();
  }
}

/** The `reason` field of a failure: its code, else its name. */
function reasonOf(error: Error): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error.name;
}
