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
  /** Not news: a counter not above the last of its incarnation, or a forgotten incarnation. */
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
 * Replay: an announcement is accepted when its incarnation is new for its name (a restart), or
 * is the current one with a counter above the last. The last {@link REMEMBERED_INCARNATIONS}
 * incarnations of a name are remembered, so a captured packet of an earlier start cannot bring
 * the entry back. A name that was forgotten (evicted) forgets its history too: a replayed
 * packet can then be accepted once, which at most causes a dial the handshake refuses.
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
      if (last !== undefined && (a.incarnation !== known.incarnation || a.counter <= last))
        return 'replayed';
      counters = new Map(known.counters);
      counters.delete(a.incarnation);
      counters.set(a.incarnation, a.counter);
      while (counters.size > REMEMBERED_INCARNATIONS)
        counters.delete(counters.keys().next().value!);
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
