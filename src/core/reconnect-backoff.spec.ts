import { jest } from '@jest/globals';
import { DEFAULT_GEN_CLUSTER_OPTIONS } from './defaults.js';
import { ReconnectBackoff } from './reconnect-backoff.js';

const A = 'a@10.0.0.2';

function table(random = () => 0.5) {
  const due: string[] = [];
  const backoff = new ReconnectBackoff(DEFAULT_GEN_CLUSTER_OPTIONS.backoff, random, node =>
    due.push(node),
  );
  return { backoff, due };
}

describe('ReconnectBackoff', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('doubles the delay per failure in a row, up to the ceiling', () => {
    const { backoff } = table();
    const delays = Array.from({ length: 7 }, () => backoff.failed(A, true));
    expect(delays.map(d => d.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(delays.map(d => d.retryInMs)).toEqual([
      1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000,
    ]);
    backoff.drop(A);
  });

  it('spreads the delay by the jitter', () => {
    expect(table(() => 0).backoff.failed(A, true).retryInMs).toBe(800);
    expect(table(() => 0.999999).backoff.failed(A, true).retryInMs).toBe(1_200);
    jest.clearAllTimers();
  });

  it('calls for the retry when it is due, once', () => {
    const { backoff, due } = table();
    backoff.failed(A, true);
    jest.advanceTimersByTime(999);
    expect(due).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(due).toEqual([A]);
    jest.advanceTimersByTime(60_000);
    expect(due).toEqual([A]);
  });

  it('keeps a node waiting until its retry is due, then lets it be dialled', () => {
    const { backoff } = table();
    backoff.failed(A, true);
    expect(backoff.waiting(A, performance.now())).toBe(true);
    jest.advanceTimersByTime(1_000);
    expect(backoff.waiting(A, performance.now())).toBe(false);
    expect(backoff.waiting('b@10.0.0.3', performance.now())).toBe(false);
  });

  it('starts over after drop(): the next failure counts as the first', () => {
    const { backoff, due } = table();
    backoff.failed(A, true);
    backoff.failed(A, true);
    backoff.drop(A);
    expect(jest.getTimerCount()).toBe(0);
    expect(backoff.failed(A, true)).toEqual({ attempt: 1, retryInMs: 1_000 });
    jest.advanceTimersByTime(1_000);
    expect(due).toEqual([A]);
  });

  it('keeps no state and no timer for a failure that is not to be retried', () => {
    const { backoff } = table();
    backoff.failed(A, true);
    expect(backoff.failed(A, false)).toEqual({ attempt: 2, retryInMs: undefined });
    expect(jest.getTimerCount()).toBe(0);
    expect(backoff.waiting(A, performance.now())).toBe(false);
    expect(backoff.failed(A, true).attempt).toBe(1);
    backoff.drop(A);
  });

  it('re-arms a retry whose timer was cleared for the time it still has to wait', () => {
    const { backoff, due } = table();
    backoff.failed(A, true);
    jest.advanceTimersByTime(400);
    backoff.clearTimers();
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(100);
    expect(backoff.waiting(A, performance.now())).toBe(true);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(499);
    expect(due).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(due).toEqual([A]);
  });

  it('keeps the count across clearTimers()', () => {
    const { backoff } = table();
    backoff.failed(A, true);
    backoff.clearTimers();
    expect(backoff.failed(A, true)).toEqual({ attempt: 2, retryInMs: 2_000 });
    backoff.drop(A);
  });
});
