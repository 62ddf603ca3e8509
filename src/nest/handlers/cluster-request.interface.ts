import type { MessageContext } from '../../core/index.js';

/**
 * What `@Inject(REQUEST)` gives a request-scoped provider while it handles a cluster message:
 * the payload as received and its {@link MessageContext}. Each message gets its own (and its own
 * context id, through `ContextIdFactory.getByRequest`, so durable strategies apply).
 * @publicApi
 */
export interface ClusterRequest<T = unknown> {
  /** The payload as received (before pipes). */
  readonly payload: T;
  /** Who sent it, on which topic, and whether an answer is awaited. */
  readonly context: MessageContext;
}

/**
 * What `@Inject(REQUEST)` gives a request-scoped provider while a node-event decorator
 * (`@OnNodeUp()` and the others) runs it: the cluster event or membership snapshot.
 * @publicApi
 */
export interface ClusterEventRequest<T = unknown> {
  /** The event or snapshot the method is called with. */
  readonly event: T;
}
