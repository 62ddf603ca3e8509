/**
 * What `ClusterService` wraps around messaging calls: the error mapping of imperative handlers,
 * the mapping of remote failures for callers, `requestAll` for dists whose messaging lacks it,
 * owners with or without a registry, subscribers and instrumentation where the dist may lack
 * them, and the drain before leaving.
 */
import {
  type ClusterControl,
  type ClusterLogger,
  type ClusterMessaging,
  GenClusterError,
  checkInteger,
  type MessageHandler,
  type MessagingInstrumentation,
  type RequestAllOptions,
  type RequestAllResult,
  type RequestOptions,
  toError,
} from '../core/index.js';
import { type OwnerOptions, type ServiceKey, checkServiceKey, rank } from '../primitives/index.js';
import type { ClusterServices } from './cluster-services.js';
import { NestMessages } from './gen-cluster.messages.js';
// From their files: both are internal, and stripInternal leaves no re-export of them dangling.
import { fromRemoteError } from './errors/from-remote-error.js';
import { toMappedError } from './errors/to-mapped-error.js';

/** `requestAll` over single requests, for a custom dist whose messaging has none. */
export function requestEach(
  cluster: Pick<ClusterControl, 'self' | 'nodes'>,
  messaging: ClusterMessaging,
  topic: string,
  payload: unknown,
  options: RequestAllOptions = {},
): Promise<RequestAllResult<unknown>[]> {
  const nodes = [...new Set(options.nodes ?? cluster.nodes())];
  if (options.includeSelf === true && !nodes.includes(cluster.self)) nodes.unshift(cluster.self); // first, as Messaging.requestAll puts it
  const single: RequestOptions = { timeoutMs: options.timeoutMs, signal: options.signal };
  return Promise.all(
    nodes.map(node =>
      // A synchronous refusal (node down, queue full) is that node's result, not the call's.
      Promise.resolve()
        .then(() => messaging.request(node, topic, payload, single))
        .then(
          value => ({ node, ok: true, value }) as const,
          (error: unknown) => ({ node, ok: false, error: toError(error) }) as const,
        ),
    ),
  );
}

/**
 * `requestAll` through the dist's messaging, or over single requests when it has none; each
 * failed node's error mapped as a remote failure.
 */
export function requestAllOf(
  cluster: Pick<ClusterControl, 'self' | 'nodes'>,
  messaging: ClusterMessaging,
  topic: string,
  payload: unknown,
  options: RequestAllOptions | undefined,
): Promise<RequestAllResult<unknown>[]> {
  const all =
    messaging.requestAll?.(topic, payload, options) ??
    requestEach(cluster, messaging, topic, payload, options);
  return all.then(mapRemoteResults);
}

/**
 * The user's handler with what it throws, or its promise rejects with, classified for the caller
 * (an `HttpException` keeps its status and body) and logged once at the right level. A handler
 * that answers at once still does: only a thenable answer gets the `.then`.
 */
export function mapThrown(handler: MessageHandler<never>): MessageHandler {
  const user = handler as MessageHandler;
  return (payload, context) => {
    let answer: unknown;
    try {
      answer = user(payload, context);
    } catch (error) {
      throw toMappedError(error, 'imperative');
    }
    return isThenable(answer) ? answer.then(undefined, rejectMapped) : answer;
  };
}

function rejectMapped(error: unknown): never {
  throw toMappedError(error, 'imperative');
}

/** Whether `value` has a callable `then` (a promise of any realm or library). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Rethrows a request's failure, a remote `HttpException` as a `RemoteHttpException`. */
export function rethrowRemote(error: unknown): never {
  throw fromRemoteError(error);
}

/** The results of a requestAll, each remote `HttpException` as a `RemoteHttpException`. */
export function mapRemoteResults(
  results: RequestAllResult<unknown>[],
): RequestAllResult<unknown>[] {
  return results.map(result =>
    result.ok ? result : { node: result.node, ok: false, error: fromRemoteError(result.error) },
  );
}

/**
 * `ownerOf`/`ownersOf`: the registry's answer, or without a registry the ranking of every member
 * and this node (no node serves a topic then: `options.topic` gives none on an idle cluster, and
 * the registry's absence as an error on a dist without one).
 */
export function ownersOf(
  services: ClusterServices,
  cluster: Pick<ClusterControl, 'self' | 'nodes'>,
  method: 'ownerOf' | 'ownersOf',
  key: ServiceKey,
  count: number,
  options: OwnerOptions | undefined,
): string[] {
  if (services.kind === 'registry')
    return method === 'ownerOf'
      ? [services.registry.ownerOf(key, options)].filter((node): node is string => !!node)
      : services.registry.ownersOf(key, count, options);
  checkServiceKey(`${method}.key`, key);
  if (method === 'ownersOf') checkInteger('ownersOf.count', count, 0);
  if (options?.topic !== undefined) {
    if (services.kind === 'idle') return [];
    throw services.error();
  }
  return rank(key, [cluster.self, ...cluster.nodes()]).slice(0, count);
}

/**
 * Adds `handler` as a subscriber of `topic` as it is; throws `ERR_MESSAGING_UNSUPPORTED` when the
 * dist's messaging has no subscribers.
 */
export function subscribeOrThrow(
  messaging: ClusterMessaging,
  cluster: string,
  topic: string,
  handler: MessageHandler<never>,
): () => void {
  if (messaging.subscribe === undefined)
    throw new GenClusterError(
      'ERR_MESSAGING_UNSUPPORTED',
      NestMessages.noSubscribe('ClusterService.subscribe()', topic, cluster),
    );
  return messaging.subscribe(topic, handler as MessageHandler);
}

/** Adds instrumentation hooks; throws `ERR_MESSAGING_UNSUPPORTED` when the dist takes none. */
export function instrumentOrThrow(
  messaging: ClusterMessaging,
  cluster: string,
  hooks: MessagingInstrumentation,
): () => void {
  if (messaging.instrument === undefined)
    throw new GenClusterError('ERR_MESSAGING_UNSUPPORTED', NestMessages.noInstrument(cluster));
  return messaging.instrument(hooks);
}

/**
 * Withdraws this node's topics and waits for the calls already routed here (the `drain`
 * option); a failed drain is logged, since leaving matters more than a complete drain (peers
 * then see nodeDown(left) at once).
 */
export async function drainBeforeLeaving(
  services: ClusterServices,
  logger: ClusterLogger,
  name: string,
): Promise<void> {
  if (services.kind !== 'registry' || services.drain === false) return;
  try {
    await services.registry.drain(services.drain);
  } catch (error) {
    logger.warn(NestMessages.drainFailed(name, error));
  }
}
