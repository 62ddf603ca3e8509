import {
  type DiscoveryContext,
  DiscoveryError,
  type DiscoveryStrategy,
  type DistContext,
  type DistHealth,
  GenClusterError,
  type MessagingDistStrategy,
  type Peer,
  deriveLabelledKey,
  nodeKey,
} from '../../core/index.js';
import { DeferredMessaging, resolveCookie } from '../../distribution/index.js';
import { type ResolvedNatsConnection, resolveNatsConnectionOptions } from '../connection/index.js';
import {
  NATS_DIST_OPTION_PREFIX,
  type NatsDistOptions,
  type NatsDistSettings,
  resolveNatsDistSettings,
} from './nats-dist-options.js';
import type { NatsDistStats } from './nats-dist-stats.js';
import { NatsDistMessages as M } from './nats-dist.messages.js';
import { NatsNode } from './nats-node.js';

/** Labels of the keys the NATS dist derives from the cookie (HKDF-SHA256 info). */
const PRESENCE_KEY_LABEL = 'gen-cluster/nats/presence';
const MESSAGE_KEY_LABEL = 'gen-cluster/nats/messages';

/**
 * The NATS dist: each node keeps one connection to a NATS server (or cluster) instead of one per
 * peer. Nodes announce their presence on a namespaced subject (a heartbeat every
 * `heartbeatIntervalMs`, signed with a key derived from the cookie and protected against replay),
 * are members while heard, leave at once on a graceful stop, and are declared down after
 * `failureTimeoutMs` of silence. Messages go to each node start's own inbox subject, signed
 * (`messageAuth: 'hmac'`), fragmented over the server's `max_payload`. It brings its own
 * discovery ({@link discovery}): the nodes it hears.
 *
 * While this node is cut off from NATS it cannot tell who is alive: membership is frozen (no
 * `nodeDown` from silence), the cluster emits `distDisconnected` and readiness says so; after the
 * reconnect, members not heard within `failureTimeoutMs` are declared down.
 */
export class NatsDist implements MessagingDistStrategy {
  readonly name = 'nats';
  /**
   * Messaging between nodes: handlers may be registered at once (they are attached at start, so
   * no message arriving after start is missed); calls to peers work once the cluster started.
   */
  readonly messaging: DeferredMessaging;
  private readonly settings: NatsDistSettings;
  private readonly connection: ResolvedNatsConnection;
  private readonly cookie: Buffer;
  private node: NatsNode | undefined;
  private started: number | undefined;
  private discoveryContext: DiscoveryContext | undefined;

  /**
   * Checks the options and reads the cookie and credential files.
   * @throws InvalidConfigError naming the first bad option
   */
  constructor(private readonly options: NatsDistOptions) {
    this.settings = resolveNatsDistSettings(options ?? ({} as NatsDistOptions));
    this.connection = resolveNatsConnectionOptions(options, NATS_DIST_OPTION_PREFIX);
    this.cookie = resolveCookie(options);
    // Node names are taken in any spelling (`b@LOCALHOST`), as everywhere else.
    this.messaging = new DeferredMessaging(
      () => new GenClusterError('ERR_NOT_STARTED', M.notStarted()),
      { nodeName: nodeKey },
    );
  }

  /**
   * A 32-byte key for one purpose, HKDF-SHA256 of the cookie with `label` as its info (as the
   * TCP dist's): other layers can authenticate with the cluster's secret without holding it.
   */
  deriveKey(label: string): Buffer {
    return deriveLabelledKey(this.cookie, label);
  }

  /** The cluster namespace this node is in (the `namespace` option). */
  get namespace(): string {
    return this.settings.namespace;
  }

  /** How long a silent peer takes to be declared down: the `failureTimeoutMs` setting. */
  get failureTimeoutMs(): number {
    return this.settings.failureTimeoutMs;
  }

  /** This node's start time as announced to peers (ms since the epoch), once started. */
  get startedAt(): number | undefined {
    return this.started;
  }

  /** This start's incarnation (16 hex characters), once started. */
  get incarnation(): string | undefined {
    return this.node?.incarnation;
  }

  /** Whether this node has NATS now (`false` before start and while cut off). */
  get connected(): boolean {
    return this.node?.connected ?? false;
  }

  /** The NATS dist listens on no port of its own. */
  get port(): null {
    return null;
  }

  /**
   * Connects to NATS (waiting at most `firstConnectWaitMs`: a node may start while NATS is down,
   * and then reports `distDisconnected` and joins once it connects), subscribes to presence and
   * to this start's inbox, and announces itself.
   * @throws what cannot be fixed by retrying: the optional client missing
   *   (`ERR_OPTIONAL_PACKAGE_MISSING`), credentials or TLS refused (`ERR_NATS_AUTH`, `ERR_NATS_TLS`)
   */
  async init(context: DistContext): Promise<void> {
    const startedAt = this.options.startedAt ?? Date.now();
    const node = await NatsNode.start({
      context,
      settings: this.settings,
      connection: this.connection,
      codec: this.options.codec ?? 'msgpack',
      startedAt,
      presenceKey: this.deriveKey(PRESENCE_KEY_LABEL),
      messageKey: this.settings.messageAuth === 'hmac' ? this.deriveKey(MESSAGE_KEY_LABEL) : null,
      // The heard nodes changed (joined, left, down): discovery refreshes now rather than at the
      // next interval (under removalPolicy 'disconnect' a new node is a member once it is named).
      heardChanged: () => this.discoveryContext?.requestRefresh(),
    });
    this.node = node;
    this.started = startedAt;
    this.messaging.attach(node.messaging);
    context.logger.log(M.started(context.self, this.settings.namespace, this.settings.messageAuth));
  }

  /** The members: nodes heard within the failure timeout, each with `meta.startedAt`. */
  members(): Peer[] {
    return this.node?.members() ?? [];
  }

  /**
   * Resolves `true` once the peer is a member: at once when its presence was heard, else when it
   * is (nothing is dialled: presence is the connection); `false` when `signal` aborts first.
   */
  async connect(peer: Peer, signal: AbortSignal): Promise<boolean> {
    if (!this.node) return false;
    return this.node.connect(nodeKey(peer.node), signal);
  }

  /** Drops a member (reason `disconnected`); it is a member again when `connect` asks. */
  async disconnect(peer: Peer): Promise<boolean> {
    return this.node?.tracker.disconnect(nodeKey(peer.node)) ?? false;
  }

  /**
   * The dist's own discovery (`name: 'nats'`): the nodes it hears and verified (each answered
   * this start), members or not; asked to refresh whenever they change. While this node
   * is cut off from NATS it throws a `DiscoveryError`, so the last good answer stands.
   */
  discovery(): DiscoveryStrategy {
    return {
      name: 'nats',
      init: context => {
        this.discoveryContext = context;
      },
      peers: () => {
        const node = this.node;
        if (!node) throw new DiscoveryError(M.discoveryNotStarted());
        if (!node.connected) throw new DiscoveryError(M.discoveryCutOff());
        return node.heard();
      },
      close: () => {
        this.discoveryContext = undefined;
      },
    };
  }

  /** Tells every node this one leaves (they see reason `left` at once); bounded to about 1 s. */
  async leave(): Promise<void> {
    await this.node?.leave();
  }

  /** Fails pending requests, stops the timers and closes the connection (within about 1 s). */
  async close(): Promise<void> {
    await this.node?.close();
  }

  /**
   * Always listening: liveness must not fail because NATS is down (readiness reports that,
   * through the `distDisconnected` state).
   */
  health(): DistHealth {
    return { listening: true };
  }

  /** Members with their byte counters, refusals by reason, and the NATS counters (`nats`). */
  stats(): NatsDistStats {
    return (
      this.node?.stats() ?? {
        links: [],
        handshakeRefusals: {},
        nats: {
          connected: false,
          messagesOut: 0,
          bytesOut: 0,
          messagesIn: 0,
          bytesIn: 0,
          presenceIn: 0,
          presenceOut: 0,
          refusals: {},
          client: { inMsgs: 0, outMsgs: 0, inBytes: 0, outBytes: 0, reconnects: 0 },
        },
      }
    );
  }

  /**
   * Goes silent without leaving, as a crashed process would (peers see `heartbeatTimeout`).
   * @internal Only tests call it.
   */
  async crashForTest(): Promise<void> {
    await this.node?.crashForTest();
  }
}
