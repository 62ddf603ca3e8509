/**
 * The public types of the cluster primitives: the service registry (who serves which topic) and
 * `call` (ask whichever node serves a topic).
 */
import type { RequestOptions, ServedTopic } from '../core/index.js';
import type { Topic } from '../distribution/index.js';

/** A topic given by name or as a typed {@link Topic}. */
export type ServiceTopic = string | Topic<unknown, unknown>;

/** A key for rendezvous hashing: `ownerOf`, and `call` with `{ key }`. A number counts as its decimal string. */
export type ServiceKey = string | number | Uint8Array;

/**
 * How `call` picks the node among those serving the topic.
 * - `'round-robin'` (default): each in turn, one counter per topic.
 * - `'random'`: uniformly at random.
 * - `'local-first'`: this node when it serves the topic, else round-robin.
 * - `'least-pending'`: the node with the fewest of this node's requests in flight to it.
 * - `{ key }`: rendezvous hashing of the key over the serving nodes, so a key sticks to one node
 *   and only the keys of a node that joins or leaves move.
 */
export type Selection =
  'round-robin' | 'random' | 'local-first' | 'least-pending' | { readonly key: ServiceKey };

/** Failures that `retryOn` adds to the retried ones. */
export type RetryOn = 'timeout' | 'remote';

/** Options of `call`. */
export interface CallOptions extends RequestOptions {
  /** Which serving node to ask; `'round-robin'` when unset. */
  readonly select?: Selection;
  /**
   * Further attempts, each on another serving node, after `ERR_NODE_DOWN`, `ERR_QUEUE_FULL` or a
   * connect failure (default 0), all within `timeoutMs`. Only for calls that are safe to run
   * twice. An `ERR_NO_HANDLER` answer (the handler never ran) is always retried, whatever this is.
   */
  readonly retries?: number;
  /** Also retry after a timeout of one attempt or a remote handler error (default: neither). */
  readonly retryOn?: readonly RetryOn[];
  /** The bound of one attempt (default: what is left of `timeoutMs`). */
  readonly attemptTimeoutMs?: number;
}

/** Why the registry changed. */
export type ServicesChangeReason = 'sync' | 'announced' | 'withdrawn' | 'nodeDown' | 'local';

/** One change of the service registry: a node's topics added or removed. */
export interface ServicesChange {
  /** The node whose topics changed (this node for `'local'`). */
  readonly node: string;
  /**
   * `'sync'`: the node's table arrived after it came up; `'announced'` / `'withdrawn'`: it
   * registered or removed handlers; `'nodeDown'`: it went down (delivered with the `nodeDown`
   * event); `'local'`: this node's own registrations changed.
   */
  readonly reason: ServicesChangeReason;
  /** Topics the node now serves that it did not. */
  readonly added: readonly ServedTopic[];
  /** Topics the node no longer serves. */
  readonly removed: readonly ServedTopic[];
}

/** Who serves one topic. */
export interface ServiceEntry {
  /** Nodes with the topic's request handler, sorted (this node included). */
  readonly servers: readonly string[];
  /** Nodes with subscribers of the topic, sorted (this node included). */
  readonly subscribers: readonly string[];
}

/** Options of `waitForServers`. */
export interface WaitForServersOptions {
  /** How many serving nodes to wait for (default 1). */
  readonly count?: number;
  /** How long to wait (default 30 s); then `ERR_WAIT_TIMEOUT`. */
  readonly timeoutMs?: number;
  /** Aborts the wait. */
  readonly signal?: AbortSignal;
}

/** Options of `ownerOf` / `ownersOf`. */
export interface OwnerOptions {
  /** Rank only the nodes serving this topic; every member and this node when unset. */
  readonly topic?: ServiceTopic;
}

/** Options of a drain. */
export interface DrainOptions {
  /** The whole drain's bound, acknowledgements included (default 10 s). */
  readonly timeoutMs?: number;
  /** How long to wait for peers to acknowledge the withdrawal (default 2 s). */
  readonly ackTimeoutMs?: number;
}

/** What a drain did. */
export interface DrainResult {
  /** Peers that acknowledged the withdrawal. */
  readonly acked: number;
  /** Peers that did not acknowledge in time. */
  readonly unacked: readonly string[];
  /** Requests still being served when the drain gave up waiting (0 when all finished). */
  readonly servingLeft: number;
}
