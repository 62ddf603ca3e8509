import { describeValue } from './messages.js';

/**
 * Typed errors with stable `code`s, so callers can branch on `error.code` rather than on message
 * text. Every error the library throws or emits is a {@link GenClusterError}.
 */

/** Stable error codes. */
export type GenClusterErrorCode =
  | 'ERR_INVALID_CONFIG'
  | 'ERR_INVALID_NODE_NAME'
  | 'ERR_DISCOVERY_FAILED'
  | 'ERR_DISCOVERY_TIMEOUT'
  | 'ERR_CONNECT_FAILED'
  | 'ERR_CONNECT_TIMEOUT'
  | 'ERR_CLUSTER_STOPPED'
  | 'ERR_NOT_STARTED'
  | 'ERR_MESSAGING_UNSUPPORTED'
  | 'ERR_DUPLICATE_CLUSTER_NAME'
  | 'ERR_WAIT_TIMEOUT';

/** Base class of every error raised by gen-cluster. */
export class GenClusterError extends Error {
  constructor(
    readonly code: GenClusterErrorCode | (string & {}),
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value is wrong. Thrown at startup, never later. */
export class InvalidConfigError extends GenClusterError {
  constructor(message: string) {
    super('ERR_INVALID_CONFIG', message);
  }
}

/** A node name is not of the form `name@host`. */
export class InvalidNodeNameError extends GenClusterError {
  constructor(message: string) {
    super('ERR_INVALID_NODE_NAME', message);
  }
}

/** A discovery strategy failed; the last good answer is kept. */
export class DiscoveryError extends GenClusterError {
  constructor(
    code: 'ERR_DISCOVERY_FAILED' | 'ERR_DISCOVERY_TIMEOUT',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** A connection attempt to a peer failed or timed out. */
export class ConnectError extends GenClusterError {
  constructor(
    code: 'ERR_CONNECT_FAILED' | 'ERR_CONNECT_TIMEOUT',
    readonly node: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** Turns anything thrown into an `Error`, keeping the original as `cause`. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : describeValue(value), { cause: value });
}
