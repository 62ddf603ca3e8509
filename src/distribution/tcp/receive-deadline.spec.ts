import {
  DEFAULT_MIN_RECEIVE_BYTES_PER_SECOND,
  FrameProgress,
  allowedMs,
} from './receive-deadline.js';

const LIMITS = { failureTimeoutMs: 5_000, minReceiveBytesPerSecond: 1_000 };

describe('allowedMs', () => {
  it('grants the failure timeout plus the bytes at the minimum rate', () => {
    expect(allowedMs(0, LIMITS)).toBe(5_000);
    expect(allowedMs(2_500, LIMITS)).toBe(7_500);
  });

  it('defaults the rate to 64 KiB/s: a 32 MiB message gets 512 s on top of the failure timeout', () => {
    expect(DEFAULT_MIN_RECEIVE_BYTES_PER_SECOND).toBe(64 * 1024);
    expect(allowedMs(32 * 1024 * 1024, { failureTimeoutMs: 5_000 })).toBe(5_000 + 512_000);
  });
});

describe('FrameProgress', () => {
  it('is quiet while no frame is in progress', () => {
    const progress = new FrameProgress(LIMITS);
    progress.received(0, 0);
    expect(progress.overdue(1e9, 0)).toBeUndefined();
  });

  it('times a frame from the chunk that left bytes of it, and measures its bytes so far', () => {
    const progress = new FrameProgress(LIMITS);
    progress.received(100, 10);
    progress.received(3_000, 20); // still the same frame: its start stays at 100
    expect(progress.overdue(5_120, 20)).toBeUndefined(); // 5,020 ms of 5,020 allowed
    expect(progress.overdue(5_121, 20)).toEqual({
      unit: 'frame',
      bytes: 20,
      elapsedMs: 5_021,
      allowedMs: 5_020,
    });
  });

  it('never cuts a frame arriving at the minimum rate, whatever its size', () => {
    const progress = new FrameProgress(LIMITS);
    for (let t = 0; t <= 600_000; t += 1_000) {
      progress.received(t, t + 1); // one byte per ms, the minimum rate
      expect(progress.overdue(t, t + 1)).toBeUndefined();
    }
  });

  it('restarts the clock when a frame completes', () => {
    const progress = new FrameProgress(LIMITS);
    progress.received(0, 10);
    progress.delivered(); // the frame completed, a new one started in the same chunk
    progress.received(9_000, 3);
    expect(progress.overdue(9_500, 3)).toBeUndefined();
    progress.received(9_600, 0); // and that one completed too
    expect(progress.overdue(1e9, 0)).toBeUndefined();
  });
});
