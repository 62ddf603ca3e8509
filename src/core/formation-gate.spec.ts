import { jest } from '@jest/globals';
import { GenClusterError, FormationTimeoutError, InvalidConfigError } from './errors.js';
import { type FormationClock, FormationGate } from './formation-gate.js';
import {
  DEFAULT_FORMATION_STABLE_MARGIN_MS,
  resolveFormationOptions,
  resolveWaitOptions,
} from './formation-options.js';
import { MAX_INT32, MAX_TIMER_MS } from './validate.js';
import { observe } from '../../test/support/wait.js';

const stopped = () => new GenClusterError('ERR_CLUSTER_STOPPED', 'stopped');

/** A gate on jest's fake clock, with every value of `formed$` and every `onFormed` collected. */
function gate(minMembers = 2, stableMarginMs = 1_000) {
  const seen: boolean[] = [];
  const formedWith: { members: number; sinceLastChangeMs: number | undefined }[] = [];
  const g = new FormationGate({ minMembers, stableMarginMs }, undefined, facts =>
    formedWith.push(facts),
  );
  g.formed$.subscribe(value => seen.push(value));
  return { g, seen, formedWith };
}

/**
 * Resolves to the state of `promise` after pending callbacks ran: 'pending', 'ok' or the error
 * (a handler is attached at once, so a rejection while time advances is not unhandled).
 */
async function state(promise: Promise<unknown>): Promise<unknown> {
  const box = observe(promise);
  await jest.advanceTimersByTimeAsync(0);
  return box.value;
}

describe('FormationGate', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('is not formed before the first successful answer, however many peers are connected', () => {
    const { g, seen } = gate(1, 0);
    g.membersChanged(5);
    jest.advanceTimersByTime(60_000);
    expect(g.formed).toBe(false);
    expect(seen).toEqual([false]);
    expect(g.facts()).toEqual({ members: 5, sinceLastChangeMs: undefined });
  });

  it('forms when enough peers are connected and the set stayed unchanged for the margin, by its own timer', () => {
    const { g, seen, formedWith } = gate(2, 1_000);
    g.answered(true);
    g.membersChanged(2);
    jest.advanceTimersByTime(999);
    expect(g.formed).toBe(false);
    // the timer at lastChange + margin, not the next refresh
    jest.advanceTimersByTime(1);
    expect(g.formed).toBe(true);
    expect(seen).toEqual([false, true]);
    expect(formedWith).toEqual([{ members: 2, sinceLastChangeMs: 1_000 }]);
  });

  it('restarts the margin at each change of the discovered set, not at an unchanged answer', () => {
    const { g } = gate(0, 1_000);
    g.answered(true);
    jest.advanceTimersByTime(800);
    g.answered(true); // changed
    jest.advanceTimersByTime(800);
    expect(g.formed).toBe(false);
    g.answered(false); // the same set again (or a failed lookup: the engine reports nothing)
    jest.advanceTimersByTime(200);
    expect(g.formed).toBe(true);
  });

  it('never forms while the discovered set keeps changing', () => {
    const { g } = gate(0, 1_000);
    for (let i = 0; i < 50; i++) {
      g.answered(true);
      jest.advanceTimersByTime(400);
    }
    expect(g.formed).toBe(false);
    jest.advanceTimersByTime(600);
    expect(g.formed).toBe(true);
  });

  it('waits for enough members, the margin counting from the last change (not from when they came)', () => {
    const { g } = gate(2, 1_000);
    g.answered(true);
    g.membersChanged(1);
    jest.advanceTimersByTime(5_000);
    expect(g.formed).toBe(false);
    g.membersChanged(2); // the set has been stable for 5 s: formed at once
    expect(g.formed).toBe(true);
  });

  it('stays formed (latched) when members leave or the set changes, until closed', () => {
    const { g, seen } = gate(1, 0);
    g.answered(true);
    g.membersChanged(1);
    expect(g.formed).toBe(true);
    g.membersChanged(0);
    g.answered(true);
    jest.advanceTimersByTime(10_000);
    expect(g.formed).toBe(true);
    let completed = false;
    g.formed$.subscribe({ complete: () => (completed = true) });
    g.close();
    expect(g.formed).toBe(false);
    expect(seen).toEqual([false, true, false]);
    expect(completed).toBe(true);
    g.answered(true);
    g.membersChanged(3);
    expect(g.formed).toBe(false);
  });

  it('forms on the first answer with a margin of 0 and no members required', () => {
    const { g } = gate(0, 0);
    g.answered(true);
    expect(g.formed).toBe(true);
  });

  it('replays the current value to a late subscriber and emits only changes', () => {
    const { g } = gate(0, 100);
    g.answered(true);
    jest.advanceTimersByTime(100);
    const late: boolean[] = [];
    g.formed$.subscribe(value => late.push(value));
    g.membersChanged(1);
    g.answered(true);
    expect(late).toEqual([true]);
  });

  it('leaves no timer behind once formed or closed', () => {
    const { g } = gate(0, 1_000);
    g.answered(true);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(1_000);
    expect(g.formed).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
    const other = gate(3, 1_000).g;
    other.answered(true);
    other.membersChanged(3);
    void other.wait({ minMembers: 4, stableMarginMs: 0 }, 5_000, stopped).catch(() => undefined);
    expect(jest.getTimerCount()).toBe(2); // the margin and the wait's deadline
    other.close();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('keeps no timer for its own condition when lazy, and latches as an eager gate would', () => {
    const formedWith: unknown[] = [];
    const lazy = new FormationGate(
      { minMembers: 1, stableMarginMs: 1_000 },
      undefined,
      facts => formedWith.push(facts),
      false,
    );
    lazy.answered(true);
    lazy.membersChanged(1);
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(1_500);
    // the member leaves after the margin passed: it had formed (latched) before
    lazy.membersChanged(0);
    expect(formedWith).toEqual([{ members: 1, sinceLastChangeMs: 1_500 }]);
    expect(lazy.formed).toBe(true);

    const read = new FormationGate(
      { minMembers: 0, stableMarginMs: 1_000 },
      undefined,
      () => {},
      false,
    );
    read.answered(true);
    jest.advanceTimersByTime(999);
    expect(read.formed).toBe(false);
    jest.advanceTimersByTime(1);
    expect(read.formed).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('turns eager on the first subscription to formed$, so the emission is timely', () => {
    const lazy = new FormationGate(
      { minMembers: 0, stableMarginMs: 1_000 },
      undefined,
      () => {},
      false,
    );
    lazy.answered(true);
    jest.advanceTimersByTime(400);
    const seen: boolean[] = [];
    lazy.formed$.subscribe(v => seen.push(v));
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(600);
    expect(seen).toEqual([false, true]);
  });

  it('uses the injected clock and timers', () => {
    let now = 10;
    const timers: { at: number; callback: () => void; cancelled: boolean }[] = [];
    const clock: FormationClock = {
      now: () => now,
      setTimer: (callback, ms) => {
        const timer = { at: now + ms, callback, cancelled: false };
        timers.push(timer);
        return { cancel: () => (timer.cancelled = true) };
      },
    };
    const g = new FormationGate({ minMembers: 0, stableMarginMs: 500 }, clock);
    g.answered(true);
    expect(timers).toHaveLength(1);
    expect(timers[0]!.at).toBe(510);
    now = 509.5; // fired a fraction early against the clock: re-armed, not formed
    timers[0]!.callback();
    expect(g.formed).toBe(false);
    expect(timers[1]!.at).toBe(510.5);
    now = 510;
    timers[1]!.callback();
    expect(g.formed).toBe(true);
  });

  it('is formed by the time a wait with its numbers resolves, whichever timer fires first', async () => {
    let now = 0;
    const timers: { at: number; callback: () => void }[] = [];
    const clock: FormationClock = {
      now: () => now,
      setTimer: (callback, ms) => {
        timers.push({ at: now + ms, callback });
        return { cancel: () => undefined };
      },
    };
    const g = new FormationGate({ minMembers: 0, stableMarginMs: 500 }, clock);
    g.answered(true); // the gate's own timer: timers[0]
    const waited = observe(g.wait({ minMembers: 0, stableMarginMs: 500 }, Infinity, stopped));
    expect(timers).toHaveLength(2);
    now = 500;
    let formedWhenResolved: boolean | undefined;
    const resolved = g
      .wait({ minMembers: 0, stableMarginMs: 400 }, Infinity, stopped)
      .then(() => (formedWhenResolved = g.formed));
    timers[1]!.callback(); // the wait's timer first, the gate's own not yet
    await resolved;
    await Promise.resolve();
    expect(waited.value).toBe('ok');
    expect(formedWhenResolved).toBe(true);
    expect(g.formed).toBe(true);
  });

  describe('wait()', () => {
    it('resolves when its own numbers hold, which may differ from the configured ones', async () => {
      const { g } = gate(2, 5_000);
      g.answered(true);
      const wait = g.wait({ minMembers: 1, stableMarginMs: 500 }, 10_000, stopped);
      expect(await state(wait)).toBe('pending');
      g.membersChanged(1);
      await jest.advanceTimersByTimeAsync(499);
      expect(await state(wait)).toBe('pending');
      await jest.advanceTimersByTimeAsync(1);
      expect(await state(wait)).toBe('ok');
      expect(g.formed).toBe(false);
    });

    it('resolves at once with the configured numbers once the gate has formed, even after a member left', async () => {
      const { g } = gate(1, 0);
      g.answered(true);
      g.membersChanged(1);
      g.membersChanged(0);
      expect(await state(g.wait({ minMembers: 1, stableMarginMs: 0 }, 1_000, stopped))).toBe('ok');
      // other numbers are a fresh check of the facts
      expect(await state(g.wait({ minMembers: 1, stableMarginMs: 1 }, 1_000, stopped))).toBe(
        'pending',
      );
    });

    it('rejects with ERR_FORMATION_TIMEOUT saying members, required and time since the last change', async () => {
      const { g } = gate(2, 1_000);
      g.answered(true);
      g.membersChanged(1);
      const wait = g.wait({ minMembers: 2, stableMarginMs: 1_000 }, 3_000, stopped);
      const outcome = observe(wait);
      await jest.advanceTimersByTimeAsync(3_000);
      const error = outcome.value as FormationTimeoutError;
      expect(error).toBeInstanceOf(FormationTimeoutError);
      expect(error).toMatchObject({
        code: 'ERR_FORMATION_TIMEOUT',
        members: 1,
        required: 2,
        sinceLastChangeMs: 3_000,
        stableMarginMs: 1_000,
      });
      expect(error.message).toBe(
        'Timed out after 3000 ms waiting for the cluster to form: 1 peer(s) connected, 2 required; the discovered set last changed 3000 ms ago, 1000 ms of stability required.',
      );
      expect(jest.getTimerCount()).toBe(0);
    });

    it('says when discovery never answered', async () => {
      const { g } = gate(0, 1_000);
      const wait = g.wait({ minMembers: 0, stableMarginMs: 1_000 }, 100, stopped);
      const outcome = observe(wait);
      await jest.advanceTimersByTimeAsync(100);
      const error = outcome.value as FormationTimeoutError;
      expect(error.sinceLastChangeMs).toBeUndefined();
      expect(error.message).toContain('discovery has not answered yet');
    });

    it('rejects with the stopped error when the gate closes first, and at once after', async () => {
      const { g } = gate(2, 1_000);
      const wait = g.wait({ minMembers: 2, stableMarginMs: 1_000 }, Infinity, stopped);
      g.close();
      expect(await state(wait)).toMatchObject({ code: 'ERR_CLUSTER_STOPPED' });
      expect(await state(g.wait({ minMembers: 0, stableMarginMs: 0 }, 1, stopped))).toMatchObject({
        code: 'ERR_CLUSTER_STOPPED',
      });
      expect(jest.getTimerCount()).toBe(0);
    });

    it('waits for ever with timeoutMs Infinity (no deadline timer)', async () => {
      const { g } = gate(1, 0);
      const wait = g.wait({ minMembers: 1, stableMarginMs: 0 }, Infinity, stopped);
      expect(jest.getTimerCount()).toBe(0);
      g.answered(true);
      g.membersChanged(1);
      expect(await state(wait)).toBe('ok');
    });
  });
});

describe('formation options', () => {
  it('fills in the defaults: no members required, a 5 s margin', () => {
    expect(resolveFormationOptions(undefined)).toEqual({
      minMembers: 0,
      stableMarginMs: DEFAULT_FORMATION_STABLE_MARGIN_MS,
    });
    expect(DEFAULT_FORMATION_STABLE_MARGIN_MS).toBe(5_000);
    expect(resolveFormationOptions({ minMembers: 2 })).toEqual({
      minMembers: 2,
      stableMarginMs: 5_000,
    });
    expect(resolveFormationOptions({ stableMarginMs: 0 })).toEqual({
      minMembers: 0,
      stableMarginMs: 0,
    });
  });

  it.each([
    [{ minMembers: -1 }, 'formation.minMembers', 'an integer from 0 to'],
    [{ minMembers: 1.5 }, 'formation.minMembers', 'an integer from 0 to'],
    [{ minMembers: MAX_INT32 + 1 }, 'formation.minMembers', 'an integer from 0 to'],
    [{ stableMarginMs: -1 }, 'formation.stableMarginMs', 'milliseconds from 0'],
    [{ stableMarginMs: MAX_TIMER_MS + 1 }, 'formation.stableMarginMs', 'milliseconds from 0'],
    [{ stableMarginMs: '5s' }, 'formation.stableMarginMs', 'milliseconds from 0'],
    [{ minMember: 2 }, 'formation.minMember', 'no such option'],
    [5, 'formation', 'an object'],
  ])('refuses %p naming %s', (value, option, accepted) => {
    const thrown = (() => {
      try {
        resolveFormationOptions(value);
      } catch (error) {
        return error as Error;
      }
    })();
    expect(thrown).toBeInstanceOf(InvalidConfigError);
    expect(thrown?.message).toContain(`Invalid option ${option}:`);
    expect(thrown?.message).toContain(accepted);
  });

  it('takes the configured numbers for the unset fields of a wait, and a timeout of margin + 30 s', () => {
    const configured = { minMembers: 2, stableMarginMs: 1_000 };
    expect(resolveWaitOptions(undefined, configured)).toEqual({ ...configured, timeoutMs: 31_000 });
    expect(resolveWaitOptions({ minMembers: 0, timeoutMs: Infinity }, configured)).toEqual({
      minMembers: 0,
      stableMarginMs: 1_000,
      timeoutMs: Infinity,
    });
  });

  it('takes the configured number for a field given as undefined, field by field', () => {
    const configured = { minMembers: 2, stableMarginMs: 1_000 };
    expect(
      resolveWaitOptions({ minMembers: undefined, stableMarginMs: undefined }, configured),
    ).toEqual({ ...configured, timeoutMs: 31_000 });
    expect(resolveWaitOptions({ minMembers: undefined, stableMarginMs: 0 }, configured)).toEqual({
      minMembers: 2,
      stableMarginMs: 0,
      timeoutMs: 30_000,
    });
    expect(resolveWaitOptions({ minMembers: 1, stableMarginMs: undefined }, configured)).toEqual({
      minMembers: 1,
      stableMarginMs: 1_000,
      timeoutMs: 31_000,
    });
  });

  it.each([
    [{ timeoutMs: -1 }, 'waitForFormation options.timeoutMs'],
    [{ timeoutMs: MAX_TIMER_MS + 1 }, 'waitForFormation options.timeoutMs'],
    [{ timeoutMs: NaN }, 'waitForFormation options.timeoutMs'],
    [{ minMembers: -1 }, 'waitForFormation options.minMembers'],
    [{ timeout: 5 }, 'waitForFormation options.timeout'],
  ])('refuses the wait options %p naming %s', (value, option) => {
    expect(() => resolveWaitOptions(value, { minMembers: 0, stableMarginMs: 0 })).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_CONFIG',
        message: expect.stringContaining(`Invalid option ${option}:`),
      }),
    );
  });
});
