/**
 * Errors to and from the wire: what a node sends back when a request fails on its side (the body
 * of an error response, JSON whatever the payload codec), and the {@link RemoteError} the
 * requester makes of it. Only name, message and code cross, never a stack, each cut to a bound;
 * a failure a layer above classified ({@link MappedHandlerError}) adds its HTTP status and
 * response body. Whatever the body holds, the requester gets a well-formed `RemoteError`.
 */
import { isIntegerIn } from '../../core/index.js';
import { MappedHandlerError } from './mapped-handler-error.js';
import { RemoteError, type RemoteErrorCode } from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';

/**
 * The wire form of an error response's body. `status` and `response` are optional and additive:
 * a node that predates them reads the other fields only (docs/protocol.md, "Compatibility").
 * @internal
 */
export interface WireError {
  readonly code: RemoteErrorCode;
  readonly name: string;
  readonly message: string;
  readonly remoteCode?: string;
  /** The HTTP status of the handler's error, an integer 400–599. */
  readonly status?: number;
  /** Its response body, JSON of at most {@link MAX_ERROR_RESPONSE_BYTES}; only with `status`. */
  readonly response?: unknown;
}

/** Longest error name (and code) carried in an error response. */
const MAX_ERROR_NAME = 256;
/** Longest error message carried in an error response. */
const MAX_ERROR_MESSAGE = 8 * 1024;
/**
 * Largest response body, JSON-encoded in UTF-8, carried in an error response; a larger one is
 * replaced by `{ statusCode, message }`.
 * @internal
 */
export const MAX_ERROR_RESPONSE_BYTES = 16 * 1024;
/**
 * Largest error-response body a requester parses. What a sender builds stays well below it (the
 * bounds above, escaped), so a larger body is not a legitimate answer: it gives a generic
 * `RemoteError`, without spending a parse on it.
 * @internal
 */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * Whether `value` can be an HTTP status on the wire: an error status, 400–599. A 1xx rethrown by
 * a controller would leave the HTTP client waiting for a final response, and 2xx/3xx are not
 * failures, so neither crosses.
 */
function isHttpStatus(value: unknown): value is number {
  return isIntegerIn(value, 400, 599);
}

/** Drops `__proto__` keys, so a response body cannot swap the prototype of a copy made of it. */
function withoutProto(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

/** Whether a received response body can be written again (a deep nesting cannot: stack overflow). */
function isWritable(response: unknown): boolean {
  try {
    JSON.stringify(response);
    return true;
  } catch {
    return false;
  }
}

/**
 * What the requester learns of a handler's failure: name, message and code, never the stack; for
 * a {@link MappedHandlerError}, those of the error it wraps plus its status and response.
 * @internal
 */
export function handlerFailure(thrown: unknown): WireError {
  const mapped = thrown instanceof MappedHandlerError ? thrown : undefined;
  const error = mapped === undefined ? thrown : mapped.error;
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
    message = MessagingMessages.unprintableError();
  }
  message = message.slice(0, MAX_ERROR_MESSAGE);
  const status = mapped !== undefined && isHttpStatus(mapped.status) ? mapped.status : undefined;
  return {
    code: 'ERR_REMOTE_HANDLER',
    name: name.slice(0, MAX_ERROR_NAME),
    message,
    ...(remoteCode === undefined ? {} : { remoteCode: remoteCode.slice(0, MAX_ERROR_NAME) }),
    ...(status === undefined ? {} : { status }),
    ...(status === undefined || mapped?.response === undefined
      ? {}
      : { response: boundedResponse(mapped.response, status, message) }),
  };
}

/**
 * `response` as it crosses: a JSON copy of it when it encodes to at most
 * {@link MAX_ERROR_RESPONSE_BYTES}, else (a cycle, a BigInt, a throwing `toJSON`, too large)
 * `{ statusCode, message }`, the body Nest builds for an exception without one.
 */
function boundedResponse(response: unknown, status: number, message: string): unknown {
  try {
    const json = JSON.stringify(response);
    // A copy, so what was measured is what is sent (a getter or toJSON may answer differently).
    if (json !== undefined && Buffer.byteLength(json, 'utf8') <= MAX_ERROR_RESPONSE_BYTES)
      return JSON.parse(json) as unknown;
  } catch {
    // Not JSON-serializable: the fallback below.
  }
  return { statusCode: status, message };
}

/**
 * The answer of a node that has no handler for `topic` (`self` is that node).
 * @internal
 */
export function noHandlerFailure(self: string, topic: string): WireError {
  return {
    code: 'ERR_NO_HANDLER',
    name: 'Error',
    message: MessagingMessages.noHandler(self, topic),
  };
}

/**
 * The body of an error response, at most {@link MAX_ERROR_BODY_BYTES}. Never throws.
 * @internal
 */
export function encodeWireError(error: WireError): Buffer {
  try {
    const body = Buffer.from(JSON.stringify(error), 'utf8');
    if (body.length <= MAX_ERROR_BODY_BYTES || error.response === undefined) return body;
    // Only a message and a response that both escape to several bytes a character get here; the
    // requester rebuilds `{ statusCode, message }` from what is left.
    return Buffer.from(JSON.stringify({ ...error, response: undefined }), 'utf8');
  } catch {
    return Buffer.from('{}', 'utf8');
  }
}

/**
 * Reads an error response's body from `node`, the answer to a request on `topic`; whatever the
 * body holds, the result is a {@link RemoteError}. `status` is kept only as an integer 400–599,
 * and `response` only with such a status; a body over {@link MAX_ERROR_BODY_BYTES} is not read.
 * @internal
 */
export function parseWireError(node: string, topic: string, body: Buffer): RemoteError {
  let parsed: unknown;
  try {
    parsed =
      body.length > MAX_ERROR_BODY_BYTES
        ? undefined
        : (JSON.parse(body.toString('utf8'), withoutProto) as unknown);
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
  const remoteName = text(fields.name, MAX_ERROR_NAME) ?? 'Error';
  const remoteMessage = text(fields.message, MAX_ERROR_MESSAGE) ?? '';
  const remoteCode = text(fields.remoteCode, MAX_ERROR_NAME);
  const status =
    code === 'ERR_REMOTE_HANDLER' && isHttpStatus(fields.status) ? fields.status : undefined;
  const message =
    code === 'ERR_NO_HANDLER'
      ? MessagingMessages.noHandler(node, topic)
      : MessagingMessages.remoteHandler(node, topic, remoteName, remoteMessage, remoteCode);
  return new RemoteError(message, {
    code,
    node,
    topic,
    remoteName,
    remoteMessage,
    ...(remoteCode === undefined ? {} : { remoteCode }),
    ...(status === undefined ? {} : { status }),
    ...(status === undefined || fields.response === undefined || !isWritable(fields.response)
      ? {}
      : { response: fields.response }),
  });
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
