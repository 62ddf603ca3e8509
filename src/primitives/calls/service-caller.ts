/**
 * `call`: a request to whichever node serves a topic, chosen by a {@link Selection}, with retries
 * on other servers within one overall deadline. The first attempt runs with no `async` wrapper:
 * a call that succeeds at once costs a look-up, a selection and `messaging.request`.
 */
import { type ClusterMessaging, MAX_TIMER_MS, type RequestOptions } from '../../core/index.js';
import {
  DEFAULT_MESSAGING_OPTIONS,
  RequestTimeoutError,
  defineTopic,
  topicName,
} from '../../distribution/index.js';
import { NoServerError } from '../primitives.errors.js';
import { PrimitivesMessages } from '../primitives.messages.js';
import type { CallOptions, ServiceTopic } from '../primitives.types.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import { checkCallOptions, codeOf, isNoHandler, isRetried } from './call-options.js';
import { Selector } from './selection.js';

/** Topic names already checked, kept at most (then forgotten and checked again). */
const MAX_CHECKED_TOPICS = 1_024;

/** Options of a {@link ServiceCaller}. */
export interface ServiceCallerOptions {
  /** The random source of `'random'` selection (tests inject one); `Math.random` by default. */
  readonly random?: () => number;
  /**
   * The overall bound of a call without `timeoutMs`, which its retries share. When unset, the
   * messaging layer's `defaultRequestTimeoutMs` (the TCP dist's `requestTimeoutMs`), read at each
   * call, or 5 s when the layer does not say.
   */
  readonly defaultTimeoutMs?: number;
}

/** One attempt of a call, as the error of a failed call lists them. */
export interface CallAttempt {
  /** The node asked. */
  readonly node: string;
  /** The failure's code (`ERR_NODE_DOWN`, `ERR_NO_HANDLER`…), when it had one. */
  readonly code: string | undefined;
}

/** A call in progress, once its first attempt failed. */
interface FailedCall {
  readonly topic: string;
  readonly payload: unknown;
  readonly options: CallOptions | undefined;
  readonly deadline: number;
  readonly totalMs: number;
  node: string;
}

/** What `call` reads of the registry beyond its public face (provided by the registry). */
interface CallerRegistryView {
  /** `servers(topic)` without the copy. */
  serversView?(topic: string): readonly string[];
  /** This node's name. */
  readonly self?: string;
}

/** Sends requests to a node chosen among those serving the topic, with optional retries. */
export class ServiceCaller {
  private readonly selector: Selector;
  private readonly defaultTimeoutMs: number | undefined;
  private readonly checkedTopics = new Set<string>();

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly messaging: ClusterMessaging,
    options: ServiceCallerOptions = {},
  ) {
    const view = registry as unknown as CallerRegistryView;
    this.defaultTimeoutMs = options.defaultTimeoutMs;
    this.selector = new Selector({
      self: typeof view.self === 'string' ? view.self : undefined,
      random: options.random ?? Math.random,
      pendingTo: messaging.pendingTo?.bind(messaging),
    });
  }

  /**
   * Asks a node that serves `topic`; see {@link CallOptions}. Rejects with `NoServerError`
   * (`ERR_NO_SERVER`) when no node serves it (or every one this call tried failed), with
   * `InvalidTopicError` for a reserved or malformed topic, `InvalidConfigError` naming a bad
   * option, or the last attempt's error (`NodeDownError`, `RequestTimeoutError`, `RemoteError`…),
   * which then carries a non-enumerable `attempts` list of {@link CallAttempt}s.
   */
  call<T = unknown>(topic: ServiceTopic, payload: unknown, options?: CallOptions): Promise<T> {
    let name: string;
    let totalMs: number;
    let node: string;
    try {
      name = this.checkTopic(topic);
      const defaultMs = this.defaultTimeoutMs ?? this.messagingTimeoutMs();
      totalMs = options === undefined ? defaultMs : checkCallOptions(options, defaultMs);
      const candidates = this.serversOf(name);
      if (candidates.length === 0) {
        this.selector.forget(name);
        return Promise.reject(withAttempts(noServer(name, [], undefined), []));
      }
      node = this.selector.pick(name, candidates, options?.select);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const deadline = performance.now() + totalMs;
    // The first attempt's timeout is always given: the messaging layer's own default must not
    // differ from the bound computed here.
    const attemptTimeoutMs = options?.attemptTimeoutMs;
    const first: RequestOptions =
      attemptTimeoutMs === undefined && options?.timeoutMs !== undefined
        ? options
        : { timeoutMs: attemptTimeoutMs ?? totalMs, signal: options?.signal };
    return this.messaging
      .request<T>(node, name, payload, first)
      .catch((error: unknown) =>
        this.retry<T>({ topic: name, payload, options, deadline, totalMs, node }, error),
      );
  }

  /** The loop after a failed attempt: another server, or the final error. */
  private async retry<T>(call: FailedCall, firstError: unknown): Promise<T> {
    const { topic, options } = call;
    const retries = options?.retries ?? 0;
    const excluded = new Set<string>();
    const attempts: CallAttempt[] = [];
    let error = firstError;
    let retried = 0;
    for (;;) {
      attempts.push({ node: call.node, code: stringCode(error) });
      let last: unknown;
      if (isNoHandler(error)) {
        // The handler never ran: the entry is stale. Any other server, whatever `retries` says.
        this.registry.suppress(call.node, topic);
        excluded.add(call.node);
        last = noServer(topic, [...excluded], error);
      } else if (retried < retries && isRetried(error, options?.retryOn)) {
        retried++;
        excluded.add(call.node);
        last = error;
      } else {
        throw withAttempts(error, attempts);
      }
      const candidates = this.serversOf(topic).filter(node => !excluded.has(node));
      if (candidates.length === 0) throw withAttempts(last, attempts);
      const remaining = call.deadline - performance.now();
      if (remaining < 1) throw withAttempts(timedOut(call, error, [...excluded]), attempts);
      call.node = this.selector.pickAfter(topic, candidates, options?.select, call.node);
      // Whole milliseconds: the remaining time reaches the timeout error's text.
      const left = Math.max(1, Math.ceil(remaining));
      const timeoutMs = Math.min(left, options?.attemptTimeoutMs ?? left);
      try {
        return await this.messaging.request<T>(call.node, topic, call.payload, {
          timeoutMs,
          signal: options?.signal,
        });
      } catch (failure) {
        error = failure;
      }
    }
  }

  /** The messaging layer's default request timeout when it gives a usable one, else 5 s. */
  private messagingTimeoutMs(): number {
    const ms = this.messaging.defaultRequestTimeoutMs;
    return typeof ms === 'number' && ms > 0 && ms <= MAX_TIMER_MS
      ? ms
      : DEFAULT_MESSAGING_OPTIONS.defaultRequestTimeoutMs;
  }

  private serversOf(topic: string): readonly string[] {
    const view = this.registry as unknown as CallerRegistryView;
    return view.serversView !== undefined ? view.serversView(topic) : this.registry.servers(topic);
  }

  /** The topic's name, refused when reserved or malformed (checked once per name). */
  private checkTopic(topic: ServiceTopic): string {
    const name = topicName(topic);
    if (typeof name === 'string' && this.checkedTopics.has(name)) return name;
    // defineTopic refuses exactly what an application may not serve: malformed and `$gc.` names.
    defineTopic(name as string);
    if (this.checkedTopics.size >= MAX_CHECKED_TOPICS) this.checkedTopics.clear();
    this.checkedTopics.add(name as string);
    return name as string;
  }
}

function noServer(topic: string, tried: readonly string[], cause: unknown): NoServerError {
  return new NoServerError(PrimitivesMessages.noServer(topic, tried), {
    topic,
    tried,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The error of a call whose deadline passed between attempts: the last attempt's own timeout
 * when it timed out, else a timeout naming the last node asked.
 */
function timedOut(call: FailedCall, last: unknown, tried: readonly string[]): unknown {
  if (last instanceof RequestTimeoutError) return last;
  return new RequestTimeoutError(PrimitivesMessages.callTimeout(call.topic, call.totalMs, tried), {
    node: call.node,
    topic: call.topic,
    timeoutMs: call.totalMs,
    cause: last,
  });
}

function stringCode(error: unknown): string | undefined {
  const code = codeOf(error);
  return typeof code === 'string' ? code : undefined;
}

/** Adds the attempts to a call's final error, for diagnostics (non-enumerable). */
function withAttempts(error: unknown, attempts: readonly CallAttempt[]): unknown {
  if (typeof error === 'object' && error !== null && Object.isExtensible(error)) {
    Object.defineProperty(error, 'attempts', {
      value: attempts,
      enumerable: false,
      configurable: true,
      writable: true,
    });
  }
  return error;
}
