/**
 * The handshake of the TCP dist: a mutual challenge-response proving a shared cookie with
 * HMAC-SHA256 over a transcript of the exchange. Pure (no sockets, no timers): the connection
 * drives it and enforces the deadlines. Wire format and rationale: docs/protocol.md.
 */
export { AcceptorHandshake, type HandshakeDecision } from './acceptor.js';
export {
  CAPABILITY_HEADERS,
  DEFAULT_HANDSHAKE_STEP_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TOTAL_TIMEOUT_MS,
  HANDSHAKE_MAX_FRAME_BYTES,
} from './handshake.constants.js';
export type {
  HandshakeIdentity,
  HandshakePeer,
  HandshakeResult,
  HandshakeStep,
} from './handshake.types.js';
export { InitiatorHandshake } from './initiator.js';
