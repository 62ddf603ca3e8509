/**
 * Errors of the port mapper layer, each with a stable `code` (see {@link GenClusterError}). Texts
 * live in `port-mapper.messages.ts`.
 */
import { GenClusterError } from '../core/errors.js';

/** Why bytes are not a valid EPMD message. */
export type EpmdProtocolFailure =
  /** The bytes break the message layout (a length that does not fit, a field cut short). */
  | 'malformed'
  /** The message is well formed but its node name is not acceptable (NUL, bad UTF-8, too long). */
  | 'bad-name'
  /** A request code this port mapper does not serve (KILL, STOP, DUMP or unknown). */
  | 'unsupported';

/** Bytes that are not a valid EPMD message. The connection that carried them must be closed. */
export class EpmdProtocolError extends GenClusterError {
  constructor(
    readonly reason: EpmdProtocolFailure,
    message: string,
  ) {
    super('ERR_EPMD_PROTOCOL', message);
  }
}

/** Codes of a failed port mapper call. */
export type PortMapperErrorCode =
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

/** A call to a port mapper failed. */
export class PortMapperError extends GenClusterError {
  /**
   * The system error code underneath, when there is one (`ECONNREFUSED`, `EADDRINUSE`,
   * `ECONNRESET`, ...): lets the orchestration tell "nobody listens" from other failures.
   */
  readonly errno: string | undefined;

  constructor(
    code: PortMapperErrorCode,
    message: string,
    options?: { cause?: unknown; errno?: string },
  ) {
    super(code, message, options);
    this.errno = options?.errno;
  }
}
