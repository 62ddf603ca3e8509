import { jest } from '@jest/globals';
import { FreezeGuard } from './freeze-guard.js';

describe('FreezeGuard', () => {
  let clock: number;
  let freezes: number[];
  let guard: FreezeGuard;

  beforeEach(() => {
    jest.useFakeTimers();
    clock = 1_000;
    freezes = [];
    guard = new FreezeGuard({
      toleranceMs: 400,
      onFreeze: gap => freezes.push(gap),
      now: () => clock,
    });
  });

  afterEach(() => {
    guard.stop();
    jest.useRealTimers();
  });

  /** Moves the injected clock and the fake timers together, as a running process sees time. */
  function run(ms: number): void {
    for (let left = ms; left > 0; left -= 10) {
      clock += 10;
      jest.advanceTimersByTime(10);
    }
  }

  it('sees no freeze while its ticks keep up', () => {
    guard.start();
    run(5_000);
    expect(guard.check()).toBe(false);
    expect(freezes).toEqual([]);
  });

  it('reports a clock jump past the tolerance synchronously in check(), before any timer runs', () => {
    guard.start();
    run(200);
    clock += 501; // stopped: the clock moved, no timer ran (the last tick was at 200 ms)
    expect(guard.check()).toBe(true);
    expect(freezes).toEqual([501]);
    expect(guard.check()).toBe(false); // one freeze, reported once
  });

  it('does not call a gap within the tolerance a freeze', () => {
    guard.start();
    clock += 400;
    expect(guard.check()).toBe(false);
  });

  it('reports a freeze from its own late tick when nobody checks', () => {
    guard.start();
    run(100);
    clock += 1_000;
    jest.advanceTimersByTime(100); // the overdue tick runs now
    expect(freezes).toHaveLength(1);
    expect(freezes[0]).toBeGreaterThan(400);
  });

  it('ticks every quarter of the tolerance, at least every 50 ms', () => {
    const ticks: number[] = [];
    const small = new FreezeGuard({
      toleranceMs: 100,
      onFreeze: () => undefined,
      onTick: () => ticks.push(clock),
      now: () => clock,
    });
    small.start();
    run(200);
    small.stop();
    expect(ticks).toEqual([1_050, 1_100, 1_150, 1_200]);
    ticks.length = 0;
    const large = new FreezeGuard({
      toleranceMs: 2_000,
      onFreeze: () => undefined,
      onTick: () => ticks.push(clock),
      now: () => clock,
    });
    large.start();
    run(1_000);
    large.stop();
    expect(ticks).toEqual([1_700, 2_200]);
  });

  describe('with the wall clock', () => {
    let wall: number;
    let walled: FreezeGuard;

    beforeEach(() => {
      wall = 1_700_000_000_000;
      walled = new FreezeGuard({
        toleranceMs: 400,
        onFreeze: gap => freezes.push(gap),
        now: () => clock,
        wallNow: () => wall,
      });
    });

    afterEach(() => walled.stop());

    /** Both clocks and the timers move together. */
    function runBoth(ms: number): void {
      for (let left = ms; left > 0; left -= 10) {
        wall += 10;
        clock += 10;
        jest.advanceTimersByTime(10);
      }
    }

    it('sees a suspend the monotonic clock missed (host sleep, a VM pause)', () => {
      walled.start();
      runBoth(1_000);
      wall += 3_000; // suspended: CLOCK_MONOTONIC did not advance, the wall clock did
      expect(walled.check()).toBe(true);
      expect(freezes).toEqual([3_000]);
      expect(walled.check()).toBe(false);
      runBoth(1_000);
      expect(freezes).toEqual([3_000]);
    });

    it('ignores a backward wall jump, and counts the next gap from the next tick', () => {
      walled.start();
      runBoth(1_000);
      wall -= 60_000;
      expect(walled.check()).toBe(false);
      runBoth(2_000);
      expect(freezes).toEqual([]);
    });

    it('takes the larger of the two gaps', () => {
      walled.start();
      runBoth(200);
      clock += 500;
      wall += 700;
      expect(walled.check()).toBe(true);
      expect(freezes).toEqual([700]);
    });
  });

  it('checks nothing before start or after stop', () => {
    clock += 10_000;
    expect(guard.check()).toBe(false);
    guard.start();
    guard.stop();
    clock += 10_000;
    expect(guard.check()).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });
});
