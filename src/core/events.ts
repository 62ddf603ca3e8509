import type { Peer } from './peer.js';

/**
 * Why a node went down:
 * - `left`: it said goodbye (graceful `stop()`);
 * - `connectionClosed`: its connection closed without a goodbye (crash, kill -9, network);
 * - `heartbeatTimeout`: it went silent for longer than the failure timeout (SIGSTOP, partition);
 * - `disconnected`: this node disconnected it (removal policy `'disconnect'`, `disconnect()`);
 * - `restarted`: a new incarnation of the same name replaced it;
 * - `stopped`: this node is stopping;
 * - `unknown`: the dist reported no reason (a dist that only answers `members()`).
 */
export type NodeDownReason =
  | 'left'
  | 'connectionClosed'
  | 'heartbeatTimeout'
  | 'disconnected'
  | 'restarted'
  | 'stopped'
  | 'unknown';

/** A node became a connected member. */
export interface NodeUpEvent {
  readonly type: 'nodeUp';
  readonly node: string;
  readonly peer: Peer;
}
/** A connected member went away. */
export interface NodeDownEvent {
  readonly type: 'nodeDown';
  readonly node: string;
  readonly reason: NodeDownReason;
}
/** Discovery named a node it had not named before. */
export interface DiscoveredEvent {
  readonly type: 'discovered';
  readonly node: string;
  readonly peer: Peer;
}
/** Discovery stopped naming a node (in a successful answer). */
export interface LostEvent {
  readonly type: 'lost';
  readonly node: string;
}
/** Discovery failed; the last good answer stands. */
export interface DiscoveryErrorEvent {
  readonly type: 'discoveryError';
  readonly error: Error;
  /** Failures in a row, 1 for the first. */
  readonly consecutive: number;
  /**
   * Which source failed when the strategy still answered (`'aggregate[1] etcd'`, `'hosts
   * 10.0.0.5'`); unset for a failed lookup, whose last good answer then stands.
   */
  readonly source?: string;
}
/** A connection attempt failed; it is retried after `retryInMs` while the node is discovered. */
export interface ConnectFailedEvent {
  readonly type: 'connectFailed';
  readonly node: string;
  readonly error: Error;
  /** Failed attempts in a row, 1 for the first. */
  readonly attempt: number;
  /** When the next attempt is due, or `undefined` when none is planned. */
  readonly retryInMs: number | undefined;
}

/** Quorum was lost (at once) or regained (after the stable margin); see {@link QuorumState}. */
export interface QuorumChangedEvent {
  readonly type: 'quorumChanged';
  readonly quorum: QuorumState;
}

/**
 * The dist lost its means of reaching peers (a broker dist cut off from its server: the NATS dist
 * between a disconnect and the reconnect, or started while NATS is down). While it lasts the
 * membership is frozen: the dist cannot tell who is alive, so no node is declared down for
 * silence. Emitted once per outage.
 */
export interface DistDisconnectedEvent {
  readonly type: 'distDisconnected';
  /** What the dist said of the cause, e.g. `"connection to 127.0.0.1:4222 closed"`. */
  readonly reason: string;
}
/** The dist can reach peers again after a {@link DistDisconnectedEvent}. */
export interface DistConnectedEvent {
  readonly type: 'distConnected';
  /** How long the outage lasted, in ms (monotonic clock). */
  readonly downForMs: number;
}

/** Everything `events$` emits; switch on `type`. Events for one node arrive in order. */
export type ClusterEvent =
  | NodeUpEvent
  | NodeDownEvent
  | DiscoveredEvent
  | LostEvent
  | DiscoveryErrorEvent
  | ConnectFailedEvent
  | QuorumChangedEvent
  | DistDisconnectedEvent
  | DistConnectedEvent;

/**
 * Whether this node's side of the cluster has quorum: `size` (this node plus its members) is at
 * least `needed` (a strict majority of `expectedSize`), and has stayed so for the stable margin.
 */
export interface QuorumState {
  /** True once `size >= needed` has held for the stable margin; false at once when it stops. */
  readonly has: boolean;
  /** This node plus its connected members (hidden nodes are never members). */
  readonly size: number;
  /** `floor(expectedSize / 2) + 1`. */
  readonly needed: number;
  /** The whole cluster's size, this node included (configured, or the discovered set if unsafe). */
  readonly expectedSize: number;
}

/** A snapshot of the cluster as this node sees it. */
export interface Membership {
  /** This node's name. */
  readonly self: string;
  /** Connected nodes, sorted, without self (as Erlang's `nodes()`). */
  readonly members: readonly string[];
  /** Present when a quorum rule is configured (`quorum` option): the state with these members. */
  readonly quorum?: QuorumState;
}
