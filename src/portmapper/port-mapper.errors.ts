/**
 * Errors of the port mapper layer, each with a stable `code` (see {@link GenClusterError}), built
 * as `new XError(message, details)` with the message from `port-mapper.messages.ts`.
 */
import { type ErrorDetails, GenClusterError } from '../core/index.js';

/** Why bytes are not a valid EPMD message. */
export type EpmdProtocolFailure =
  /** The bytes break the message layout (a length that does not fit, a field cut short). */
  | 'malformed'
  /** The message is well formed but its node name is not acceptable (NUL, bad UTF-8, too long). */
  | 'bad-name'
  /** A request code this port mapper does not serve (KILL, STOP, DUMP or unknown). */
  | 'unsupported';

/** Details of an {@link EpmdProtocolError}. */
export interface EpmdProtocolErrorDetails extends ErrorDetails {
  /** What is wrong with the bytes. */
  readonly reason: EpmdProtocolFailure;
}

/** Bytes that are not a valid EPMD message. The connection that carried them must be closed. */
export class EpmdProtocolError extends GenClusterError {
  declare readonly code: 'ERR_EPMD_PROTOCOL';
  /** What is wrong with the bytes. */
  readonly reason: EpmdProtocolFailure;

  constructor(message: string, details: EpmdProtocolErrorDetails) {
    super('ERR_EPMD_PROTOCOL', message, details);
    this.reason = details.reason;
  }
}

/** Codes of a failed port mapper call (a {@link PortMapperError}). */
export type PortMapperCallErrorCode =
  /** Nothing answers on the mapper's address (connection refused, host unreachable). */
  | 'ERR_PORT_MAPPER_UNREACHABLE'
  /** The mapper did not accept the connection, or did not answer, in time. */
  | 'ERR_PORT_MAPPER_TIMEOUT'
  /** The mapper answered something that is not EPMD, or closed mid-answer. */
  | 'ERR_PORT_MAPPER_PROTOCOL'
  /** The mapper refused a registration: the name is in use by a live node (or its registry is full). */
  | 'ERR_DUPLICATE_NODE_NAME'
  /** The call was aborted by its signal, or the object was closed. */
  | 'ERR_PORT_MAPPER_ABORTED'
  /** A port mapper could neither be reached nor started within the start deadline. */
  | 'ERR_PORT_MAPPER_UNAVAILABLE';

/** Every code raised by the port mapper layer. */
export type PortMapperErrorCode = PortMapperCallErrorCode | 'ERR_EPMD_PROTOCOL';

/** Details of a {@link PortMapperError}. */
export interface PortMapperErrorDetails extends ErrorDetails {
  /** What failed. */
  readonly code: PortMapperCallErrorCode;
  /** The system error code underneath, when there is one (`ECONNREFUSED`, `EADDRINUSE`, ...). */
  readonly errno?: string;
}

/** A call to a port mapper failed. */
export class PortMapperError extends GenClusterError {
  declare readonly code: PortMapperCallErrorCode;
  /**
   * The system error code underneath, when there is one (`ECONNREFUSED`, `EADDRINUSE`,
   * `ECONNRESET`, ...): lets the orchestration tell "nobody listens" from other failures.
   */
  readonly errno: string | undefined;

  constructor(message: string, details: PortMapperErrorDetails) {
    super(details.code, message, details);
    this.errno = details.errno;
  }
}
