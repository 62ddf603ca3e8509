/**
 * Errors to and from the wire: what a node sends back when a request fails on its side (the body
 * of an error response, JSON whatever the payload codec), and the {@link RemoteError} the
 * requester makes of it. Only name, message and code cross, never a stack, each cut to a bound,
 * and whatever the body holds the requester gets a well-formed `RemoteError`.
 */
import { RemoteError, type RemoteErrorCode } from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';

/**
 * The wire form of an error response's body.
 * @internal
 */
export interface WireError {
  readonly code: RemoteErrorCode;
  readonly name: string;
  readonly message: string;
  readonly remoteCode?: string;
}

/** Longest error name (and code) carried in an error response. */
const MAX_ERROR_NAME = 256;
/** Longest error message carried in an error response. */
const MAX_ERROR_MESSAGE = 8 * 1024;

/**
 * What the requester learns of a handler's failure: name, message and code, never the stack.
 * @internal
 */
export function handlerFailure(error: unknown): WireError {
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
  return {
    code: 'ERR_REMOTE_HANDLER',
    name: name.slice(0, MAX_ERROR_NAME),
    message: message.slice(0, MAX_ERROR_MESSAGE),
    ...(remoteCode === undefined ? {} : { remoteCode: remoteCode.slice(0, MAX_ERROR_NAME) }),
  };
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
 * The body of an error response. Never throws.
 * @internal
 */
export function encodeWireError(error: WireError): Buffer {
  try {
    return Buffer.from(JSON.stringify(error), 'utf8');
  } catch {
    return Buffer.from('{}', 'utf8');
  }
}

/**
 * Reads an error response's body from `node`, the answer to a request on `topic`; whatever the
 * body holds, the result is a {@link RemoteError}.
 * @internal
 */
export function parseWireError(node: string, topic: string, body: Buffer): RemoteError {
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
  const remoteName = text(fields.name, MAX_ERROR_NAME) ?? 'Error';
  const remoteMessage = text(fields.message, MAX_ERROR_MESSAGE) ?? '';
  const remoteCode = text(fields.remoteCode, MAX_ERROR_NAME);
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
  });
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
