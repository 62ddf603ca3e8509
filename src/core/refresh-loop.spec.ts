import { jest } from '@jest/globals';
import { RefreshLoop, type RefreshRound } from './refresh-loop.js';

/** A loop whose rounds the test finishes by hand. */
function loop(intervalMs = 1_000) {
  const pending: ((round: RefreshRound) => void)[] = [];
  const crashes: unknown[] = [];
  const state = { running: true, rounds: 0 };
  const subject = new RefreshLoop(
    intervalMs,
    () => {
      state.rounds++;
      return new Promise<RefreshRound>(resolve => pending.push(resolve));
    },
    () => state.running,
    error => crashes.push(error),
  );
  const finish = () => pending.shift()!({ attempts: Promise.resolve() });
  return { subject, state, finish, pending, crashes };
}

describe('RefreshLoop', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('folds every call made during a round into one follow-up round', async () => {
    const { subject, state, finish } = loop();
    const calls = [subject.run(), subject.run(), subject.run()];
    expect(state.rounds).toBe(1);
    finish();
    await jest.advanceTimersByTimeAsync(0);
    expect(state.rounds).toBe(2);
    finish();
    await Promise.all(calls);
    expect(state.rounds).toBe(2);
    subject.stopTimer();
  });

  it('times the next round from the end of the last one', async () => {
    const { subject, state, finish } = loop(1_000);
    void subject.run();
    await jest.advanceTimersByTimeAsync(5_000); // a slow round: no timer meanwhile
    expect(state.rounds).toBe(1);
    finish();
    await jest.advanceTimersByTimeAsync(999);
    expect(state.rounds).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(state.rounds).toBe(2);
    finish();
    await jest.advanceTimersByTimeAsync(0);
    subject.stopTimer();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('resolves a run when the attempts of its round have settled', async () => {
    const { subject, pending } = loop();
    let release!: () => void;
    let done = false;
    const running = subject.run().then(() => (done = true));
    pending.shift()!({ attempts: new Promise<void>(resolve => (release = resolve)) });
    await jest.advanceTimersByTimeAsync(0);
    await subject.settled();
    expect(done).toBe(false);
    release();
    await running;
    subject.stopTimer();
  });

  it('arms no timer with an infinite interval, and runs nothing unless running', async () => {
    const { subject, state, finish } = loop(Infinity);
    void subject.run();
    finish();
    await jest.advanceTimersByTimeAsync(0);
    expect(jest.getTimerCount()).toBe(0);
    state.running = false;
    await subject.run();
    expect(state.rounds).toBe(1);
  });

  it('reports a round that rejects and keeps the timer going', async () => {
    const crashes: unknown[] = [];
    let rounds = 0;
    const subject = new RefreshLoop(
      1_000,
      () => {
        rounds++;
        return Promise.reject(new Error('bug'));
      },
      () => true,
      error => crashes.push(error),
    );
    await subject.run();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(rounds).toBe(2);
    expect(crashes).toHaveLength(2);
    subject.stopTimer();
  });
});
