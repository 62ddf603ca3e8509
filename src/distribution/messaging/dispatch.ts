/**
 * What a node does with each message that reaches it (from a peer, or from itself): a one-way
 * message goes to its topic's request handler and to each of its subscribers, a request to its
 * request handler and the answer back, a response to the request awaiting it. Nothing here throws
 * at the caller: a handler's failure goes back to the requester or into the log, never into an
 * unhandled rejection.
 */
import type { IncomingScope, LogFields, MessageHandler, MessageHeaders } from '../../core/index.js';
import { type Envelope, EnvelopeKind, decodeEnvelope } from './envelope.js';
import { decodeHeaders } from './envelope-headers.js';
import { type Instrumentation, ReceiversSettled } from './instrumentation.js';
import { MappedHandlerError } from './mapped-handler-error.js';
import { MessagingMessages } from './messaging.messages.js';
import { decodePayload, encodePayload, type PayloadCodec } from './payload-codec.js';
import type { PendingRequests } from './pending-requests.js';
import { IncomingMessage, type ServingRequests } from './serving-requests.js';
import {
  type WireError,
  encodeWireError,
  handlerFailure,
  noHandlerFailure,
  parseWireError,
} from './wire-error.js';

/**
 * Levels at which dispatch logs, each line rate-limited by its key.
 * @internal
 */
export type DispatchLogLevel = 'debug' | 'warn' | 'error';

/**
 * What the {@link Dispatcher} needs of the messaging facade that owns it.
 * @internal
 */
export interface DispatchContext {
  /** This node's name. */
  readonly self: string;
  readonly codec: PayloadCodec;
  /** Request handlers by topic; the facade adds and removes them. */
  readonly handlers: ReadonlyMap<string, MessageHandler>;
  /**
   * Subscribers by topic, in registration order; a topic without any has no entry. The facade
   * replaces an array rather than changing it, so a dispatch walks the array it started with.
   */
  readonly subscribers: ReadonlyMap<string, readonly MessageHandler[]>;
  /** The requests being served, for their handlers' abort signals. */
  readonly serving: ServingRequests;
  readonly pending: PendingRequests;
  /** The hooks told of each message served. */
  readonly instrumentation: Instrumentation;
  /** Whether messaging is closed: answers are then dropped. */
  isClosed(): boolean;
  /** Sends a message (to `self` too); throws the transport's error. */
  deliver(node: string, kind: EnvelopeKind, requestId: number, topic: string, body: Buffer[]): void;
  /** Logs at most one line per key and window. */
  log(level: DispatchLogLevel, key: string, message: string, fields?: LogFields): void;
}

/**
 * Hands each received message to its handler or to the request awaiting it.
 * @internal
 */
export class Dispatcher {
  constructor(private readonly context: DispatchContext) {}

  /**
   * Decodes and handles one whole message received from `from`. A malformed envelope (its headers
   * included, when a hook reads them) is logged (rate-limited) and dropped.
   */
  receive(from: string, bytes: Buffer): void {
    let envelope: Envelope;
    let headers: MessageHeaders | undefined;
    try {
      envelope = decodeEnvelope(bytes);
      // Read only when a hook will look at them.
      if (envelope.headers !== undefined && this.context.instrumentation.hasIncoming)
        headers = decodeHeaders(envelope.headers);
    } catch (error) {
      const why = (error as Error).message;
      this.context.log('warn', `envelope|${from}`, MessagingMessages.badEnvelope(from, why));
      return;
    }
    const { kind, requestId, topic, body } = envelope;
    this.dispatch(from, kind, requestId, topic, body, headers);
  }

  /**
   * Handles one decoded message from `from`; `headers` are those it carried, when an `incoming`
   * hook is attached to read them.
   */
  dispatch(
    from: string,
    kind: EnvelopeKind,
    requestId: number,
    topic: string,
    body: Buffer,
    headers?: MessageHeaders,
  ): void {
    switch (kind) {
      case EnvelopeKind.Send:
        return this.onSend(from, topic, body, headers);
      case EnvelopeKind.Request:
        return this.onRequest(from, requestId, topic, body, headers);
      case EnvelopeKind.Response:
      case EnvelopeKind.ErrorResponse:
        return this.onResponse(from, kind, requestId, body);
    }
  }

  private onSend(
    from: string,
    topic: string,
    body: Buffer,
    headers: MessageHeaders | undefined,
  ): void {
    const { context } = this;
    const handler = context.handlers.get(topic);
    const subscribers = context.subscribers.get(topic);
    if (handler === undefined && subscribers === undefined) {
      context.log('warn', `nohandler|${topic}`, MessagingMessages.noHandlerForSend(from, topic));
      return;
    }
    // Decoded once: every receiver gets the same value (documented: receivers must not mutate it).
    let payload: unknown;
    try {
      payload = decodePayload(context.codec, body);
    } catch (error) {
      const why = (error as Error).message;
      context.log(
        'warn',
        `payload|${from}`,
        MessagingMessages.sendPayloadRefused(from, topic, why),
      );
      return;
    }
    const message = new IncomingMessage(from, topic, 'oneWay');
    const scope = context.instrumentation.incoming(from, topic, 'oneWay', headers);
    if (scope === undefined)
      this.deliverOneWay(from, topic, payload, message, handler, subscribers);
    else
      scope.run(() =>
        this.deliverOneWay(from, topic, payload, message, handler, subscribers, scope),
      );
  }

  /** Calls every receiver of a one-way message; `scope` ends once all of them settled. */
  private deliverOneWay(
    from: string,
    topic: string,
    payload: unknown,
    message: IncomingMessage,
    handler: MessageHandler | undefined,
    subscribers: readonly MessageHandler[] | undefined,
    scope?: IncomingScope,
  ): void {
    const count = (handler === undefined ? 0 : 1) + (subscribers?.length ?? 0);
    const settled = scope === undefined ? undefined : new ReceiversSettled(scope, count);
    const answered = settled === undefined ? ignore : settled.answered;
    // Each receiver is called in this turn, none waits for another, and each failure is its own.
    if (handler !== undefined)
      invoke(handler, payload, message, answered, error => {
        settled?.failed(error);
        this.oneWayFailed(from, topic, error);
      });
    if (subscribers !== undefined) {
      // Each subscriber's failures are rate-limited on their own: one failing often must not
      // hide another's first failure.
      for (let index = 0; index < subscribers.length; index++)
        invoke(subscribers[index], payload, message, answered, error => {
          settled?.failed(error);
          this.subscriberFailed(from, topic, index, error);
        });
    }
  }

  /** A request handler failed on a one-way message: a bug of this node, for a person. */
  private oneWayFailed(from: string, topic: string, error: unknown): void {
    const level = failureLevel(error);
    if (level === 'none') return;
    const inner = innerError(error);
    this.context.log(
      level,
      `handler|${topic}`,
      MessagingMessages.sendHandlerFailed(from, topic, inner),
      handlerFailedFields(from, topic, inner),
    );
  }

  private subscriberFailed(from: string, topic: string, index: number, error: unknown): void {
    const level = failureLevel(error);
    if (level === 'none') return;
    const inner = innerError(error);
    this.context.log(
      level,
      `subscriber|${topic}|${index}`,
      MessagingMessages.subscriberFailed(from, topic, inner),
      handlerFailedFields(from, topic, inner),
    );
  }

  private onRequest(
    from: string,
    requestId: number,
    topic: string,
    body: Buffer,
    headers: MessageHeaders | undefined,
  ): void {
    const { context } = this;
    const handler = context.handlers.get(topic);
    if (handler === undefined) {
      this.replyError(from, requestId, noHandlerFailure(context.self, topic));
      return;
    }
    let payload: unknown;
    try {
      payload = decodePayload(context.codec, body);
    } catch (error) {
      this.replyError(from, requestId, handlerFailure(error));
      return;
    }
    const message = context.serving.request(from, topic);
    const scope = context.instrumentation.incoming(from, topic, 'request', headers);
    // Both run in promise callbacks: they must never throw.
    const failed = (error: unknown): void => {
      message.settled();
      scope?.end('error', error);
      this.requestFailed(from, requestId, topic, error);
    };
    const answered = (value: unknown): void => {
      message.settled();
      // Ended after the reply: an answer that cannot be encoded goes back as an error.
      const failure = this.reply(from, requestId, value);
      if (failure === undefined) scope?.end('ok');
      else scope?.end('error', failure.error);
    };
    if (scope === undefined) invoke(handler, payload, message, answered, failed);
    else scope.run(() => invoke(handler, payload, message, answered, failed));
  }

  /**
   * The requester gets name, message and code (and the status and response a layer above mapped);
   * this node's log gets the stack as well, at the level that layer chose (`error` otherwise).
   */
  private requestFailed(from: string, requestId: number, topic: string, error: unknown): void {
    const level = failureLevel(error);
    if (level !== 'none') {
      const inner = innerError(error);
      const status = error instanceof MappedHandlerError ? error.status : undefined;
      this.context.log(
        level,
        `handler|${topic}`,
        status !== undefined && status < 500
          ? MessagingMessages.requestHandlerRefused(from, topic, status, inner)
          : MessagingMessages.requestHandlerFailed(from, topic, inner),
        handlerFailedFields(from, topic, inner),
      );
    }
    this.replyError(from, requestId, handlerFailure(error));
  }

  private onResponse(from: string, kind: EnvelopeKind, requestId: number, body: Buffer): void {
    const { context } = this;
    const request = context.pending.take(requestId, from);
    if (request === undefined) {
      context.log('debug', `late|${from}`, MessagingMessages.lateResponse(from, requestId));
      return;
    }
    if (kind === EnvelopeKind.ErrorResponse) {
      const error = parseWireError(request.node, request.topic, body);
      context.pending.ended(request, 'remoteError', error);
      request.reject(error);
      return;
    }
    let value: unknown;
    try {
      value = decodePayload(context.codec, body);
    } catch (error) {
      // The answer came but cannot be read here: refused, as a payload is before sending.
      context.pending.ended(request, 'refused', error as Error);
      request.reject(error as Error);
      return;
    }
    context.pending.ended(request, 'ok');
    request.resolve(value);
  }

  /**
   * Sends a handler's answer; never throws (runs in promise callbacks).
   * @returns why an error answer went instead (the answer could not be encoded); undefined when
   * the answer went, or nothing did (messaging closed).
   */
  private reply(to: string, requestId: number, value: unknown): { error: unknown } | undefined {
    if (this.context.isClosed()) return undefined;
    let body: Buffer[];
    try {
      body = encodePayload(this.context.codec, value);
    } catch (error) {
      this.replyError(to, requestId, handlerFailure(error));
      return { error };
    }
    this.sendReply(to, EnvelopeKind.Response, requestId, body);
    return undefined;
  }

  /** Sends an error response; never throws. */
  private replyError(to: string, requestId: number, error: WireError): void {
    if (this.context.isClosed()) return;
    this.sendReply(to, EnvelopeKind.ErrorResponse, requestId, [encodeWireError(error)]);
  }

  private sendReply(to: string, kind: EnvelopeKind, requestId: number, body: Buffer[]): void {
    try {
      this.context.deliver(to, kind, requestId, '', body);
    } catch (error) {
      this.context.log('debug', `reply|${to}`, MessagingMessages.replyFailed(to, error));
    }
  }
}

const ignore = (): void => undefined;

/** The level a failure is logged at: the one a layer above chose, `error` for anything else. */
function failureLevel(error: unknown): DispatchLogLevel | 'none' {
  return error instanceof MappedHandlerError ? error.log : 'error';
}

/** What the handler threw, out of a {@link MappedHandlerError}. */
function innerError(error: unknown): unknown {
  return error instanceof MappedHandlerError ? error.error : error;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Calls a handler: its value (awaited when it is a promise) goes to `answered`, a throw or a
 * rejection to `failed`. Neither callback may throw.
 */
function invoke(
  handler: MessageHandler,
  payload: unknown,
  context: IncomingMessage,
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

/** The structured fields of a handler's failure: who sent what, and the error with its stack. */
function handlerFailedFields(from: string, topic: string, error: unknown): LogFields {
  return { event: 'handlerFailed', peer: from, topic, error };
}
