/**
 * The messaging room shared by every dist: one-way sends, broadcasts, requests with responses,
 * and topic handlers, over an abstract {@link MessageTransport} that only moves bytes. A dist that
 * carries messages (today the TCP dist) provides a transport and feeds received messages to
 * {@link Messaging.receive}. This file is the public facade; what happens to a received message
 * is in `dispatch.ts`, the requests awaiting an answer in `pending-requests.ts`.
 */
import {
  type ClusterLogger,
  type ClusterMessaging,
  InvalidConfigError,
  type LogFields,
  type MessageHandler,
  RateLimitedLog,
  type RequestOptions,
  asStructuredLogger,
  checkInteger,
  checkMilliseconds,
  consoleLogger,
  logsAt,
} from '../../core/index.js';
import { type DispatchLogLevel, Dispatcher } from './dispatch.js';
import { type Envelope, EnvelopeKind, decodeEnvelope, encodeEnvelope } from './envelope.js';
import { DuplicateHandlerError, MessagingClosedError } from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';
import {
  type PayloadCodec,
  type PayloadCodecKind,
  createPayloadCodec,
  encodePayload,
  encodedSizeLowerBound,
  structuredLimit,
} from './payload-codec.js';
import { PendingRequests, RequestIdAllocator } from './pending-requests.js';
import { checkTopic } from './topic.js';

/**
 * Moves the bytes of whole messages between nodes. Implemented by each dist.
 *
 * Messaging may call `send` from within {@link Messaging.receive} (to answer a request), and it
 * passes the same `parts` array to several nodes in a broadcast: a transport must neither modify
 * the parts nor keep the array beyond writing it.
 */
export interface MessageTransport {
  /**
   * Queues one message (the parts of an envelope) for `node`. Throws a typed error synchronously
   * (a `QueueFullError`, or a `NodeDownError` naming `node` when it is not connected); never
   * blocks.
   */
  send(node: string, parts: Buffer[]): void;
  /**
   * Throws what `send` would throw for a message of at least `minBytes` bytes to `node`
   * (`NodeDownError`, `MessageTooLargeError`, `QueueFullError`), so that a send bound to be
   * refused is refused before its payload is encoded. Optional: without it, the payload is
   * encoded and `send` decides.
   */
  check?(node: string, minBytes: number): void;
  /** Connected member nodes (for broadcast). */
  members(): readonly string[];
}

/** Options of {@link Messaging}. */
export interface MessagingOptions {
  /** This node's canonical name: messages to it are delivered locally. */
  readonly self: string;
  /** Moves the bytes. */
  readonly transport: MessageTransport;
  /** Payload codec; `'msgpack'` (structured clone) by default. All nodes must use the same. */
  readonly codec?: PayloadCodec | PayloadCodecKind;
  /**
   * Largest structured payload (anything but a `Buffer` or typed array), in encoded bytes, sent or
   * received, with the msgpack codec: over it `send`/`request` throw a `PayloadError`
   * `ERR_PAYLOAD_TOO_LARGE` before encoding (a binary payload may go up to the transport's
   * `maxMessageBytes`). Default 2 MiB (about 25–170 ms of encoding or decoding), or
   * `maxMessageBytes` when that is smaller. At most `maxMessageBytes`.
   */
  readonly maxStructuredPayloadBytes?: number;
  /**
   * The transport's largest message, when it has one: `maxStructuredPayloadBytes` may not exceed
   * it, and follows it down when unset.
   */
  readonly maxMessageBytes?: number;
  /** Timeout of a request without its own `timeoutMs`. Default 5000 ms. */
  readonly defaultRequestTimeoutMs?: number;
  /**
   * Most requests awaiting an answer at once; beyond it `request` rejects with
   * `ERR_TOO_MANY_REQUESTS` at once. Default 100 000.
   */
  readonly maxPendingRequests?: number;
  /** Where logs go; a console logger for warnings and errors when unset. */
  readonly logger?: ClusterLogger;
  /**
   * Hands out request ids; tests pass one to start near the uint32 wrap-around.
   * @internal
   */
  readonly requestIds?: RequestIdAllocator;
}

/** Defaults of {@link MessagingOptions}. */
export const DEFAULT_MESSAGING_OPTIONS = Object.freeze({
  defaultRequestTimeoutMs: 5_000,
  maxPendingRequests: 100_000,
});

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
  private readonly logger: ClusterLogger;
  private readonly defaultTimeoutMs: number;
  private readonly handlers = new Map<string, MessageHandler>();
  private readonly pending: PendingRequests;
  private readonly dispatcher: Dispatcher;
  // One line per key every 10 s: a peer sending garbage must not flood the log.
  private readonly logLimit = new RateLimitedLog(10_000, 1_000);
  private closed = false;

  /** @throws InvalidConfigError naming the option that is wrong. */
  constructor(options: MessagingOptions) {
    if (typeof options.self !== 'string' || options.self === '')
      throw new InvalidConfigError(MessagingMessages.selfInvalid(options.self), {
        option: 'self',
      });
    const transport = options.transport as Partial<MessageTransport> | undefined;
    if (
      !transport ||
      typeof transport.send !== 'function' ||
      typeof transport.members !== 'function'
    )
      throw new InvalidConfigError(MessagingMessages.transportInvalid(options.transport), {
        option: 'transport',
      });
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
    this.logger = asStructuredLogger(options.logger ?? consoleLogger(`Messaging:${this.self}`));
    this.pending = new PendingRequests(maxPending, options.requestIds ?? new RequestIdAllocator());
    this.dispatcher = new Dispatcher({
      self: this.self,
      codec: this.codec,
      handlers: this.handlers,
      pending: this.pending,
      isClosed: () => this.closed,
      deliver: (node, kind, requestId, topic, body) =>
        this.deliver(node, kind, requestId, topic, body),
      log: (level, key, message, fields) => this.log(level, key, message, fields),
    });
  }

  /** Requests awaiting an answer. */
  get pendingRequests(): number {
    return this.pending.size;
  }

  /**
   * Registers the handler of `topic`; one per topic. For a request, the handler's return value
   * (awaited when a promise) is the response, and what it throws or rejects with reaches the
   * requester as a {@link RemoteError}. For a one-way message the return value is ignored and
   * failures are logged (rate-limited), never left as unhandled rejections.
   * @returns a function that unregisters it (and does nothing once another handler replaced it).
   * @throws DuplicateHandlerError when the topic has a handler; InvalidTopicError for a bad topic;
   * MessagingClosedError once closed.
   */
  on<T = unknown>(topic: string, handler: MessageHandler<T>): () => void {
    this.checkOpen();
    checkHandlerRegistration(topic, handler);
    if (this.handlers.has(topic))
      throw new DuplicateHandlerError(MessagingMessages.duplicateHandler(topic), { topic });
    // The payload is whatever the peer sent: typing it is the caller's promise, as in `request<T>`.
    const stored = handler as MessageHandler;
    this.handlers.set(topic, stored);
    return () => {
      if (this.handlers.get(topic) === stored) this.handlers.delete(topic);
    };
  }

  /**
   * Sends a one-way message: synchronous, no promise, no answer. Delivery is best effort (a
   * message queued to a node that then goes down is lost).
   * @throws the transport's error (`QueueFullError`, `NodeDownError`, `MessageTooLargeError`);
   * PayloadError when the payload cannot be encoded; InvalidTopicError; MessagingClosedError.
   */
  send(node: string, topic: string, payload: unknown): void {
    this.checkOpen();
    checkTopic(topic, { allowReserved: true });
    this.checkRoom(node, payload);
    this.deliver(node, EnvelopeKind.Send, 0, topic, encodePayload(this.codec, payload));
  }

  /**
   * Sends a one-way message to every connected member but self, encoding the payload once.
   * A member whose transport refuses the message is skipped and logged (rate-limited).
   * @returns how many members the message was queued for.
   * @throws PayloadError when the payload cannot be encoded; InvalidTopicError;
   * MessagingClosedError once closed.
   */
  broadcast(topic: string, payload: unknown): number {
    this.checkOpen();
    checkTopic(topic, { allowReserved: true });
    const targets: string[] = [];
    for (const node of this.transport.members()) {
      if (node === this.self) continue;
      try {
        this.checkRoom(node, payload);
        targets.push(node);
      } catch (error) {
        this.broadcastFailed(node, topic, error);
      }
    }
    // Every member refused already: nothing to encode the payload for.
    if (targets.length === 0) return 0;
    const parts = encodeEnvelope(EnvelopeKind.Send, 0, topic, encodePayload(this.codec, payload));
    let queued = 0;
    for (const node of targets) {
      try {
        this.transport.send(node, parts);
        queued++;
      } catch (error) {
        this.broadcastFailed(node, topic, error);
      }
    }
    return queued;
  }

  private broadcastFailed(node: string, topic: string, error: unknown): void {
    this.log('warn', `broadcast|${node}`, MessagingMessages.broadcastFailed(node, topic, error));
  }

  /**
   * Sends a request and resolves with the handler's answer on `node`.
   * Rejects with RequestTimeoutError, RemoteError, NodeDownError (also when the node goes down
   * while the request is pending), QueueFullError, TooManyRequestsError, RequestAbortedError,
   * PayloadError (request or response not encodable/decodable), InvalidTopicError,
   * InvalidConfigError (bad `timeoutMs`) or MessagingClosedError.
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

  /** Called by the transport for each whole message received from `from`. Never throws. */
  receive(from: string, bytes: Buffer): void {
    try {
      if (this.closed) {
        this.log('debug', `closed|${from}`, MessagingMessages.receivedAfterClose(from));
        return;
      }
      let envelope: Envelope;
      try {
        envelope = decodeEnvelope(bytes);
      } catch (error) {
        this.log(
          'warn',
          `envelope|${from}`,
          MessagingMessages.badEnvelope(from, (error as Error).message),
        );
        return;
      }
      const { kind, requestId, topic, body } = envelope;
      this.dispatcher.dispatch(from, kind, requestId, topic, body);
    } catch (error) {
      this.log('warn', `receive|${from}`, MessagingMessages.receiveFailed(from, error));
    }
  }

  /**
   * Fails every request pending on `node` at once with ERR_NODE_DOWN, naming the node and the
   * request's topic (the transport calls it when the node goes down or is replaced by a new
   * incarnation).
   */
  nodeDown(node: string): void {
    this.pending.failNode(node);
  }

  /**
   * Fails everything pending with MessagingClosedError (`ERR_CLUSTER_STOPPED`) and refuses new
   * calls; answers of handlers still running are dropped. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending.failAll(() => new MessagingClosedError(MessagingMessages.closed()));
    this.handlers.clear();
  }

  private startRequest(
    node: string,
    topic: string,
    payload: unknown,
    options: RequestOptions | undefined,
    resolve: (value: unknown) => void,
    reject: (error: Error) => void,
  ): void {
    this.checkOpen();
    checkTopic(topic, { allowReserved: true });
    const timeoutMs =
      options?.timeoutMs === undefined
        ? this.defaultTimeoutMs
        : checkTimeout('timeoutMs', options.timeoutMs);
    const signal = options?.signal;
    this.pending.admit(node, topic, signal);
    this.checkRoom(node, payload);
    const body = encodePayload(this.codec, payload);
    const id = this.pending.open({ node, topic, timeoutMs, signal, resolve, reject });
    try {
      this.deliver(node, EnvelopeKind.Request, id, topic, body);
    } catch (error) {
      this.pending.drop(id);
      throw error;
    }
  }

  /** Hands a message to the transport, or to this node's own handlers (asynchronously). */
  private deliver(
    node: string,
    kind: EnvelopeKind,
    requestId: number,
    topic: string,
    body: Buffer[],
  ): void {
    if (node === this.self) {
      // One buffer of its own: the receiving handler never shares memory with the sender's value.
      const bytes = Buffer.concat(body);
      queueMicrotask(() => {
        if (this.closed) return;
        try {
          this.dispatcher.dispatch(this.self, kind, requestId, topic, bytes);
        } catch (error) {
          this.log(
            'warn',
            `receive|${this.self}`,
            MessagingMessages.receiveFailed(this.self, error),
          );
        }
      });
      return;
    }
    this.transport.send(node, encodeEnvelope(kind, requestId, topic, body));
  }

  /**
   * Refuses, before encoding, a message the transport is bound to refuse: a full queue, a node
   * down, or a binary payload already over the message limit (its bytes are a lower bound of the
   * message's). Messages to self never reach the transport.
   */
  private checkRoom(node: string, payload: unknown): void {
    if (node === this.self || this.transport.check === undefined) return;
    this.transport.check(node, encodedSizeLowerBound(this.codec, payload));
  }

  private checkOpen(): void {
    if (this.closed) throw new MessagingClosedError(MessagingMessages.closed());
  }

  /** Logs at most one line per level and key every window; a failing logger is ignored. */
  private log(level: DispatchLogLevel, key: string, message: string, fields?: LogFields): void {
    if (!logsAt(this.logger, level)) return;
    this.logLimit.write(`${level}|${key}`, message, text => {
      try {
        if (level === 'debug') this.logger.debug?.(text, fields);
        else this.logger[level](text, fields);
      } catch {
        // A failing logger must not break message handling.
      }
    });
  }
}

/**
 * Refuses a handler registration the messaging layer would refuse: a bad topic
 * (`ERR_INVALID_TOPIC`) or a handler that is not a function (`ERR_INVALID_CONFIG`).
 * @internal
 */
export function checkHandlerRegistration(topic: unknown, handler: unknown): void {
  checkTopic(topic);
  if (typeof handler !== 'function')
    throw new InvalidConfigError(MessagingMessages.handlerInvalid(handler));
}

/** A timeout a Node timer can wait (fractions allowed, as `setTimeout` takes them). */
function checkTimeout(option: string, value: unknown): number {
  checkMilliseconds(option, value, { integer: false });
  return value;
}
