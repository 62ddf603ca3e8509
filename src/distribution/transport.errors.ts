/**
 * Errors every transport throws from `MessageTransport.send`, so callers see the same codes
 * whatever the dist. They live below messaging because the link layer (today the TCP dist) throws
 * them and must not import the layer above it; messaging re-exports them.
 */
import { type ErrorDetails, GenClusterError } from '../core/index.js';

/** Every code raised by a transport. */
export type TransportErrorCode = 'ERR_NODE_DOWN' | 'ERR_QUEUE_FULL' | 'ERR_MESSAGE_TOO_LARGE';

/** Details of a {@link NodeDownError}. */
export interface NodeDownDetails extends ErrorDetails {
  /** The node concerned: every throw site knows it, and a user needs it. */
  readonly node: string;
  /**
   * The topic of the message concerned: set when a pending request failed, and when messaging
   * passed on the transport's refusal of a send or request.
   */
  readonly topic?: string;
}

/**
 * The node is not connected (thrown by a transport's `send`), or it went down, or was replaced by
 * a new incarnation, while a request to it was pending (`topic` is then set). A transport passes
 * its own text, or `TransportMessages.nodeDown(node)`.
 *
 * `retryable` is `true`: the same message may go through once the node is connected again.
 */
export class NodeDownError extends GenClusterError {
  declare readonly code: 'ERR_NODE_DOWN';
  /**
   * Whether sending the same message again later can succeed: `true` for a transient condition
   * (a full queue, a node down, a timeout), `false` when only a different message or other options
   * can (a message too large).
   */
  readonly retryable = true;
  /** The node concerned. */
  readonly node: string;
  /** The topic of the message concerned, when known (see {@link NodeDownDetails.topic}). */
  readonly topic: string | undefined;

  constructor(message: string, details: NodeDownDetails) {
    super('ERR_NODE_DOWN', message, details);
    this.node = details.node;
    this.topic = details.topic;
  }
}

/** Details of a {@link QueueFullError}. */
export interface QueueFullDetails extends ErrorDetails {
  /** The node whose queue is full, when known. */
  readonly node?: string;
  /** The topic of the message refused, when messaging passed the error on. */
  readonly topic?: string;
}

/**
 * The transport's queue to a node is full; the message was not queued. This is back-pressure:
 * `retryable` is `true`, the same message fits once the queue drains. A transport passes its own
 * text, or `TransportMessages.queueFull(node)`.
 */
export class QueueFullError extends GenClusterError {
  declare readonly code: 'ERR_QUEUE_FULL';
  /** Whether sending the same message again later can succeed: always `true` here. */
  readonly retryable = true;
  /** The node whose queue is full, when known. */
  readonly node: string | undefined;
  /** The topic of the message refused, when messaging passed the error on. */
  readonly topic: string | undefined;

  constructor(message: string, details: QueueFullDetails = {}) {
    super('ERR_QUEUE_FULL', message, details);
    this.node = details.node;
    this.topic = details.topic;
  }
}

/** Details of a {@link MessageTooLargeError}. */
export interface MessageTooLargeDetails extends ErrorDetails {
  /** The node the message was for. */
  readonly node: string;
  /**
   * The message's size in bytes; when refused before encoding, a lower bound of it (the bytes of
   * a binary payload, which its encoding can only add to).
   */
  readonly bytes: number;
  /** The largest message the transport accepts, in bytes (`maxMessageBytes`). */
  readonly limit: number;
  /** The topic of the message refused, when messaging passed the error on. */
  readonly topic?: string;
}

/**
 * The message is larger than the transport's message limit; it was not queued, and the payload
 * may not have been encoded at all (a binary payload already over the limit is refused before).
 * `retryable` is `false`: the same message is refused every time, so a caller that retries on
 * back-pressure ({@link QueueFullError}) must not retry this one; send less, or raise the limit.
 * A transport passes its own text, or `TransportMessages.messageTooLarge(node, bytes, limit)`.
 */
export class MessageTooLargeError extends GenClusterError {
  declare readonly code: 'ERR_MESSAGE_TOO_LARGE';
  /** Whether sending the same message again can succeed: never. */
  readonly retryable = false;
  /** The node the message was for. */
  readonly node: string;
  /** The message's size in bytes (a lower bound when refused before encoding). */
  readonly bytes: number;
  /** The largest message accepted, in bytes. */
  readonly limit: number;
  /** The topic of the message refused, when messaging passed the error on. */
  readonly topic: string | undefined;

  constructor(message: string, details: MessageTooLargeDetails) {
    super('ERR_MESSAGE_TOO_LARGE', message, details);
    this.node = details.node;
    this.bytes = details.bytes;
    this.limit = details.limit;
    this.topic = details.topic;
  }
}
