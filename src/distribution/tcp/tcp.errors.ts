/**
 * Errors of the built-in TCP dist, each with a stable `code` (see {@link GenClusterError}). Texts
 * live in `tcp.messages.ts`; none of them ever holds the cookie or a digest.
 */
import { type ErrorDetails, GenClusterError } from '../../core/index.js';

/** Codes of a failed handshake. */
export type HandshakeErrorCode =
  | 'ERR_BAD_COOKIE'
  | 'ERR_HANDSHAKE_TIMEOUT'
  | 'ERR_VERSION_MISMATCH'
  | 'ERR_TIMING_MISMATCH'
  | 'ERR_NAME_MISMATCH'
  | 'ERR_DUPLICATE_NODE_NAME'
  | 'ERR_NAMESPACE_MISMATCH'
  | 'ERR_HANDSHAKE_REFUSED'
  | 'ERR_PROTOCOL';

/** Codes of a bad frame stream. */
export type FrameErrorCode = 'ERR_FRAME_TOO_LARGE' | 'ERR_BAD_FRAME';

/** Codes of a failed TLS handshake. */
export type TlsErrorCode = 'ERR_TLS_HANDSHAKE' | 'ERR_TLS_CERT_NAME';

/** Every code raised by the TCP dist (besides the core's `ERR_CONNECT_*` and `ERR_INVALID_CONFIG`). */
export type TcpErrorCode = HandshakeErrorCode | FrameErrorCode | TlsErrorCode;

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
  | 'namespace'
  | 'duplicate-name'
  | 'self'
  | 'simultaneous'
  | 'already-connected'
  | 'protocol'
  | 'timeout'
  | 'internal'
  | (string & {});

/** What a {@link FrameError} is about. */
export interface FrameErrorDetails extends ErrorDetails {
  /** Which framing rule was broken. */
  readonly code: FrameErrorCode;
}

/** The byte stream of a connection broke the framing rules; the connection must be closed. */
export class FrameError extends GenClusterError {
  declare readonly code: FrameErrorCode;

  constructor(message: string, details: FrameErrorDetails) {
    super(details.code, message, details);
  }
}

/** A peer broke the protocol after the handshake (unexpected frame, malformed payload). */
export class ProtocolError extends GenClusterError {
  declare readonly code: 'ERR_PROTOCOL';

  constructor(message: string, details: ErrorDetails = {}) {
    super('ERR_PROTOCOL', message, details);
  }
}

/** What a {@link HandshakeError} is about. */
export interface HandshakeErrorDetails extends ErrorDetails {
  /** Stable code to branch on. */
  readonly code: HandshakeErrorCode;
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
  declare readonly code: HandshakeErrorCode;
  /** Short stable token for logs and counters. */
  readonly reason: HandshakeFailureReason;
  /** See {@link HandshakeErrorDetails.peer}. */
  readonly peer: string | undefined;
  /** See {@link HandshakeErrorDetails.byPeer}. */
  readonly byPeer: boolean;

  constructor(message: string, details: HandshakeErrorDetails) {
    super(details.code, message, details);
    this.reason = details.reason;
    this.peer = details.peer;
    this.byPeer = details.byPeer;
  }
}

/** Why a TLS handshake failed, as a short stable token for logs and counters. */
export type TlsFailureReason =
  /** The peer presented no certificate although mutual TLS requires one. */
  | 'no-certificate'
  /** The certificate does not chain to a trusted CA (another CA, self-signed, bad signature). */
  | 'untrusted-certificate'
  /** The certificate is expired or not yet valid. */
  | 'certificate-expired'
  /** The certificate does not name the host of the peer's node name. */
  | 'certificate-name'
  /** No common TLS version (a peer below the floor). */
  | 'version'
  /** The peer does not speak TLS (plain TCP on the other side?). */
  | 'not-tls'
  /** The TLS handshake did not finish within `handshakeTimeoutMs`. */
  | 'timeout'
  /** The peer closed the connection during the TLS handshake. */
  | 'closed'
  /** The peer aborted the TLS handshake with a handshake-failure alert. */
  | 'handshake-failure'
  /** Any other TLS failure; the `cause` holds Node's error. */
  | 'tls';

/** What a {@link TlsError} is about. */
export interface TlsErrorDetails extends ErrorDetails {
  /** Short stable token, see {@link TlsFailureReason}. */
  readonly reason: TlsFailureReason;
  /** The remote node (dialled) or address (accepted), for logs. */
  readonly peer?: string;
}

/**
 * A TLS handshake failed, or a certificate does not name its node: the link is refused. The code
 * follows from the reason: `ERR_TLS_CERT_NAME` for `certificate-name`, else `ERR_TLS_HANDSHAKE`.
 */
export class TlsError extends GenClusterError {
  declare readonly code: TlsErrorCode;
  /** Short stable token, see {@link TlsFailureReason}. */
  readonly reason: TlsFailureReason;
  /** The remote node (dialled) or address (accepted), for logs. */
  readonly peer: string | undefined;

  constructor(message: string, details: TlsErrorDetails) {
    super(
      details.reason === 'certificate-name' ? 'ERR_TLS_CERT_NAME' : 'ERR_TLS_HANDSHAKE',
      message,
      details,
    );
    this.reason = details.reason;
    this.peer = details.peer;
  }
}
