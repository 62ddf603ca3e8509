/**
 * How `call` picks one node among those serving a topic: the five {@link Selection}s. The
 * candidates come sorted by name from the registry, so that every node sees the same order.
 */
import type { Selection } from '../primitives.types.js';
import { owner } from './rendezvous.js';

/** Round-robin counters kept at most; beyond, they restart (a spread off by one, once). */
const MAX_COUNTERS = 10_000;

/** What a {@link Selector} reads of the node it runs on. */
export interface SelectorContext {
  /** This node's name (`local-first`); `undefined` when unknown, and then never preferred. */
  readonly self: string | undefined;
  /** A number in [0, 1) (`random`). */
  readonly random: () => number;
  /** This node's requests in flight to a node (`least-pending`); round-robin without it. */
  readonly pendingTo: ((node: string) => number) | undefined;
}

/** Picks a node for each call; holds the round-robin counter of each topic. */
export class Selector {
  private readonly counters = new Map<string, number>();

  constructor(private readonly context: SelectorContext) {}

  /**
   * One of `candidates` (not empty, sorted) for a call to `topic`. A key picks its owner by
   * rendezvous hashing, so after the owner is excluded it picks the next in rank.
   */
  pick(topic: string, candidates: readonly string[], select: Selection | undefined): string {
    if (candidates.length === 1) {
      // One candidate: no choice, but round-robin still counts, so a spread stays within 1.
      if (select === undefined || select === 'round-robin') this.next(topic);
      return candidates[0]!;
    }
    if (select === undefined || select === 'round-robin') return this.roundRobin(topic, candidates);
    if (typeof select === 'object') return owner(select.key, candidates)!;
    switch (select) {
      case 'random':
        return candidates[Math.floor(this.context.random() * candidates.length)] ?? candidates[0]!;
      case 'local-first': {
        const { self } = this.context;
        return self !== undefined && candidates.includes(self)
          ? self
          : this.roundRobin(topic, candidates);
      }
      case 'least-pending':
        return this.leastPending(topic, candidates);
    }
  }

  /**
   * A node for a retry after `failed` did not answer: for round-robin the next candidate after it
   * in name order (the topic's counter is left alone, so retries do not skew the spread); a new
   * pick otherwise (for a key, that is the next in rank).
   */
  pickAfter(
    topic: string,
    candidates: readonly string[],
    select: Selection | undefined,
    failed: string,
  ): string {
    const inTurn =
      select === undefined ||
      select === 'round-robin' ||
      (select === 'local-first' &&
        (this.context.self === undefined || !candidates.includes(this.context.self)));
    if (!inTurn) return this.pick(topic, candidates, select);
    return candidates.find(node => node > failed) ?? candidates[0]!;
  }

  /** Drops the counter of a topic nobody serves any more, so the map follows the registry. */
  forget(topic: string): void {
    this.counters.delete(topic);
  }

  private roundRobin(topic: string, candidates: readonly string[]): string {
    return candidates[this.next(topic) % candidates.length]!;
  }

  /** The fewest requests in flight; ties in turn, so an idle cluster still spreads. */
  private leastPending(topic: string, candidates: readonly string[]): string {
    const { pendingTo } = this.context;
    if (pendingTo === undefined) return this.roundRobin(topic, candidates);
    let least = Infinity;
    let ties = 0;
    for (const node of candidates) {
      const pending = pendingTo(node);
      if (pending < least) {
        least = pending;
        ties = 1;
      } else if (pending === least) ties++;
    }
    let turn = this.next(topic) % ties;
    for (const node of candidates) {
      if (pendingTo(node) === least && turn-- === 0) return node;
    }
    return candidates[0]!;
  }

  /** The topic's counter, then counts one more. */
  private next(topic: string): number {
    const count = this.counters.get(topic) ?? 0;
    if (count === 0 && this.counters.size >= MAX_COUNTERS) this.counters.clear();
    this.counters.set(topic, count + 1);
    return count;
  }
}
