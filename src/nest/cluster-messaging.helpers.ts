/**
 * What `ClusterService` wraps around messaging calls: the error mapping of imperative handlers,
 * the mapping of remote failures for callers, and `requestAll` for dists whose messaging lacks it.
 */
import {
  type ClusterControl,
  type ClusterMessaging,
  type MessageHandler,
  type RequestAllOptions,
  type RequestAllResult,
  type RequestOptions,
  toError,
} from '../core/index.js';
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
