import { DEFAULT_GEN_CLUSTER_OPTIONS } from './defaults.js';
import { InvalidConfigError } from './errors.js';
import { resolveSchedulerOptions } from './scheduler-options.js';
import { MAX_TIMER_MS } from './validate.js';

describe('resolveSchedulerOptions', () => {
  it('fills every unset option from DEFAULT_GEN_CLUSTER_OPTIONS', () => {
    expect(resolveSchedulerOptions({})).toEqual(DEFAULT_GEN_CLUSTER_OPTIONS);
  });

  it('merges a partial backoff with the default one', () => {
    expect(resolveSchedulerOptions({ backoff: { maxMs: 60_000 } }).backoff).toEqual({
      ...DEFAULT_GEN_CLUSTER_OPTIONS.backoff,
      maxMs: 60_000,
    });
  });

  it.each([Infinity, 'infinity' as const])('spells a refresh interval of %p "infinity"', value => {
    expect(resolveSchedulerOptions({ refreshIntervalMs: value }).refreshIntervalMs).toBe(
      'infinity',
    );
  });

  it('accepts durations up to the timer ceiling, fractions of a millisecond included', () => {
    const resolved = resolveSchedulerOptions({
      refreshIntervalMs: MAX_TIMER_MS,
      connectTimeoutMs: 1.5,
      backoff: { initialMs: 250.5, maxMs: MAX_TIMER_MS, multiplier: 1, jitter: 0 },
    });
    expect(resolved.refreshIntervalMs).toBe(MAX_TIMER_MS);
    expect(resolved.connectTimeoutMs).toBe(1.5);
    expect(resolved.backoff.initialMs).toBe(250.5);
  });

  it.each([
    [{ refreshIntervalMs: 0 }, 'refreshIntervalMs'],
    [{ refreshIntervalMs: -5 }, 'refreshIntervalMs'],
    [{ removalPolicy: 'drop' as 'keep' }, 'removalPolicy'],
    [{ connectConcurrency: 1.5 }, 'connectConcurrency'],
    [{ connectConcurrency: 0 }, 'connectConcurrency'],
    [{ connectTimeoutMs: Number.NaN }, 'connectTimeoutMs'],
    [{ discoveryTimeoutMs: '5000' as unknown as number }, 'discoveryTimeoutMs'],
    [{ backoff: { jitter: 1 } }, 'backoff.jitter'],
    [{ backoff: { multiplier: 0.5 } }, 'backoff.multiplier'],
    [{ backoff: { maxMs: 1e12 } }, 'backoff.maxMs'],
  ])('refuses bad options %j, naming the option', (options, name) => {
    expect(() => resolveSchedulerOptions(options)).toThrow(InvalidConfigError);
    expect(() => resolveSchedulerOptions(options)).toThrow(name);
  });

  it('refuses a duration beyond what a Node timer can wait, naming the ceiling', () => {
    // Node fires such a timer after 1 ms: it would be a refresh storm, not a long interval.
    expect(() => resolveSchedulerOptions({ refreshIntervalMs: 2 ** 31 })).toThrow(
      /refreshIntervalMs.*2147483647/,
    );
  });

  it('lists the accepted removal policies', () => {
    expect(() => resolveSchedulerOptions({ removalPolicy: 'drop' as 'keep' })).toThrow(
      /"keep" or "disconnect"/,
    );
  });
});
