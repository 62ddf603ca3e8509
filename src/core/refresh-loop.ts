/**
 * The engine's refresh schedule: one round at a time, calls made during a round folded into a
 * single follow-up, and the next round timed from the end of the last one (a chained timer, so a
 * slow discovery never stacks rounds).
 */

/** What a round hands back: the connection attempts it started, which it does not wait for. */
export interface RefreshRound {
  /** Settles when every attempt the round started has settled. */
  readonly attempts: Promise<unknown>;
}

/** Runs refresh rounds on demand and on an interval. */
export class RefreshLoop {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inflight: Promise<void> | undefined;
  private followUp: Promise<void> | undefined;

  /**
   * @param intervalMs time from the end of one round to the next; `Infinity` for none
   * @param round one round; the attempts are returned in an object (a bare promise would be
   *   awaited): the round, and so the timer, must not wait for slow peers
   * @param running whether rounds may run (no round starts and no timer is armed otherwise)
   * @param crashed told of a round that rejected, which a round should never do
   */
  constructor(
    private readonly intervalMs: number,
    private readonly round: () => Promise<RefreshRound>,
    private readonly running: () => boolean,
    private readonly crashed: (error: unknown) => void,
  ) {}

  /**
   * Runs a round now, or, while one runs, shares a single follow-up round with every other call
   * made meanwhile. Resolves when the round's connection attempts have settled.
   */
  run(): Promise<void> {
    if (!this.running()) return Promise.resolve();
    if (this.inflight) {
      this.followUp ??= this.inflight.then(() => {
        this.followUp = undefined;
        return this.run();
      });
      return this.followUp;
    }
    let attempts: Promise<unknown> = Promise.resolve();
    const round = this.round()
      .then(started => {
        attempts = started.attempts;
      })
      .catch(this.crashed)
      .finally(() => {
        this.inflight = undefined;
        this.arm();
      });
    this.inflight = round;
    return round.then(() => attempts).then(() => undefined);
  }

  /** Settles when the round in flight, if any, has finished its discovery and dispatch. */
  async settled(): Promise<void> {
    await this.inflight;
  }

  /** Cancels the timer; the end of the next round arms it again. */
  stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.stopTimer();
    if (!this.running() || !Number.isFinite(this.intervalMs)) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, this.intervalMs);
    this.timer.unref?.();
  }
}
