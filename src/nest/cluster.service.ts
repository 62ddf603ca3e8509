// ClusterService is the application's whole view of a cluster; its messaging and service half
// (send ... ownersOf) lives in the base class ClusterMessagingApi (cluster-messaging.api.ts).
import {
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import {
  type ClusterControl,
  type ClusterEvent,
  type ClusterLogger,
  type ClusterMessaging,
  GenCluster,
  type Membership,
  type MessageContext,
  type MessageHandler,
  type MessagingInstrumentation,
  type MessagingStatsSnapshot,
  type ReadinessOptions,
  type ShutdownPhase,
  type WaitForFormationOptions,
} from '../core/index.js';
import {
  type Topic,
  type TopicLike,
  ZERO_MESSAGING_STATS,
  topicName,
} from '../distribution/index.js';
import {
  type ProcessGroups,
  type SingletonHooks,
  type SingletonRegistration,
  type SystemClient,
} from '../primitives/index.js';
import {
  type ClusterHealth,
  clusterHealth,
  unavailableSystemClient,
} from './cluster-health.helpers.js';
import {
  drainBeforeLeaving,
  instrumentOrThrow,
  mapThrown,
  subscribeOrThrow,
} from './cluster-messaging.helpers.js';
import { type ClusterOperations, startOrRelease } from './cluster-operations.js';
import type { ClusterLeadership } from './cluster-leadership.types.js';
import type { ClusterPrimitives } from './cluster-primitives.js';
import { type ClusterServices } from './cluster-services.js';
import { ClusterMessagingApi } from './cluster-messaging.api.js';
import { NestMessages } from './gen-cluster.messages.js';
import type { TypedMessageHandler } from './typed-topic.types.js';

/**
 * The cluster as the application sees it: who this node is, who is connected, the membership
 * stream, and messaging between nodes. Inject it as `ClusterService` (the default cluster) or with
 * `@InjectCluster(name)`.
 *
 * When no discovery is configured, the service still works as a cluster of one: `started` is
 * `false`, `nodes()` is empty, handlers and subscribers can be registered and streams subscribed,
 * a broadcast or a `requestAll` reaches nobody, no node serves a topic (`servers()` is empty,
 * `ownerOf(key)` is this node), and only calls that need a peer (`send`, `request`, `call`) fail,
 * with `ERR_NOT_STARTED` saying how to configure one.
 *
 * @publicApi
 */
export class ClusterService
  extends ClusterMessagingApi
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private running = false;
  /** Where the application is in its shutdown, which turns readiness down before the drain. */
  private phase: ShutdownPhase = 'none';

  /** @internal Built by `GenClusterModule`; applications inject it. */
  constructor(
    /** The cluster's name (`'default'` unless several are configured). */
    readonly name: string,
    cluster: ClusterControl,
    messaging: ClusterMessaging,
    private readonly autoStart: boolean,
    /** @internal The explorers log through it. */ readonly logger: ClusterLogger,
    services: ClusterServices,
    private readonly operations: ClusterOperations,
    private readonly primitives: ClusterPrimitives,
  ) {
    super(cluster, messaging, services);
  }

  /** This node's name, `name@host`. */
  get self(): string {
    return this.cluster.self;
  }

  /** Whether a cluster is configured and running. */
  get started(): boolean {
    return this.running;
  }

  /** The engine itself, for what this service does not expose; `undefined` when none is configured. */
  get engine(): GenCluster | undefined {
    return this.cluster instanceof GenCluster ? this.cluster : undefined;
  }

  /** Membership snapshots: the current one at once to every subscriber, then each change. */
  get membership$(): Observable<Membership> {
    return this.cluster.membership$;
  }

  /** `nodeUp`, `nodeDown`, `discovered`, `lost`, `discoveryError` and `connectFailed` events. */
  get events$(): Observable<ClusterEvent> {
    return this.cluster.events$;
  }

  /** Connected nodes, sorted, without self (as Erlang's `nodes()`). */
  nodes(): string[] {
    return this.cluster.nodes();
  }

  /** The nodes the last good discovery answer named, sorted, without self. */
  discovered(): string[] {
    return this.cluster
      .discoveredPeers()
      .map(p => p.node)
      .sort();
  }

  /** Runs a refresh now (calls made while one runs are coalesced). */
  refresh(): Promise<void> {
    return this.cluster.refresh();
  }

  /** Stops refreshing and reconnecting; connections stay up. */
  pause(): void {
    this.cluster.pause();
  }

  /** Resumes with a refresh at once. */
  resume(): void {
    this.cluster.resume();
  }

  /** Resolves once `count` nodes are connected; rejects with `ERR_WAIT_TIMEOUT` after `timeoutMs` (30 s). */
  waitForMembers(count: number, options: { timeoutMs?: number } = {}): Promise<Membership> {
    return this.cluster.waitForMembers(count, options);
  }

  /**
   * Whether `formation.minMembers` peers are connected and the discovered set stayed unchanged
   * for `formation.stableMarginMs` (latched until stop; readiness waits for it when set).
   */
  get formed(): boolean {
    return this.cluster.formed;
  }

  /** {@link formed} at once, then each change; completes on shutdown. */
  get formed$(): Observable<boolean> {
    return this.cluster.formed$;
  }

  /** Resolves once formed by these numbers (the option's when unset); `ERR_FORMATION_TIMEOUT`. */
  waitForFormation(options?: WaitForFormationOptions): Promise<void> {
    return this.cluster.waitForFormation(options);
  }

  /**
   * Registers the **request handler** of `topic`: it answers requests and also receives one-way
   * messages and broadcasts of the topic. A node has one per topic (a second one throws
   * `DuplicateHandlerError`). Returns a function that removes it. Use it for handlers registered
   * at run time; `@ClusterHandler` declares one that runs through Nest's pipeline. An
   * `HttpException` it throws reaches the caller as a `RemoteHttpException`.
   */
  on<Req, Res>(
    topic: Topic<Req, Res>,
    handler: TypedMessageHandler<NoInfer<Req>, NoInfer<Res>>,
  ): () => void;
  on<T = unknown>(topic: string, handler: MessageHandler<T>): () => void;
  on(topic: TopicLike, handler: MessageHandler<never>): () => void {
    return this.registerHandler(topicName(topic) as string, mapThrown(handler));
  }

  /**
   * Adds a **subscriber** of `topic`: it receives one-way messages and broadcasts, never
   * requests, and a topic may have any number. Each runs on its own: one that throws does not
   * stop the others, and its error is logged. Subscribers of one message share one decoded
   * payload: do not mutate it. Returns a function that removes it. `@OnClusterMessage` declares
   * one that runs through Nest's pipeline.
   */
  subscribe<Req>(
    topic: Topic<Req, unknown>,
    handler: (payload: NoInfer<Req>, context: MessageContext) => unknown,
  ): () => void;
  subscribe<T = unknown>(topic: string, handler: MessageHandler<T>): () => void;
  subscribe(topic: TopicLike, handler: MessageHandler<never>): () => void {
    return this.registerSubscriber(topicName(topic) as string, mapThrown(handler));
  }

  /**
   * Registers `handler` as the request handler of `topic` as it is, without the error mapping of
   * {@link on}: the handler explorer's proxies map errors themselves.
   * @internal
   */
  registerHandler(topic: string, handler: MessageHandler<never>): () => void {
    return this.messaging.on(topic, handler as MessageHandler);
  }

  /**
   * Adds `handler` as a subscriber of `topic` as it is; throws `ERR_MESSAGING_UNSUPPORTED` when
   * the dist's messaging has no subscribers ({@link subscribersSupported}). @internal
   */
  registerSubscriber(topic: string, handler: MessageHandler<never>): () => void {
    return subscribeOrThrow(this.messaging, this.name, topic, handler);
  }

  /** Whether the dist's messaging takes subscribers (custom dists may lack them). @internal */
  get subscribersSupported(): boolean {
    return this.messaging.subscribe !== undefined;
  }

  /** Starts the cluster; called on application bootstrap unless `autoStart` is `false`. */
  async start(): Promise<void> {
    if (this.running || !this.engine) return;
    await this.cluster.start();
    this.running = true;
    this.primitives.start();
  }

  /**
   * Nest lifecycle hook: starts the cluster unless `autoStart` is `false`, then leadership; a failed
   * start first releases the metrics, hooks and system topics (a retry can register them again).
   */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.engine) {
      this.logger.log(NestMessages.noCluster(this.name));
      return this.primitives.start(); // a cluster of one leads at once
    }
    if (this.autoStart) await startOrRelease(() => this.start(), this.operations);
  }

  /**
   * Nest lifecycle hook: hands leadership over (this node's singletons stop, then the members are
   * told), withdraws this node's topics and waits for the calls already routed here (the `drain`
   * option), then tells peers this node is leaving. Nest calls it.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.phase = 'draining';
    await this.primitives.abdicate();
    if (this.running) await drainBeforeLeaving(this.services, this.logger, this.name);
    await this.cluster.leave();
  }

  /** Nest lifecycle hook: closes leadership, groups and the registry, then connections. Nest calls it. */
  async onApplicationShutdown(): Promise<void> {
    this.phase = 'closing';
    this.running = false;
    this.operations.close();
    await this.primitives.close();
    if (this.services.kind === 'registry') this.services.registry.close();
    await this.cluster.close();
  }

  /** Leadership: the leader (the eligible member started first), `whyNot()`, `term`, singletons. */
  get leadership(): ClusterLeadership {
    return this.primitives.leadership;
  }

  /** The current leader (`name@host`, or `undefined` while there is none), then each change. */
  get leader$(): Observable<string | undefined> {
    return this.primitives.leadership.leader$;
  }

  /** Whether this node leads now (checked for a freeze at the moment of the call). */
  isLeader(): boolean {
    return this.primitives.leadership.isLeader();
  }

  /** The current leader's term, a fencing token that grows with each new leader (0: unknown). */
  get term(): number {
    return this.primitives.leadership.term;
  }

  /** Whether this side has quorum (the `quorum` option); always `true` without a quorum rule. */
  hasQuorum(): boolean {
    return this.cluster.hasQuorum();
  }

  /** Runs `hooks.start` on the leader only, `hooks.stop` when leadership moves or on shutdown. */
  singleton(name: string, hooks: SingletonHooks): SingletonRegistration {
    return this.primitives.leadership.singleton(name, hooks);
  }

  /** Process groups (Erlang's `pg`): `join`, `leave`, `members`, `groups$`, `publish`. */
  get groups(): ProcessGroups {
    return this.primitives.groups;
  }

  /**
   * Readiness and liveness now, for probes (the `./terminus` entry wraps it): ready when running,
   * formed (with the `formation` option), with at least `minMembers` peers
   * (`GEN_CLUSTER_MIN_MEMBERS`, else 0) and discovery working or failing for less than
   * `discoveryGraceMs`, and down from the start of the shutdown; live unless the dist stopped
   * listening or the engine stopped on its own.
   */
  health(options?: ReadinessOptions): ClusterHealth {
    return clusterHealth(this.cluster, options, this.operations.minMembers, this.phase);
  }

  /**
   * Adds instrumentation hooks to this node's messaging (each message out and in); returns a
   * function that removes them. Throws `ERR_MESSAGING_UNSUPPORTED` when the dist takes none.
   */
  instrument(hooks: MessagingInstrumentation): () => void {
    return instrumentOrThrow(this.messaging, this.name, hooks);
  }

  /** This node's messaging counters (all zero when the dist keeps none). */
  get stats(): MessagingStatsSnapshot {
    return this.messaging.stats ?? ZERO_MESSAGING_STATS;
  }

  /**
   * Asks nodes about themselves over the system topics every node serves (`ping`, `info`,
   * `events`, `overview`); on a cluster without messaging each call rejects saying why.
   */
  get system(): SystemClient {
    return this.operations.system ?? unavailableSystemClient(this.services, this.name);
  }
}
