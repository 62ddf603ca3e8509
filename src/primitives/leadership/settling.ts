/**
 * Settling (D4): after start and after a freeze a node may not lead until its view of the cluster
 * has settled, so that a restarting node, or a resumed one that is briefly alone, does not lead
 * beside the real leader. Settled once, continuously for `settleMs`, either the first discovery
 * has answered and every discovered node and every node that was a member before the freeze is a
 * member again; or `failureTimeoutMs` has passed since it became unsettled (those nodes are gone:
 * peers would have declared them down by then).
 */

/** What this node sees now, read on each observation. */
export interface SettleFacts {
  /** The first discovery has answered (or the cluster has no discovery). */
  readonly discoveryAnswered: boolean;
  /** The nodes the last discovery answer named, without this node. */
  readonly discovered: readonly string[];
  /** The connected members. */
  readonly members: ReadonlySet<string>;
}

/** Options of {@link Settling}. */
export interface SettlingOptions {
  /** How long the conditions must hold without a break. */
  readonly settleMs: number;
  /** After this long unsettled, the membership conditions are waived. */
  readonly failureTimeoutMs: number;
  /** Reads the facts. */
  readonly facts: () => SettleFacts;
  /** Called once each time it settles. */
  readonly onSettled: (unsettledForMs: number) => void;
  /** The monotonic clock; `performance.now()` by default. */
  readonly now?: () => number;
}

/** Whether this node's view has settled; see the file comment. */
export class Settling {
  private readonly now: () => number;
  private readonly pollMs: number;
  /** When it became unsettled; `undefined` while settled. */
  private unsettledAt: number | undefined;
  /** Since when the conditions hold without a break. */
  private readySince: number | undefined;
  private required: readonly string[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly options: SettlingOptions) {
    this.now = options.now ?? (() => performance.now());
    // often enough that settling takes about settleMs, rarely enough to cost nothing
    this.pollMs = Math.min(100, Math.max(10, Math.floor(options.settleMs / 5)));
  }

  /** Whether this node's view has settled. */
  get settled(): boolean {
    return this.unsettledAt === undefined;
  }

  /** Counts as settled from now on (a cluster without discovery: there is nothing to wait for). */
  settleNow(): void {
    this.unsettledAt = undefined;
    this.readySince = undefined;
    clearTimeout(this.timer);
  }

  /**
   * Becomes unsettled: at start (`previousMembers` empty) or after a freeze (the members seen
   * before it, which must be members again before this node leads).
   */
  unsettle(previousMembers: readonly string[]): void {
    if (this.stopped) return;
    this.unsettledAt = this.now();
    this.readySince = undefined;
    this.required = [...previousMembers];
    this.schedule();
  }

  /** Reads the facts now (call on membership and discovery events, so a blip breaks the run). */
  observe(): void {
    if (this.unsettledAt === undefined || this.stopped) return;
    const now = this.now();
    if (!this.ready(now)) {
      this.readySince = undefined;
      return;
    }
    this.readySince ??= now;
    if (now - this.readySince < this.options.settleMs) return;
    const unsettledFor = now - this.unsettledAt;
    this.unsettledAt = undefined;
    this.readySince = undefined;
    clearTimeout(this.timer);
    this.options.onSettled(unsettledFor);
  }

  /** Stops its timer for good. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private ready(now: number): boolean {
    if (now - this.unsettledAt! >= this.options.failureTimeoutMs) return true;
    const { discoveryAnswered, discovered, members } = this.options.facts();
    if (!discoveryAnswered) return false;
    return (
      discovered.every(node => members.has(node)) && this.required.every(node => members.has(node))
    );
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.observe();
      if (this.unsettledAt !== undefined && !this.stopped) this.schedule();
    }, this.pollMs);
    this.timer.unref();
  }
}
