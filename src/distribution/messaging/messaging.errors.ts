/**
 * Errors of the messaging layer, each with a stable `code` (see {@link GenClusterError}). Texts
 * live in `messaging.messages.ts`. The transport errors ({@link QueueFullError},
 * {@link NodeDownError}) are defined below messaging, in `../transport.errors.ts`, and re-exported
 * here because messaging passes them on to its callers.
 */
import { GenClusterError } from '../../core/errors.js';
import type { TransportErrorCode } from '../transport.errors.js';
import { MessagingMessages } from './messaging.messages.js';

export {
  NodeDownError,
  type NodeDownDetails,
  QueueFullError,
  type QueueFullDetails,
  type TransportErrorCode,
} from '../transport.errors.js';

/** Codes of a payload that cannot be encoded or decoded. */
export type PayloadErrorCode = 'ERR_PAYLOAD_ENCODE' | 'ERR_PAYLOAD_DECODE' | 'ERR_PAYLOAD_TOO_DEEP';

/** Codes of a {@link RemoteError}. */
export type RemoteErrorCode = 'ERR_REMOTE_HANDLER' | 'ERR_NO_HANDLER';

/** Every code raised by the messaging layer. */
export type MessagingErrorCode =
  | PayloadErrorCode
  | RemoteErrorCode
  | 'ERR_REQUEST_TIMEOUT'
  | 'ERR_REQUEST_ABORTED'
  | TransportErrorCode
  | 'ERR_DUPLICATE_HANDLER'
  | 'ERR_TOO_MANY_REQUESTS'
  | 'ERR_BAD_ENVELOPE'
  | 'ERR_INVALID_TOPIC'
  | 'ERR_CLUSTER_STOPPED';

/** A request got no answer in time. The remote handler may still have run. */
export class RequestTimeoutError extends GenClusterError {
  constructor(
    /** The node asked. */
    readonly node: string,
    /** The request's topic. */
    readonly topic: string,
    /** The timeout that passed, in milliseconds. */
    readonly timeoutMs: number,
  ) {
    super('ERR_REQUEST_TIMEOUT', MessagingMessages.requestTimeout(node, topic, timeoutMs));
  }
}

/** A request was abandoned because its `AbortSignal` fired; the reason is the `cause`. */
export class RequestAbortedError extends GenClusterError {
  constructor(
    readonly node: string,
    readonly topic: string,
    reason: unknown,
  ) {
    super('ERR_REQUEST_ABORTED', MessagingMessages.requestAborted(node, topic), { cause: reason });
  }
}

/** What a remote node reported about a failed request, as carried on the wire. */
export interface RemoteErrorDetails {
  /** `name` of the error the remote handler threw (`"TypeError"`, `"PayloadError"`…). */
  readonly remoteName: string;
  /** `message` of that error. */
  readonly remoteMessage: string;
  /** `code` of that error, when it had a string (or numeric) one. */
  readonly remoteCode?: string;
}

/**
 * The remote side of a request failed: its handler threw or rejected (`ERR_REMOTE_HANDLER`), or it
 * has no handler for the topic (`ERR_NO_HANDLER`). A request the remote could not decode, or whose
 * answer it could not encode, is an `ERR_REMOTE_HANDLER` with `remoteName` `"PayloadError"` and
 * `remoteCode` `ERR_PAYLOAD_*`.
 *
 * Only the remote error's name, message and code cross the wire, never its stack: a stack shows a
 * node's file layout and internals, and it would mean nothing on this node anyway. The remote node
 * logs the failure (at debug level) if its stack is needed.
 */
export class RemoteError extends GenClusterError implements RemoteErrorDetails {
  readonly remoteName: string;
  readonly remoteMessage: string;
  readonly remoteCode: string | undefined;

  constructor(
    code: RemoteErrorCode,
    /** The node that answered. */
    readonly node: string,
    /** The request's topic. */
    readonly topic: string,
    details: RemoteErrorDetails,
  ) {
    super(
      code,
      code === 'ERR_NO_HANDLER'
        ? MessagingMessages.noHandler(node, topic)
        : MessagingMessages.remoteHandler(
            node,
            topic,
            details.remoteName,
            details.remoteMessage,
            details.remoteCode,
          ),
    );
    this.remoteName = details.remoteName;
    this.remoteMessage = details.remoteMessage;
    this.remoteCode = details.remoteCode;
  }
}

/** A payload cannot be encoded, decoded, or is nested too deep. */
export class PayloadError extends GenClusterError {
  declare readonly code: PayloadErrorCode;

  constructor(code: PayloadErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A handler is already registered for the topic. */
export class DuplicateHandlerError extends GenClusterError {
  constructor(readonly topic: string) {
    super('ERR_DUPLICATE_HANDLER', MessagingMessages.duplicateHandler(topic));
  }
}

/** More requests await an answer than `maxPendingRequests` allows; the new one was not sent. */
export class TooManyRequestsError extends GenClusterError {
  constructor(readonly limit: number) {
    super('ERR_TOO_MANY_REQUESTS', MessagingMessages.tooManyRequests(limit));
  }
}

/** Received bytes are not a well-formed envelope, or an envelope cannot be built from the input. */
export class EnvelopeError extends GenClusterError {
  constructor(message: string) {
    super('ERR_BAD_ENVELOPE', message);
  }
}

/** A topic is not a non-empty string of at most 1024 UTF-8 bytes. */
export class InvalidTopicError extends GenClusterError {
  constructor(message: string) {
    super('ERR_INVALID_TOPIC', message);
  }
}

/** Messaging was closed (the cluster is stopping or stopped); nothing more is sent or answered. */
export class MessagingClosedError extends GenClusterError {
  constructor() {
    super('ERR_CLUSTER_STOPPED', MessagingMessages.closed());
  }
}
