import type { Observable } from 'rxjs';
import type {
  BroadcastOptions,
  ClusterControl,
  ClusterMessaging,
  RequestAllOptions,
  RequestAllResult,
  RequestOptions,
} from '../core/index.js';
import { type Topic, type TopicLike, topicName } from '../distribution/index.js';
import type {
  CallOptions,
  OwnerOptions,
  ServiceKey,
  ServiceRegistry,
  ServicesChange,
  WaitForServersOptions,
} from '../primitives/index.js';
import { ownersOf, requestAllOf, rethrowRemote } from './cluster-messaging.helpers.js';
import {
  type ClusterServices,
  callOf,
  registryOrNone,
  serversStream,
  servicesStream,
  waitForServersOf,
} from './cluster-services.js';

/**
 * The messaging and service half of `ClusterService` (which extends it, and is what applications
 * inject): sending, broadcasting, requests, calls to the servers of a topic, who serves what and
 * who owns a key. Each member delegates to the messaging layer or a helper, with topic names
 * normalised. Registering handlers and subscribers stays on `ClusterService`.
 *
 * @publicApi
 */
export class ClusterMessagingApi {
  /** @internal Built through `ClusterService`. */
  constructor(
    /** @internal */ protected readonly cluster: ClusterControl,
    /** @internal */ protected readonly messaging: ClusterMessaging,
    /** @internal */ protected readonly services: ClusterServices,
  ) {}

  /**
   * Sends a one-way message to `node`, where the request handler of `topic` and each of its
   * subscribers receive it. Throws at once when the node is not connected or its queue is full.
   */
  send<Req>(node: string, topic: Topic<Req, unknown>, payload: NoInfer<Req>): void;
  send(node: string, topic: string, payload: unknown): void;
  send(node: string, topic: TopicLike, payload: unknown): void {
    this.messaging.send(node, topicName(topic) as string, payload);
  }

  /**
   * Sends a one-way message to every connected node (hidden nodes and this one left out), or to
   * `options.nodes` (this node may be listed; nodes not connected are skipped; the payload is
   * encoded once), where the request handler of `topic` and each of its subscribers receive it;
   * returns how many nodes it was queued for. `{ nodes: cluster.subscribers(topic) }` reaches
   * only the nodes that listen.
   */
  broadcast<Req>(
    topic: Topic<Req, unknown>,
    payload: NoInfer<Req>,
    options?: BroadcastOptions,
  ): number;
  broadcast(topic: string, payload: unknown, options?: BroadcastOptions): number;
  broadcast(topic: TopicLike, payload: unknown, options?: BroadcastOptions): number {
    const name = topicName(topic) as string;
    return options === undefined
      ? this.messaging.broadcast(name, payload)
      : this.messaging.broadcast(name, payload, options);
  }

  /**
   * Asks the request handler of `topic` on `node` and resolves with its answer. A remote
   * `HttpException` (or `RpcException`) rejects as a `RemoteHttpException` with the same
   * status and body, which an HTTP controller can rethrow; other remote failures as
   * `RemoteError`.
   */
  request<Req, Res>(
    node: string,
    topic: Topic<Req, Res>,
    payload: NoInfer<Req>,
    options?: RequestOptions,
  ): Promise<Res>;
  request<T = unknown>(
    node: string,
    topic: string,
    payload: unknown,
    options?: RequestOptions,
  ): Promise<T>;
  request(
    node: string,
    topic: TopicLike,
    payload: unknown,
    options?: RequestOptions,
  ): Promise<unknown> {
    return this.messaging
      .request(node, topicName(topic) as string, payload, options)
      .then(undefined, rethrowRemote);
  }

  /**
   * Asks every connected node (hidden nodes excluded), or `options.nodes`, at once, within one
   * timeout, as Erlang's `erpc:multicall`. Resolves with one result per node,
   * `{ node, ok: true, value }` or `{ node, ok: false, error }` (a remote `HttpException` there
   * as a `RemoteHttpException`); it never rejects because a node failed, only for what
   * would fail on every node (an invalid topic or option, a payload that cannot be encoded).
   * This node is asked too with `includeSelf: true`.
   */
  requestAll<Req, Res>(
    topic: Topic<Req, Res>,
    payload: NoInfer<Req>,
    options?: RequestAllOptions,
  ): Promise<RequestAllResult<Res>[]>;
  requestAll<T = unknown>(
    topic: string,
    payload: unknown,
    options?: RequestAllOptions,
  ): Promise<RequestAllResult<T>[]>;
  requestAll(
    topic: TopicLike,
    payload: unknown,
    options?: RequestAllOptions,
  ): Promise<RequestAllResult<unknown>[]> {
    return requestAllOf(this.cluster, this.messaging, topicName(topic) as string, payload, options);
  }

  /**
   * Asks one of the nodes that serve `topic` (this one included) and resolves with its answer;
   * `options.select` picks which (round-robin by default, or `{ key }` to stick a key to a node),
   * `options.retries` retries an idempotent call on another server. Rejects with `NoServerError`
   * (`ERR_NO_SERVER`) when no connected node serves the topic, and maps a remote `HttpException`
   * to a `RemoteHttpException` as {@link request} does.
   */
  call<Req, Res>(
    topic: Topic<Req, Res>,
    payload: NoInfer<Req>,
    options?: CallOptions,
  ): Promise<Res>;
  call<T = unknown>(topic: string, payload: unknown, options?: CallOptions): Promise<T>;
  call(topic: TopicLike, payload: unknown, options?: CallOptions): Promise<unknown> {
    return callOf(this.services, topicName(topic) as string, payload, options);
  }

  /** Nodes (this one included) with a request handler of `topic`, sorted; `[]` when none. */
  servers(topic: TopicLike): string[] {
    return registryOrNone(this.services)?.servers(topic) ?? [];
  }

  /** Nodes (this one included) with subscribers of `topic`, sorted; `[]` when none. */
  subscribers(topic: TopicLike): string[] {
    return registryOrNone(this.services)?.subscribers(topic) ?? [];
  }

  /**
   * Each change of who serves what: a node's topics added or removed, once the registry reflects
   * it. A node that goes down leaves in the same delivery as its `nodeDown` event.
   */
  get services$(): Observable<ServicesChange> {
    return servicesStream(this.services);
  }

  /** `servers(topic)` now, then on each change of it. */
  servers$(topic: TopicLike): Observable<readonly string[]> {
    return serversStream(this.services, topic);
  }

  /**
   * Resolves with the servers of `topic` once `count` (default 1) nodes serve it; rejects with
   * `ERR_WAIT_TIMEOUT` after `timeoutMs` (30 s). Use it at start-up, before the first `call`.
   */
  waitForServers(topic: TopicLike, options?: WaitForServersOptions): Promise<string[]> {
    return waitForServersOf(this.services, topic, options);
  }

  /**
   * The node that owns `key` by rendezvous hashing, among every member and this node, or among
   * the servers of `options.topic`; `undefined` when there is none. Every node computes the same
   * owner from the same view, and only the keys of a node that joins or leaves move.
   */
  ownerOf(key: ServiceKey, options?: OwnerOptions): string | undefined {
    return ownersOf(this.services, this.cluster, 'ownerOf', key, 1, options)[0];
  }

  /** The first `count` owners of `key` in rank order (replicas); see {@link ownerOf}. */
  ownersOf(key: ServiceKey, count: number, options?: OwnerOptions): string[] {
    return ownersOf(this.services, this.cluster, 'ownersOf', key, count, options);
  }

  /**
   * The service registry itself (for `services()` and what this service does not expose);
   * `undefined` when the cluster has none (no discovery configured, or a dist without messaging).
   */
  get registry(): ServiceRegistry | undefined {
    return this.services.kind === 'registry' ? this.services.registry : undefined;
  }
}
