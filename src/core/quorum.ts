/**
 * The quorum rule: a side of the cluster has quorum when it holds a strict majority of the
 * cluster's expected size. Lost at once, regained only after a stable margin, so a flapping link
 * does not toggle it.
 */
import type { StructuredLogger } from './cluster-logger.js';
import { DEFAULT_QUORUM_STABLE_MS } from './defaults.js';
import { InvalidConfigError } from './errors.js';
import type { QuorumState } from './events.js';
import { QuorumMessages } from './quorum.messages.js';
import {
  MAX_INT32,
  checkKnownKeys,
  checkMilliseconds,
  invalidOption,
  isIntegerIn,
} from './validate.js';

/**
 * How the quorum rule learns the cluster's size.
 * - `{ expectedSize: n }`: the whole cluster has `n` nodes, this one included (the safe form).
 * - `{ expectedSize: 'discovered', unsafe: true }`: the size is what discovery names (plus this
 *   node). Unsafe when discovery itself can be partitioned (gossip, local, an etcd minority): each
 *   side may then see only itself and believe it is the majority.
 */
export type QuorumOptions =
  | {
      readonly expectedSize: number;
      /** How long quorum must hold before it counts as regained (3 s). */
      readonly stableMs?: number;
    }
  | {
      readonly expectedSize: 'discovered';
      /** Required with `'discovered'`: says the caller read why it is unsafe. */
      readonly unsafe: true;
      readonly stableMs?: number;
    };

/** The nodes a side needs for quorum: a strict majority of `expectedSize`. */
export function quorumNeeded(expectedSize: number): number {
  return Math.floor(expectedSize / 2) + 1;
}

/** The `quorum` option checked, its default filled in. */
export interface ResolvedQuorumOptions {
  /** The whole cluster's size, or `'discovered'` (the unsafe form). */
  readonly expectedSize: number | 'discovered';
  /** How long `size >= needed` must hold, after a loss, before quorum counts as regained. */
  readonly stableMs: number;
}

const QUORUM_KEYS = ['expectedSize', 'unsafe', 'stableMs'];

/**
 * Checks the `quorum` option of a `GenCluster` and fills in `stableMs`; `undefined` when unset.
 * Throws {@link InvalidConfigError} naming the field, the value and the accepted forms.
 */
export function resolveQuorumOptions(value: unknown): ResolvedQuorumOptions | undefined {
  if (value === undefined) return undefined;
  checkKnownKeys('quorum', value, QUORUM_KEYS);
  const { expectedSize, unsafe, stableMs = DEFAULT_QUORUM_STABLE_MS } = value;
  if (expectedSize === 'discovered') {
    if (unsafe !== true) {
      throw new InvalidConfigError(QuorumMessages.discoveredNeedsUnsafe(), {
        option: 'quorum.unsafe',
      });
    }
  } else {
    if (!isIntegerIn(expectedSize, 1, MAX_INT32))
      throw invalidOption('quorum.expectedSize', expectedSize, QuorumMessages.expectedSizeForms());
    if (unsafe !== undefined)
      throw invalidOption('quorum.unsafe', unsafe, QuorumMessages.unsafeOnlyDiscovered());
  }
  // 0 regains at once; fractions are fine, as for the engine's other durations.
  checkMilliseconds('quorum.stableMs', stableMs, { min: 0, integer: false });
  return { expectedSize, stableMs };
}

/** What {@link QuorumTracker} needs from the engine. */
export interface QuorumTrackerDeps {
  /**
   * Asks the engine for a new membership snapshot (which calls {@link QuorumTracker.evaluate}):
   * the stable margin has passed, or the discovered set changed the expected size.
   */
  readonly republish: () => void;
  /** Where quorum changes are logged (`warn` when lost, `log` when formed or regained). */
  readonly logger?: Pick<StructuredLogger, 'log' | 'warn'>;
}

/** One evaluation: the state with the current members, and whether `has` just changed. */
export interface QuorumEvaluation {
  readonly state: QuorumState;
  readonly changed: boolean;
}

/**
 * Tracks whether this side has quorum as members come and go. `has` starts false; the first time
 * `size >= needed` it holds at once (formation). After a loss (at once, when `size < needed`) it
 * is regained only once `size >= needed` has held continuously for `stableMs`: a timer started on
 * the first evaluation that meets the rule, cancelled by any evaluation that does not.
 *
 * With `expectedSize: 'discovered'`, nothing holds before discovery's first answer (a node that
 * has not looked yet would otherwise count itself as the whole cluster).
 */
export class QuorumTracker {
  private current: QuorumState;
  /** Whether quorum has ever held: from then on, `stableMs` applies to a regain. */
  private formed = false;
  private regainTimer: ReturnType<typeof setTimeout> | undefined;
  /** The stable margin passed while the rule kept being met: the next evaluation regains. */
  private regainDue = false;
  /** Nodes in discovery's last good answer, without this one; unset before its first answer. */
  private discoveredCount: number | undefined;
  private closed = false;

  constructor(
    readonly options: ResolvedQuorumOptions,
    private readonly deps: QuorumTrackerDeps,
  ) {
    this.current = this.stateFor(0, false);
  }

  /** Builds a tracker for the `quorum` option (checked here); `undefined` when it is unset. */
  static fromOption(value: unknown, deps: QuorumTrackerDeps): QuorumTracker | undefined {
    const options = resolveQuorumOptions(value);
    return options && new QuorumTracker(options, deps);
  }

  /** The state as of the last evaluation. */
  get state(): QuorumState {
    return this.current;
  }

  /**
   * Re-evaluates with `members` connected members (this node not counted). Called for every
   * membership snapshot, so each snapshot carries the state with its own members.
   */
  evaluate(members: number): QuorumEvaluation {
    const was = this.current.has;
    const probe = this.stateFor(members, was);
    const met = probe.size >= probe.needed && this.sizeKnown();
    let has = was;
    if (!met) {
      has = false;
      this.cancelRegain();
    } else if (!was) {
      if (!this.formed || this.regainDue || this.options.stableMs === 0) has = true;
      else this.armRegain();
    }
    if (has) this.cancelRegain();
    this.current = has === was ? probe : this.stateFor(members, has);
    const changed = has !== was;
    if (changed) this.logChange(was);
    if (has) this.formed = true;
    return { state: this.current, changed };
  }

  /**
   * Discovery answered with `count` nodes (this one not counted). Only the `'discovered'` form
   * reads it; a change of the expected size asks for a new snapshot.
   */
  discovered(count: number): void {
    if (this.options.expectedSize !== 'discovered' || this.closed) return;
    const first = this.discoveredCount === undefined;
    if (!first && this.discoveredCount === count) return;
    this.discoveredCount = count;
    this.deps.republish();
  }

  /**
   * Cancels the regain timer; later evaluations arm none and log nothing (a stopping engine's own
   * nodeDowns are not a loss of quorum). Snapshots keep their state.
   */
  close(): void {
    this.closed = true;
    this.cancelRegain();
  }

  private sizeKnown(): boolean {
    return this.options.expectedSize !== 'discovered' || this.discoveredCount !== undefined;
  }

  private stateFor(members: number, has: boolean): QuorumState {
    const size = 1 + members;
    const { expectedSize: configured } = this.options;
    const expectedSize =
      configured === 'discovered' ? Math.max(1 + (this.discoveredCount ?? 0), size) : configured;
    return { has, size, needed: quorumNeeded(expectedSize), expectedSize };
  }

  private armRegain(): void {
    if (this.regainTimer || this.closed) return;
    this.regainTimer = setTimeout(() => {
      this.regainTimer = undefined;
      this.regainDue = true;
      this.deps.republish();
    }, this.options.stableMs);
    this.regainTimer.unref?.();
  }

  private cancelRegain(): void {
    if (this.regainTimer) clearTimeout(this.regainTimer);
    this.regainTimer = undefined;
    this.regainDue = false;
  }

  private logChange(had: boolean): void {
    const { logger } = this.deps;
    if (!logger || this.closed) return;
    const q = this.current;
    const fields = { event: 'quorumChanged', has: q.has, size: q.size, needed: q.needed };
    if (had) logger.warn(QuorumMessages.lost(q), fields);
    else if (this.formed) logger.log(QuorumMessages.regained(q, this.options.stableMs), fields);
    else logger.log(QuorumMessages.formed(q), fields);
  }
}
