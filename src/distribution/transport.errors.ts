/**
 * Errors every transport throws from `MessageTransport.send`, so callers see the same codes
 * whatever the dist. They live below messaging because the link layer (today the TCP dist) throws
 * them and must not import the layer above it; messaging re-exports them.
 */
import { type ErrorDetails, GenClusterError } from '../core/index.js';

/** Every code raised by a transport. */
export type TransportErrorCode = 'ERR_NODE_DOWN' | 'ERR_QUEUE_FULL';

/** Details of a {@link NodeDownError}. */
export interface NodeDownDetails extends ErrorDetails {
  /** The node concerned: every throw site knows it, and a user needs it. */
  readonly node: string;
  /** The topic of the request that failed, when a pending request failed. */
  readonly topic?: string;
}

/**
 * The node is not connected (thrown by a transport's `send`), or it went down, or was replaced by
 * a new incarnation, while a request to it was pending (`topic` is then set). A transport passes
 * its own text, or `TransportMessages.nodeDown(node)`.
 */
export class NodeDownError extends GenClusterError {
  declare readonly code: 'ERR_NODE_DOWN';
  /** The node concerned. */
  readonly node: string;
  /** The topic of the request that failed, when a pending request failed. */
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
}

/**
 * The transport's queue to a node is full (or a message exceeds its limits); the message was not
 * queued. A transport passes its own text, or `TransportMessages.queueFull(node)`.
 */
export class QueueFullError extends GenClusterError {
  declare readonly code: 'ERR_QUEUE_FULL';
  /** The node whose queue is full, when known. */
  readonly node: string | undefined;

  constructor(message: string, details: QueueFullDetails = {}) {
    super('ERR_QUEUE_FULL', message, details);
    this.node = details.node;
  }
}
