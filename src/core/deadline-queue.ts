/**
 * Deadlines for many items behind one timer: what a table of pending requests uses instead of a
 * `setTimeout` per request. A request's timer, its closure, Node's timer list bookkeeping and the
 * `clearTimeout` when the answer comes cost more than the request's own bookkeeping at one
 * request in flight (the timer list is created and torn down for each request); here an item
 * costs a clock read and a few links, and the one timer is re-armed only when it fires.
 *
 * Why not a hashed timer wheel: a wheel ticks (or rounds deadlines to its slots) and fires late by
 * up to a slot; items here expire at their exact deadline, never before it, as `setTimeout` does.
 * Items added with the same duration expire in the order they were added, so each duration keeps
 * a FIFO list: adding and removing are O(1); finding the next deadline, done only when the timer
 * fires, is O(number of distinct durations pending), one in the common case of a default timeout.
 */

/**
 * What a {@link DeadlineQueue} keeps on each item. Items extend it; its fields belong to the
 * queue (an item is in at most one queue at a time).
 * @internal
 */
export class DeadlineItem {
  /** @internal when the item expires, on the queue's clock */
  deadline = 0;
  /** @internal neighbours in its list, toward the earlier and the later deadlines */
  earlier: DeadlineItem | undefined = undefined;
  /** @internal */
  later: DeadlineItem | undefined = undefined;
  /** @internal the list the item is in; undefined when it is in none */
  list: DeadlineList | undefined = undefined;
}

/** The items added with one duration, earliest deadline first. @internal */
interface DeadlineList {
  first: DeadlineItem | undefined;
  last: DeadlineItem | undefined;
}

/** The timer functions a queue arms its one timer with (the global ones by default). */
export interface DeadlineTimers {
  set(callback: () => void, ms: number): unknown;
  clear(timer: unknown): void;
}

/** What a {@link DeadlineQueue} may be given instead of the process's clock and timers. */
export interface DeadlineQueueOptions {
  /** Monotonic milliseconds; `performance.now()` by default. */
  readonly now?: () => number;
  /** The timer functions; the global `setTimeout`/`clearTimeout` (looked up at each use). */
  readonly timers?: DeadlineTimers;
}

const globalTimers: DeadlineTimers = {
  // Looked up at each call, so that fake timers installed after the queue was built apply.
  set: (callback, ms) => setTimeout(callback, ms),
  clear: timer => clearTimeout(timer as ReturnType<typeof setTimeout>),
};

const monotonic = (): number => performance.now();

/**
 * Items with a deadline, expired through one callback at their deadline (never before it), in
 * deadline order within a duration. One timer is armed, for the earliest deadline, and it does
 * not keep the process alive (`unref`), as the per-request timers it replaces did not. The timer
 * is not cleared when items are removed: it fires at most once more, finds nothing due and arms
 * for the next deadline, if any. {@link clear} stops it.
 * @internal
 */
export class DeadlineQueue<T extends DeadlineItem> {
  private readonly lists = new Map<number, DeadlineList>();
  private readonly now: () => number;
  private readonly timers: DeadlineTimers;
  private timer: unknown = undefined;
  /** The deadline the timer is armed for; `Infinity` when it is not armed. */
  private armedFor = Infinity;
  private count = 0;
  private readonly fire = (): void => this.expire();

  /**
   * @param expired called with each item whose deadline passed, once the item is out of the
   * queue; an item it adds again is queued anew. If it throws, the error propagates as a timer
   * callback's would, and the items still due expire on the next firing.
   */
  constructor(
    private readonly expired: (item: T) => void,
    options: DeadlineQueueOptions = {},
  ) {
    this.now = options.now ?? monotonic;
    this.timers = options.timers ?? globalTimers;
  }

  /** Items queued. */
  get size(): number {
    return this.count;
  }

  /** Whether `item` is queued (added and neither expired nor removed). */
  has(item: T): boolean {
    return item.list !== undefined;
  }

  /**
   * Queues `item` to expire `ms` milliseconds from now (a finite number, at least 0).
   * @throws Error when the item is queued already.
   */
  add(item: T, ms: number): void {
    if (item.list !== undefined) throw new Error('DeadlineQueue: the item is queued already');
    const deadline = this.now() + ms;
    let list = this.lists.get(ms);
    if (list === undefined) {
      list = { first: undefined, last: undefined };
      this.lists.set(ms, list);
    }
    item.deadline = deadline;
    item.list = list;
    item.later = undefined;
    item.earlier = list.last;
    if (list.last === undefined) list.first = item;
    else list.last.later = item;
    list.last = item;
    this.count++;
    if (deadline < this.armedFor) this.arm(deadline);
  }

  /** Takes `item` out of the queue; `false` when it was not queued. */
  remove(item: T): boolean {
    const list = item.list;
    if (list === undefined) return false;
    const { earlier, later } = item;
    if (earlier === undefined) list.first = later;
    else earlier.later = later;
    if (later === undefined) list.last = earlier;
    else later.earlier = earlier;
    item.earlier = undefined;
    item.later = undefined;
    item.list = undefined;
    this.count--;
    return true;
  }

  /** Forgets every item (none expires) and stops the timer. */
  clear(): void {
    for (const list of this.lists.values()) {
      let item = list.first;
      while (item !== undefined) {
        const later = item.later;
        item.earlier = undefined;
        item.later = undefined;
        item.list = undefined;
        item = later;
      }
    }
    this.lists.clear();
    this.count = 0;
    this.disarm();
  }

  /** The timer fired: expires what is due, then arms for the next deadline. */
  private expire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    try {
      const now = this.now();
      for (const list of this.lists.values()) {
        let item = list.first;
        while (item !== undefined && item.deadline <= now) {
          this.remove(item as T);
          this.expired(item as T);
          item = list.first;
        }
      }
    } finally {
      this.armNext();
    }
  }

  /** Arms the timer for the earliest deadline; lists left empty are dropped meanwhile. */
  private armNext(): void {
    let next = Infinity;
    for (const [ms, list] of this.lists) {
      const first = list.first;
      if (first === undefined) this.lists.delete(ms);
      else if (first.deadline < next) next = first.deadline;
    }
    if (next !== Infinity && next < this.armedFor) this.arm(next);
  }

  private arm(deadline: number): void {
    this.disarm();
    // Whole milliseconds, rounded up: a timer rounded down would fire before the deadline.
    const timer = this.timers.set(this.fire, Math.max(0, Math.ceil(deadline - this.now())));
    (timer as { unref?: () => void } | undefined)?.unref?.();
    this.timer = timer;
    this.armedFor = deadline;
  }

  private disarm(): void {
    if (this.timer === undefined) return;
    this.timers.clear(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }
}
