/**
 * The messaging room shared by every dist: one-way sends, broadcasts, requests with responses,
 * and topic handlers, over an abstract {@link MessageTransport} that only moves bytes. The TCP
 * mesh and the NATS dist each provide a transport and feed received messages to
 * {@link Messaging.receive}.
 */
import { InvalidConfigError } from '../../core/errors.js';
import { type ClusterLogger, consoleLogger } from '../../core/logger.js';
import { CoreMessages } from '../../core/messages.js';
import type { ClusterMessaging, MessageHandler, RequestOptions } from '../../core/strategy.js';
import {
  type Envelope,
  EnvelopeKind,
  MAX_TOPIC_BYTES,
  decodeEnvelope,
  encodeEnvelope,
} from './envelope.js';
import {
  DuplicateHandlerError,
  InvalidTopicError,
  MessagingClosedError,
  NodeDownError,
  PayloadError,
  RemoteError,
  type RemoteErrorCode,
  RequestAbortedError,
  RequestTimeoutError,
  TooManyRequestsError,
} from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';
import { type PayloadCodec, type PayloadCodecKind, createPayloadCodec } from './payload-codec.js';

/**
 * Moves the bytes of whole messages between nodes. Implemented by each dist.
 *
 * Messaging may call `send` from within {@link Messaging.receive} (to answer a request), and it
 * passes the same `parts` array to several nodes in a broadcast: a transport must neither modify
 * the parts nor keep the array beyond writing it.
 */
export interface MessageTransport {
  /**
   * Queues one message (the parts of an envelope) for `node`. Throws a typed error (e.g.
   * ERR_QUEUE_FULL from the transport, ERR_NODE_DOWN when not connected) synchronously; never
   * blocks.
   */
  send(node: string, parts: Buffer[]): void;
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

/** Longest timeout Node's timers honour (about 24.8 days); longer ones would fire at once. */
const MAX_TIMEOUT_MS = 0x7fff_ffff;

/**
 * Hands out uint32 request ids in order, wrapping around after 4294967295 and skipping ids still
 * in use.
 * @internal
 */
export class RequestIdAllocator {
  constructor(
    /** The next id to try. */
    public next = 1,
  ) {}

  /** Returns the first id from `next` on for which `inUse` is false. */
  take(inUse: (id: number) => boolean): number {
    let id = this.next >>> 0;
    while (inUse(id)) id = (id + 1) >>> 0;
    this.next = (id + 1) >>> 0;
    return id;
  }
}

interface PendingRequest {
  readonly id: number;
  readonly node: string;
  readonly topic: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The wire form of an error response's body (JSON, whatever the payload codec). */
interface WireError {
  readonly code: RemoteErrorCode;
  readonly name: string;
  readonly message: string;
  readonly remoteCode?: string;
}

/** Longest error name and message carried in an error response. */
const MAX_ERROR_NAME = 256;
const MAX_ERROR_MESSAGE = 8 * 1024;

/** At most one log per key and interval; counts what it suppressed. Bounded in keys. */
class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs = 10_000,
    private readonly maxKeys = 1_000,
  ) {}

  /** The count of suppressed messages to report when `key` may log now, `-1` otherwise. */
  allow(key: string): number {
    const now = performance.now();
    const entry = this.last.get(key);
    if (entry !== undefined && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return -1;
    }
    if (entry === undefined && this.last.size >= this.maxKeys) this.last.clear();
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(key, { at: now, suppressed: 0 });
    return suppressed;
  }
}

/**
 * Request/response, one-way sends and broadcasts between the nodes of a cluster, by topic.
 *
 * - Every request has a timeout (never hangs): {@link RequestTimeoutError}. A response arriving
 *   later is dropped.
 * - Failures of the remote handler come back as {@link RemoteError} (`ERR_REMOTE_HANDLER` with
 *   the remote error's name, message and code; `ERR_NO_HANDLER`).
 * - Transport errors (`ERR_QUEUE_FULL`, `ERR_NODE_DOWN`) are thrown by `send` and reject
 *   `request` at once.
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
  private readonly maxPending: number;
  private readonly ids: RequestIdAllocator;
  private readonly handlers = new Map<string, MessageHandler>();
  private readonly pending = new Map<number, PendingRequest>();
  private readonly pendingByNode = new Map<string, Set<PendingRequest>>();
  private readonly logLimiter = new LogLimiter();
  private closed = false;

  /** @throws InvalidConfigError naming the option that is wrong. */
  constructor(options: MessagingOptions) {
    if (typeof options.self !== 'string' || options.self === '')
      throw new InvalidConfigError(
        CoreMessages.invalidOption('self', options.self, 'a node name, "name@host"'),
      );
    const transport = options.transport as Partial<MessageTransport> | undefined;
    if (
      !transport ||
      typeof transport.send !== 'function' ||
      typeof transport.members !== 'function'
    )
      throw new InvalidConfigError(
        CoreMessages.invalidOption(
          'transport',
          options.transport,
          'an object with send() and members() methods',
        ),
      );
    this.self = options.self;
    this.transport = options.transport;
    this.codec = createPayloadCodec(options.codec ?? 'msgpack');
    this.defaultTimeoutMs = checkTimeout(
      'defaultRequestTimeoutMs',
      options.defaultRequestTimeoutMs ?? DEFAULT_MESSAGING_OPTIONS.defaultRequestTimeoutMs,
    );
    const maxPending = options.maxPendingRequests ?? DEFAULT_MESSAGING_OPTIONS.maxPendingRequests;
    if (!Number.isInteger(maxPending) || maxPending < 1 || maxPending > 0x7fff_ffff)
      throw new InvalidConfigError(
        CoreMessages.invalidOption(
          'maxPendingRequests',
          options.maxPendingRequests,
          'an integer from 1 to 2147483647',
        ),
      );
    this.maxPending = maxPending;
    this.logger = options.logger ?? consoleLogger(`Messaging:${this.self}`);
    this.ids = options.requestIds ?? new RequestIdAllocator();
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
    if (this.closed) throw new MessagingClosedError();
    checkTopic(topic);
    if (typeof handler !== 'function')
      throw new InvalidConfigError(MessagingMessages.handlerInvalid(handler));
    if (this.handlers.has(topic)) throw new DuplicateHandlerError(topic);
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
   * @throws the transport's error (`QueueFullError`, `NodeDownError`); PayloadError when the
   * payload cannot be encoded; InvalidTopicError; MessagingClosedError once closed.
   */
  send(node: string, topic: string, payload: unknown): void {
    if (this.closed) throw new MessagingClosedError();
    checkTopic(topic);
    this.deliver(node, EnvelopeKind.Send, 0, topic, this.encodePayload(payload));
  }

  /**
   * Sends a one-way message to every connected member but self, encoding the payload once.
   * A member whose transport refuses the message is skipped and logged (rate-limited).
   * @returns how many members the message was queued for.
   * @throws PayloadError when the payload cannot be encoded; InvalidTopicError;
   * MessagingClosedError once closed.
   */
  broadcast(topic: string, payload: unknown): number {
    if (this.closed) throw new MessagingClosedError();
    checkTopic(topic);
    const parts = encodeEnvelope(EnvelopeKind.Send, 0, topic, this.encodePayload(payload));
    let queued = 0;
    for (const node of this.transport.members()) {
      if (node === this.self) continue;
      try {
        this.transport.send(node, parts);
        queued++;
      } catch (error) {
        this.logLimited(
          'warn',
          `broadcast|${node}`,
          MessagingMessages.broadcastFailed(node, topic, error),
        );
      }
    }
    return queued;
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
        this.logLimited('debug', `closed|${from}`, MessagingMessages.receivedAfterClose(from));
        return;
      }
      let envelope: Envelope;
      try {
        envelope = decodeEnvelope(bytes);
      } catch (error) {
        this.logLimited(
          'warn',
          `envelope|${from}`,
          MessagingMessages.badEnvelope(from, (error as Error).message),
        );
        return;
      }
      this.dispatch(from, envelope.kind, envelope.requestId, envelope.topic, envelope.body);
    } catch (error) {
      this.logLimited('warn', `receive|${from}`, MessagingMessages.receiveFailed(from, error));
    }
  }

  /**
   * Fails every request pending on `node` at once with ERR_NODE_DOWN (the transport calls it when
   * the node goes down or is replaced by a new incarnation).
   */
  nodeDown(node: string): void {
    const requests = this.pendingByNode.get(node);
    if (requests === undefined) return;
    for (const request of [...requests]) {
      this.settle(request);
      request.reject(
        new NodeDownError(MessagingMessages.nodeDown(node, request.topic), {
          node,
          topic: request.topic,
        }),
      );
    }
  }

  /**
   * Fails everything pending with MessagingClosedError (`ERR_CLUSTER_STOPPED`) and refuses new
   * calls; answers of handlers still running are dropped. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const request of [...this.pending.values()]) {
      this.settle(request);
      request.reject(new MessagingClosedError());
    }
    this.handlers.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  private startRequest(
    node: string,
    topic: string,
    payload: unknown,
    options: RequestOptions | undefined,
    resolve: (value: unknown) => void,
    reject: (error: Error) => void,
  ): void {
    if (this.closed) throw new MessagingClosedError();
    checkTopic(topic);
    const timeoutMs =
      options?.timeoutMs === undefined
        ? this.defaultTimeoutMs
        : checkTimeout('timeoutMs', options.timeoutMs);
    const signal = options?.signal;
    if (signal?.aborted) throw new RequestAbortedError(node, topic, signal.reason);
    if (this.pending.size >= this.maxPending) throw new TooManyRequestsError(this.maxPending);
    const body = this.encodePayload(payload);
    const id = this.ids.take(taken => this.pending.has(taken));
    const request: PendingRequest = {
      id,
      node,
      topic,
      resolve,
      reject,
      timer: undefined,
      signal: undefined,
      onAbort: undefined,
    };
    this.pending.set(id, request);
    let forNode = this.pendingByNode.get(node);
    if (forNode === undefined) this.pendingByNode.set(node, (forNode = new Set()));
    forNode.add(request);
    request.timer = setTimeout(() => {
      if (this.pending.get(id) !== request) return;
      this.settle(request);
      reject(new RequestTimeoutError(node, topic, timeoutMs));
    }, timeoutMs);
    request.timer.unref();
    if (signal !== undefined) {
      request.signal = signal;
      request.onAbort = () => {
        if (this.pending.get(id) !== request) return;
        this.settle(request);
        reject(new RequestAbortedError(node, topic, signal.reason));
      };
      signal.addEventListener('abort', request.onAbort, { once: true });
    }
    try {
      this.deliver(node, EnvelopeKind.Request, id, topic, body);
    } catch (error) {
      this.settle(request);
      throw error;
    }
  }

  /** Forgets a pending request: its timer, abort listener and index entries. */
  private settle(request: PendingRequest): void {
    if (this.pending.get(request.id) === request) this.pending.delete(request.id);
    const forNode = this.pendingByNode.get(request.node);
    if (forNode !== undefined && forNode.delete(request) && forNode.size === 0)
      this.pendingByNode.delete(request.node);
    if (request.timer !== undefined) clearTimeout(request.timer);
    request.timer = undefined;
    if (request.signal !== undefined && request.onAbort !== undefined)
      request.signal.removeEventListener('abort', request.onAbort);
    request.signal = undefined;
    request.onAbort = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Delivery

  /** Hands a message to the transport, or to this node's own handlers (asynchronously). */
  private deliver(
    node: string,
    kind: EnvelopeKind,
    requestId: number,
    topic: string,
    body: Buffer,
  ): void {
    if (node === this.self) {
      queueMicrotask(() => {
        if (this.closed) return;
        try {
          this.dispatch(this.self, kind, requestId, topic, body);
        } catch (error) {
          this.logLimited(
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

  private dispatch(
    from: string,
    kind: EnvelopeKind,
    requestId: number,
    topic: string,
    body: Buffer,
  ): void {
    switch (kind) {
      case EnvelopeKind.Send:
        return this.onSend(from, topic, body);
      case EnvelopeKind.Request:
        return this.onRequest(from, requestId, topic, body);
      case EnvelopeKind.Response:
      case EnvelopeKind.ErrorResponse:
        return this.onResponse(from, kind, requestId, body);
    }
  }

  private onSend(from: string, topic: string, body: Buffer): void {
    const handler = this.handlers.get(topic);
    if (handler === undefined) {
      this.logLimited(
        'warn',
        `nohandler|${topic}`,
        MessagingMessages.noHandlerForSend(from, topic),
      );
      return;
    }
    let payload: unknown;
    try {
      payload = this.codec.decode(body);
    } catch (error) {
      const why = toPayloadError(error, 'ERR_PAYLOAD_DECODE', this.codec.name).message;
      this.logLimited(
        'warn',
        `payload|${from}`,
        MessagingMessages.sendPayloadRefused(from, topic, why),
      );
      return;
    }
    const failed = (error: unknown): void => {
      this.logLimited(
        'warn',
        `handler|${topic}`,
        MessagingMessages.sendHandlerFailed(from, topic, error),
      );
    };
    invoke(handler, payload, { from, topic }, ignore, failed);
  }

  private onRequest(from: string, requestId: number, topic: string, body: Buffer): void {
    const handler = this.handlers.get(topic);
    if (handler === undefined) {
      this.replyError(from, requestId, {
        code: 'ERR_NO_HANDLER',
        name: 'Error',
        message: MessagingMessages.noHandler(this.self, topic),
      });
      return;
    }
    let payload: unknown;
    try {
      payload = this.codec.decode(body);
    } catch (error) {
      this.replyError(
        from,
        requestId,
        handlerFailure(toPayloadError(error, 'ERR_PAYLOAD_DECODE', this.codec.name)),
      );
      return;
    }
    // Both run in promise callbacks: they must never throw.
    const failed = (error: unknown): void => {
      this.logLimited(
        'debug',
        `handler|${topic}`,
        MessagingMessages.requestHandlerFailed(from, topic, error),
      );
      this.replyError(from, requestId, handlerFailure(error));
    };
    const answered = (value: unknown): void => this.reply(from, requestId, value);
    invoke(handler, payload, { from, topic }, answered, failed);
  }

  private onResponse(from: string, kind: EnvelopeKind, requestId: number, body: Buffer): void {
    const request = this.pending.get(requestId);
    if (request === undefined || request.node !== from) {
      this.logLimited('debug', `late|${from}`, MessagingMessages.lateResponse(from, requestId));
      return;
    }
    this.settle(request);
    if (kind === EnvelopeKind.ErrorResponse) {
      request.reject(parseWireError(request.node, request.topic, body));
      return;
    }
    let value: unknown;
    try {
      value = this.codec.decode(body);
    } catch (error) {
      request.reject(toPayloadError(error, 'ERR_PAYLOAD_DECODE', this.codec.name));
      return;
    }
    request.resolve(value);
  }

  /** Sends a handler's answer; never throws (runs in promise callbacks). */
  private reply(to: string, requestId: number, value: unknown): void {
    if (this.closed) return;
    let body: Buffer;
    try {
      body = this.encodePayload(value);
    } catch (error) {
      this.replyError(to, requestId, handlerFailure(error));
      return;
    }
    this.sendReply(to, EnvelopeKind.Response, requestId, body);
  }

  /** Sends an error response; never throws. */
  private replyError(to: string, requestId: number, error: WireError): void {
    if (this.closed) return;
    let body: Buffer;
    try {
      body = Buffer.from(JSON.stringify(error), 'utf8');
    } catch {
      body = Buffer.from('{}', 'utf8');
    }
    this.sendReply(to, EnvelopeKind.ErrorResponse, requestId, body);
  }

  private sendReply(to: string, kind: EnvelopeKind, requestId: number, body: Buffer): void {
    try {
      this.deliver(to, kind, requestId, '', body);
    } catch (error) {
      this.logLimited('debug', `reply|${to}`, MessagingMessages.replyFailed(to, error));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Helpers

  private encodePayload(value: unknown): Buffer {
    let bytes: unknown;
    try {
      bytes = this.codec.encode(value);
    } catch (error) {
      throw toPayloadError(error, 'ERR_PAYLOAD_ENCODE', this.codec.name);
    }
    if (Buffer.isBuffer(bytes)) return bytes;
    if (bytes instanceof Uint8Array)
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    throw new PayloadError(
      'ERR_PAYLOAD_ENCODE',
      MessagingMessages.codecResult(this.codec.name, typeof bytes),
    );
  }

  private logLimited(level: 'debug' | 'warn', key: string, message: string): void {
    if (level === 'debug' && this.logger.debug === undefined) return;
    const suppressed = this.logLimiter.allow(`${level}|${key}`);
    if (suppressed < 0) return;
    const text = suppressed > 0 ? message + MessagingMessages.suppressed(suppressed) : message;
    try {
      if (level === 'debug') this.logger.debug?.(text);
      else this.logger.warn(text);
    } catch {
      // A failing logger must not break message handling.
    }
  }
}

/** A topic is a non-empty string of at most {@link MAX_TOPIC_BYTES} UTF-8 bytes. */
function checkTopic(topic: unknown): asserts topic is string {
  if (
    typeof topic !== 'string' ||
    topic === '' ||
    // A UTF-16 code unit takes at most 3 UTF-8 bytes: only long topics need counting.
    (topic.length * 3 > MAX_TOPIC_BYTES && Buffer.byteLength(topic, 'utf8') > MAX_TOPIC_BYTES)
  )
    throw new InvalidTopicError(MessagingMessages.topicInvalid(topic, MAX_TOPIC_BYTES));
}

function checkTimeout(option: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0) || value > MAX_TIMEOUT_MS)
    throw new InvalidConfigError(
      CoreMessages.invalidOption(
        option,
        value,
        `a number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`,
      ),
    );
  return value;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function toPayloadError(
  error: unknown,
  code: 'ERR_PAYLOAD_ENCODE' | 'ERR_PAYLOAD_DECODE',
  codec: string,
): PayloadError {
  if (error instanceof PayloadError) return error;
  const why = error instanceof Error ? error.message : String(error);
  return new PayloadError(
    code,
    code === 'ERR_PAYLOAD_ENCODE'
      ? MessagingMessages.encodeFailed(codec, why)
      : MessagingMessages.decodeFailed(codec, why),
    { cause: error },
  );
}

/** What the requester learns of a handler's failure: name, message and code, never the stack. */
function handlerFailure(error: unknown): WireError {
  let name = 'Error';
  let message = '';
  let remoteCode: string | undefined;
  try {
    if (error instanceof Error) {
      name = String(error.name);
      message = String(error.message);
    } else if (typeof error === 'object' && error !== null) {
      const { name: n, message: m } = error as { name?: unknown; message?: unknown };
      if (typeof n === 'string') name = n;
      message = typeof m === 'string' ? m : safeJson(error);
    } else {
      message = String(error);
    }
    if (typeof error === 'object' && error !== null) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' || typeof code === 'number') remoteCode = String(code);
    }
  } catch {
    message = 'unprintable error';
  }
  return {
    code: 'ERR_REMOTE_HANDLER',
    name: name.slice(0, MAX_ERROR_NAME),
    message: message.slice(0, MAX_ERROR_MESSAGE),
    ...(remoteCode === undefined ? {} : { remoteCode: remoteCode.slice(0, MAX_ERROR_NAME) }),
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Reads an error response's body; whatever it holds, the result is a RemoteError. */
function parseWireError(node: string, topic: string, body: Buffer): RemoteError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const fields = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<
    string,
    unknown
  >;
  const text = (value: unknown, max: number): string | undefined =>
    typeof value === 'string' ? value.slice(0, max) : undefined;
  const code: RemoteErrorCode =
    fields.code === 'ERR_NO_HANDLER' ? 'ERR_NO_HANDLER' : 'ERR_REMOTE_HANDLER';
  const remoteCode = text(fields.remoteCode, MAX_ERROR_NAME);
  return new RemoteError(code, node, topic, {
    remoteName: text(fields.name, MAX_ERROR_NAME) ?? 'Error',
    remoteMessage: text(fields.message, MAX_ERROR_MESSAGE) ?? '',
    ...(remoteCode === undefined ? {} : { remoteCode }),
  });
}

const ignore = (): void => undefined;

/**
 * Calls a handler: its value (awaited when it is a promise) goes to `answered`, a throw or a
 * rejection to `failed`. Neither callback may throw.
 */
function invoke(
  handler: MessageHandler,
  payload: unknown,
  context: { readonly from: string; readonly topic: string },
  answered: (value: unknown) => void,
  failed: (error: unknown) => void,
): void {
  let result: unknown;
  try {
    result = handler(payload, context);
  } catch (error) {
    failed(error);
    return;
  }
  if (isThenable(result)) Promise.resolve(result).then(answered, failed);
  else answered(result);
}
