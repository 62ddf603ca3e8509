/** The types both sides of the handshake share: who takes part, what they are given, what comes out. */
import type { HandshakeError } from '../tcp.errors.js';

/** This node as the handshake presents it. */
export interface HandshakeIdentity {
  /** `name@host`; sent in canonical form (see `nodeKey`). */
  readonly name: string;
  /** This start of the node: 1 to 32 printable ASCII characters, e.g. random 64-bit hex. */
  readonly incarnation: string;
  /** The dist port this node listens on, or `null` when it does not listen. */
  readonly listenPort: number | null;
  /** A tool connection that is not a cluster member. */
  readonly hidden: boolean;
  /** Heartbeat interval; all nodes must agree. */
  readonly heartbeatMs: number;
  /** Failure timeout; all nodes must agree. */
  readonly failureTimeoutMs: number;
  /**
   * When this node started (ms since the epoch, a safe positive integer), announced with the
   * `started` capability and its field; leadership orders members by it. Unset: this side
   * announces neither, as a node of a release before it.
   */
  readonly startedAt?: number;
}

/** The remote node as the handshake learnt it. */
export interface HandshakePeer {
  /** Canonical `name@host`. */
  readonly name: string;
  /** The peer's incarnation (a new one means the node restarted). */
  readonly incarnation: string;
  /** The dist port the peer listens on, or `null` when it does not listen. */
  readonly listenPort: number | null;
  /** The peer is a tool connection, not a cluster member. */
  readonly hidden: boolean;
  /**
   * When the peer started (ms since the epoch), present exactly when it announced the `started`
   * capability: a peer without it is of an older release.
   */
  readonly startedAt?: number;
}

/** An established handshake. */
export interface HandshakeResult {
  /** The authenticated peer. */
  readonly peer: HandshakePeer;
  /** The protocol version chosen for the connection. */
  readonly version: number;
  /** Capabilities both sides announced (in this side's order); unknown ones are dropped. */
  readonly capabilities: string[];
}

/**
 * What to do after feeding the handshake: write `send` (whole frames) first, then close the
 * connection on `error`, or hand it over as established on `done`.
 */
export interface HandshakeStep {
  /** Frames to write, in order. */
  readonly send?: Buffer[];
  /** Set when the handshake succeeded. */
  readonly done?: HandshakeResult;
  /** Set when the handshake failed. */
  readonly error?: HandshakeError;
}

/** Supported protocol versions (inclusive range). */
export interface VersionRange {
  /** Oldest version spoken. */
  readonly min: number;
  /** Newest version spoken. */
  readonly max: number;
}

/** Options both sides take. */
export interface HandshakeCommonOptions {
  /** This node. */
  readonly self: HandshakeIdentity;
  /** The shared secret; never sent, logged or put in an error. */
  readonly cookie: string | Buffer;
  /**
   * Capabilities to announce (at most 32 in all, each 1-64 printable ASCII characters), besides
   * `namespace`, which the `namespace` option announces, and `started`, which `self.startedAt`
   * announces.
   */
  readonly capabilities?: readonly string[];
  /**
   * The cluster namespace (see `NAMESPACE_FORMS` in core): announced with the `namespace`
   * capability and its field, and a peer of another namespace is refused
   * (`ERR_NAMESPACE_MISMATCH`). A peer that does not announce the capability predates namespaces
   * and counts as `default`. Unset: this side announces nothing, as such a node, and counts as
   * `default` itself.
   */
  readonly namespace?: string;
  /** Source of nonces; default `crypto.randomBytes`. */
  readonly randomBytes?: (size: number) => Buffer;
  /** Versions spoken; default `{ min: 1, max: 1 }` (for tests and rolling upgrades). */
  readonly versions?: VersionRange;
}
