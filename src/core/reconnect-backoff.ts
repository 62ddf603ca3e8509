/**
 * The per-node reconnect backoff of the engine: how many attempts to each node failed in a row,
 * when its next attempt is due, and the timer that calls for it.
 */
import { backoffDelay } from './backoff.js';
import type { BackoffOptions } from './defaults.js';

interface Entry {
  attempt: number;
  /** `performance.now()` time at which the next attempt is due. */
  dueAt: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** What {@link ReconnectBackoff.failed} decided about a failed attempt. */
export interface FailedAttempt {
  /** Failed attempts in a row, 1 for the first. */
  readonly attempt: number;
  /** When the retry is due, or `undefined` when none is planned. */
  readonly retryInMs: number | undefined;
}

/**
 * The backoff table. A node has an entry from its first failed attempt until it connects, leaves
 * discovery or is dropped; the entry's timer calls `retryDue(node)` when the next attempt is due.
 */
export class ReconnectBackoff {
  private readonly entries = new Map<string, Entry>();

  /**
   * @param options the delays (see {@link backoffDelay})
   * @param random uniform source in [0, 1) for the jitter
   * @param retryDue called when a node's retry is due; the caller decides whether to dial
   */
  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number,
    private readonly retryDue: (node: string) => void,
  ) {}

  /**
   * Counts a failed attempt to `node`. With `retry`, its retry is planned on the backoff; without
   * (the node left discovery meanwhile), its entry is dropped, so it keeps no state here.
   */
  failed(node: string, retry: boolean): FailedAttempt {
    const entry = this.entries.get(node) ?? { attempt: 0, dueAt: 0 };
    entry.attempt++;
    clearTimer(entry);
    // Drawn even when no retry is planned, so the jitter sequence does not depend on discovery.
    const delay = backoffDelay(this.options, entry.attempt, this.random);
    if (!retry) {
      this.entries.delete(node);
      return { attempt: entry.attempt, retryInMs: undefined };
    }
    this.entries.set(node, entry);
    entry.dueAt = performance.now() + delay;
    this.arm(node, entry, delay);
    return { attempt: entry.attempt, retryInMs: delay };
  }

  /**
   * Whether `node` must wait for its retry at time `now` rather than be dialled. A retry not due
   * yet whose timer was cleared (by {@link clearTimers}) is re-armed, so it is not left waiting
   * for a refresh that may never come.
   */
  waiting(node: string, now: number): boolean {
    const entry = this.entries.get(node);
    if (!entry || (!entry.timer && entry.dueAt <= now)) return false;
    if (!entry.timer) this.arm(node, entry, entry.dueAt - now);
    return true;
  }

  /** Forgets `node`: it connected, or left discovery. Its next failure counts as the first. */
  drop(node: string): void {
    const entry = this.entries.get(node);
    if (!entry) return;
    clearTimer(entry);
    this.entries.delete(node);
  }

  /** Stops every retry timer but keeps the counts and due times (pause, leave). */
  clearTimers(): void {
    for (const entry of this.entries.values()) clearTimer(entry);
  }

  private arm(node: string, entry: Entry, delay: number): void {
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.retryDue(node);
    }, delay);
    entry.timer.unref?.();
  }
}

function clearTimer(entry: Entry): void {
  if (entry.timer) clearTimeout(entry.timer);
  entry.timer = undefined;
}
