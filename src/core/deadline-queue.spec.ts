import { jest } from '@jest/globals';
import { DeadlineItem, DeadlineQueue, type DeadlineTimers } from './deadline-queue.js';

class Item extends DeadlineItem {
  constructor(readonly name: string) {
    super();
  }
}

/** A clock and timers driven by hand: `advance` fires what is due, in deadline order. */
class ManualTime implements DeadlineTimers {
  now = 1_000;
  private readonly armed = new Map<number, { at: number; callback: () => void }>();
  private next = 1;
  /** Every delay a timer was armed with. */
  readonly delays: number[] = [];

  set(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.delays.push(ms);
    this.armed.set(id, { at: this.now + ms, callback });
    return id;
  }

  clear(timer: unknown): void {
    this.armed.delete(timer as number);
  }

  get pending(): number {
    return this.armed.size;
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let due: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.armed)
        if (entry[1].at <= end && (!due || entry[1].at < due[1].at)) due = entry;
      if (due === undefined) break;
      this.armed.delete(due[0]);
      this.now = Math.max(this.now, due[1].at);
      due[1].callback();
    }
    this.now = end;
  }
}

function setup() {
  const time = new ManualTime();
  const expired: string[] = [];
  const queue = new DeadlineQueue<Item>(item => expired.push(item.name), {
    now: () => time.now,
    timers: time,
  });
  return { time, expired, queue };
}

describe('DeadlineQueue', () => {
  it('expires an item at its deadline, not a millisecond before', () => {
    const { time, expired, queue } = setup();
    queue.add(new Item('a'), 50);
    time.advance(49);
    expect(expired).toEqual([]);
    time.advance(1);
    expect(expired).toEqual(['a']);
    expect(queue.size).toBe(0);
  });

  it('arms one timer for many items of one duration', () => {
    const { time, expired, queue } = setup();
    for (const name of ['a', 'b', 'c']) {
      queue.add(new Item(name), 100);
      time.advance(10);
    }
    expect(time.delays).toEqual([100]);
    time.advance(70);
    expect(expired).toEqual(['a']);
    time.advance(20);
    expect(expired).toEqual(['a', 'b', 'c']);
    expect(time.pending).toBe(0);
  });

  it('expires items of different durations in deadline order', () => {
    const { time, expired, queue } = setup();
    queue.add(new Item('long'), 300);
    queue.add(new Item('short'), 100);
    queue.add(new Item('middle'), 200);
    time.advance(99);
    expect(expired).toEqual([]);
    time.advance(1);
    expect(expired).toEqual(['short']);
    time.advance(100);
    expect(expired).toEqual(['short', 'middle']);
    time.advance(100);
    expect(expired).toEqual(['short', 'middle', 'long']);
  });

  it('never expires a removed item, and arms for the next one when the timer finds nothing due', () => {
    const { time, expired, queue } = setup();
    const first = new Item('first');
    queue.add(first, 100);
    time.advance(40);
    queue.add(new Item('second'), 100);
    expect(queue.remove(first)).toBe(true);
    expect(queue.remove(first)).toBe(false);
    expect(queue.has(first)).toBe(false);
    time.advance(60);
    expect(expired).toEqual([]);
    time.advance(39);
    expect(expired).toEqual([]);
    time.advance(1);
    expect(expired).toEqual(['second']);
  });

  it('does not keep the process alive: its timer is unref-ed', () => {
    const unref = jest.fn();
    const queue = new DeadlineQueue<Item>(() => undefined, {
      timers: { set: () => ({ unref }), clear: () => undefined },
    });
    queue.add(new Item('a'), 1_000);
    expect(unref).toHaveBeenCalledTimes(1);
  });

  it('rounds a fractional delay up, so the timer never fires before the deadline', () => {
    const { time, expired, queue } = setup();
    time.now = 1_000.25;
    queue.add(new Item('a'), 10.5);
    expect(time.delays).toEqual([11]);
    time.advance(10);
    expect(expired).toEqual([]);
    time.advance(1);
    expect(expired).toEqual(['a']);
  });

  it('re-arms when the timer fires before the deadline on the queue clock', () => {
    const time = new ManualTime();
    let lag = 0;
    const expired: string[] = [];
    const queue = new DeadlineQueue<Item>(item => expired.push(item.name), {
      now: () => time.now - lag,
      timers: time,
    });
    queue.add(new Item('a'), 100);
    // The timers' clock runs ahead of the queue's: the timer fires with 3 ms left.
    lag = 3;
    time.advance(100);
    expect(expired).toEqual([]);
    expect(time.delays).toEqual([100, 3]);
    time.advance(3);
    expect(expired).toEqual(['a']);
  });

  it('arms again for an item with an earlier deadline than the armed one', () => {
    const { time, expired, queue } = setup();
    queue.add(new Item('late'), 1_000);
    queue.add(new Item('soon'), 10);
    expect(time.pending).toBe(1);
    time.advance(10);
    expect(expired).toEqual(['soon']);
    time.advance(990);
    expect(expired).toEqual(['soon', 'late']);
  });

  it('clear forgets every item and stops the timer; the queue works again after', () => {
    const { time, expired, queue } = setup();
    const a = new Item('a');
    queue.add(a, 10);
    queue.add(new Item('b'), 20);
    queue.clear();
    expect(queue.size).toBe(0);
    expect(queue.has(a)).toBe(false);
    expect(time.pending).toBe(0);
    time.advance(100);
    expect(expired).toEqual([]);
    queue.add(a, 5);
    time.advance(5);
    expect(expired).toEqual(['a']);
  });

  it('refuses an item queued already', () => {
    const { queue } = setup();
    const a = new Item('a');
    queue.add(a, 10);
    expect(() => queue.add(a, 10)).toThrow('queued already');
  });

  it('lets the callback queue an item again', () => {
    const time = new ManualTime();
    const expired: string[] = [];
    const queue: DeadlineQueue<Item> = new DeadlineQueue<Item>(
      item => {
        expired.push(item.name);
        if (expired.length < 3) queue.add(item, 10);
      },
      { now: () => time.now, timers: time },
    );
    queue.add(new Item('a'), 10);
    time.advance(30);
    expect(expired).toEqual(['a', 'a', 'a']);
    expect(queue.size).toBe(0);
  });

  it('expires what is still due on the next firing when the callback throws', () => {
    const time = new ManualTime();
    const expired: string[] = [];
    const queue = new DeadlineQueue<Item>(
      item => {
        expired.push(item.name);
        if (item.name === 'a') throw new Error('boom');
      },
      { now: () => time.now, timers: time },
    );
    queue.add(new Item('a'), 10);
    queue.add(new Item('b'), 10);
    expect(() => time.advance(10)).toThrow('boom');
    expect(expired).toEqual(['a']);
    time.advance(1);
    expect(expired).toEqual(['a', 'b']);
  });

  it('uses the global timers and clock by default (Jest fake timers apply)', () => {
    jest.useFakeTimers();
    try {
      const expired: string[] = [];
      const queue = new DeadlineQueue<Item>(item => expired.push(item.name));
      queue.add(new Item('a'), 5_000);
      jest.advanceTimersByTime(4_999);
      expect(expired).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(expired).toEqual(['a']);
      queue.clear();
    } finally {
      jest.useRealTimers();
    }
  });
});
