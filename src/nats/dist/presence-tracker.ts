/**
 * Who is present over NATS, as a pure state machine: the dist feeds it the presence announcements
 * it verified (HMAC and replay checks done before), the ticks of its clock and its connectivity to
 * NATS, and it answers with `up` / `down` events. No timers, no I/O: every case is a table test.
 *
 * Two kinds of entries: **members** (their `nodeUp` was reported) and **candidates** (heard, but
 * not admitted by the engine's {@link LinkAdmission}, or disconnected on purpose and waiting for
 * the engine's `connect`). Both are "heard nodes", which the dist's own discovery names.
 *
 * Both are **verified** starts: the dist feeds {@link PresenceTracker.heard} only with a `reply`
 * bound to this node's current start (or a message frame signed for it), and announcements of a
 * verified start. Any other announcement (an `alive` or `hello` of a start not verified yet, which
 * may be a recording replayed to this start) goes to {@link PresenceTracker.unverified}: kept as
 * **pending** (bounded, forgotten after the failure timeout), never a member, never named by
 * discovery, until the start answers.
 */
import type { NodeDownReason } from '../../core/index.js';

/** What the tracker reads of a verified presence announcement. */
export interface PresenceFacts {
  readonly node: string;
  readonly incarnation: string;
  /** ms since the epoch, as the node announced it. */
  readonly startedAt: number;
}

/** A heard node as the tracker reports it. */
export interface TrackedNode {
  readonly node: string;
  readonly incarnation: string;
  readonly startedAt: number;
  /** Whether its `nodeUp` was reported (and no `nodeDown` since). */
  readonly member: boolean;
}

/** Where the tracker reports membership changes; called synchronously, after its state changed. */
export interface PresenceTrackerEvents {
  /** `node` became a member. */
  up(node: TrackedNode): void;
  /** `node` (its start `incarnation`) is no longer a member. */
  down(node: string, incarnation: string, reason: NodeDownReason): void;
}

/** Options of {@link PresenceTracker}. */
export interface PresenceTrackerOptions {
  /** This node's name: its own announcements (echoed by NATS) are not peers. */
  readonly self: string;
  /** This start's incarnation: the same name with another incarnation is a duplicate. */
  readonly selfIncarnation: string;
  /** Silence after which a member is declared down (`heartbeatTimeout`). */
  readonly failureTimeoutMs: number;
  /** Most nodes tracked at once (members and candidates); default {@link MAX_TRACKED_NODES}. */
  readonly maxNodes?: number;
  /** The engine's admission (`LinkAdmission.admits`); every node when unset. */
  readonly admits?: (node: string) => boolean;
  /** Monotonic ms; `performance.now` by default. */
  readonly clock?: () => number;
}

/** Default bound of the tracker: at the bound, announcements of new nodes are ignored. */
export const MAX_TRACKED_NODES = 10_000;

/**
 * What one announcement did: `up` (a new member), `restarted` (a member's new start: the old one
 * went down with reason `restarted`, the new one is up), `refreshed` (a member heard again),
 * `candidate` (heard, not a member: not admitted, or disconnected on purpose), `self` (our own
 * echo), `duplicate` (another live start under a name already taken: ours, or a peer's older
 * start while its later one lives), `full` (a new node while {@link MAX_TRACKED_NODES} are tracked).
 */
export type HeardOutcome =
  'up' | 'restarted' | 'refreshed' | 'candidate' | 'self' | 'duplicate' | 'full';

/**
 * What an unverified announcement did: `refreshed` (its start is the tracked, verified one: heard
 * again), `pending` (kept until the start answers; the dist asks it with a directed `hello`),
 * `self`/`duplicate` as for {@link HeardOutcome}.
 */
export type UnverifiedOutcome = 'refreshed' | 'pending' | 'self' | 'duplicate';

/** What {@link PresenceTracker.frameFrom} decided for a frame: see there. */
export type FrameSender = 'member' | 'up' | 'pending' | 'notMember';

/** What {@link PresenceTracker.connect} found: see there. */
export type ConnectOutcome = 'member' | 'up' | 'notAdmitted' | 'unknown';

interface Entry {
  readonly node: string;
  readonly incarnation: string;
  readonly startedAt: number;
  member: boolean;
  /** Disconnected on purpose: stays a candidate until the engine connects it again. */
  held: boolean;
  lastHeard: number;
}

/** The presence state machine (see the file header). */
export class PresenceTracker {
  /** Entries in the order they were last heard (re-inserted on each), so `tick` stops early. */
  private readonly entries = new Map<string, Entry>();
  /** Starts heard but not verified, by node, least recently heard first (see the file header). */
  private readonly pending = new Map<string, PresenceFacts & { lastHeard: number }>();
  private readonly maxNodes: number;
  private readonly clock: () => number;
  private readonly admits: (node: string) => boolean;
  private frozen = false;

  constructor(
    private readonly options: PresenceTrackerOptions,
    private readonly events: PresenceTrackerEvents,
  ) {
    this.maxNodes = options.maxNodes ?? MAX_TRACKED_NODES;
    this.clock = options.clock ?? (() => performance.now());
    this.admits = options.admits ?? (() => true);
  }

  /** Whether silence is ignored (this node is cut off from NATS). */
  get isFrozen(): boolean {
    return this.frozen;
  }

  /** Number of unverified starts kept. */
  get pendingSize(): number {
    return this.pending.size;
  }

  /** Number of tracked nodes, members and candidates. */
  get size(): number {
    return this.entries.size;
  }

  /** A verified `alive`, `hello` or `reply` announcement of `facts.node` was heard. */
  heard(facts: PresenceFacts, now = this.clock()): HeardOutcome {
    const { node, incarnation } = facts;
    if (node === this.options.self)
      return incarnation === this.options.selfIncarnation ? 'self' : 'duplicate';
    const waiting = this.pending.get(node);
    if (waiting !== undefined && waiting.incarnation === incarnation) this.pending.delete(node);
    const entry = this.entries.get(node);
    if (entry === undefined) {
      if (this.entries.size >= this.maxNodes) return 'full';
      return this.add(facts, now) ? 'up' : 'candidate';
    }
    if (entry.incarnation !== incarnation) {
      // An older start announcing itself while the later one lives is a second process under
      // the same name (or a stray packet): the later start is kept, as the TCP mesh keeps it.
      const live = now - entry.lastHeard <= this.options.failureTimeoutMs;
      if (live && facts.startedAt < entry.startedAt) return 'duplicate';
      this.entries.delete(node);
      if (entry.member) this.events.down(node, entry.incarnation, 'restarted');
      const up = this.add(facts, now);
      if (entry.member && up) return 'restarted';
      return up ? 'up' : 'candidate';
    }
    entry.lastHeard = now;
    this.entries.delete(node);
    this.entries.set(node, entry);
    if (entry.member) return 'refreshed';
    return this.promote(entry) ? 'up' : 'candidate';
  }

  /**
   * An authentic announcement (MAC and replay guard passed) that does not prove its start alive
   * now: an `alive` or a `hello`. Refreshes the start when it is the verified one tracked; else
   * keeps it pending (the newest start per node, at most `maxNodes`, least recently heard
   * dropped first), to be made a member by {@link heard} once it answers this start.
   */
  unverified(facts: PresenceFacts, now = this.clock()): UnverifiedOutcome {
    const { node, incarnation } = facts;
    if (node === this.options.self)
      return incarnation === this.options.selfIncarnation ? 'self' : 'duplicate';
    const entry = this.entries.get(node);
    if (entry !== undefined && entry.incarnation === incarnation) {
      entry.lastHeard = now;
      this.entries.delete(node);
      this.entries.set(node, entry);
      return 'refreshed';
    }
    const waiting = this.pending.get(node);
    // An older start while a later one is pending or tracked: a stray packet, not kept.
    const later = waiting ?? entry;
    if (
      later !== undefined &&
      later.incarnation !== incarnation &&
      facts.startedAt < later.startedAt
    )
      return 'duplicate';
    this.pending.delete(node);
    this.pending.set(node, {
      node,
      incarnation,
      startedAt: facts.startedAt,
      lastHeard: now,
    });
    if (this.pending.size > this.maxNodes) this.pending.delete(this.pending.keys().next().value!);
    return 'pending';
  }

  /**
   * A verified frame came from `node`'s start `incarnation`: `member` (that start is a member:
   * take it), `up` (it was pending and `proves` is set — the frame's MAC covers this start, as a
   * verified `reply` does — so it is verified now and became a member: take it), `pending` (it
   * was pending, `proves` unset — messages not signed — and admission lets it in: take it, it is
   * not made a member), `notMember` (refuse it: not admitted, disconnected, gone, or unknown).
   */
  frameFrom(node: string, incarnation: string, proves: boolean): FrameSender {
    const entry = this.entries.get(node);
    if (entry !== undefined && entry.incarnation === incarnation)
      return entry.member ? 'member' : 'notMember';
    const waiting = this.pending.get(node);
    if (waiting === undefined || waiting.incarnation !== incarnation) return 'notMember';
    if (!proves) return this.admitted(node) ? 'pending' : 'notMember';
    const outcome = this.heard(waiting);
    return outcome === 'up' || outcome === 'restarted' ? 'up' : 'notMember';
  }

  /** Whether `node` is tracked (verified: member or candidate). */
  has(node: string): boolean {
    return this.entries.has(node);
  }

  /**
   * A verified `leaving` of `facts.node` was heard: that start is gone at once (reason `left`).
   * A `leaving` of another start than the one tracked (a restart raced it) changes nothing.
   * @returns whether a member went down
   */
  leaving(facts: PresenceFacts): boolean {
    const entry = this.entries.get(facts.node);
    const waiting = this.pending.get(facts.node);
    if (waiting !== undefined && waiting.incarnation === facts.incarnation)
      this.pending.delete(facts.node);
    if (entry === undefined || entry.incarnation !== facts.incarnation) return false;
    this.entries.delete(facts.node);
    if (entry.member) this.events.down(entry.node, entry.incarnation, 'left');
    return entry.member;
  }

  /**
   * Declares down (`heartbeatTimeout`) every member silent for more than the failure timeout,
   * and forgets such candidates and pending starts. Does nothing while frozen.
   */
  tick(now = this.clock()): void {
    if (this.frozen) return;
    const limit = this.options.failureTimeoutMs;
    for (const waiting of this.pending.values()) {
      if (now - waiting.lastHeard <= limit) break;
      this.pending.delete(waiting.node);
    }
    for (const entry of this.entries.values()) {
      // Ordered by last heard: the first fresh entry ends the expired ones.
      if (now - entry.lastHeard <= limit) return;
      this.entries.delete(entry.node);
      if (entry.member) this.events.down(entry.node, entry.incarnation, 'heartbeatTimeout');
    }
  }

  /** This node lost NATS: it cannot tell who is alive, so silence declares nobody down. */
  freeze(): void {
    this.frozen = true;
  }

  /**
   * This node has NATS again: every tracked node counts as heard `now`, so that one not heard
   * within the failure timeout from now on is declared down (its silence before the outage
   * could not be told from ours).
   */
  thaw(now = this.clock()): void {
    this.frozen = false;
    for (const entry of this.entries.values()) entry.lastHeard = now;
  }

  /**
   * The engine disconnects a member on purpose: it goes down (`disconnected`) and stays a
   * candidate, not made a member again by its presence until {@link connect} asks.
   * @returns whether it was a member
   */
  disconnect(node: string): boolean {
    const entry = this.entries.get(node);
    if (entry === undefined) return false;
    entry.held = true;
    if (!entry.member) return false;
    entry.member = false;
    this.events.down(node, entry.incarnation, 'disconnected');
    return true;
  }

  /**
   * The engine asks for `node`: `member` (it is one), `up` (a heard candidate made a member now),
   * `notAdmitted` (heard, but admission refuses it), `unknown` (not heard: wait for its presence).
   */
  connect(node: string): ConnectOutcome {
    const entry = this.entries.get(node);
    if (entry === undefined) return 'unknown';
    entry.held = false;
    if (entry.member) return 'member';
    return this.promote(entry) ? 'up' : 'notAdmitted';
  }

  /** The tracked start of `node`, member or candidate. */
  get(node: string): TrackedNode | undefined {
    const entry = this.entries.get(node);
    return entry && view(entry);
  }

  /** The incarnation of `node` when it is a member. */
  memberIncarnation(node: string): string | undefined {
    const entry = this.entries.get(node);
    return entry?.member ? entry.incarnation : undefined;
  }

  /** The members now. */
  members(): TrackedNode[] {
    const members: TrackedNode[] = [];
    for (const entry of this.entries.values()) if (entry.member) members.push(view(entry));
    return members;
  }

  /** Every heard node, members and candidates. */
  heardNodes(): TrackedNode[] {
    return [...this.entries.values()].map(view);
  }

  /** Adds a new start; a member at once when admitted. @returns whether it is a member */
  private add(facts: PresenceFacts, now: number): boolean {
    const entry: Entry = {
      node: facts.node,
      incarnation: facts.incarnation,
      startedAt: facts.startedAt,
      member: false,
      held: false,
      lastHeard: now,
    };
    this.entries.set(facts.node, entry);
    return this.promote(entry);
  }

  /** Makes a candidate a member when it is not held and admission lets it in. */
  private promote(entry: Entry): boolean {
    if (entry.held || !this.admitted(entry.node)) return false;
    entry.member = true;
    this.events.up(view(entry));
    return true;
  }

  private admitted(node: string): boolean {
    try {
      return this.admits(node);
    } catch {
      return false;
    }
  }
}

function view(entry: Entry): TrackedNode {
  return {
    node: entry.node,
    incarnation: entry.incarnation,
    startedAt: entry.startedAt,
    member: entry.member,
  };
}
