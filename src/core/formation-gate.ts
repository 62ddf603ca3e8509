/**
 * The formation gate: whether a cluster has formed, i.e. enough peers are connected and the
 * discovered set has stopped changing for a stable margin (Akka Bootstrap's
 * `required-contact-point-nr` and `stable-margin`), so that a fleet started at once does not act
 * on a half-formed view. Pure: the engine feeds it facts, and a clock is injected, so a spec can
 * drive it with fake timers.
 */
import { BehaviorSubject, type Observable, defer, distinctUntilChanged, of } from 'rxjs';
import { FormationTimeoutError } from './errors.js';
import type { ResolvedFormationOptions } from './formation-options.js';
import { FormationMessages } from './formation.messages.js';

/** A timer the gate can cancel. */
export interface FormationTimer {
  cancel(): void;
}

/** Monotonic time and timers, injected so that tests can drive the gate. */
export interface FormationClock {
  /** Monotonic milliseconds (never the wall clock: it can jump). */
  now(): number;
  /** Calls `callback` after `ms`; the timer must not keep the process alive. */
  setTimer(callback: () => void, ms: number): FormationTimer;
}

/** `performance.now()` and unref'd `setTimeout`s, looked up at each call (fake timers apply). */
export const SYSTEM_FORMATION_CLOCK: FormationClock = {
  now: () => performance.now(),
  setTimer: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    timer.unref?.();
    return { cancel: () => clearTimeout(timer) };
  },
};

/** The facts the gate judges by, as a timeout error or a probe reports them. */
export interface FormationFacts {
  /** Connected peers, this node not counted. */
  readonly members: number;
  /** Milliseconds since the discovered set last changed; undefined before the first answer. */
  readonly sinceLastChangeMs: number | undefined;
}

/** One condition being watched: the gate's own, or a `wait()` call's. */
interface Watch {
  readonly numbers: ResolvedFormationOptions;
  readonly met: () => void;
  /** Told when the gate closes first; the gate's own watch has nothing to tell. */
  readonly stopped?: () => void;
  timer?: FormationTimer;
}

/**
 * Formed when at least `minMembers` peers are connected and the discovered set (of the last
 * successful discovery answers) has not changed for `stableMarginMs`. Never formed before the
 * first answer; a failed lookup is no change (the last good answer stands). A timer fires at the
 * last change plus the margin, so formation is not held to the refresh pace. Once formed, the
 * gate stays formed (latched) until {@link close}.
 */
export class FormationGate {
  /**
   * Whether the cluster has formed: the current value at once, then each change; after close,
   * `false` and complete.
   */
  readonly formed$: Observable<boolean>;

  private readonly subject = new BehaviorSubject(false);
  private readonly watches = new Set<Watch>();
  /** The gate's own condition, watched with a timer once {@link eager}. */
  private readonly own: Watch;
  /** Whether the gate's own condition has a timer; otherwise it is judged when read. */
  private eager: boolean;
  private members = 0;
  private lastChangeAt: number | undefined;
  private closed = false;

  /**
   * @param options the configured numbers
   * @param clock monotonic time and timers
   * @param onFormed told once, when the gate latches (the engine logs it)
   * @param eager whether the gate's own condition gets a timer at once (a configured gate);
   *   otherwise only from the first subscription to `formed$`, and `formed` judges the facts when
   *   read, so an engine nobody asks about formation keeps no timer for it
   */
  constructor(
    readonly options: ResolvedFormationOptions,
    private readonly clock: FormationClock = SYSTEM_FORMATION_CLOCK,
    onFormed: (facts: FormationFacts) => void = () => undefined,
    eager = true,
  ) {
    this.eager = eager;
    this.own = {
      numbers: options,
      met: () => {
        this.subject.next(true);
        onFormed(this.facts());
      },
    };
    this.watches.add(this.own);
    // a completed BehaviorSubject replays nothing: a subscriber after close gets `false` here
    this.formed$ = defer(() => {
      if (this.closed) return of(false);
      this.makeEager();
      return this.subject.asObservable();
    }).pipe(distinctUntilChanged());
  }

  /** Whether the cluster has formed (latched: true from formation until close). */
  get formed(): boolean {
    this.judgeOwn();
    return this.subject.value;
  }

  /** The facts now. */
  facts(): FormationFacts {
    const { lastChangeAt } = this;
    return {
      members: this.members,
      sinceLastChangeMs: lastChangeAt === undefined ? undefined : this.clock.now() - lastChangeAt,
    };
  }

  /**
   * A successful discovery answer. The first one starts the margin; a later one restarts it only
   * when its set of nodes differs from the one before (`changed`).
   */
  answered(changed: boolean): void {
    if (this.closed || (!changed && this.lastChangeAt !== undefined)) return;
    this.judgeOwn();
    this.lastChangeAt = this.clock.now();
    this.recheck();
  }

  /** The number of connected peers (this node not counted) changed. */
  membersChanged(count: number): void {
    if (this.closed || count === this.members) return;
    this.judgeOwn();
    this.members = count;
    this.recheck();
  }

  /**
   * Resolves once `numbers` hold over these facts (at once when they are the configured numbers
   * and the gate has formed); rejects with `FormationTimeoutError` after `timeoutMs` (`Infinity`:
   * never), or with `stopped()` when the gate closes first.
   */
  wait(numbers: ResolvedFormationOptions, timeoutMs: number, stopped: () => Error): Promise<void> {
    if (this.closed) return Promise.reject(stopped());
    const { minMembers, stableMarginMs } = this.options;
    if (
      this.formed &&
      numbers.minMembers === minMembers &&
      numbers.stableMarginMs === stableMarginMs
    )
      return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let deadline: FormationTimer | undefined;
      const watch: Watch = {
        numbers,
        met: () => {
          deadline?.cancel();
          resolve();
        },
        stopped: () => {
          deadline?.cancel();
          reject(stopped());
        },
      };
      if (Number.isFinite(timeoutMs)) {
        deadline = this.clock.setTimer(() => {
          this.drop(watch);
          reject(this.timeoutError(numbers, timeoutMs));
        }, timeoutMs);
      }
      this.watches.add(watch);
      this.check(watch);
    });
  }

  /** Ends the gate: not formed any more, `formed$` completes, waits reject with their error. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const watch of [...this.watches]) {
      this.drop(watch);
      watch.stopped?.();
    }
    this.subject.next(false);
    this.subject.complete();
  }

  private recheck(): void {
    for (const watch of [...this.watches]) if (this.eager || watch !== this.own) this.check(watch);
  }

  /**
   * The gate's own condition, judged now: when read, before each change of the facts and before
   * any wait resolves. A lazy gate so latches exactly when an eager gate's timer would have (the
   * condition can only become true with time passing, and a change of the facts is judged just
   * before it happens), and neither kind can be read unformed after its own margin has passed or
   * after a `wait()` with its numbers resolved (a timer may fire a fraction early, or after another).
   */
  private judgeOwn(): void {
    if (!this.watches.has(this.own)) return;
    const remaining = this.remainingMs(this.options);
    if (remaining !== undefined && remaining <= 0) this.settle(this.own);
  }

  private makeEager(): void {
    if (this.eager || this.closed) return;
    this.eager = true;
    if (this.watches.has(this.own)) this.check(this.own);
  }

  private settle(watch: Watch): void {
    this.drop(watch);
    watch.met();
  }

  /** Settles `watch` if its numbers hold, or arms its timer for when the margin will have passed. */
  private check(watch: Watch): void {
    watch.timer?.cancel();
    watch.timer = undefined;
    const remaining = this.remainingMs(watch.numbers);
    if (remaining === undefined) return;
    if (remaining <= 0) {
      if (watch !== this.own) this.judgeOwn();
      return this.settle(watch);
    }
    watch.timer = this.clock.setTimer(() => {
      watch.timer = undefined;
      // a timer may fire a fraction early against the monotonic clock: check() re-arms then
      if (this.watches.has(watch)) this.check(watch);
    }, Math.ceil(remaining));
  }

  /** Time until `numbers` hold: 0 or less when they hold, undefined while members or an answer lack. */
  private remainingMs(numbers: ResolvedFormationOptions): number | undefined {
    if (this.lastChangeAt === undefined || this.members < numbers.minMembers) return undefined;
    return this.lastChangeAt + numbers.stableMarginMs - this.clock.now();
  }

  private drop(watch: Watch): void {
    watch.timer?.cancel();
    this.watches.delete(watch);
  }

  private timeoutError(
    numbers: ResolvedFormationOptions,
    timeoutMs: number,
  ): FormationTimeoutError {
    const { members, sinceLastChangeMs } = this.facts();
    const { minMembers: required, stableMarginMs } = numbers;
    return new FormationTimeoutError(
      FormationMessages.timeout(timeoutMs, members, required, sinceLastChangeMs, stableMarginMs),
      { members, required, sinceLastChangeMs, stableMarginMs },
    );
  }
}
