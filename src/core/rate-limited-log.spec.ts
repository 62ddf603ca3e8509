import { jest } from '@jest/globals';
import { RateLimitedLog } from './rate-limited-log.js';

describe('RateLimitedLog', () => {
  it('writes one line per key and window and counts what it held back', () => {
    let now = 0;
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      const log = new RateLimitedLog(1_000, 10);
      const lines: string[] = [];
      expect(log.write('a', 'first', line => lines.push(line))).toBe(true);
      expect(log.write('a', 'second', line => lines.push(line))).toBe(false);
      expect(log.write('b', 'other key', line => lines.push(line))).toBe(true);
      now = 1_000;
      expect(log.write('a', 'third', line => lines.push(line))).toBe(true);
      expect(lines).toEqual(['first', 'other key', 'third (1 similar suppressed)']);
    } finally {
      clock.mockRestore();
    }
  });

  it('stays bounded under a flood of distinct keys, and keeps limiting while full', () => {
    let now = 0;
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      const log = new RateLimitedLog(1_000, 3);
      let written = 0;
      for (let round = 0; round < 5; round++)
        for (let i = 0; i < 100; i++) if (log.allow(`k${i}`) >= 0) written++;
      expect(written).toBe(3); // at most maxKeys lines per window, however many keys
      expect((log as unknown as { last: Map<string, unknown> }).last.size).toBeLessThanOrEqual(3);
      now = 1_000; // the window passed: expired keys make room for new ones
      expect(log.allow('fresh')).toBe(0);
    } finally {
      clock.mockRestore();
    }
  });

  it('writes the next line of a forgotten key at once, and says how many it held back', () => {
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => 0);
    try {
      const log = new RateLimitedLog(1_000, 10);
      expect(log.allow('a')).toBe(0);
      expect(log.allow('a')).toBe(-1);
      expect(log.allow('a')).toBe(-1);
      expect(log.forget('a')).toBe(2);
      expect(log.allow('a')).toBe(0); // within the window, but forgotten
      expect(log.forget('unknown')).toBe(0);
    } finally {
      clock.mockRestore();
    }
  });
});
