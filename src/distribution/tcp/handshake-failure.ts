/**
 * The errors of a connection whose handshake failed before it was authenticated: a deadline that
 * passed, or a socket that closed. Before the TCP connect completed they are connect errors (the
 * dial failed), after it handshake or protocol errors.
 */
import { ConnectError } from '../../core/index.js';
import { HandshakeError, ProtocolError } from './tcp.errors.js';
import { TcpMessages as M } from './tcp.messages.js';

/** Where the failed handshake ran. */
export interface HandshakeSite {
  /** Whether the TCP connect had completed. */
  readonly connected: boolean;
  /** `address:port` of the remote end. */
  readonly remote: string;
  /** The node dialled, if this end dialled. */
  readonly node: string | undefined;
}

/** A handshake deadline (`what`, of `ms`) passed: a timeout of the handshake, or of the connect. */
export function handshakeTimeoutError(site: HandshakeSite, what: string, ms: number): Error {
  const node = site.node ?? site.remote;
  return site.connected
    ? new HandshakeError(M.handshakeTimedOut(site.remote, what), {
        code: 'ERR_HANDSHAKE_TIMEOUT',
        reason: 'timeout',
        byPeer: false,
      })
    : new ConnectError(M.connectTimeout(node, site.remote, ms), {
        code: 'ERR_CONNECT_TIMEOUT',
        node,
      });
}

/** The socket closed (after `cause`, if any) before the handshake was done. */
export function closedDuringHandshakeError(site: HandshakeSite, cause: Error | undefined): Error {
  const node = site.node ?? site.remote;
  return !site.connected && cause
    ? new ConnectError(M.connectFailed(node, site.remote, causeText(cause)), { node, cause })
    : new ProtocolError(M.closedDuringHandshake(site.remote), { cause });
}

/**
 * What a connect failure says: Node reports a failed dial over several addresses (Happy Eyeballs)
 * as an `AggregateError` with an empty message, so the attempts' own messages are joined.
 */
function causeText(cause: Error): string {
  if (cause.message || !(cause instanceof AggregateError)) return cause.message;
  return cause.errors
    .map(error => (error instanceof Error ? error.message : String(error)))
    .join('; ');
}
