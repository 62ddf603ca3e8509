/**
 * The messaging room shared by every dist: one-way sends, broadcasts, requests with responses,
 * and topic handlers, over an abstract {@link MessageTransport} that only moves bytes. A dist that
 * carries messages (today the TCP dist) provides a transport and feeds received messages to
 * {@link Messaging.receive}. This file is the public facade; what happens to a received message
 * is in `dispatch.ts`, how a message leaves this node in `delivery.ts`, the requests awaiting an
 * answer in `pending-requests.ts`, the requests this node serves in `serving-requests.ts`, calls
 * to many nodes at once in `request-all.ts`, this node's own topics in `local-topics.ts`.
 */
import {
  type BroadcastOptions,
  type ClusterMessaging,
  type LocalTopicsView,
  type MessageHandler,
  type MessagingInstrumentation,
  type MessagingStatsSnapshot,
  type OutgoingScope,
  type RequestAllOptions,
  type RequestAllResult,
  type RequestOptions,
  asStructuredLogger,
  checkInteger,
  consoleLogger,
} from '../../core/index.js';
import { Delivery } from './delivery.js';
import { Dispatcher } from './dispatch.js';
import { EnvelopeKind } from './envelope.js';
import { Instrumentation, endOneWay, endRefused } from './instrumentation.js';
import { LocalTopics } from './local-topics.js';
import { type MessagingLog, messagingLog } from './messaging-log.js';
import { MessagingStats } from './messaging-stats.js';
import { NodeDownError } from '../transport.errors.js';
import { DuplicateHandlerError, MessagingClosedError } from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';
import {
  type PayloadCodec,
  createPayloadCodec,
  encodePayload,
  structuredLimit,
} from './payload-codec.js';
import { PendingRequests, RequestIdAllocator } from './pending-requests.js';
import {
  DEFAULT_MESSAGING_OPTIONS,
  type HandlerRegistrationOptions,
  type MessageTransport,
  type MessagingOptions,
  checkHandlerRegistration,
  checkSelfAndTransport,
  checkTimeout,
} from './messaging.options.js';
import { type RequestAllDriver, requestAll } from './request-all.js';
import { withRequest } from './request-errors.js';
import { ServingRequests } from './serving-requests.js';
import { checkTopic } from './topic.js';

export {
  DEFAULT_MESSAGING_OPTIONS,
  type HandlerRegistrationOptions,
  type MessageTransport,
  type MessagingOptions,
  checkHandlerRegistration,
} from './messaging.options.js';

// What checkTopic is told for a send, a broadcast or a request: one object, not one per call.
const SENDABLE = { allowReserved: true } as const;

/**
 * Request/response, one-way sends and broadcasts between the nodes of a cluster, by topic.
 *
 * - Every request has a timeout (never hangs): {@link RequestTimeoutError}. A response arriving
 *   later is dropped.
 * - Failures of the remote handler come back as {@link RemoteError} (`ERR_REMOTE_HANDLER` with
 *   the remote error's name, message and code; `ERR_NO_HANDLER`).
 * - Transport errors (`ERR_QUEUE_FULL`, `ERR_NODE_DOWN`, `ERR_MESSAGE_TOO_LARGE`) are thrown by
 *   `send` and reject `request` at once, before the payload is encoded when the transport can
 *   tell (a full queue, a binary payload already over the message limit).
 * - Nothing a peer sends makes `receive` throw; handler failures on one-way messages are logged,
 *   never left as unhandled rejections.
 * - Messages to `self` are delivered locally, asynchronously, through the same path.
 *
 * @example
 * messaging.on<number[]>('sum', numbers => numbers.reduce((a, b) => a + b, 0));
 * const total = await messaging.request<number>('b@10.0.0.2', 'sum', [1, 2, 3]);
 */
export class Messaging implements ClusterMessaging {
  /** This node's name. */
  readonly self: string;
  /** The payload codec in use. */
  readonly codec: PayloadCodec;

  private readonly transport: MessageTransport;
  // Rate-limited, one line per level and key every 10 s.
  private readonly log: MessagingLog;
  private readonly defaultTimeoutMs: number;
  private readonly handlers = new Map<string, MessageHandler>();
  // Copy-on-write: a dispatch walks the array it started with, whatever (un)subscribes meanwhile.
  private readonly subscribers = new Map<string, readonly MessageHandler[]>();
  private readonly serving = new ServingRequests();
  private readonly counters = new MessagingStats();
  private readonly instrumentation = new Instrumentation((key, text) =>
    this.log('warn', key, text),
  );
  private readonly pending: PendingRequests;
  private readonly dispatcher: Dispatcher;
  private readonly delivery: Delivery;
  private readonly topics = new LocalTopics((change, error) =>
    this.log(
      'warn',
      `localTopics|${change.topic}`,
      MessagingMessages.localTopicsListenerFailed(change.topic, change.added, error),
    ),
  );
  private readonly requestAllDriver: RequestAllDriver;
  private closed = false;

  /** @throws InvalidConfigError naming the option that is wrong. */
  constructor(options: MessagingOptions) {
    checkSelfAndTransport(options);
    this.self = options.self;
    this.transport = options.transport;
    this.codec = createPayloadCodec(options.codec ?? 'msgpack', {
      maxStructuredPayloadBytes: structuredLimit(options),
    });
    this.defaultTimeoutMs = checkTimeout(
      'defaultRequestTimeoutMs',
      options.defaultRequestTimeoutMs ?? DEFAULT_MESSAGING_OPTIONS.defaultRequestTimeoutMs,
    );
    const maxPending = options.maxPendingRequests ?? DEFAULT_MESSAGING_OPTIONS.maxPendingRequests;
    checkInteger('maxPendingRequests', maxPending, 1);
    this.log = messagingLog(
      asStructuredLogger(options.logger ?? consoleLogger(`Messaging:${this.self}`)),
    );
    const ids = options.requestIds ?? new RequestIdAllocator();
    this.pending = new PendingRequests(maxPending, ids, this.counters);
    this.dispatcher = new Dispatcher({
      self: this.self,
      codec: this.codec,
      handlers: this.handlers,
      subscribers: this.subscribers,
      serving: this.serving,
      pending: this.pending,
      instrumentation: this.instrumentation,
      isClosed: () => this.closed,
      deliver: (node, kind, requestId, topic, body) =>
        this.delivery.deliver(node, kind, requestId, topic, body),
      log: (level, key, message, fields) => this.log(level, key, message, fields),
    });
    this.delivery = new Delivery({
      self: this.self,
      transport: this.transport,
      codec: this.codec,
      stats: this.counters,
      isClosed: () => this.closed,
      dispatch: (from, kind, requestId, topic, body, headers) =>
        this.dispatcher.dispatch(from, kind, requestId, topic, body, headers),
      log: (level, key, message) => this.log(level, key, message),
    });
    this.requestAllDriver = {
      self: this.self,
      members: () => this.transport.members(),
      prepare: (topic, options) => this.prepareRequest(topic, options),
      encode: payload => encodePayload(this.codec, payload),
      admit: (node, topic, signal) => this.pending.admit(node, topic, signal),
      open: r =>
        this.openEncoded(
          r.node,
          r.topic,
          r.body,
          r.timeoutMs,
          r.signal,
          r.resolve,
          r.reject,
          r.scope,
        ),
      drop: (id, outcome, error) => this.pending.drop(id, outcome, error),
      outgoing: (node, topic) => this.instrumentation.outgoing(node, topic, 'request', 'request'),
      refused: (scope, error) => endRefused(this.counters, scope, error),
    };
  }

  /** Requests awaiting an answer. */
  get pendingRequests(): number {
    return this.pending.size;
  }

  /** This node's counters now: messages, bytes, requests by outcome, in flight, serving. */
  get stats(): MessagingStatsSnapshot {
    return this.counters.snapshot(this.pending.size, this.serving.total);
  }

  /**
   * Attaches hooks told of each message (a failing one is skipped and logged); returns their
   * removal. @throws InvalidConfigError when `hooks` is not an object of optional functions.
   */
  instrument(hooks: MessagingInstrumentation): () => void {
    return this.instrumentation.add(hooks);
  }

  /** The timeout of a request given without `timeoutMs` (option `defaultRequestTimeoutMs`). */
  get defaultRequestTimeoutMs(): number {
    return this.defaultTimeoutMs;
  }

  /** This node's registrations but internal ones, for the service registry (cleared by close). */
  get localTopics(): LocalTopicsView {
    return this.topics;
  }

  /** How many of this node's requests to `node` (this node included) await an answer. */
  pendingTo(node: string): number {
    return this.pending.countFor(node);
  }

  /** How many requests (from peers and from this node) this node's handlers are serving. */
  get servingCount(): number {
    return this.serving.total;
  }

  /**
   * Resolves once no request is being served (at once when none is); rejects with the signal's
   * reason when `signal` aborts first, or is already aborted.
   */
  whenIdle(signal?: AbortSignal): Promise<void> {
    return this.serving.whenIdle(signal);
  }

  /**
   * Registers the request handler of `topic`; one per topic. It answers requests and also
   * receives one-way messages and broadcasts (before the topic's subscribers). For a request, the
   * handler's return value (awaited when a promise) is the response, and what it throws or
   * rejects with reaches the requester as a {@link RemoteError}. For a one-way message the return
   * value is ignored and failures are logged (rate-limited), never left as unhandled rejections.
   * @returns a function that unregisters it (and does nothing once another handler replaced it).
   * @throws DuplicateHandlerError when the topic has a handler; InvalidTopicError for a bad topic
   * or one on {@link RESERVED_TOPIC_PREFIX} (`reason: 'reserved'`); MessagingClosedError once
   * closed.
   */
  on<T = unknown>(
    topic: string,
    handler: MessageHandler<T>,
    options?: HandlerRegistrationOptions,
  ): () => void {
    this.checkOpen();
    checkHandlerRegistration(topic, handler, options);
    if (this.handlers.has(topic))
      throw new DuplicateHandlerError(MessagingMessages.duplicateHandler(topic), { topic });
    // The payload is whatever the peer sent: typing it is the caller's promise, as in `request<T>`.
    const stored = handler as MessageHandler;
    this.handlers.set(topic, stored);
    const announced = options?.internal !== true;
    if (announced) this.topics.add(topic, 'handler');
    return () => {
      if (this.handlers.get(topic) !== stored) return;
      this.handlers.delete(topic);
      if (announced) this.topics.remove(topic, 'handler');
    };
  }

  /**
   * Adds a subscriber of `topic`: it receives one-way messages and broadcasts, after the request
   * handler and the earlier subscribers, never requests (a request to a topic with subscribers
   * only is answered `ERR_NO_HANDLER`). A topic may have any number. Every receiver of a message
   * gets the same decoded payload: none may change it. A subscriber that throws or rejects is
   * logged and the others still run. Removing a subscriber while a message is being dispatched
   * is safe; that message still reaches every subscriber it started with.
   * @returns a function that removes this subscriber (idempotent).
   * @throws InvalidTopicError for a bad or reserved topic; InvalidConfigError when `handler` is not
   * a function; MessagingClosedError once closed.
   */
  subscribe<T = unknown>(
    topic: string,
    handler: MessageHandler<T>,
    options?: HandlerRegistrationOptions,
  ): () => void {
    this.checkOpen();
    checkHandlerRegistration(topic, handler, options);
    // Wrapped so that the same function subscribed twice is removed one registration at a time.
    const stored: MessageHandler = (payload, context) => handler(payload as T, context);
    this.subscribers.set(topic, [...(this.subscribers.get(topic) ?? []), stored]);
    const announced = options?.internal !== true;
    if (announced) this.topics.add(topic, 'subscriber');
    return () => {
      const current = this.subscribers.get(topic);
      if (current === undefined || !current.includes(stored)) return;
      const rest = current.filter(h => h !== stored);
      if (rest.length === 0) this.subscribers.delete(topic);
      else this.subscribers.set(topic, rest);
      if (announced) this.topics.remove(topic, 'subscriber');
    };
  }

  /**
   * Sends a one-way message: synchronous, no promise, no answer. Delivery is best effort (a
   * message queued to a node that then goes down is lost).
   * @throws the transport's error (`QueueFullError`, `NodeDownError`, `MessageTooLargeError`);
   * PayloadError when the payload cannot be encoded (these four with `node` and `topic` set);
   * InvalidTopicError; MessagingClosedError.
   */
  send(node: string, topic: string, payload: unknown): void {
    this.checkOpen();
    checkTopic(topic, SENDABLE);
    const scope = this.instrumentation.outgoing(node, topic, 'oneWay', 'send');
    if (scope === undefined) this.delivery.send(node, topic, payload);
    else endOneWay(scope, () => this.delivery.send(node, topic, payload, scope.headers));
  }

  /**
   * Sends a one-way message to every connected member but self, or only to the nodes listed in
   * `options.nodes`, encoding the payload once. A listed node that is not a connected member is
   * skipped; this node may be listed, and then gets the message too, locally and asynchronously.
   * A member whose transport refuses the message is skipped and logged (rate-limited).
   * @returns how many nodes the message was queued for.
   * @throws PayloadError when the payload cannot be encoded; InvalidTopicError;
   * InvalidConfigError for `nodes` not an array of node names; MessagingClosedError once closed.
   */
  broadcast(topic: string, payload: unknown, options?: BroadcastOptions): number {
    this.checkOpen();
    checkTopic(topic, SENDABLE);
    const scope = this.instrumentation.outgoing('*', topic, 'oneWay', 'broadcast');
    if (scope === undefined) return this.delivery.broadcast(topic, payload, options);
    return endOneWay(scope, () => this.delivery.broadcast(topic, payload, options, scope.headers));
  }

  /**
   * Sends a request and resolves with the handler's answer on `node`.
   * Rejects with RequestTimeoutError, RemoteError, NodeDownError (also when the node goes down
   * while the request is pending), QueueFullError, TooManyRequestsError, RequestAbortedError,
   * PayloadError (request or response not encodable/decodable), InvalidTopicError,
   * InvalidConfigError (bad `timeoutMs`) or MessagingClosedError. Errors raised before the
   * request is sent (by the transport, the codec or the pending-request limit) name `node` and
   * `topic`, as those of a pending request do.
   */
  request<T = unknown>(
    node: string,
    topic: string,
    payload: unknown,
    options?: RequestOptions,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.startRequest(node, topic, payload, options, resolve as (value: unknown) => void, reject);
    });
  }

  /**
   * Asks `topic` of every connected member (hidden nodes are never members), or of
   * `options.nodes`, at once: the payload is encoded once and every request has the same
   * timeout. Resolves with one result per node, in the order of `options.nodes` (else of the
   * sorted member names), this node first with `includeSelf`: `{ node, ok: true, value }` or
   * `{ node, ok: false, error }`. It never rejects because of a node: a listed node that is not a
   * connected member gets a NodeDownError without being asked, one that goes down during the call
   * gets its NodeDownError at once, and a refusal of the transport or of `maxPendingRequests` is
   * that node's result. No targets resolves `[]`.
   *
   * Rejects, asking nobody, with InvalidTopicError, InvalidConfigError (`timeoutMs`, `nodes`,
   * `includeSelf`), RequestAbortedError (`signal` already aborted; `node` is `'*'`),
   * PayloadError (the payload cannot be encoded; `node` is `'*'`) or MessagingClosedError.
   */
  requestAll<T = unknown>(
    topic: string,
    payload: unknown,
    options?: RequestAllOptions,
  ): Promise<RequestAllResult<T>[]> {
    return requestAll<T>(this.requestAllDriver, topic, payload, options);
  }

  /** Called by the transport for each whole message received from `from`. Never throws. */
  receive(from: string, bytes: Buffer): void {
    try {
      if (this.closed) {
        this.log('debug', `closed|${from}`, MessagingMessages.receivedAfterClose(from));
        return;
      }
      this.counters.received(bytes.length);
      this.dispatcher.receive(from, bytes);
    } catch (error) {
      this.log('warn', `receive|${from}`, MessagingMessages.receiveFailed(from, error));
    }
  }

  /**
   * Fails every request pending on `node` at once with ERR_NODE_DOWN, naming the node and the
   * request's topic, and aborts the `signal` of every request from `node` this node is serving,
   * with a NodeDownError as the reason (the transport calls it when the node goes down or is
   * replaced by a new incarnation).
   */
  nodeDown(node: string): void {
    this.pending.failNode(node);
    this.serving.nodeDown(
      node,
      topic => new NodeDownError(MessagingMessages.requesterDown(node, topic), { node, topic }),
    );
  }

  /**
   * Fails everything pending with MessagingClosedError (`ERR_CLUSTER_STOPPED`), aborts the
   * `signal` of every request being served with one, and refuses new calls; answers of handlers
   * still running are dropped. {@link localTopics} is emptied without notifying its watchers (the
   * service registry closes first). Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const closed = () => new MessagingClosedError(MessagingMessages.closed());
    this.pending.failAll(closed);
    this.serving.close(closed);
    this.handlers.clear();
    this.subscribers.clear();
    this.topics.clear();
  }

  private startRequest(
    node: string,
    topic: string,
    payload: unknown,
    options: RequestOptions | undefined,
    resolve: (value: unknown) => void,
    reject: (error: Error) => void,
  ): void {
    const timeoutMs = this.prepareRequest(topic, options);
    const signal = options?.signal;
    const scope = this.instrumentation.outgoing(node, topic, 'request', 'request');
    try {
      this.pending.admit(node, topic, signal);
      this.delivery.checkRoom(node, payload);
      const body = encodePayload(this.codec, payload);
      this.openEncoded(node, topic, body, timeoutMs, signal, resolve, reject, scope);
    } catch (error) {
      const failure = withRequest(error, node, topic);
      endRefused(this.counters, scope, failure);
      throw failure;
    }
  }

  /** Checks what a request or a requestAll is refused for before any node; returns the timeout. */
  private prepareRequest(topic: string, options: RequestOptions | undefined): number {
    this.checkOpen();
    checkTopic(topic, SENDABLE);
    return options?.timeoutMs === undefined
      ? this.defaultTimeoutMs
      : checkTimeout('timeoutMs', options.timeoutMs);
  }

  /**
   * Opens an admitted request whose payload is encoded, and sends it; throws what `deliver` does.
   * The fields of an `EncodedRequest`, one by one: no object per request.
   */
  private openEncoded(
    node: string,
    topic: string,
    body: Buffer[],
    timeoutMs: number,
    signal: AbortSignal | undefined,
    resolve: (value: unknown) => void,
    reject: (error: Error) => void,
    scope: OutgoingScope | undefined,
  ): number {
    const id = this.pending.open(node, topic, timeoutMs, signal, resolve, reject, scope);
    try {
      this.delivery.deliver(node, EnvelopeKind.Request, id, topic, body, scope?.headers);
    } catch (error) {
      this.pending.drop(id);
      throw error;
    }
    return id;
  }

  private checkOpen(): void {
    if (this.closed) throw new MessagingClosedError(MessagingMessages.closed());
  }
}
