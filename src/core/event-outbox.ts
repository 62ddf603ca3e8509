/**
 * The engine's output: events, delivered at once and strictly in the order they were produced,
 * and membership snapshots, one per burst of changes, with the member list kept sorted as it
 * changes.
 */
import { BehaviorSubject, Observable, Subject, distinctUntilChanged, skip } from 'rxjs';
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

/** Flushes are queued on a resolved promise, not `queueMicrotask`, which fake timers replace. */
const RESOLVED = Promise.resolve();

/**
 * An ordered outbox in front of `events$` and `membership$`. A subscriber that reacts to a
 * delivery by causing another one (a `nodeUp` handler that disconnects the node) has its
 * delivery queued behind the current one, never delivered in the middle of it.
 *
 * Events (`quorumChanged` included) are delivered at once. Membership snapshots are coalesced:
 * the changes published in one burst (one synchronous run and the microtasks queued during it,
 * as when a refresh connects thousands of peers) give one snapshot, delivered a microtask later,
 * after the burst's events. A snapshot copies the member list, so one per change would cost
 * O(n²) for a burst of n changes; `events$` still carries every change. {@link membership} is
 * current at any time, and a late subscriber of `membership$` starts from it.
 */
export class EventOutbox {
  /** Snapshots of the membership: the current one at once, then one per burst of changes. */
  readonly membership$: Observable<Membership>;
  /** Events, in the order they were produced. */
  readonly events$: Observable<ClusterEvent>;

  private readonly membershipSubject: BehaviorSubject<Membership>;
  private readonly eventsSubject = new Subject<ClusterEvent>();
  private readonly queue: Outgoing[] = [];
  private delivering = false;
  /** Changes were published since the last snapshot delivered (a flush is queued). */
  private dirty = false;
  /** The snapshot of the current state once built (by a read or the flush), until a change. */
  private pending: Membership | undefined;
  /** The quorum state of the last evaluation (with a quorum rule). */
  private currentQuorum: QuorumState | undefined;
  /** The member names in order, kept sorted as they change (sorting per change is O(n log n)). */
  private readonly sortedMembers: string[] = [];

  /**
   * @param self this node's name, carried by every snapshot
   * @param quorum the quorum rule, if one is configured: it is evaluated on every change, a
   *   change of `has` is delivered at once as a `quorumChanged` event (after the event that
   *   caused it), and every snapshot carries the state of its time
   */
  constructor(
    private readonly self: string,
    private readonly quorum?: Pick<QuorumTracker, 'evaluate'>,
  ) {
    // The first snapshot is the state before anyone listens (quorum formed alone: expectedSize 1).
    this.currentQuorum = quorum?.evaluate(0).state;
    this.membershipSubject = new BehaviorSubject<Membership>(this.snapshot([]));
    this.membership$ = new Observable<Membership>(subscriber => {
      if (!this.dirty) return this.membershipSubject.subscribe(subscriber);
      // A late subscriber starts from the current state, not the last snapshot delivered: the
      // subject's replay of that one is skipped, and the flush's copy is dropped as unchanged.
      subscriber.next(this.membership);
      return this.membershipSubject.pipe(skip(1)).subscribe(subscriber);
    }).pipe(distinctUntilChanged(sameSnapshot));
    this.events$ = this.eventsSubject.asObservable();
  }

  /** The current snapshot: the last one delivered, or the one the queued flush will deliver. */
  get membership(): Membership {
    if (!this.dirty) return this.membershipSubject.value;
    return (this.pending ??= this.snapshot(this.sortedMembers.slice()));
  }

  /** The quorum state of the current membership (`undefined` without a quorum rule). */
  get quorumState(): QuorumState | undefined {
    return this.currentQuorum;
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
   * Marks the member list (or the quorum's inputs) changed: the quorum is evaluated now (a change
   * of `has` delivered at once as a `quorumChanged` event), and one snapshot for all the changes
   * published before it runs is delivered from a microtask.
   */
  publishMembership(): void {
    if (this.quorum) {
      const { state, changed } = this.quorum.evaluate(this.sortedMembers.length);
      this.currentQuorum = state;
      if (changed) this.queue.push({ event: { type: 'quorumChanged', quorum: state } });
    }
    this.pending = undefined;
    if (!this.dirty) {
      this.dirty = true;
      void RESOLVED.then(() => this.flushMembership());
    }
    this.drain();
  }

  /** Queues an event and delivers what is due. */
  emit(event: ClusterEvent): void {
    this.queue.push({ event });
    this.drain();
  }

  /** Delivers what is still queued (a pending snapshot included), then completes both streams. */
  complete(): void {
    this.flushMembership();
    this.eventsSubject.complete();
    this.membershipSubject.complete();
  }

  /** Queues the snapshot of the changes published so far, if any, and delivers what is due. */
  private flushMembership(): void {
    if (this.dirty) {
      this.queue.push({ snapshot: this.membership });
      this.dirty = false;
      this.pending = undefined;
    }
    this.drain();
  }

  /** A snapshot of `members`, with the current quorum state when a rule is configured. */
  private snapshot(members: readonly string[]): Membership {
    if (!this.quorum) return { self: this.self, members };
    return { self: this.self, members, quorum: this.currentQuorum! };
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
