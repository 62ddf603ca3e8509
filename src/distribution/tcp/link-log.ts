import { type ClusterLogger, RateLimitedLog } from '../../core/index.js';
import type { HandshakeError, TlsError } from './tcp.errors.js';
import { TcpMessages as M } from './tcp.messages.js';

/** Least time between two warnings of one key. */
const WINDOW_MS = 60_000;
/** Keys remembered at once (sources and reasons). */
const MAX_KEYS = 1_000;

/**
 * The warnings of the link layer that a peer can provoke (refused handshakes, failed TLS, too
 * many handshakes from one address): one per key and minute, so a hostile or misconfigured peer
 * cannot flood the log.
 */
export class LinkLog {
  private readonly limiter = new RateLimitedLog(WINDOW_MS, MAX_KEYS);

  constructor(private readonly logger: ClusterLogger) {}

  /** Warns `message` unless `key` warned less than a minute ago. */
  warn(key: string, message: string): void {
    this.limiter.write(key, message, line => this.logger.warn(line));
  }

  /** A handshake with `peer` (a node name or an address) failed. */
  refusal(peer: string, error: HandshakeError): void {
    this.warn(`${peer}:${error.reason}`, M.handshakeFailed(peer, error.message));
  }

  /** A TLS handshake with `peer` failed; one warning per peer and reason. */
  tlsFailure(peer: string, error: TlsError): void {
    this.warn(`tls:${peer}:${error.reason}`, error.message);
  }
}
