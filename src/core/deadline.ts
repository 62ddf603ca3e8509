/**
 * One way to bound a piece of async work in time and let a caller abandon it: the work gets an
 * `AbortSignal` that fires when the deadline passes or the caller's signal aborts, and the
 * returned promise settles at that moment even if the work ignores its signal (a strategy or a
 * socket that does not honour aborts must not hold up `stop()`).
 */
import { toError } from './errors.js';
import { MAX_TIMER_MS } from './validate.js';

/** How {@link withDeadline} bounds the work. */
export interface DeadlineOptions {
  /** Time allowed, in milliseconds; `Infinity` for no deadline. */
  readonly ms: number;
  /** Aborts the work from outside; its `reason` becomes the rejection (made an `Error`). */
  readonly signal?: AbortSignal;
  /** Builds the rejection when the deadline passes. */
  readonly onTimeout: () => Error;
}

/**
 * Runs `work(signal)` and settles with its result, or rejects with `onTimeout()` when `ms` pass
 * first, or with the outer signal's reason when it aborts first. The inner signal is aborted in
 * both cases so the work can stop; timers and listeners are always removed.
 */
export function withDeadline<T>(
  work: (signal: AbortSignal) => T | Promise<T>,
  options: DeadlineOptions,
): Promise<T> {
  const { ms, signal: outer, onTimeout } = options;
  const controller = new AbortController();
  if (outer?.aborted) {
    controller.abort(outer.reason);
    return Promise.reject(toError(outer.reason));
  }
  return new Promise<T>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
      settle();
    };
    const onOuterAbort = () => {
      controller.abort(outer?.reason);
      finish(() => reject(toError(outer?.reason)));
    };
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    if (Number.isFinite(ms)) {
      timer = setTimeout(
        () => {
          const error = onTimeout();
          controller.abort(error);
          finish(() => reject(error));
        },
        Math.min(Math.max(ms, 0), MAX_TIMER_MS),
      );
      timer.unref?.();
    }
    Promise.resolve()
      .then(() => work(controller.signal))
      .then(
        value => finish(() => resolve(value)),
        (error: unknown) => finish(() => reject(toError(error))),
      );
  });
}
