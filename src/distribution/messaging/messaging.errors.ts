/**
 * Errors of the messaging layer, each with a stable `code` (see {@link GenClusterError}), built as
 * `new XError(message, details)` with the message from `messaging.messages.ts`. The transport
 * errors ({@link QueueFullError}, {@link NodeDownError}, {@link MessageTooLargeError}) are defined below messaging, in
 * `../transport.errors.ts`, and re-exported here because messaging passes them on to its callers.
 */
import { type ErrorDetails, GenClusterError } from '../../core/index.js';
import type { TransportErrorCode } from '../transport.errors.js';

export {
  MessageTooLargeError,
  type MessageTooLargeDetails,
  NodeDownError,
  type NodeDownDetails,
  QueueFullError,
  type QueueFullDetails,
  type TransportErrorCode,
} from '../transport.errors.js';

/** Codes of a payload that cannot be encoded or decoded. */
export type PayloadErrorCode =
  | 'ERR_PAYLOAD_ENCODE'
  | 'ERR_PAYLOAD_DECODE'
  | 'ERR_PAYLOAD_TOO_DEEP'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_PAYLOAD_TOO_COSTLY';

/** Codes of a {@link RemoteError}. */
export type RemoteErrorCode = 'ERR_REMOTE_HANDLER' | 'ERR_NO_HANDLER';

/** Every code raised by the messaging layer, the transport's included. */
export type MessagingErrorCode =
  | PayloadErrorCode
  | RemoteErrorCode
  | TransportErrorCode
  | 'ERR_REQUEST_TIMEOUT'
  | 'ERR_REQUEST_ABORTED'
  | 'ERR_DUPLICATE_HANDLER'
  | 'ERR_TOO_MANY_REQUESTS'
  | 'ERR_BAD_ENVELOPE'
  | 'ERR_INVALID_TOPIC'
  | 'ERR_CLUSTER_STOPPED';

/** The request a {@link RequestTimeoutError} or {@link RequestAbortedError} is about. */
export interface RequestDetails extends ErrorDetails {
  /** The node asked. */
  readonly node: string;
  /** The request's topic. */
  readonly topic: string;
}

/** Details of a {@link RequestTimeoutError}. */
export interface RequestTimeoutDetails extends RequestDetails {
  /** The timeout that passed, in milliseconds. */
  readonly timeoutMs: number;
}

/**
 * A request got no answer in time. The remote handler may still have run. `retryable` is `true`:
 * a later attempt may be answered (retry only what is safe to run twice).
 */
export class RequestTimeoutError extends GenClusterError {
  declare readonly code: 'ERR_REQUEST_TIMEOUT';
  /** Whether sending the same request again later can succeed: `true`. */
  readonly retryable = true;
  /** The node asked. */
  readonly node: string;
  /** The request's topic. */
  readonly topic: string;
  /** The timeout that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(message: string, details: RequestTimeoutDetails) {
    super('ERR_REQUEST_TIMEOUT', message, details);
    this.node = details.node;
    this.topic = details.topic;
    this.timeoutMs = details.timeoutMs;
  }
}

/**
 * A request was abandoned because its `AbortSignal` fired; the signal's reason is the `cause`.
 * `node` is `'*'` when a `requestAll` was aborted before it asked anyone.
 */
export class RequestAbortedError extends GenClusterError {
  declare readonly code: 'ERR_REQUEST_ABORTED';
  /** The node asked. */
  readonly node: string;
  /** The request's topic. */
  readonly topic: string;

  constructor(message: string, details: RequestDetails) {
    super('ERR_REQUEST_ABORTED', message, details);
    this.node = details.node;
    this.topic = details.topic;
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
  /**
   * The HTTP status the remote handler's error carried (an `HttpException`'s, 400–599), when it
   * had one. Older nodes never send it.
   */
  readonly status?: number;
  /** The response body of that error (JSON, at most 16 KiB), when it had a status. */
  readonly response?: unknown;
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
  declare readonly code: RemoteErrorCode;
  /** The node that answered. */
  readonly node: string;
  /** The request's topic. */
  readonly topic: string;
  readonly remoteName: string;
  readonly remoteMessage: string;
  readonly remoteCode: string | undefined;
  readonly status: number | undefined;
  readonly response: unknown;

  constructor(
    message: string,
    details: RequestDetails & RemoteErrorDetails & { readonly code: RemoteErrorCode },
  ) {
    super(details.code, message, details);
    this.node = details.node;
    this.topic = details.topic;
    this.remoteName = details.remoteName;
    this.remoteMessage = details.remoteMessage;
    this.remoteCode = details.remoteCode;
    this.status = details.status;
    this.response = details.response;
  }
}

/** Details of a {@link PayloadError}. */
export interface PayloadErrorDetails extends ErrorDetails {
  readonly code: PayloadErrorCode;
  /** `ERR_PAYLOAD_TOO_LARGE`: the payload's size, or a lower bound when refused before encoding. */
  readonly bytes?: number;
  /** `ERR_PAYLOAD_TOO_LARGE`: the limit for structured payloads (`maxStructuredPayloadBytes`). */
  readonly limit?: number;
  /** The node a refused send or request was for, when messaging knows it. */
  readonly node?: string;
  /** The topic of a refused send or request, when messaging knows it. */
  readonly topic?: string;
}

/**
 * A payload cannot be encoded or decoded (`ERR_PAYLOAD_ENCODE`, `ERR_PAYLOAD_DECODE`), is nested
 * too deep (`ERR_PAYLOAD_TOO_DEEP`), is a structured payload over `maxStructuredPayloadBytes`
 * (`ERR_PAYLOAD_TOO_LARGE`, with `bytes` and `limit`; a `Buffer` or typed array payload is not
 * held to that limit), or would decode into more objects than its size allows
 * (`ERR_PAYLOAD_TOO_COSTLY`). `retryable` is `false`: the same payload fails every time.
 */
export class PayloadError extends GenClusterError {
  declare readonly code: PayloadErrorCode;
  /** Whether sending the same payload again can succeed: never. */
  readonly retryable = false;
  /** `ERR_PAYLOAD_TOO_LARGE`: the payload's size in bytes (a lower bound when not encoded). */
  readonly bytes: number | undefined;
  /** `ERR_PAYLOAD_TOO_LARGE`: the limit it passed, in bytes. */
  readonly limit: number | undefined;
  /** The node a refused send or request was for, when known. */
  readonly node: string | undefined;
  /** The topic of a refused send or request, when known. */
  readonly topic: string | undefined;

  constructor(message: string, details: PayloadErrorDetails) {
    super(details.code, message, details);
    this.bytes = details.bytes;
    this.limit = details.limit;
    this.node = details.node;
    this.topic = details.topic;
  }
}

/** A handler is already registered for the topic. */
export class DuplicateHandlerError extends GenClusterError {
  declare readonly code: 'ERR_DUPLICATE_HANDLER';
  /** The topic that has a handler already. */
  readonly topic: string;

  constructor(message: string, details: ErrorDetails & { readonly topic: string }) {
    super('ERR_DUPLICATE_HANDLER', message, details);
    this.topic = details.topic;
  }
}

/** Details of a {@link TooManyRequestsError}. */
export interface TooManyRequestsDetails extends ErrorDetails {
  /** The `maxPendingRequests` in force. */
  readonly limit: number;
  /** The node the refused request was for, when messaging knows it. */
  readonly node?: string;
  /** The topic of the refused request, when messaging knows it. */
  readonly topic?: string;
}

/** More requests await an answer than `maxPendingRequests` allows; the new one was not sent. */
export class TooManyRequestsError extends GenClusterError {
  declare readonly code: 'ERR_TOO_MANY_REQUESTS';
  /** The `maxPendingRequests` in force. */
  readonly limit: number;
  /** The node the refused request was for, when known. */
  readonly node: string | undefined;
  /** The topic of the refused request, when known. */
  readonly topic: string | undefined;

  constructor(message: string, details: TooManyRequestsDetails) {
    super('ERR_TOO_MANY_REQUESTS', message, details);
    this.limit = details.limit;
    this.node = details.node;
    this.topic = details.topic;
  }
}

/** Received bytes are not a well-formed envelope, or an envelope cannot be built from the input. */
export class EnvelopeError extends GenClusterError {
  declare readonly code: 'ERR_BAD_ENVELOPE';

  constructor(message: string, details: ErrorDetails = {}) {
    super('ERR_BAD_ENVELOPE', message, details);
  }
}

/** Details of an {@link InvalidTopicError}. */
export interface InvalidTopicDetails extends ErrorDetails {
  /** `'form'`: not a non-empty string of at most 1024 UTF-8 bytes; `'reserved'`: the internal prefix. */
  readonly reason?: 'form' | 'reserved';
  /** The topic refused, when it is a string. */
  readonly topic?: string;
}

/**
 * A topic is not a non-empty string of at most 1024 UTF-8 bytes (`reason: 'form'`), or a handler
 * was to be registered on the prefix reserved for internal topics (`reason: 'reserved'`).
 */
export class InvalidTopicError extends GenClusterError {
  declare readonly code: 'ERR_INVALID_TOPIC';
  /** Why the topic was refused. */
  readonly reason: 'form' | 'reserved';
  /** The topic refused, when it is a string. */
  readonly topic: string | undefined;

  constructor(message: string, details: InvalidTopicDetails = {}) {
    super('ERR_INVALID_TOPIC', message, details);
    this.reason = details.reason ?? 'form';
    this.topic = details.topic;
  }
}

/** Messaging was closed (the cluster is stopping or stopped); nothing more is sent or answered. */
export class MessagingClosedError extends GenClusterError {
  declare readonly code: 'ERR_CLUSTER_STOPPED';

  constructor(message: string, details: ErrorDetails = {}) {
    super('ERR_CLUSTER_STOPPED', message, details);
  }
}
