/**
 * Link admission: the engine's answer to "may a link with this node come up now?", which it hands
 * to the dist in {@link DistContext.admission}. Under `removalPolicy: 'disconnect'` only nodes in
 * the last good discovery answer are admitted, so that a node removed from discovery, which still
 * discovers this node and dials it, is refused for as long as it stays undiscovered (otherwise the
 * policy would last until its next dial, a few hundred milliseconds). Under `'keep'` every node is.
 */
import type { RemovalPolicy } from './defaults.js';
import { withDeadline } from './deadline.js';
import { DiscoveryError } from './errors.js';
import { CoreMessages } from './messages.js';
import { nodeKey } from './peer.js';

/**
 * What the engine offers a dist for deciding whether a link may come up (see
 * {@link DistContext.admission}). Hidden (tool) connections are not members: a dist never asks
 * about them, and keeps admitting them.
 */
export interface LinkAdmission {
  /**
   * Whether a link with `node` may count as up now: synchronous, no side effects. A dist calls
   * it right before it counts an authenticated link as up and reports `nodeUp`, with no `await`
   * in between, so that a node removed from discovery after an earlier check is not let in; and
   * before it dials a node the engine did not ask for (a transitive dial). A node it does not
   * admit gets no `nodeUp`: the dist closes that link (an inbound one it refuses in its handshake,
   * after {@link admit}).
   * @param node the peer's node name, in any spelling
   */
  admits(node: string): boolean;
  /**
   * The same question for an authenticated inbound link, asked before this node tells the
   * dialler it is accepted. A node not admitted yet may be a new node that discovery has not
   * returned so far: the engine then runs one refresh (at most one per refresh interval for all
   * such questions, 5 s when the interval is `'infinity'`; questions meanwhile wait for the same
   * refresh) and answers from its result. Never rejects; `false` when `signal` aborts first or the
   * cluster stops. The dist must still call {@link admits} right before the link counts as up.
   * @param node the peer's node name, in any spelling
   * @param signal bounds the wait (the dist's handshake deadline)
   */
  admit(node: string, signal?: AbortSignal): Promise<boolean>;
}

/** The refresh window of admission checks when the refresh interval is `'infinity'`. */
export const ADMISSION_REFRESH_WINDOW_MS = 5_000;

/** What {@link AdmissionControl} needs from the engine. */
export interface AdmissionControlOptions {
  /** The removal policy in force. */
  readonly policy: RemovalPolicy;
  /** Least time between two refreshes that admission checks run (the refresh interval). */
  readonly windowMs: number;
  /** Whether `key` (canonical) is in the last good discovery answer. */
  readonly discovered: (key: string) => boolean;
  /** Whether the engine runs refreshes now (not paused, leaving or stopped). */
  readonly running: () => boolean;
  /** Starts a refresh; calls while one runs share a single follow-up. */
  readonly refresh: () => void;
  /** Aborted when the cluster stops. */
  readonly stopping: AbortSignal;
  /** Longest wait for the refresh an admission check asked for (the discovery timeout). */
  readonly maxWaitMs: number;
}

/**
 * The engine's {@link LinkAdmission}. It counts discovery lookups, so that a check waits for a
 * lookup that started after it asked (not one already in flight, which may predate the node).
 */
export class AdmissionControl implements LinkAdmission {
  private started = 0;
  private finished = 0;
  private lastTriggerAt = -Infinity;
  /** The lookup the last triggered refresh waits for, and its waiters' shared promise. */
  private awaited: { seq: number; done: Promise<void>; resolve: () => void } | undefined;

  constructor(private readonly options: AdmissionControlOptions) {}

  admits(node: string): boolean {
    if (this.options.policy !== 'disconnect') return true;
    let key: string;
    try {
      key = nodeKey(node);
    } catch {
      return false;
    }
    return this.options.discovered(key);
  }

  async admit(node: string, signal?: AbortSignal): Promise<boolean> {
    if (this.admits(node)) return true;
    const { running, stopping, windowMs, maxWaitMs } = this.options;
    if (!running() || stopping.aborted || signal?.aborted) return false;
    const now = performance.now();
    if (now - this.lastTriggerAt >= windowMs) {
      this.lastTriggerAt = now;
      // The next lookup to start: the one after a round in flight, when there is one.
      this.awaitLookup(this.started + 1);
      this.options.refresh();
    }
    const awaited = this.awaited;
    if (awaited && this.finished < awaited.seq) {
      const bound = signal ? AbortSignal.any([signal, stopping]) : stopping;
      try {
        await withDeadline(() => awaited.done, {
          ms: maxWaitMs,
          signal: bound,
          onTimeout: () =>
            new DiscoveryError(CoreMessages.admissionRefreshTimeout(maxWaitMs), {
              code: 'ERR_DISCOVERY_TIMEOUT',
            }),
        });
      } catch {
        return false;
      }
    }
    return this.admits(node);
  }

  /** The engine starts a discovery lookup. */
  lookupStarted(): void {
    this.started++;
  }

  /** The lookup started last has finished (answered or failed) and its answer is applied. */
  lookupFinished(): void {
    this.finished = this.started;
    const awaited = this.awaited;
    if (awaited && this.finished >= awaited.seq) {
      this.awaited = undefined;
      awaited.resolve();
    }
  }

  private awaitLookup(seq: number): void {
    if (this.awaited) {
      // An earlier trigger still waits: later waiters wait for the later lookup.
      this.awaited = { ...this.awaited, seq: Math.max(seq, this.awaited.seq) };
      return;
    }
    let resolve!: () => void;
    const done = new Promise<void>(r => (resolve = r));
    this.awaited = { seq, done, resolve };
  }
}
