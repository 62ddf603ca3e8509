import type { ClusterMessaging, MessageHandler, RequestOptions } from '../core/index.js';
import { checkHandlerRegistration } from './messaging/messaging.js';
import { DuplicateHandlerError } from './messaging/messaging.errors.js';
import { MessagingMessages } from './messaging/messaging.messages.js';

/** How a {@link DeferredMessaging} behaves before it is attached. */
export interface DeferredMessagingOptions {
  /** Turns a node name given by the application into the dist's spelling. */
  readonly nodeName?: (node: string) => string;
  /**
   * `'fail'` (default): a broadcast before start fails like a send. `'nobody'`: it reaches
   * nobody and returns 0, for a node without a cluster, whose membership is itself alone.
   */
  readonly broadcastBeforeAttach?: 'fail' | 'nobody';
}

/**
 * A dist's messaging from the moment the dist is built, before it starts: handlers registered
 * early (an application's constructors run before bootstrap) are checked as the messaging layer
 * checks them and kept, then attached when the dist's messaging layer exists, so no message
 * arriving after start is missed. Calls that need a peer fail with `notStarted()` until then.
 * A node without any cluster uses one that is never attached.
 */
export class DeferredMessaging implements ClusterMessaging {
  private inner: ClusterMessaging | undefined;
  private readonly early = new Map<string, MessageHandler>();
  private readonly attached = new Map<string, { handler: MessageHandler; off: () => void }>();
  private readonly nodeName: (node: string) => string;

  /** @param notStarted the error for a call made before {@link attach} */
  constructor(
    private readonly notStarted: () => Error,
    private readonly options: DeferredMessagingOptions = {},
  ) {
    this.nodeName = options.nodeName ?? (node => node);
  }

  /** Hands over to the started messaging layer, registering every handler kept so far. */
  attach(inner: ClusterMessaging): void {
    this.inner = inner;
    for (const [topic, handler] of this.early)
      this.attached.set(topic, { handler, off: inner.on(topic, handler) });
    this.early.clear();
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

  on<T = unknown>(topic: string, handler: MessageHandler<T>): () => void {
    if (this.inner) return this.inner.on(topic, handler);
    checkHandlerRegistration(topic, handler);
    // the same error the messaging layer gives for a second handler of one topic
    if (this.early.has(topic))
      throw new DuplicateHandlerError(MessagingMessages.duplicateHandler(topic), { topic });
    const stored = handler as MessageHandler;
    this.early.set(topic, stored);
    return () => {
      if (this.early.get(topic) === stored) this.early.delete(topic);
      const attached = this.attached.get(topic);
      // only this registration's own handler: a stale remover must not drop a later one
      if (attached?.handler === stored) {
        this.attached.delete(topic);
        attached.off();
      }
    };
  }

  private use(): ClusterMessaging {
    if (!this.inner) throw this.notStarted();
    return this.inner;
  }
}
