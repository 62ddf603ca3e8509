import type {
  DistHealth,
  DistStats,
  MessagingInstrumentation,
  MessagingStatsSnapshot,
} from './observability.types.js';
import type { LinkAdmission } from './link-admission.js';
import type { ClusterLogger } from './logger.js';
import type { NodeDownReason } from './events.js';
import type { Peer } from './peer.js';

/** What a discovery strategy is given when the cluster starts. */
export interface DiscoveryContext {
  /** This node's canonical name. */
  readonly self: string;
  /** Logger with the cluster's context. */
  readonly logger: ClusterLogger;
  /**
   * Asks the cluster to refresh now, for push-based sources (a watch stream) that learn of a
   * change between two intervals. Calls coalesce.
   */
  readonly requestRefresh: () => void;
  /**
   * The port this node's dist listens on (the dist's `port`, read after it started), for
   * strategies that announce this node (gossip, etcd); unset when the dist has none.
   */
  readonly port?: number;
  /**
   * A 32-byte key derived from the dist's shared secret (the TCP dist's cookie) for one purpose,
   * named by `label` (HKDF-SHA256): gossip signs its announcements with it. Unset when the dist
   * offers no {@link DistStrategy.deriveKey}; the secret itself never leaves the dist.
   */
  readonly deriveKey?: (label: string) => Buffer;
  /**
   * Reports a failure of one source of a strategy that still answers (an aggregate's child, one
   * host of several): the cluster emits a `discoveryError` event carrying `source`, without
   * counting a failed lookup (the strategy's answer stands). `consecutive` is that source's
   * failures in a row (1 when unset).
   */
  readonly reportError?: (error: Error, source: string, consecutive?: number) => void;
}

/**
 * Says who the peers should be (gen_cluster's `gc_discover` behaviour: `init`, `peers`).
 *
 * `peers()` either answers (an empty array is a real "nobody") or throws: a thrown error is a
 * failed lookup, and the cluster keeps the last good answer. It may return the node itself; the
 * cluster filters self out.
 */
export interface DiscoveryStrategy {
  /** Name used in logs and errors, e.g. `"dns"`. */
  readonly name: string;
  /** Prepares the strategy; called once before the first `peers()`. */
  init?(context: DiscoveryContext): void | Promise<void>;
  /**
   * The peers that should be in the cluster now.
   * @param signal aborted when the lookup has timed out or the cluster stops.
   */
  peers(signal: AbortSignal): readonly (Peer | string)[] | Promise<readonly (Peer | string)[]>;
  /** Releases what `init` acquired. */
  close?(): void | Promise<void>;
}

/** What a dist strategy is given when the cluster starts. */
export interface DistContext {
  /** This node's canonical name. */
  readonly self: string;
  /** Logger with the cluster's context. */
  readonly logger: ClusterLogger;
  /** The dist reports a new connected member. */
  readonly nodeUp: (peer: Peer) => void;
  /** The dist reports a member gone, with the reason. */
  readonly nodeDown: (node: string, reason: NodeDownReason) => void;
  /**
   * Which nodes may link with this one (see {@link LinkAdmission}): under `removalPolicy:
   * 'disconnect'` only the nodes of the last good discovery answer, under `'keep'` every node.
   * The engine always passes it. A dist that honours it calls `admission.admit(node, signal)` for
   * an authenticated inbound link before it tells the dialler it is accepted (a refusal is a
   * failed connect for the dialler, which backs off as after any other), and
   * `admission.admits(node)` right before any link counts as up (no `nodeUp` for a node it does
   * not admit) and before dials the engine did not ask for. Hidden links are not asked about. A
   * dist that ignores it admits every node that authenticates, as before: the policy then only
   * disconnects a node once when it leaves discovery.
   */
  readonly admission?: LinkAdmission;
  /**
   * For a dist that reaches peers through a broker (NATS): reports that it lost the broker
   * (`connected: false`, with the cause in `reason`) or has it again (`true`). The engine emits
   * `distDisconnected` / `distConnected` once per change and readiness reads `distDisconnected`
   * meanwhile. The dist itself keeps the membership frozen while cut off (it cannot tell who is
   * alive). A dist that starts without its broker reports `false` before `init` resolves. The
   * engine always passes it; a direct-link dist (TCP) never calls it.
   */
  readonly reportConnectivity?: (connected: boolean, reason?: string) => void;
}

/**
 * Connects to peers and says who is connected (gen_cluster's `gc_dist` behaviour: `init`,
 * `members`, `connect`, `disconnect`).
 *
 * A dist reports changes through `context.nodeUp` / `context.nodeDown` as they happen; the cluster
 * also reads `members()` after every refresh, so a dist that cannot push changes still works, at
 * the refresh interval's pace.
 */
export interface DistStrategy {
  /** Name used in logs and errors, e.g. `"tcp"`. */
  readonly name: string;
  /** Starts the dist (listens, registers); called once, before any other method. */
  init(context: DistContext): void | Promise<void>;
  /** The connected nodes, without self. */
  members(): readonly Peer[];
  /**
   * Connects to a peer. Resolves `true` once connected, `false` when the attempt failed (it is
   * retried on a backoff), `'ignored'` when the dist does not act on this peer (not retried until
   * the next refresh). A rejection counts as `false`.
   * @param signal aborted when the connect timeout passes or the cluster stops.
   */
  connect(peer: Peer, signal: AbortSignal): Promise<boolean | 'ignored'>;
  /** Disconnects a member. */
  disconnect(peer: Peer): Promise<boolean | 'ignored'>;
  /**
   * How long a silent peer takes to be declared down (`heartbeatTimeout`), when the dist detects
   * silence; leadership bounds its freeze tolerance and settling by it.
   */
  readonly failureTimeoutMs?: number;
  /**
   * This node's start time as the dist announces it to peers (ms since the epoch; the TCP dist
   * sends it in the handshake), once started. Leadership orders members by it.
   */
  readonly startedAt?: number;
  /** The port this dist listens on once started (`null` before), for discovery to announce. */
  readonly port?: number | null;
  /**
   * Derives a 32-byte key for one purpose (`label`) from the dist's shared secret, so that other
   * layers (gossip) can authenticate without ever seeing the secret. Optional.
   */
  deriveKey?(label: string): Buffer;
  /**
   * A discovery of the dist's own, for a dist that learns who its peers are by itself (the NATS
   * dist hears their presence): the configuration uses it when no discovery is configured, so the
   * dist alone starts a cluster. Called once, before `init`. Optional.
   */
  discovery?(): DiscoveryStrategy;
  /** Tells peers this node is leaving (they see reason `left`); optional. */
  leave?(): Promise<void>;
  /** Closes every connection and listener. */
  close(): Promise<void>;
  /** Whether the dist still listens (liveness); absent means it cannot fail that way. */
  health?(): DistHealth;
  /** Links and refusal counters, for metrics. */
  stats?(): DistStats;
}

/** Whether a message awaits an answer: a request, or a one-way message (a send or a broadcast). */
export type MessageKind = 'request' | 'oneWay';

/** What a handler learns of a message besides its payload. */
export interface MessageContext {
  /** The sending node, `name@host` (this node for a message to itself). */
  readonly from: string;
  /** The topic the message came on. */
  readonly topic: string;
  /** `'request'` when an answer is awaited, `'oneWay'` for a send or a broadcast. */
  readonly kind: MessageKind;
  /**
   * Requests only: aborted when the requester went away (its node went down or left, or this
   * node's messaging closed), so long work can stop. `undefined` for one-way messages. A caller
   * that only times out or aborts its own wait does not abort it.
   */
  readonly signal: AbortSignal | undefined;
}

/** Handles messages of one topic; its return value (awaited) answers a request. */
export type MessageHandler<T = unknown> = (payload: T, context: MessageContext) => unknown;

/** Options of {@link ClusterMessaging.requestAll}. */
export interface RequestAllOptions extends RequestOptions {
  /** The nodes to ask; every connected member (hidden nodes excluded) when unset. */
  readonly nodes?: readonly string[];
  /** Also ask this node (default `false`, as `broadcast` and `nodes()` leave it out). */
  readonly includeSelf?: boolean;
}

/** One node's outcome in a {@link ClusterMessaging.requestAll}. */
export type RequestAllResult<T> =
  | { readonly node: string; readonly ok: true; readonly value: T }
  | { readonly node: string; readonly ok: false; readonly error: Error };

/** Options of one request. */
export interface RequestOptions {
  /** How long to wait for the answer; the dist's default (5 s for the TCP dist) when unset. */
  readonly timeoutMs?: number;
  /** Aborts the request. */
  readonly signal?: AbortSignal;
}

/** What kind of receiver a node registered for a topic: the request handler, or a subscriber. */
export type ServedKind = 'handler' | 'subscriber';

/** One topic a node serves, and how. */
export interface ServedTopic {
  /** The topic. */
  readonly topic: string;
  /** `'handler'` for the request handler (`on()`), `'subscriber'` for subscribers. */
  readonly kind: ServedKind;
}

/** A change of a node's own registrations, as {@link LocalTopicsView.watch} reports it. */
export interface ServedTopicChange extends ServedTopic {
  /** `true` when the topic gained this kind of receiver, `false` when it lost the last one. */
  readonly added: boolean;
}

/**
 * The topics a messaging layer serves locally, for the service registry: internal (`$gc.`)
 * registrations are left out. Exported so that a custom dist can offer it.
 */
export interface LocalTopicsView {
  /** Every topic served now, sorted by topic then kind. */
  served(): readonly ServedTopic[];
  /**
   * Calls `listener` on each edge: a topic's request handler appears or goes, or its subscriber
   * count goes from 0 to 1 or back. Returns a function that stops it.
   */
  watch(listener: (change: ServedTopicChange) => void): () => void;
}

/** Options of {@link ClusterMessaging.broadcast}. */
export interface BroadcastOptions {
  /**
   * The nodes to send to (the payload is still encoded once); every member but this node when
   * unset. This node may be listed: it then receives the message too. Nodes that are not
   * connected members are skipped.
   */
  readonly nodes?: readonly string[];
}

/** Messaging between nodes, offered by dists that carry messages (the TCP mesh does). */
export interface ClusterMessaging {
  /** One-way message; throws at once when the node is not connected or its queue is full. */
  send(node: string, topic: string, payload: unknown): void;
  /**
   * One-way message to every member (or to `options.nodes`); returns how many it was queued for.
   * An implementation without `options` support reaches every member.
   */
  broadcast(topic: string, payload: unknown, options?: BroadcastOptions): number;
  /** A request answered by the handler of `topic` on `node`. */
  request<T = unknown>(
    node: string,
    topic: string,
    payload: unknown,
    options?: RequestOptions,
  ): Promise<T>;
  /**
   * Registers the request handler of a topic (one per topic): it answers requests and also
   * receives one-way messages and broadcasts. Returns a function that removes it.
   */
  on<T = unknown>(topic: string, handler: MessageHandler<T>): () => void;
  /**
   * Adds a subscriber of a topic: it receives one-way messages and broadcasts, never requests;
   * a topic may have any number. Returns a function that removes it.
   */
  subscribe?<T = unknown>(topic: string, handler: MessageHandler<T>): () => void;
  /**
   * Asks every member (or `options.nodes`) at once, within one timeout; resolves with one result
   * per node and never rejects because a node failed.
   */
  requestAll?<T = unknown>(
    topic: string,
    payload: unknown,
    options?: RequestAllOptions,
  ): Promise<RequestAllResult<T>[]>;
  /** This node's own registrations, which the service registry announces to peers. */
  readonly localTopics?: LocalTopicsView;
  /** How many of this node's requests to `node` are awaiting an answer (`least-pending`). */
  pendingTo?(node: string): number;
  /** How many requests from other nodes (and this one) this node is serving right now. */
  readonly servingCount?: number;
  /**
   * Resolves when no request is being served (at once when none is); rejects with the signal's
   * reason when `signal` aborts first. The service registry's drain waits on it.
   */
  whenIdle?(signal?: AbortSignal): Promise<void>;
  /**
   * The timeout, in ms, of a request given without `timeoutMs` (the TCP dist's
   * `requestTimeoutMs`). `call` bounds a call without `timeoutMs`, its retries included, by it;
   * unset when not known (a deferred layer before it starts), and `call` then uses 5 s.
   */
  readonly defaultRequestTimeoutMs?: number;
  /**
   * Adds instrumentation hooks (metrics, traces); returns a function that removes them. Several
   * sets may be attached; with none, the message path pays one null check.
   */
  instrument?(hooks: MessagingInstrumentation): () => void;
  /** This node's messaging counters (integers since start, read at any time). */
  readonly stats?: MessagingStatsSnapshot;
}

/** A messaging layer the service registry can run on. */
export type RegistryMessaging = ClusterMessaging & { readonly localTopics: LocalTopicsView };

/** Whether a messaging layer offers what the service registry needs (its local topics). */
export function hasRegistrySupport(messaging: ClusterMessaging): messaging is RegistryMessaging {
  const view = messaging.localTopics;
  return typeof view === 'object' && view !== null && typeof view.watch === 'function';
}

/** A dist that also carries messages. */
export interface MessagingDistStrategy extends DistStrategy {
  readonly messaging: ClusterMessaging;
}

/** Whether a dist offers messaging. */
export function hasMessaging(dist: DistStrategy): dist is MessagingDistStrategy {
  const messaging = (dist as Partial<MessagingDistStrategy>).messaging;
  return (
    typeof messaging === 'object' && messaging !== null && typeof messaging.send === 'function'
  );
}
