/**
 * Detects that this process stopped running for a while (SIGSTOP, a VM pause, a blocked event
 * loop), D3: a monotonic tick every `max(50, tolerance / 4)` ms, and a synchronous `check()` that
 * compares the clock with the last tick. After a SIGCONT, timers that were due run in an order we
 * do not control (a user's timer may run before our tick), so whoever is about to act as leader
 * calls `check()` first: it sees the gap before any tick has reset it.
 *
 * The monotonic clock (CLOCK_MONOTONIC) does not advance while the host is suspended, nor during
 * many VM pauses, yet peers declare the node down meanwhile; so the wall clock is tracked too and
 * the gap is the larger of the two. A backward wall jump is ignored (it would hide nothing the
 * monotonic clock misses). A forward wall step (NTP) past the tolerance counts as a freeze: it
 * suspends leadership briefly, which is a gap without a leader, never two leaders at once.
 */

/** Options of a {@link FreezeGuard}. */
export interface FreezeGuardOptions {
  /** A gap between ticks longer than this is a freeze. */
  readonly toleranceMs: number;
  /** Called synchronously, once per freeze, from `check()` or from the late tick. */
  readonly onFreeze: (gapMs: number) => void;
  /** Called after each tick that found no freeze. */
  readonly onTick?: () => void;
  /** The monotonic clock (tests inject one); `performance.now()` by default. */
  readonly now?: () => number;
  /** The wall clock (tests inject one); `Date.now()` by default. */
  readonly wallNow?: () => number;
}

/** The shortest tick, so a small tolerance does not make the guard busy. */
const MIN_TICK_MS = 50;

/** A freeze detector; see the file comment. */
export class FreezeGuard {
  private readonly now: () => number;
  private readonly wallNow: () => number;
  private readonly tickMs: number;
  private lastTick = 0;
  private lastWallTick = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;

  constructor(private readonly options: FreezeGuardOptions) {
    this.now = options.now ?? (() => performance.now());
    this.wallNow = options.wallNow ?? (() => Date.now());
    this.tickMs = Math.max(MIN_TICK_MS, Math.floor(options.toleranceMs / 4));
  }

  /** Starts ticking; the time of the call counts as the first tick. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.mark();
    this.schedule();
  }

  /**
   * Whether a freeze is detected now (`true`): the time since the last tick exceeds the
   * tolerance. A detected freeze calls `onFreeze` before this returns and counts as a tick, so
   * one freeze is reported once. `false` when not started.
   */
  check(): boolean {
    if (!this.running) return false;
    // a backward wall jump gives a negative wall gap, which the max ignores
    const gap = Math.max(this.now() - this.lastTick, this.wallNow() - this.lastWallTick);
    if (gap <= this.options.toleranceMs) return false;
    this.mark();
    this.options.onFreeze(gap);
    return true;
  }

  /** Stops ticking. Idempotent. */
  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Records a tick on both clocks (after a backward wall jump, the wall gap counts from here). */
  private mark(): void {
    this.lastTick = this.now();
    this.lastWallTick = this.wallNow();
  }

  private schedule(): void {
    this.timer = setTimeout(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  private tick(): void {
    if (!this.running) return;
    if (!this.check()) {
      this.mark();
      this.options.onTick?.();
    }
    if (this.running) this.schedule();
  }
}
