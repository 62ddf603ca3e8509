/**
 * One singleton's lifecycle on this node: idle -> starting -> running -> stopping -> idle. The
 * leadership says which term it should run under (or none); the runner gets there one step at a
 * time, so a start never overlaps its own stop on this node. A start that throws is logged and
 * tried again after a backoff, or at once when the term changes (the next leadership).
 */
import {
  type BackoffOptions,
  type ClusterLogger,
  backoffDelay,
  toError,
} from '../../core/index.js';
import { LeadershipMessages } from './leadership.messages.js';
import type { SingletonContext, SingletonHooks } from './leadership.types.js';

/** Where a singleton is in its lifecycle on this node. */
export type SingletonState = 'idle' | 'starting' | 'running' | 'stopping';

/** Options of a {@link SingletonRunner}. */
export interface SingletonRunnerOptions {
  readonly name: string;
  readonly hooks: SingletonHooks;
  /** After this long a stop hook is logged as slow and no longer waited for by `whenIdle`. */
  readonly stopTimeoutMs: number;
  /** `ctx.isLeader()`. */
  readonly isLeader: () => boolean;
  readonly logger?: ClusterLogger;
  /** Delays between failed starts (1 s doubling to 30 s, ±20 %). */
  readonly backoff?: BackoffOptions;
}

/** Retries of a start that threw: soon at first, never a hot loop. */
export const START_RETRY_BACKOFF: BackoffOptions = {
  initialMs: 1_000,
  maxMs: 30_000,
  multiplier: 2,
  jitter: 0.2,
};

interface Run {
  readonly context: SingletonContext;
  readonly controller: AbortController;
}

/** Runs one singleton's hooks; see the file comment. */
export class SingletonRunner {
  private desired: number | undefined;
  private run: Run | undefined;
  private phase: SingletonState = 'idle';
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: SingletonRunnerOptions) {}

  /** Where it is now. */
  get state(): SingletonState {
    return this.phase;
  }

  /** Whether its start has been called and its stop has not returned. */
  get running(): boolean {
    return this.run !== undefined;
  }

  /** The term of the current run, if any. */
  get term(): number | undefined {
    return this.run?.context.term;
  }

  /**
   * Run under `term`, or not at all (`undefined`). A run under another term is stopped first (its
   * signal aborts at once) and started again under the new one.
   */
  want(term: number | undefined): void {
    if (this.closed) return;
    if (term !== this.desired) {
      // a new leadership: a start that failed under the old one is tried at once
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    this.desired = term;
    if (this.run !== undefined && this.run.context.term !== term) {
      this.run.controller.abort();
    }
    this.pump();
  }

  /**
   * Resolves when nothing runs and no hook is in flight; callers that must not wait for ever
   * bound it (the leadership does, by `stopTimeoutMs`).
   */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise(resolve => this.idleWaiters.push(resolve));
  }

  /** Stops it (awaiting its stop hook) and never starts it again. */
  close(): Promise<void> {
    this.want(undefined);
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    return this.whenIdle();
  }

  private isIdle(): boolean {
    return this.phase === 'idle' && this.run === undefined;
  }

  private pump(): void {
    if (this.phase === 'starting' || this.phase === 'stopping') return;
    if (this.run !== undefined) {
      if (this.run.context.term !== this.desired) void this.stopRun(this.run);
    } else if (this.desired !== undefined && this.retryTimer === undefined && !this.closed) {
      void this.startRun(this.desired);
    }
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async startRun(term: number): Promise<void> {
    const { name, hooks, logger } = this.options;
    const controller = new AbortController();
    const context: SingletonContext = {
      name,
      term,
      signal: controller.signal,
      isLeader: this.options.isLeader,
    };
    const run: Run = { context, controller };
    this.run = run;
    this.phase = 'starting';
    try {
      // a later microtask: the hook never runs inside the leadership's own bookkeeping
      await null;
      if (this.desired !== term || controller.signal.aborted) {
        // unwanted meanwhile (leadership gained and lost in one delivery): never start it
        this.run = undefined;
        this.phase = 'idle';
        this.pump();
        return;
      }
      await hooks.start(context);
      this.failures = 0;
      this.phase = 'running';
      logger?.debug?.(LeadershipMessages.singletonStarted(name, term), {
        event: 'singletonStarted',
        singleton: name,
        term,
      });
    } catch (thrown) {
      const error = toError(thrown);
      controller.abort(error);
      this.run = undefined;
      this.phase = 'idle';
      this.failures++;
      const delay = backoffDelay(this.options.backoff ?? START_RETRY_BACKOFF, this.failures);
      logger?.error(LeadershipMessages.singletonStartFailed(name, term, delay, error.message), {
        event: 'singletonStartFailed',
        singleton: name,
        term,
        error,
      });
      if (!this.closed) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.pump();
        }, delay);
        this.retryTimer.unref();
      }
    }
    this.pump();
  }

  private async stopRun(run: Run): Promise<void> {
    const { name, hooks, logger, stopTimeoutMs } = this.options;
    this.phase = 'stopping';
    run.controller.abort();
    const began = performance.now();
    let slow = false;
    const timer = setTimeout(() => {
      slow = true;
      logger?.warn(LeadershipMessages.singletonStopSlow(name, stopTimeoutMs), {
        event: 'singletonStopSlow',
        singleton: name,
      });
    }, stopTimeoutMs);
    timer.unref();
    try {
      await null;
      await hooks.stop?.(run.context);
    } catch (thrown) {
      const error = toError(thrown);
      logger?.warn(LeadershipMessages.singletonStopFailed(name, error.message), {
        event: 'singletonStopFailed',
        singleton: name,
        error,
      });
    }
    clearTimeout(timer);
    if (slow) {
      logger?.log(LeadershipMessages.singletonStopLate(name, performance.now() - began), {
        event: 'singletonStopLate',
        singleton: name,
      });
    }
    logger?.debug?.(LeadershipMessages.singletonStopped(name, run.context.term), {
      event: 'singletonStopped',
      singleton: name,
      term: run.context.term,
    });
    this.run = undefined;
    this.phase = 'idle';
    this.pump();
  }
}
