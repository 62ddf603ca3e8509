import {
  type ClusterMessaging,
  GenClusterError,
  type MessageHandler,
  type RequestAllOptions,
  type RequestAllResult,
  type RequestOptions,
} from '../core/index.js';
import { DuplicateHandlerError } from './messaging/messaging.errors.js';
import { MessagingMessages } from './messaging/messaging.messages.js';
import {
  type HandlerRegistrationOptions,
  checkHandlerRegistration,
} from './messaging/messaging.options.js';

/** How a {@link DeferredMessaging} behaves before it is attached. */
export interface DeferredMessagingOptions {
  /** Turns a node name given by the application into the dist's spelling. */
  readonly nodeName?: (node: string) => string;
  /**
   * `'fail'` (default): a broadcast or a `requestAll` before start fails like a send. `'nobody'`:
   * a broadcast reaches nobody and returns 0, a `requestAll` resolves `[]`, for a node without a
   * cluster, whose membership is itself alone.
   */
  readonly broadcastBeforeAttach?: 'fail' | 'nobody';
}

/**
 * A dist's messaging from the moment the dist is built, before it starts: handlers registered
 * early (an application's constructors run before bootstrap) are checked as the messaging layer
 * checks them and kept, then attached when the dist's messaging layer exists, so no message
 * arriving after start is missed. Subscribers are kept the same way. Calls that need a peer fail
 * with `notStarted()` until then. A node without any cluster uses one that is never attached.
 */
export class DeferredMessaging implements ClusterMessaging {
  private inner: ClusterMessaging | undefined;
  private readonly early = new Map<string, Registration>();
  private readonly attached = new Map<string, { handler: MessageHandler; off: () => void }>();
  private readonly earlySubscribers = new Set<EarlySubscriber>();
  private readonly nodeName: (node: string) => string;

  /** @param notStarted the error for a call made before {@link attach} */
  constructor(
    private readonly notStarted: () => Error,
    private readonly options: DeferredMessagingOptions = {},
  ) {
    this.nodeName = options.nodeName ?? (node => node);
  }

  /**
   * Hands over to the started messaging layer, registering every handler and subscriber kept so
   * far.
   * @throws GenClusterError `ERR_MESSAGING_UNSUPPORTED` when subscribers were kept and `inner`
   * has no `subscribe`.
   */
  attach(inner: ClusterMessaging): void {
    if (this.earlySubscribers.size > 0 && typeof inner.subscribe !== 'function')
      throw new GenClusterError(
        'ERR_MESSAGING_UNSUPPORTED',
        MessagingMessages.subscribeUnsupported(),
      );
    this.inner = inner;
    for (const [topic, { handler, options }] of this.early)
      this.attached.set(topic, { handler, off: register(inner, 'on', topic, handler, options) });
    this.early.clear();
    for (const subscriber of this.earlySubscribers)
      subscriber.off = register(
        inner,
        'subscribe',
        subscriber.topic,
        subscriber.handler,
        subscriber.options,
      );
    this.earlySubscribers.clear();
  }

  send(node: string, topic: string, payload: unknown): void {
    this.use().send(this.nodeName(node), topic, payload);
  }

  broadcast(topic: string, payload: unknown): number {
    if (!this.inner && this.options.broadcastBeforeAttach === 'nobody') return 0;
    return this.use().broadcast(topic, payload);
  }

  request<T = unknown>(
    node: string,
    topic: string,
    payload: unknown,
    options?: RequestOptions,
  ): Promise<T> {
    try {
      return this.use().request<T>(this.nodeName(node), topic, payload, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Before start: a `requestAll` resolves `[]` when `broadcastBeforeAttach` is `'nobody'`, and
   * rejects with `notStarted()` otherwise.
   */
  requestAll<T = unknown>(
    topic: string,
    payload: unknown,
    options?: RequestAllOptions,
  ): Promise<RequestAllResult<T>[]> {
    if (!this.inner && this.options.broadcastBeforeAttach === 'nobody') return Promise.resolve([]);
    try {
      const inner = this.use();
      if (typeof inner.requestAll !== 'function')
        throw new GenClusterError(
          'ERR_MESSAGING_UNSUPPORTED',
          MessagingMessages.requestAllUnsupported(),
        );
      const nodes = options?.nodes;
      return inner.requestAll<T>(
        topic,
        payload,
        Array.isArray(nodes)
          ? { ...options, nodes: nodes.map(node => this.nodeName(node)) }
          : options,
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Registers the request handler of `topic` (see `Messaging.on`); before start it is checked
   * and kept until {@link attach}.
   */
  on<T = unknown>(
    topic: string,
    handler: MessageHandler<T>,
    options?: HandlerRegistrationOptions,
  ): () => void {
    if (this.inner) return register(this.inner, 'on', topic, handler as MessageHandler, options);
    checkHandlerRegistration(topic, handler, options);
    // the same error the messaging layer gives for a second handler of one topic
    if (this.early.has(topic))
      throw new DuplicateHandlerError(MessagingMessages.duplicateHandler(topic), { topic });
    const stored = handler as MessageHandler;
    this.early.set(topic, { handler: stored, options });
    return () => {
      if (this.early.get(topic)?.handler === stored) this.early.delete(topic);
      const attached = this.attached.get(topic);
      // only this registration's own handler: a stale remover must not drop a later one
      if (attached?.handler === stored) {
        this.attached.delete(topic);
        attached.off();
      }
    };
  }

  /**
   * Adds a subscriber of `topic` (see `Messaging.subscribe`); before start it is checked and kept
   * until {@link attach}.
   */
  subscribe<T = unknown>(
    topic: string,
    handler: MessageHandler<T>,
    options?: HandlerRegistrationOptions,
  ): () => void {
    if (this.inner) {
      if (typeof this.inner.subscribe !== 'function')
        throw new GenClusterError(
          'ERR_MESSAGING_UNSUPPORTED',
          MessagingMessages.subscribeUnsupported(),
        );
      return register(this.inner, 'subscribe', topic, handler as MessageHandler, options);
    }
    checkHandlerRegistration(topic, handler, options);
    const subscriber: EarlySubscriber = {
      topic,
      handler: handler as MessageHandler,
      options,
      off: undefined,
    };
    this.earlySubscribers.add(subscriber);
    return () => {
      this.earlySubscribers.delete(subscriber);
      const off = subscriber.off;
      subscriber.off = undefined;
      off?.();
    };
  }

  private use(): ClusterMessaging {
    if (!this.inner) throw this.notStarted();
    return this.inner;
  }
}

/** A request handler kept before start. */
interface Registration {
  readonly handler: MessageHandler;
  readonly options: HandlerRegistrationOptions | undefined;
}

/** A subscriber kept before start; `off` removes it once attached. */
interface EarlySubscriber extends Registration {
  readonly topic: string;
  off: (() => void) | undefined;
}

/** A registration method that takes the messaging layer's registration options. */
type RegisterWithOptions = (
  topic: string,
  handler: MessageHandler,
  options?: HandlerRegistrationOptions,
) => () => void;

/**
 * Registers on `inner`, passing the options on: the messaging layer reads them; another
 * implementation of ClusterMessaging ignores an argument it does not declare.
 */
function register(
  inner: ClusterMessaging,
  method: 'on' | 'subscribe',
  topic: string,
  handler: MessageHandler,
  options: HandlerRegistrationOptions | undefined,
): () => void {
  const registerOn = inner[method] as RegisterWithOptions;
  return options === undefined
    ? registerOn.call(inner, topic, handler)
    : registerOn.call(inner, topic, handler, options);
}
