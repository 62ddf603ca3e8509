import {
  type DiscoveryStrategy,
  type DistContext,
  type MessagingDistStrategy,
  type NodeDownReason,
  DEFAULT_NAMESPACE,
  GenClusterError,
  type Peer,
  STARTED_AT_META,
  checkInteger,
  checkNamespace,
  nodeKey,
} from '../core/index.js';
import {
  DeferredMessaging,
  type MessageTransport,
  Messaging,
  NodeDownError,
} from '../distribution/index.js';
import { TestingMessages } from './testing.messages.js';

/**
 * Several nodes in one process, without sockets: each node's dist joins the network, the
 * network's discovery names every node that joined, and messages travel through the same
 * messaging layer (codec, request ids, timeouts, errors) as over the TCP mesh, delivered on a
 * later turn of the event loop as a network would. Links can be cut and restored to test what an
 * application does when a peer goes away. Links carry instrumentation headers (trace context) as
 * TCP links between current nodes do; `legacyNodes` emulates nodes without that capability.
 *
 * @example
 * const network = new InMemoryNetwork();
 * // in each test node's module:
 * GenClusterTestingModule.forRoot({ network, node: 'a@test' })
 *
 * @publicApi
 */
export class InMemoryNetwork {
  private readonly nodes = new Map<string, InMemoryDist>();
  private readonly cut = new Set<string>();
  private readonly legacy: ReadonlySet<string>;

  /**
   * @param options.legacyNodes nodes that behave as versions without the `headers` capability:
   * messages to and from them carry no instrumentation headers (a trace starts anew there).
   */
  constructor(options: { readonly legacyNodes?: Iterable<string> } = {}) {
    this.legacy = new Set([...(options.legacyNodes ?? [])].map(nodeKey));
  }

  /**
   * A dist for one node of this network. Nodes of different namespaces never link, as over TCP
   * (where the handshake refuses them).
   * @param namespace the node's namespace (`default` when unset).
   * @param options.startedAt the node's start time (see {@link InMemoryDistOptions}).
   * @throws InvalidConfigError for a malformed namespace or start time.
   */
  dist(namespace: string = DEFAULT_NAMESPACE, options: InMemoryDistOptions = {}): InMemoryDist {
    checkNamespace('namespace', namespace);
    if (options.startedAt !== undefined)
      checkInteger('startedAt', options.startedAt, 1, Number.MAX_SAFE_INTEGER);
    return new InMemoryDist(this, namespace, options);
  }

  /**
   * A discovery that names the nodes currently on this network in `namespace`, as `local`
   * discovery lists only its own namespace's nodes.
   */
  discovery(namespace: string = DEFAULT_NAMESPACE): DiscoveryStrategy {
    return {
      name: 'in-memory',
      peers: () => [...this.nodes.values()].filter(d => d.namespace === namespace).map(d => d.self),
    };
  }

  /** The nodes on the network, sorted. */
  members(): string[] {
    return [...this.nodes.keys()].sort();
  }

  /** Cuts the link between `a` and `b` (both see the other go down) until {@link heal}. */
  partition(a: string, b: string): void {
    const [x, y] = [nodeKey(a), nodeKey(b)];
    this.cut.add(linkKey(x, y));
    this.nodes.get(x)?.lose(y, 'connectionClosed');
    this.nodes.get(y)?.lose(x, 'connectionClosed');
  }

  /** Allows `a` and `b` to connect again; the next refresh reconnects them. */
  heal(a: string, b: string): void {
    this.cut.delete(linkKey(nodeKey(a), nodeKey(b)));
  }

  /** @internal */
  join(dist: InMemoryDist): void {
    this.nodes.set(dist.self, dist);
  }

  /** @internal */
  leave(dist: InMemoryDist, reason: NodeDownReason): void {
    if (this.nodes.get(dist.self) !== dist) return;
    this.nodes.delete(dist.self);
    for (const other of this.nodes.values()) other.lose(dist.self, reason);
  }

  /** Whether messages between `a` and `b` carry headers: both take them. @internal */
  headers(a: string, b: string): boolean {
    return !this.legacy.has(a) && !this.legacy.has(b);
  }

  /** @internal */
  reachable(from: string, to: string): InMemoryDist | undefined {
    return this.cut.has(linkKey(from, to)) ? undefined : this.nodes.get(to);
  }
}

/**
 * Options of one node's dist on an {@link InMemoryNetwork} (see {@link InMemoryNetwork.dist}).
 * @publicApi
 */
export interface InMemoryDistOptions {
  /**
   * The node's start time in ms since the epoch (an integer from 1 to `Number.MAX_SAFE_INTEGER`),
   * `Date.now()` when the dist starts unless given. Peers see it as `peer.meta.startedAt` (on
   * `nodeUp` and in `members()`), as TCP peers learn it in the handshake; leadership orders
   * members by it, so a test sets it to fix who leads.
   */
  readonly startedAt?: number;
}

/**
 * The dist of one node of an {@link InMemoryNetwork}: connecting links both nodes, `leave()`
 * tells peers `left`, `close()` drops every link. It reports a lost link at once, so it has no
 * `failureTimeoutMs`.
 * @publicApi
 */
export class InMemoryDist implements MessagingDistStrategy {
  readonly name = 'in-memory';
  private context: DistContext | undefined;
  private readonly linked = new Map<string, InMemoryDist>();
  private messagingLayer: Messaging | undefined;
  /** Deliveries of this node's messages not yet run, oldest first (one per message sent). */
  private readonly outbox: (() => void)[] = [];
  private started: number | undefined;
  /** Messaging over the network: the same layer the TCP mesh uses, usable before start. */
  readonly messaging: DeferredMessaging;

  /** @internal Built by {@link InMemoryNetwork.dist}. */
  constructor(
    private readonly network: InMemoryNetwork,
    /** The namespace this node belongs to. */
    readonly namespace: string = DEFAULT_NAMESPACE,
    private readonly options: InMemoryDistOptions = {},
  ) {
    this.messaging = new DeferredMessaging(
      () => new GenClusterError('ERR_NOT_STARTED', TestingMessages.notStarted()),
      { nodeName: nodeKey },
    );
  }

  /** This node's name; known once the cluster started the dist. */
  get self(): string {
    if (!this.context) throw new GenClusterError('ERR_NOT_STARTED', TestingMessages.notStarted());
    return this.context.self;
  }

  /**
   * This node's start time as its peers see it (the `startedAt` option, or `Date.now()` at start);
   * `undefined` before start.
   */
  get startedAt(): number | undefined {
    return this.started;
  }

  /** Always `undefined`: a lost link is reported at once, there is no silence to time out. */
  get failureTimeoutMs(): number | undefined {
    return undefined;
  }

  init(context: DistContext): void {
    this.started = this.options.startedAt ?? Date.now();
    this.context = context;
    this.messagingLayer = new Messaging({
      self: context.self,
      transport: this.transport(),
      logger: context.logger,
    });
    this.messaging.attach(this.messagingLayer);
    this.network.join(this);
  }

  members(): Peer[] {
    return [...this.linked.values()].map(other => other.presence());
  }

  /** This node as its peers see it: its name and start time. @internal */
  presence(): Peer {
    const node = this.self;
    return this.started === undefined
      ? { node }
      : { node, meta: { [STARTED_AT_META]: this.started } };
  }

  /**
   * Links both nodes, if each admits the other as the TCP mesh does (see
   * `DistContext.admission`): the dialled node, when it does not admit this one yet, first asks
   * its engine (which may refresh its discovery once); a refusal is a failed connect.
   */
  async connect(peer: Peer, signal?: AbortSignal): Promise<boolean> {
    const other = this.context && this.network.reachable(this.self, peer.node);
    if (!other || !other.context || other.namespace !== this.namespace) return false;
    const theirs = other.context.admission;
    if (theirs && !theirs.admits(this.self) && !(await theirs.admit(this.self, signal)))
      return false;
    // Checked again in the turn the link comes up: either side may have dropped the other since.
    if (!this.admits(other.self) || !other.admits(this.self)) return false;
    if (!this.context || this.network.reachable(this.self, other.self) !== other) return false;
    this.link(other);
    other.link(this);
    return true;
  }

  /** Whether this node's engine admits a link with `node` now. @internal */
  admits(node: string): boolean {
    return this.context?.admission?.admits(node) ?? true;
  }

  async disconnect(peer: Peer): Promise<boolean> {
    const other = this.linked.get(peer.node);
    if (!other) return false;
    this.lose(peer.node, 'disconnected');
    other.lose(this.self, 'connectionClosed');
    return true;
  }

  async leave(): Promise<void> {
    if (this.context) {
      // What this node sent before leaving (the answers a drain waited for) reaches its peers
      // before the leave does, as over a socket.
      this.flush();
      this.network.leave(this, 'left');
    }
    for (const node of [...this.linked.keys()]) this.lose(node, 'stopped');
  }

  async close(): Promise<void> {
    if (this.context) this.network.leave(this, 'connectionClosed');
    for (const node of [...this.linked.keys()]) this.lose(node, 'stopped');
    this.messagingLayer?.close();
  }

  /** @internal */
  link(other: InMemoryDist): void {
    if (this.linked.has(other.self)) return;
    this.linked.set(other.self, other);
    this.context?.nodeUp(other.presence());
  }

  /** @internal */
  lose(node: string, reason: NodeDownReason): void {
    if (!this.linked.delete(node)) return;
    this.messagingLayer?.nodeDown(node);
    this.context?.nodeDown(node, reason);
  }

  /** Delivers every message this node sent that has not arrived yet, in order. */
  private flush(): void {
    for (let deliver = this.outbox.shift(); deliver; deliver = this.outbox.shift()) deliver();
  }

  private transport(): MessageTransport {
    return {
      members: () => [...this.linked.keys()],
      headers: node => this.network.headers(this.self, node),
      send: (node, parts) => {
        const other = this.linked.get(node);
        if (!other) throw new NodeDownError(TestingMessages.notLinked(node), { node });
        const bytes = Buffer.concat(parts);
        const from = this.self;
        this.outbox.push(() => {
          if (other.linked.get(from) === this) other.messagingLayer?.receive(from, bytes);
        });
        // a later turn, as a socket would deliver it: handlers never run inside send(); each turn
        // delivers the oldest message left (a leave may have delivered them all already)
        setImmediate(() => this.outbox.shift()?.());
      },
    };
  }
}

function linkKey(a: string, b: string): string {
  return a < b ? `${a}\n${b}` : `${b}\n${a}`;
}
