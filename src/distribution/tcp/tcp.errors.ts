/**
 * Errors of the built-in TCP dist, each with a stable `code` (see {@link GenClusterError}). Texts
 * live in `tcp.messages.ts`; none of them ever holds the cookie or a digest.
 */
import { GenClusterError } from '../../core/errors.js';

/** Codes of a failed handshake. */
export type HandshakeErrorCode =
  | 'ERR_BAD_COOKIE'
  | 'ERR_HANDSHAKE_TIMEOUT'
  | 'ERR_VERSION_MISMATCH'
  | 'ERR_TIMING_MISMATCH'
  | 'ERR_NAME_MISMATCH'
  | 'ERR_DUPLICATE_NODE_NAME'
  | 'ERR_HANDSHAKE_REFUSED'
  | 'ERR_PROTOCOL';

/** Codes of a bad frame stream. */
export type FrameErrorCode = 'ERR_FRAME_TOO_LARGE' | 'ERR_BAD_FRAME';

/** Every code raised by the TCP dist. */
export type TcpErrorCode = HandshakeErrorCode | FrameErrorCode;

/**
 * Why a handshake failed, as a short stable token for logs and counters
 * (`handshake_rejected{reason}`). It is also the `reason` carried by a `refused` message, so a
 * refusal reads the same on both ends. Reasons from a newer peer may be outside this list.
 */
export type HandshakeFailureReason =
  | 'bad-cookie'
  | 'version'
  | 'timing'
  | 'name-mismatch'
  | 'duplicate-name'
  | 'self'
  | 'simultaneous'
  | 'already-connected'
  | 'protocol'
  | 'timeout'
  | 'internal'
  | (string & {});

/** The byte stream of a connection broke the framing rules; the connection must be closed. */
export class FrameError extends GenClusterError {
  constructor(code: FrameErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A peer broke the protocol after the handshake (unexpected frame, malformed payload). */
export class ProtocolError extends GenClusterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_PROTOCOL', message, options);
  }
}

/** What a {@link HandshakeError} is about. */
export interface HandshakeErrorDetails {
  /** Short stable token, see {@link HandshakeFailureReason}. */
  readonly reason: HandshakeFailureReason;
  /**
   * The remote node's name as far as it is known when the handshake failed. Before the peer has
   * proved the cookie this is only what it claimed (or what we dialled): log it, trust nothing.
   */
  readonly peer?: string;
  /** `true` when the peer refused us (a `refused` message), `false` when we refused or gave up. */
  readonly byPeer: boolean;
}

/** A handshake failed: the connection must be closed and no membership state touched. */
export class HandshakeError extends GenClusterError {
  /** Short stable token for logs and counters. */
  readonly reason: HandshakeFailureReason;
  /** See {@link HandshakeErrorDetails.peer}. */
  readonly peer: string | undefined;
  /** See {@link HandshakeErrorDetails.byPeer}. */
  readonly byPeer: boolean;

  constructor(
    code: HandshakeErrorCode,
    message: string,
    details: HandshakeErrorDetails,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.reason = details.reason;
    this.peer = details.peer;
    this.byPeer = details.byPeer;
  }
}
