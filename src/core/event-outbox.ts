/**
 * The engine's output: events and membership snapshots, delivered strictly in the order they
 * were produced, with the member list kept sorted as it changes.
 */
import { BehaviorSubject, type Observable, Subject, distinctUntilChanged } from 'rxjs';
import type { ClusterEvent, Membership, QuorumState } from './events.js';
import type { QuorumTracker } from './quorum.js';

/** What waits to be delivered: an event, or a new membership snapshot. */
type Outgoing = { readonly event: ClusterEvent } | { readonly snapshot: Membership };

const sameQuorum = (a: QuorumState | undefined, b: QuorumState | undefined) =>
  a === b ||
  (a !== undefined &&
    b !== undefined &&
    a.has === b.has &&
    a.size === b.size &&
    a.needed === b.needed &&
    a.expectedSize === b.expectedSize);

/** Two snapshots are the same when their members and their quorum states are. */
const sameSnapshot = (a: Membership, b: Membership) =>
  a.members.length === b.members.length &&
  a.members.every((node, i) => node === b.members[i]) &&
  sameQuorum(a.quorum, b.quorum);

/**
 * An ordered outbox in front of `events$` and `membership$`. A subscriber that reacts to a
 * delivery by causing another one (a `nodeUp` handler that disconnects the node) has its
 * delivery queued behind the current one, never delivered in the middle of it.
 */
export class EventOutbox {
  /** Snapshots of the membership: the current one at once, then each change. */
  readonly membership$: Observable<Membership>;
  /** Events, in the order they were produced. */
  readonly events$: Observable<ClusterEvent>;

  private readonly membershipSubject: BehaviorSubject<Membership>;
  private readonly eventsSubject = new Subject<ClusterEvent>();
  private readonly queue: Outgoing[] = [];
  private delivering = false;
  /** The member names in order, kept sorted as they change (sorting per change is O(n log n)). */
  private readonly sortedMembers: string[] = [];

  /**
   * @param self this node's name, carried by every snapshot
   * @param quorum the quorum rule, if one is configured: every snapshot then carries its state
   *   with the snapshot's members, and a change of `has` is delivered as a `quorumChanged` event
   *   just before the snapshot that shows it
   */
  constructor(
    private readonly self: string,
    private readonly quorum?: Pick<QuorumTracker, 'evaluate'>,
  ) {
    // The first snapshot is the state before anyone listens (quorum formed alone: expectedSize 1).
    this.membershipSubject = new BehaviorSubject<Membership>(this.snapshot([], false));
    this.membership$ = this.membershipSubject
      .asObservable()
      .pipe(distinctUntilChanged(sameSnapshot));
    this.events$ = this.eventsSubject.asObservable();
  }

  /** The last snapshot delivered. */
  get membership(): Membership {
    return this.membershipSubject.value;
  }

  /** Adds `node` to the member list; the change is delivered by {@link publishMembership}. */
  addMember(node: string): void {
    this.sortedMembers.splice(sortedIndex(this.sortedMembers, node), 0, node);
  }

  /** Removes `node`, which must be a member, from the member list. */
  removeMember(node: string): void {
    this.sortedMembers.splice(sortedIndex(this.sortedMembers, node), 1);
  }

  /**
   * Queues a snapshot of the member list as it is now (with the quorum state for it, preceded by
   * a `quorumChanged` event when `has` changed), and delivers what is due.
   */
  publishMembership(): void {
    this.queue.push({ snapshot: this.snapshot(this.sortedMembers.slice()) });
    this.drain();
  }

  /** Queues an event and delivers what is due. */
  emit(event: ClusterEvent): void {
    this.queue.push({ event });
    this.drain();
  }

  /** Delivers what is still queued, then completes both streams. */
  complete(): void {
    this.drain();
    this.eventsSubject.complete();
    this.membershipSubject.complete();
  }

  /**
   * A snapshot of `members`; with a quorum rule, evaluated now and a change of `has` queued
   * first as an event (when `announce`).
   */
  private snapshot(members: readonly string[], announce = true): Membership {
    if (!this.quorum) return { self: this.self, members };
    const { state, changed } = this.quorum.evaluate(members.length);
    if (changed && announce) this.queue.push({ event: { type: 'quorumChanged', quorum: state } });
    return { self: this.self, members, quorum: state };
  }

  /** Delivers strictly in order, even when a subscriber reacts by causing another delivery. */
  private drain(): void {
    if (this.delivering) return;
    this.delivering = true;
    try {
      // RxJS reports an error thrown by a subscriber itself (asynchronously, as an uncaught
      // exception); subscribers must not throw, as the README says.
      for (let item = this.queue.shift(); item; item = this.queue.shift()) {
        if ('event' in item) this.eventsSubject.next(item.event);
        else this.membershipSubject.next(item.snapshot);
      }
    } finally {
      this.delivering = false;
    }
  }
}

/** Where `key` is, or would go, in the sorted array `keys` (binary search). */
export function sortedIndex(keys: readonly string[], key: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (keys[mid]! < key) low = mid + 1;
    else high = mid;
  }
  return low;
}
