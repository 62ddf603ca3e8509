import type { Peer } from '../../core/index.js';
import type { GossipAnnouncement } from './gossip-packet.js';

/** How many incarnations per name are remembered, so an old one's packets cannot come back. */
export const REMEMBERED_INCARNATIONS = 4;

/** What {@link GossipTable.offer} made of an announcement. */
export type OfferResult =
  /** Accepted; the answer changed (a new node, a new port, a node back, a node leaving). */
  | 'changed'
  /** Accepted; the answer did not change (a node heard again). */
  | 'refreshed'
  /**
   * Not taken: a counter not above the last of its incarnation, or a `leaving` of an incarnation
   * that is not the current one.
   */
  | 'replayed';

interface Candidate {
  readonly port: number;
  readonly incarnation: bigint;
  readonly leaving: boolean;
  /** Monotonic ms of the last accepted announcement. */
  readonly heardAt: number;
  /** The last counter per remembered incarnation, newest last. */
  readonly counters: ReadonlyMap<bigint, bigint>;
}

/**
 * The nodes heard on the group, bounded: at most `maxCandidates` names, the least recently heard
 * forgotten first (counted in {@link evicted}), so a flood of distinct names, even authentic ones,
 * never grows memory. A node is in the answer while heard within `expiryMs` (monotonic clock)
 * and not leaving.
 *
 * Replay: an announcement is accepted when its counter is above the last one heard for its
 * incarnation (any counter for an incarnation not heard before: a restart), and it makes its
 * incarnation the current one. The counters of the last {@link REMEMBERED_INCARNATIONS}
 * incarnations of a name are kept, so every captured packet this table has heard, or one older
 * than it, is refused. A captured packet the table never heard (an earlier start, sent before
 * this node listened, or a name forgotten by eviction) is accepted once: it may point the entry
 * at that start's port until the node's next announcement, whose counter is above its own
 * incarnation's last, takes the entry back. So each such packet costs at most one dial (which
 * the cookie handshake refuses) and one interval's flap, never a lock-out. A `leaving`
 * announcement removes the entry only under the current incarnation: a replayed leaving of
 * another start never drops a running node.
 */
export class GossipTable {
  private readonly entries = new Map<string, Candidate>();
  private evictedCount = 0;

  constructor(
    private readonly settings: {
      readonly maxCandidates: number;
      readonly expiryMs: number;
      /** Monotonic ms (`performance.now`). */
      readonly now: () => number;
    },
  ) {}

  /** Names forgotten to stay within `maxCandidates`. */
  get evicted(): number {
    return this.evictedCount;
  }

  /** Names remembered, fresh or not. */
  get size(): number {
    return this.entries.size;
  }

  /** Takes an authenticated announcement of this namespace, from another node. */
  offer(a: GossipAnnouncement): OfferResult {
    const now = this.settings.now();
    const known = this.entries.get(a.node);
    let counters: Map<bigint, bigint>;
    if (known === undefined) {
      counters = new Map([[a.incarnation, a.counter]]);
    } else {
      const last = known.counters.get(a.incarnation);
      if (last !== undefined && a.counter <= last) return 'replayed';
      // A leaving of a start that is not the current one (a replay, or a packet overtaken by
      // the restart) must not drop the node that runs now.
      if (a.leaving && a.incarnation !== known.incarnation) return 'replayed';
      counters = new Map(known.counters);
      counters.delete(a.incarnation);
      counters.set(a.incarnation, a.counter);
      trimCounters(counters, a.incarnation, known.incarnation);
    }
    const wasListed = known !== undefined && this.listed(known, now);
    const entry: Candidate = {
      port: a.port,
      incarnation: a.incarnation,
      leaving: a.leaving,
      heardAt: now,
      counters,
    };
    // Delete first, so the map's order stays least recently heard first.
    this.entries.delete(a.node);
    this.entries.set(a.node, entry);
    while (this.entries.size > this.settings.maxCandidates) {
      this.entries.delete(this.entries.keys().next().value!);
      this.evictedCount++;
    }
    const isListed = !a.leaving;
    if (wasListed !== isListed) return 'changed';
    return isListed && known!.port !== a.port ? 'changed' : 'refreshed';
  }

  /** The nodes heard within `expiryMs` and not leaving. */
  peers(): Peer[] {
    const now = this.settings.now();
    const peers: Peer[] = [];
    for (const [node, entry] of this.entries)
      if (this.listed(entry, now)) peers.push({ node, port: entry.port });
    return peers;
  }

  private listed(entry: Candidate, now: number): boolean {
    return !entry.leaving && now - entry.heardAt <= this.settings.expiryMs;
  }
}

/**
 * Keeps at most {@link REMEMBERED_INCARNATIONS} counters, oldest first out, but never those of the
 * incarnation just accepted or the one that was current: replays of several older starts must
 * not push the running start's counter out (it could then be replayed from its beginning).
 */
function trimCounters(counters: Map<bigint, bigint>, accepted: bigint, current: bigint): void {
  for (const incarnation of [...counters.keys()]) {
    if (counters.size <= REMEMBERED_INCARNATIONS) return;
    if (incarnation !== accepted && incarnation !== current) counters.delete(incarnation);
  }
}
