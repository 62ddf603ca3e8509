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
  type MessageHandler,
  type RequestOptions,
} from '../core/index.js';
import { NestMessages } from './gen-cluster.messages.js';

/**
 * The cluster as the application sees it: who this node is, who is connected, the membership
 * stream, and messaging between nodes. Inject it as `ClusterService` (the default cluster) or with
 * `@InjectCluster(name)`.
 *
 * When no discovery is configured, the service still works as a cluster of one: `started` is
 * `false`, `nodes()` is empty, handlers can be registered and streams subscribed, and only calls
 * that need a peer (`send`, `request`) fail, with `ERR_NOT_STARTED` saying how to configure one.
 *
 * @publicApi
 */
export class ClusterService
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private running = false;

  /** @internal Built by `GenClusterModule`; applications inject it. */
  constructor(
    /** The cluster's name (`'default'` unless several are configured). */
    readonly name: string,
    private readonly cluster: ClusterControl,
    private readonly messaging: ClusterMessaging,
    private readonly autoStart: boolean,
    private readonly logger: ClusterLogger,
  ) {}

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

  /** Sends a one-way message to `node`'s handler of `topic`. */
  send(node: string, topic: string, payload: unknown): void {
    this.messaging.send(node, topic, payload);
  }

  /** Sends a one-way message to every connected node; returns how many. */
  broadcast(topic: string, payload: unknown): number {
    return this.messaging.broadcast(topic, payload);
  }

  /** Asks `node`'s handler of `topic` and resolves with its answer. */
  request<T = unknown>(
    node: string,
    topic: string,
    payload: unknown,
    options?: RequestOptions,
  ): Promise<T> {
    return this.messaging.request<T>(node, topic, payload, options);
  }

  /** Registers the handler of `topic`; returns a function that removes it. */
  on<T = unknown>(topic: string, handler: MessageHandler<T>): () => void {
    return this.messaging.on(topic, handler);
  }

  /** Starts the cluster; called on application bootstrap unless `autoStart` is `false`. */
  async start(): Promise<void> {
    if (this.running || !this.engine) return;
    await this.cluster.start();
    this.running = true;
  }

  /** Nest lifecycle hook: starts the cluster unless `autoStart` is `false`. Nest calls it. */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.engine) {
      this.logger.log(NestMessages.noCluster(this.name));
      return;
    }
    if (this.autoStart) await this.start();
  }

  /** Nest lifecycle hook: tells peers this node is leaving. Nest calls it. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.cluster.leave();
  }

  /** Nest lifecycle hook: closes connections and completes the streams. Nest calls it. */
  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.cluster.close();
  }
}
