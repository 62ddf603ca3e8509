import type { Peer } from '../../core/index.js';
import { type PresenceAnnouncement, PresenceReplayGuard } from '../protocol/index.js';

/** What {@link NatsDiscoveryTable.offer} made of an announcement. */
export type TableOffer =
  /** Accepted; the answer changed (a new node, a new port, a node back, a node leaving). */
  | 'changed'
  /** Accepted; the answer did not change (a node heard again). */
  | 'refreshed'
  /** Not news: a replay, a packet overtaken by a restart, a `leaving` of an earlier start. */
  | 'replayed';

interface Entry {
  readonly port: number;
  /** Monotonic ms of the last accepted announcement (or of the reconnect, see `graceFrom`). */
  readonly heardAt: number;
}

/**
 * The nodes heard through NATS, bounded: at most `maxCandidates` names, the least recently heard
 * forgotten first (counted in {@link evicted}), so a flood of distinct names never grows memory.
 * A node is in the answer while heard within `failureTimeoutMs` (monotonic clock). Replays are
 * refused by a {@link PresenceReplayGuard} (its own bound: 4 × `maxCandidates` names, so a node
 * that drops out of the table keeps its replay memory a while longer).
 */
export class NatsDiscoveryTable {
  private readonly entries = new Map<string, Entry>();
  private readonly guard: PresenceReplayGuard;
  private evictedCount = 0;

  constructor(
    private readonly settings: {
      readonly maxCandidates: number;
      readonly failureTimeoutMs: number;
      /** Monotonic ms (`performance.now`). */
      readonly now: () => number;
    },
  ) {
    this.guard = new PresenceReplayGuard(settings.maxCandidates * 4);
  }

  /** Names forgotten to stay within `maxCandidates`. */
  get evicted(): number {
    return this.evictedCount;
  }

  /** Names in the table, fresh or not. */
  get size(): number {
    return this.entries.size;
  }

  /** Takes an authenticated announcement of another node (port already checked). */
  offer(a: PresenceAnnouncement): TableOffer {
    if (!this.guard.accept(a)) return 'replayed';
    const now = this.settings.now();
    const known = this.entries.get(a.node);
    const wasListed = known !== undefined && this.listed(known, now);
    // Delete first, so the map stays least recently heard first.
    this.entries.delete(a.node);
    if (a.kind === 'leaving') return wasListed ? 'changed' : 'refreshed';
    this.entries.set(a.node, { port: a.port, heardAt: now });
    while (this.entries.size > this.settings.maxCandidates) {
      this.entries.delete(this.entries.keys().next().value!);
      this.evictedCount++;
    }
    return !wasListed || known!.port !== a.port ? 'changed' : 'refreshed';
  }

  /**
   * Counts every node as heard now: after a time cut off from NATS (when nothing could be
   * heard), each gets a full `failureTimeoutMs` to be heard again before it drops out.
   */
  refreshAll(): void {
    const now = this.settings.now();
    for (const [node, entry] of this.entries) this.entries.set(node, { ...entry, heardAt: now });
  }

  /** Forgets the nodes silent for over `olderThanMs` (they are out of the answer already). */
  prune(olderThanMs: number): void {
    const now = this.settings.now();
    for (const [node, entry] of this.entries)
      if (now - entry.heardAt > olderThanMs) this.entries.delete(node);
  }

  /** The nodes heard within `failureTimeoutMs`. */
  peers(): Peer[] {
    const now = this.settings.now();
    const peers: Peer[] = [];
    for (const [node, entry] of this.entries)
      if (this.listed(entry, now)) peers.push({ node, port: entry.port });
    return peers;
  }

  private listed(entry: Entry, now: number): boolean {
    return now - entry.heardAt <= this.settings.failureTimeoutMs;
  }
}
