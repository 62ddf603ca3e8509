/**
 * The contract of the {@link Messaging} facade with its dist and its users: the transport that
 * moves the bytes, the options and their defaults, and the options and checks of a handler
 * registration.
 */
import { type ClusterLogger, InvalidConfigError, checkMilliseconds } from '../../core/index.js';
import { MessagingMessages } from './messaging.messages.js';
import type { PayloadCodec, PayloadCodecKind } from './payload-codec.js';
import type { RequestIdAllocator } from './pending-requests.js';
import { checkTopic } from './topic.js';

/**
 * Moves the bytes of whole messages between nodes. Implemented by each dist.
 *
 * Messaging may call `send` from within {@link Messaging.receive} (to answer a request), and it
 * passes the same `parts` array to several nodes in a broadcast: a transport must neither modify
 * the parts nor keep the array beyond writing it.
 *
 * **Per-pair FIFO is required.** Messages from this node to one peer must reach that peer's
 * {@link Messaging.receive} in the order `send` was called for them: a later message to a node
 * never overtakes an earlier one to the same node (messages to different nodes may interleave
 * freely; a message lost because the link went down ends the order, and the node is then
 * reported down). The service registry's drain relies on it: once a peer has acknowledged the
 * withdrawal of this node's topics, every request it routed here before is known to have arrived
 * already. The TCP dist (one ordered connection per pair) and the in-memory dist (deliveries
 * queued in order) keep it; a dist over a broker keeps it by publishing to each peer from one
 * connection on one subject.
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
  /**
   * Whether `node`'s link announced the `headers` capability, i.e. takes envelope kinds 5 and 6
   * (messages with instrumentation headers). Optional: without it, or when it says no, messages
   * to that node go without their headers, as kinds 1 and 2.
   */
  headers?(node: string): boolean;
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

/** Options of {@link Messaging.on} and {@link Messaging.subscribe}. */
export interface HandlerRegistrationOptions {
  /**
   * For the library's own handlers only: allows a topic that starts with
   * {@link RESERVED_TOPIC_PREFIX}. Left out of the published declarations.
   * @internal
   */
  readonly internal?: boolean;
}

/** Defaults of {@link MessagingOptions}. */
export const DEFAULT_MESSAGING_OPTIONS = Object.freeze({
  defaultRequestTimeoutMs: 5_000,
  maxPendingRequests: 100_000,
});

/**
 * Refuses a handler registration the messaging layer would refuse: a bad topic, or a reserved one
 * without `internal` (`ERR_INVALID_TOPIC`), or a handler that is not a function
 * (`ERR_INVALID_CONFIG`).
 * Not exported from the package (the Nest layer checks registrations early with it).
 */
export function checkHandlerRegistration(
  topic: unknown,
  handler: unknown,
  options?: HandlerRegistrationOptions,
): void {
  checkTopic(topic, { allowReserved: options?.internal === true });
  if (typeof handler !== 'function')
    throw new InvalidConfigError(MessagingMessages.handlerInvalid(handler));
}

/**
 * Refuses options without a usable `self` or `transport`.
 * @internal
 */
export function checkSelfAndTransport(options: MessagingOptions): void {
  if (typeof options.self !== 'string' || options.self === '')
    throw new InvalidConfigError(MessagingMessages.selfInvalid(options.self), {
      option: 'self',
    });
  const transport = options.transport as Partial<MessageTransport> | undefined;
  if (!transport || typeof transport.send !== 'function' || typeof transport.members !== 'function')
    throw new InvalidConfigError(MessagingMessages.transportInvalid(options.transport), {
      option: 'transport',
    });
}

/**
 * A timeout a Node timer can wait (fractions allowed, as `setTimeout` takes them).
 * @internal
 */
export function checkTimeout(option: string, value: unknown): number {
  checkMilliseconds(option, value, { integer: false });
  return value;
}
