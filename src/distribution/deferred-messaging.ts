import type { ClusterMessaging, MessageHandler, RequestOptions } from '../core/index.js';
import { DuplicateHandlerError } from './messaging/messaging.errors.js';
import { MessagingMessages } from './messaging/messaging.messages.js';

/**
 * A dist's messaging from the moment the dist is built, before it starts: handlers registered
 * early (an application's constructors run before bootstrap) are kept and attached when the
 * dist's messaging layer exists, so no message arriving after start is missed. Calls that need a
 * peer fail with `notStarted()` until then.
 */
export class DeferredMessaging implements ClusterMessaging {
  private inner: ClusterMessaging | undefined;
  private readonly early = new Map<string, MessageHandler>();
  private readonly detach = new Map<string, () => void>();

  /**
   * @param notStarted the error for a call made before {@link attach}
   * @param nodeName turns a node name given by the application into the dist's spelling
   */
  constructor(
    private readonly notStarted: () => Error,
    private readonly nodeName: (node: string) => string = node => node,
  ) {}

  /** Hands over to the started messaging layer, registering every handler kept so far. */
  attach(inner: ClusterMessaging): void {
    this.inner = inner;
    for (const [topic, handler] of this.early) this.detach.set(topic, inner.on(topic, handler));
    this.early.clear();
  }

  send(node: string, topic: string, payload: unknown): void {
    this.use().send(this.nodeName(node), topic, payload);
  }

  broadcast(topic: string, payload: unknown): number {
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
    // the same error the messaging layer gives for a second handler of one topic
    if (this.early.has(topic))
      throw new DuplicateHandlerError(MessagingMessages.duplicateHandler(topic), { topic });
    this.early.set(topic, handler as MessageHandler);
    return () => {
      if (this.early.get(topic) === handler) this.early.delete(topic);
      this.detach.get(topic)?.();
      this.detach.delete(topic);
    };
  }

  private use(): ClusterMessaging {
    if (!this.inner) throw this.notStarted();
    return this.inner;
  }
}
