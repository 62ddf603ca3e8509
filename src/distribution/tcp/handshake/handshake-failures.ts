/**
 * The errors a handshake raises on its own side: a malformed message, a step out of order, a
 * failure of this side, a deadline. Refusals (where the peer is told why) are in `refusal.ts`.
 */
import { HandshakeError } from '../tcp.errors.js';
import { TcpMessages } from '../tcp.messages.js';

/**
 * A received message broke the wire format: `ERR_PROTOCOL`, reason `protocol`. The only error
 * the decoder raises.
 * @param why what is wrong, from `HandshakeMessages`
 */
export function malformed(why: string, cause?: unknown): HandshakeError {
  return new HandshakeError(TcpMessages.malformed(why), {
    code: 'ERR_PROTOCOL',
    reason: 'protocol',
    byPeer: false,
    cause,
  });
}

/** A message came, or a call was made, when the handshake does not expect it. */
export function outOfOrder(text: string, peer?: string): HandshakeError {
  return new HandshakeError(text, {
    code: 'ERR_PROTOCOL',
    reason: 'protocol',
    peer,
    byPeer: false,
  });
}

/** The answer to every call once the handshake is over. */
export function handshakeOver(peer: string): HandshakeError {
  return outOfOrder(TcpMessages.over(), peer);
}

/**
 * This side could not go on for a reason of its own (a value that does not fit the wire, a
 * callback's unusable answer): `ERR_HANDSHAKE_REFUSED`, reason `internal`.
 */
export function internalError(text: string, peer?: string): HandshakeError {
  return new HandshakeError(text, {
    code: 'ERR_HANDSHAKE_REFUSED',
    reason: 'internal',
    peer,
    byPeer: false,
  });
}

/** Anything thrown while handling a message: a `HandshakeError` as is, else `internal`. */
export function asHandshakeError(error: unknown): HandshakeError {
  if (error instanceof HandshakeError) return error;
  return new HandshakeError(TcpMessages.internal(error), {
    code: 'ERR_HANDSHAKE_REFUSED',
    reason: 'internal',
    byPeer: false,
    cause: error,
  });
}

/**
 * The error for a handshake deadline that passed (`ERR_HANDSHAKE_TIMEOUT`, reason `timeout`),
 * naming the stage (the handshake's `state`). The deadlines themselves are the connection's.
 */
export function handshakeTimeoutError(peer: string, stage: string, ms: number): HandshakeError {
  return new HandshakeError(TcpMessages.timeout(peer, stage, ms), {
    code: 'ERR_HANDSHAKE_TIMEOUT',
    reason: 'timeout',
    peer,
    byPeer: false,
  });
}
