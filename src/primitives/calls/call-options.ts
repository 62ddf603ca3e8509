/**
 * The checks of `call`'s options, each refusal an `InvalidConfigError` naming the option, and
 * which failures a call retries on another server.
 */
import {
  checkInteger,
  checkMilliseconds,
  checkOneOf,
  invalidOption,
  isPlainObject,
} from '../../core/index.js';
import { isRemoteError } from '../../distribution/index.js';
import type { CallOptions, RetryOn, Selection, ServiceKey } from '../primitives.types.js';

/** The most `retries` a call accepts. */
export const MAX_CALL_RETRIES = 16;

const SELECTIONS: readonly Selection[] = ['round-robin', 'random', 'local-first', 'least-pending'];
const RETRY_ON: readonly RetryOn[] = ['timeout', 'remote'];

/** Failures of the transport that mean the request was never handled: safe with `retries`. */
const RETRIED_CODES: ReadonlySet<unknown> = new Set([
  'ERR_NODE_DOWN',
  'ERR_QUEUE_FULL',
  'ERR_CONNECT_FAILED',
  'ERR_CONNECT_TIMEOUT',
]);

/** Refuses a key rendezvous hashing cannot use: empty, not finite, or not a string/number/bytes. */
export function checkServiceKey(option: string, key: unknown): asserts key is ServiceKey {
  const ok =
    (typeof key === 'string' && key !== '') ||
    (typeof key === 'number' && Number.isFinite(key)) ||
    (key instanceof Uint8Array && key.length > 0);
  if (!ok) {
    throw invalidOption(
      option,
      key,
      'a non-empty string, a finite number or a non-empty Uint8Array',
    );
  }
}

/**
 * Checks `call`'s options (`timeoutMs` too: the overall deadline is computed from it) and returns
 * the call's whole bound, `timeoutMs` or `defaultTimeoutMs`.
 */
export function checkCallOptions(options: CallOptions, defaultTimeoutMs: number): number {
  if (!isPlainObject(options)) throw invalidOption('call options', options, 'an object');
  const { select, retries, retryOn, timeoutMs, attemptTimeoutMs } = options;
  if (select !== undefined && !SELECTIONS.includes(select as Selection)) {
    if (!isPlainObject(select) || !('key' in select)) {
      throw invalidOption(
        'select',
        select,
        `${SELECTIONS.map(s => `"${s}"`).join(', ')} or { key }`,
      );
    }
    checkServiceKey('select.key', select.key);
  }
  if (retries !== undefined) checkInteger('retries', retries, 0, MAX_CALL_RETRIES);
  if (retryOn !== undefined) {
    if (!Array.isArray(retryOn))
      throw invalidOption('retryOn', retryOn, 'an array of "timeout", "remote"');
    retryOn.forEach((item, i) => checkOneOf(`retryOn[${i}]`, item, RETRY_ON));
  }
  if (timeoutMs !== undefined) checkMilliseconds('timeoutMs', timeoutMs, { integer: false });
  const total = timeoutMs ?? defaultTimeoutMs;
  if (attemptTimeoutMs !== undefined) {
    checkMilliseconds('attemptTimeoutMs', attemptTimeoutMs, { integer: false });
    if (attemptTimeoutMs > total) {
      throw invalidOption('attemptTimeoutMs', attemptTimeoutMs, `at most timeoutMs (${total} ms)`);
    }
  }
  return total;
}

/** The error's `code`, when it has one. */
export function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

/** Whether a remote node answered that it has no handler: the handler never ran. */
export function isNoHandler(error: unknown): boolean {
  return isRemoteError(error) && error.code === 'ERR_NO_HANDLER';
}

/**
 * Whether `retries` may try another server after `error`: a transport failure (the request never
 * reached a handler), a timeout with `retryOn: ['timeout']`, or a remote handler error with
 * `retryOn: ['remote']` (but not one carrying a 4xx status: another server would answer alike).
 */
export function isRetried(error: unknown, retryOn: readonly RetryOn[] | undefined): boolean {
  const code = codeOf(error);
  if (RETRIED_CODES.has(code)) return true;
  if (retryOn === undefined) return false;
  if (code === 'ERR_REQUEST_TIMEOUT') return retryOn.includes('timeout');
  if (code === 'ERR_REMOTE_HANDLER' && isRemoteError(error)) {
    const status = error.status;
    return retryOn.includes('remote') && (status === undefined || status >= 500);
  }
  return false;
}
