import { jest } from '@jest/globals';
import { Heartbeat, type HeartbeatLink } from './heartbeat.js';

/** A link whose clocks and counters the test sets; it records what the heartbeat did. */
function fakeLink(overrides: Partial<HeartbeatLink> = {}) {
  const state = {
    running: true,
    lastReceived: 0,
    lastSent: 0,
    bytesReceived: 0,
    progressing: true,
  };
  const calls: string[] = [];
  /** When the heartbeat had the link check its receive deadline. */
  const checks: number[] = [];
  const link: HeartbeatLink = {
    running: () => state.running,
    lastReceived: () => state.lastReceived,
    lastSent: () => state.lastSent,
    bytesReceived: () => state.bytesReceived,
    tick: () => calls.push('tick'),
    ping: () => calls.push('ping'),
    silent: ms => calls.push(`silent ${Math.round(ms)}`),
    progressing: now => {
      checks.push(now);
      return state.progressing;
    },
    peer: () => 'b@127.0.0.1',
    ...overrides,
  };
  return { link, state, calls, checks };
}

const TIMINGS = { heartbeatMs: 1_000, failureTimeoutMs: 5_000 };

describe('Heartbeat', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  it('ticks every heartbeatMs on an idle link', () => {
    const { link, state, calls } = fakeLink();
    const heartbeat = new Heartbeat(TIMINGS, link);
    heartbeat.start();
    jest.advanceTimersByTime(999);
    expect(calls).toEqual([]);
    state.lastReceived = performance.now();
    jest.advanceTimersByTime(1);
    expect(calls).toEqual(['tick']);
    state.lastReceived = performance.now();
    jest.advanceTimersByTime(1_000);
    expect(calls).toEqual(['tick', 'tick']);
    heartbeat.close();
  });

  it('does not tick while data was written recently', () => {
    const { link, state, calls } = fakeLink();
    const heartbeat = new Heartbeat(TIMINGS, link);
    heartbeat.start();
    for (let i = 0; i < 3; i++) {
      jest.advanceTimersByTime(500);
      state.lastSent = performance.now();
      state.lastReceived = performance.now();
      jest.advanceTimersByTime(500);
    }
    expect(calls).toEqual([]);
    heartbeat.close();
  });

  it('declares the peer silent once nothing came for more than failureTimeoutMs', () => {
    const { link, calls } = fakeLink();
    const heartbeat = new Heartbeat(TIMINGS, link);
    heartbeat.start();
    jest.advanceTimersByTime(5_000);
    expect(calls.filter(c => c.startsWith('silent'))).toEqual([]);
    jest.advanceTimersByTime(1_000);
    expect(calls.at(-1)).toBe('silent 6000');
    // and stops there: no more ticks or verdicts
    jest.advanceTimersByTime(10_000);
    expect(calls.filter(c => c.startsWith('silent'))).toHaveLength(1);
  });

  it('has the link check its receive deadline on every beat, and stops once the link closed for it', () => {
    const { link, state, calls, checks } = fakeLink();
    const heartbeat = new Heartbeat(TIMINGS, link);
    heartbeat.start();
    for (let i = 0; i < 3; i++) {
      state.lastReceived = performance.now();
      jest.advanceTimersByTime(1_000);
    }
    expect(checks).toHaveLength(3);
    expect(calls).toEqual(['tick', 'tick', 'tick']);
    state.progressing = false;
    state.lastReceived = performance.now();
    jest.advanceTimersByTime(1_000);
    // the link closed for it: no tick after the verdict, and no further beat
    expect(checks).toHaveLength(4);
    expect(calls).toEqual(['tick', 'tick', 'tick']);
    jest.advanceTimersByTime(10_000);
    expect(checks).toHaveLength(4);
    heartbeat.close();
  });

  it('does nothing when the link stopped running, and nothing after stop', () => {
    const stopped = fakeLink();
    stopped.state.running = false;
    new Heartbeat(TIMINGS, stopped.link).start();
    const halted = fakeLink();
    const heartbeat = new Heartbeat(TIMINGS, halted.link);
    heartbeat.start();
    heartbeat.stop();
    jest.advanceTimersByTime(20_000);
    expect(stopped.calls).toEqual([]);
    expect(halted.calls).toEqual([]);
  });

  it('lets pending reads happen first when its timer fires late (this process stalled)', () => {
    const { link, state, calls } = fakeLink();
    const heartbeat = new Heartbeat(TIMINGS, link);
    heartbeat.start();
    // the process was busy for 6 s: the timer fires late, and the peer's frames wait unread
    const now = performance.now.bind(performance);
    jest.spyOn(performance, 'now').mockImplementation(() => now() + 6_000);
    jest.advanceTimersByTime(1_000);
    expect(calls).toEqual([]);
    state.lastReceived = performance.now(); // the poll phase reads what the peer sent meanwhile
    jest.runOnlyPendingTimers();
    expect(calls.filter(c => c.startsWith('silent'))).toEqual([]);
    heartbeat.close();
  });

  it('resolves a ping true on a pong, and sends one ping per call', async () => {
    const { link, calls } = fakeLink();
    const heartbeat = new Heartbeat(TIMINGS, link);
    const answer = heartbeat.ping(2_000);
    await Promise.resolve();
    await Promise.resolve();
    expect(calls).toEqual(['ping']);
    heartbeat.pong();
    await expect(answer).resolves.toBe(true);
  });

  it('resolves a ping false on silence, true when anything came meanwhile', async () => {
    const silent = fakeLink();
    const quiet = new Heartbeat(TIMINGS, silent.link).ping(2_000);
    const busy = fakeLink();
    const talking = new Heartbeat(TIMINGS, busy.link).ping(2_000);
    busy.state.bytesReceived = 10;
    await jest.advanceTimersByTimeAsync(2_000);
    await expect(quiet).resolves.toBe(false);
    await expect(talking).resolves.toBe(true);
  });

  it('resolves pings in progress false when it closes, and later ones at once', async () => {
    const { link } = fakeLink();
    const heartbeat = new Heartbeat(TIMINGS, link);
    const pending = heartbeat.ping(60_000);
    await Promise.resolve();
    heartbeat.close();
    await expect(pending).resolves.toBe(false);
    await expect(heartbeat.ping(60_000)).resolves.toBe(false);
  });
});
