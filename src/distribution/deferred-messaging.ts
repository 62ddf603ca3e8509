import {
  type BroadcastOptions,
  type ClusterMessaging,
  GenClusterError,
  type LocalTopicsView,
  type MessageHandler,
  type MessagingInstrumentation,
  type MessagingStatsSnapshot,
  type RequestAllOptions,
  type RequestAllResult,
  type RequestOptions,
  type ServedTopic,
  type ServedTopicChange,
} from '../core/index.js';
import { checkHooks } from './messaging/instrumentation.js';
import { compareServed } from './messaging/local-topics.js';
import { DuplicateHandlerError } from './messaging/messaging.errors.js';
import { ZERO_MESSAGING_STATS } from './messaging/messaging-stats.js';
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
 *
 * Its {@link localTopics} is one view for the service registry, before and after attach: before,
 * it lists the early registrations and notifies each edge of them, as the started layer does; at
 * attach the early registrations are replayed on the started layer first, then its watchers move
 * there and are told only the difference between the two views (topics the started layer already
 * had), so each watcher's view stays equal to `served()`: no topic twice, none lost, none left
 * behind after an early removal.
 */
export class DeferredMessaging implements ClusterMessaging {
  private inner: ClusterMessaging | undefined;
  private readonly early = new Map<string, Registration>();
  private readonly attached = new Map<string, { handler: MessageHandler; off: () => void }>();
  private readonly earlySubscribers = new Set<EarlySubscriber>();
  private readonly earlyWatchers = new Set<EarlyWatcher>();
  /** Hook sets given before attach, attached with it (`off` detaches them after). */
  private readonly earlyHooks = new Set<EarlyHooks>();
  /** Early subscribers by topic, internal ones left out: the subscriber edges before attach. */
  private readonly earlySubscribed = new Map<string, number>();
  private readonly nodeName: (node: string) => string;
  private readonly topicsView: LocalTopicsView = {
    served: () => this.served(),
    watch: listener => this.watch(listener),
  };

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
    // What the early watchers were told: they have seen every early edge.
    const seen = this.served();
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
    this.earlySubscribed.clear();
    // Watchers last: the replay above must not tell them again of what they have seen.
    const changes = difference(seen, inner.localTopics?.served() ?? []);
    for (const watcher of this.earlyWatchers) {
      watcher.off = inner.localTopics?.watch(watcher.listener);
      for (const change of changes) notifyOne(watcher.listener, change);
    }
    this.earlyWatchers.clear();
    for (const early of this.earlyHooks) early.off = inner.instrument?.(early.hooks);
    this.earlyHooks.clear();
  }

  send(node: string, topic: string, payload: unknown): void {
    this.use().send(this.nodeName(node), topic, payload);
  }

  broadcast(topic: string, payload: unknown, options?: BroadcastOptions): number {
    if (!this.inner && this.options.broadcastBeforeAttach === 'nobody') return 0;
    const inner = this.use();
    if (options === undefined) return inner.broadcast(topic, payload);
    const nodes = options.nodes;
    return inner.broadcast(
      topic,
      payload,
      Array.isArray(nodes)
        ? { ...options, nodes: nodes.map(node => this.nodeName(node)) }
        : options,
    );
  }

  /**
   * This node's own registrations but internal ones (see the class comment): the early ones
   * before attach, the started layer's after (empty when that layer keeps none).
   */
  get localTopics(): LocalTopicsView {
    return this.topicsView;
  }

  /** The started layer's `defaultRequestTimeoutMs`; unset before attach or when it has none. */
  get defaultRequestTimeoutMs(): number | undefined {
    return this.inner?.defaultRequestTimeoutMs;
  }

  /** The started layer's `pendingTo`; 0 before attach or when it does not count. */
  pendingTo(node: string): number {
    return this.inner?.pendingTo?.(this.nodeName(node)) ?? 0;
  }

  /** The started layer's counters; all zero before attach or when it keeps none. */
  get stats(): MessagingStatsSnapshot {
    return this.inner?.stats ?? ZERO_MESSAGING_STATS;
  }

  /**
   * Attaches instrumentation hooks to the started layer; hooks given before attach are kept and
   * attached with it. Returns their removal, which works before and after attach. Without
   * `instrument` on the started layer, the hooks are never called.
   */
  instrument(hooks: MessagingInstrumentation): () => void {
    if (this.inner) return this.inner.instrument?.(hooks) ?? (() => undefined);
    checkHooks(hooks);
    const early: EarlyHooks = { hooks, off: undefined };
    this.earlyHooks.add(early);
    return () => {
      this.earlyHooks.delete(early);
      const off = early.off;
      early.off = undefined;
      off?.();
    };
  }

  /** The started layer's `servingCount`; 0 before attach or when it does not count. */
  get servingCount(): number {
    return this.inner?.servingCount ?? 0;
  }

  /**
   * The started layer's `whenIdle`. Before attach, or when that layer does not count, nothing is
   * being served: it resolves at once (rejects when `signal` is already aborted).
   */
  whenIdle(signal?: AbortSignal): Promise<void> {
    const inner = this.inner;
    if (inner?.whenIdle !== undefined) return inner.whenIdle(signal);
    return signal?.aborted ? Promise.reject(signal.reason) : Promise.resolve();
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
    const announced = options?.internal !== true;
    if (announced) this.notifyEarly({ topic, kind: 'handler', added: true });
    return () => {
      if (this.early.get(topic)?.handler === stored) {
        this.early.delete(topic);
        if (announced) this.notifyEarly({ topic, kind: 'handler', added: false });
      }
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
    if (options?.internal !== true) this.countEarlySubscriber(topic, 1);
    return () => {
      if (this.earlySubscribers.delete(subscriber) && options?.internal !== true)
        this.countEarlySubscriber(topic, -1);
      const off = subscriber.off;
      subscriber.off = undefined;
      off?.();
    };
  }

  private served(): readonly ServedTopic[] {
    if (this.inner) return this.inner.localTopics?.served() ?? [];
    const served: ServedTopic[] = [];
    for (const [topic, { options }] of this.early)
      if (options?.internal !== true) served.push({ topic, kind: 'handler' });
    const subscribed = new Set<string>();
    for (const { topic, options } of this.earlySubscribers)
      if (options?.internal !== true) subscribed.add(topic);
    for (const topic of subscribed) served.push({ topic, kind: 'subscriber' });
    return served.sort(compareServed);
  }

  private watch(listener: (change: ServedTopicChange) => void): () => void {
    if (this.inner) return this.inner.localTopics?.watch(listener) ?? (() => undefined);
    const watcher: EarlyWatcher = { listener, off: undefined };
    this.earlyWatchers.add(watcher);
    return () => {
      this.earlyWatchers.delete(watcher);
      const off = watcher.off;
      watcher.off = undefined;
      off?.();
    };
  }

  /** Counts an early subscriber in or out, notifying the 0 <-> 1 edges. */
  private countEarlySubscriber(topic: string, delta: 1 | -1): void {
    const count = (this.earlySubscribed.get(topic) ?? 0) + delta;
    if (count === 0) this.earlySubscribed.delete(topic);
    else this.earlySubscribed.set(topic, count);
    if ((delta === 1 && count === 1) || (delta === -1 && count === 0))
      this.notifyEarly({ topic, kind: 'subscriber', added: delta === 1 });
  }

  private notifyEarly(change: ServedTopicChange): void {
    // A snapshot: a listener may watch or stop watching while it runs.
    for (const watcher of [...this.earlyWatchers])
      if (this.earlyWatchers.has(watcher)) notifyOne(watcher.listener, change);
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

/** Instrumentation hooks given before attach; `off` detaches them after. */
interface EarlyHooks {
  readonly hooks: MessagingInstrumentation;
  off: (() => void) | undefined;
}

/** A watcher of {@link DeferredMessaging.localTopics} given before attach; `off` stops it after. */
interface EarlyWatcher {
  readonly listener: (change: ServedTopicChange) => void;
  off: (() => void) | undefined;
}

/**
 * Tells one watcher of a change. A watcher that throws must not fail the application's
 * registration (nor keep the other watchers from hearing of it); the service registry's own
 * watcher does not throw, and after attach the started layer logs such failures.
 */
function notifyOne(listener: (change: ServedTopicChange) => void, change: ServedTopicChange): void {
  try {
    listener(change);
  } catch {
    // see above: nothing to log with before the dist starts
  }
}

/** The changes that turn view `from` into view `to`: removals first, then additions. */
function difference(from: readonly ServedTopic[], to: readonly ServedTopic[]): ServedTopicChange[] {
  const key = (s: ServedTopic) => `${s.kind} ${s.topic}`;
  const before = new Set(from.map(key));
  const after = new Set(to.map(key));
  return [
    ...from.filter(s => !after.has(key(s))).map(s => ({ ...s, added: false })),
    ...to.filter(s => !before.has(key(s))).map(s => ({ ...s, added: true })),
  ];
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
