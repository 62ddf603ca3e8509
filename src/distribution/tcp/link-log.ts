import { type ClusterLogger, type LogFields, RateLimitedLog, logsAt } from '../../core/index.js';
import type { HandshakeError, TlsError } from './tcp.errors.js';
import { TcpMessages as M } from './tcp.messages.js';

/** Least time between two lines of one key. */
const WINDOW_MS = 60_000;
/** Keys remembered at once (sources and reasons). */
const MAX_KEYS = 1_000;

/**
 * Refusal reasons that normal operation produces: a peer stopping or restarting (its old link
 * still answering for a moment), two nodes dialling each other at once, a peer that went away
 * mid-handshake. They are `debug` lines; anything else a peer provokes is a `warn`.
 */
const ROUTINE_REASONS: ReadonlySet<string> = new Set([
  'simultaneous',
  'already-connected',
  'duplicate-name',
  'stopping',
  'timeout',
  'closed',
]);

/**
 * The lines of the link layer that a peer can provoke (refused handshakes, failed TLS, too many
 * handshakes from one address): one per key and minute, so a hostile or misconfigured peer
 * cannot flood the log.
 */
export class LinkLog {
  private readonly limiter = new RateLimitedLog(WINDOW_MS, MAX_KEYS);

  constructor(private readonly logger: ClusterLogger) {}

  /** Warns `message` unless `key` logged less than a minute ago. */
  warn(key: string, message: string, fields?: LogFields): void {
    this.limiter.write(key, message, line => this.logger.warn(line, fields));
  }

  /**
   * A handshake with `peer` (an address that connected) failed: a `warn` (refused handshakes
   * need a person), or a `debug` line for the reasons of normal operation.
   */
  refusal(peer: string, error: HandshakeError): void {
    const message = M.handshakeFailed(peer, error.message);
    const fields = handshakeFields(peer, error);
    const key = `${peer}:${error.reason}`;
    if (!ROUTINE_REASONS.has(error.reason)) {
      this.warn(key, message, fields);
      return;
    }
    if (!logsAt(this.logger, 'debug')) return;
    this.limiter.write(`debug:${key}`, message, line => this.logger.debug?.(line, fields));
  }

  /**
   * A dial of `node` failed in its TLS or cookie handshake. A `debug` line: the dial's caller
   * (the engine) reports failed connects, at `warn` once they persist or at once for a refusal.
   */
  dialFailure(node: string, error: HandshakeError | TlsError): void {
    if (!logsAt(this.logger, 'debug')) return;
    const fields = handshakeFields(node, error);
    this.limiter.write(
      `dial:${node}:${error.reason}`,
      M.handshakeFailed(node, error.message),
      line => this.logger.debug?.(line, fields),
    );
  }
}

function handshakeFields(peer: string, error: HandshakeError | TlsError): LogFields {
  return { event: 'handshakeRefused', peer, reason: error.reason, code: error.code };
}
