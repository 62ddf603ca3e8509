import { types } from 'node:util';
import { describeValue } from './messages.js';

/**
 * Typed errors with stable `code`s, so callers can branch on `error.code` rather than on message
 * text. Every error the library throws or emits is a {@link GenClusterError}.
 *
 * One constructor style for every error class: `new XError(message, details)`, where `message`
 * comes from the layer's message catalog (`*.messages.ts`) and `details` holds the structured
 * fields (kept as readonly properties), the `code` where a class has several, and the `cause`.
 */

/** Stable error codes of the core layer. */
export type CoreErrorCode =
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
  | 'ERR_WAIT_TIMEOUT'
  | 'ERR_FORMATION_TIMEOUT'
  | 'ERR_OPTIONAL_PACKAGE_MISSING';

/** What every error's `details` may carry besides its own fields. */
export interface ErrorDetails {
  /** The error that led to this one. */
  readonly cause?: unknown;
}

/** Base class of every error raised by gen-cluster. */
export class GenClusterError extends Error {
  /**
   * @param code stable code to branch on
   * @param message text from a message catalog
   * @param details the cause, if any
   */
  constructor(
    readonly code: CoreErrorCode | (string & {}),
    message: string,
    details: ErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
  }
}

/** A configuration value is wrong. Thrown at startup, never later. */
export class InvalidConfigError extends GenClusterError {
  /** The option or environment variable at fault, when one is. */
  readonly option?: string;

  constructor(message: string, details: ErrorDetails & { readonly option?: string } = {}) {
    super('ERR_INVALID_CONFIG', message, details);
    this.option = details.option;
  }
}

/** A node name is not of the form `name@host`. */
export class InvalidNodeNameError extends GenClusterError {
  constructor(message: string, details: ErrorDetails = {}) {
    super('ERR_INVALID_NODE_NAME', message, details);
  }
}

/** A discovery strategy failed; the last good answer is kept. */
export class DiscoveryError extends GenClusterError {
  constructor(
    message: string,
    details: ErrorDetails & {
      readonly code?: 'ERR_DISCOVERY_FAILED' | 'ERR_DISCOVERY_TIMEOUT';
    } = {},
  ) {
    super(details.code ?? 'ERR_DISCOVERY_FAILED', message, details);
  }
}

/** A connection attempt to a peer failed or timed out. */
export class ConnectError extends GenClusterError {
  /** The peer that could not be reached. */
  readonly node: string;

  constructor(
    message: string,
    details: ErrorDetails & {
      readonly node: string;
      readonly code?: 'ERR_CONNECT_FAILED' | 'ERR_CONNECT_TIMEOUT';
    },
  ) {
    super(details.code ?? 'ERR_CONNECT_FAILED', message, details);
    this.node = details.node;
  }
}

/** `waitForFormation` timed out; the fields say which condition was still missing. */
export class FormationTimeoutError extends GenClusterError {
  /** Connected peers when it timed out, this node not counted. */
  readonly members: number;
  /** Connected peers the wait required. */
  readonly required: number;
  /** Milliseconds since the discovered set last changed; undefined when discovery never answered. */
  readonly sinceLastChangeMs: number | undefined;
  /** How long the discovered set had to stay unchanged. */
  readonly stableMarginMs: number;

  constructor(
    message: string,
    details: ErrorDetails & {
      readonly members: number;
      readonly required: number;
      readonly sinceLastChangeMs: number | undefined;
      readonly stableMarginMs: number;
    },
  ) {
    super('ERR_FORMATION_TIMEOUT', message, details);
    this.members = details.members;
    this.required = details.required;
    this.sinceLastChangeMs = details.sinceLastChangeMs;
    this.stableMarginMs = details.stableMarginMs;
  }
}

/**
 * Turns anything thrown into an `Error`, keeping the original as `cause`. Native errors of any
 * realm (a `vm` context, a worker) are kept as they are.
 */
export function toError(value: unknown): Error {
  if (value instanceof Error || types.isNativeError(value)) return value;
  return new Error(typeof value === 'string' ? value : describeValue(value), { cause: value });
}
