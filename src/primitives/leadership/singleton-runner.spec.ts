import { jest } from '@jest/globals';
import type { ClusterLogger } from '../../core/index.js';
import { flushPromises, until } from '../../../test/support/wait.js';
import type { SingletonContext } from './leadership.types.js';
import { SingletonRunner } from './singleton-runner.js';

/** A promise with its resolve, for hooks that finish when the test says so. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>(resolve => (open = resolve));
  return { promise, open };
}

function recordingLogger(): ClusterLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    debug: m => lines.push(`debug ${m}`),
    log: m => lines.push(`log ${m}`),
    warn: m => lines.push(`warn ${m}`),
    error: m => lines.push(`error ${m}`),
  };
}

describe('SingletonRunner', () => {
  it('runs start under the term it is given and stop with the same context, signal aborted', async () => {
    const seen: string[] = [];
    let started: SingletonContext | undefined;
    const runner = new SingletonRunner({
      name: 'job',
      stopTimeoutMs: 1_000,
      isLeader: () => true,
      hooks: {
        start: ctx => {
          started = ctx;
          seen.push(`start ${ctx.term} ${ctx.signal.aborted}`);
        },
        stop: ctx => {
          seen.push(`stop ${ctx.term} ${ctx.signal.aborted} ${ctx === started}`);
        },
      },
    });
    runner.want(3);
    expect(runner.state).toBe('starting');
    await until(() => runner.state === 'running', 1_000);
    expect(runner.running).toBe(true);
    expect(started).toMatchObject({ name: 'job', term: 3 });
    expect(started!.isLeader()).toBe(true);
    runner.want(undefined);
    expect(started!.signal.aborted).toBe(true); // at once, before the stop hook runs
    await runner.whenIdle();
    expect(seen).toEqual(['start 3 false', 'stop 3 true true']);
    expect(runner.running).toBe(false);
  });

  it('never calls start for a run that became unwanted before its start hook ran', async () => {
    const events: string[] = [];
    const runner = new SingletonRunner({
      name: 'job',
      stopTimeoutMs: 1_000,
      isLeader: () => false,
      hooks: {
        start: ctx => void events.push(`start ${ctx.term} ${ctx.signal.aborted}`),
        stop: ctx => void events.push(`stop ${ctx.term}`),
      },
    });
    // leadership gained and lost in one synchronous delivery
    runner.want(1);
    runner.want(undefined);
    await flushPromises();
    await runner.whenIdle();
    expect(events).toEqual([]);
    expect(runner.state).toBe('idle');
    // wanted, unwanted, wanted again at once: one start, with a live signal
    runner.want(2);
    runner.want(undefined);
    runner.want(2);
    await until(() => runner.state === 'running', 1_000);
    runner.want(undefined);
    await runner.whenIdle();
    // a term changed before the start ran: only the newer one starts
    runner.want(3);
    runner.want(4);
    await until(() => runner.term === 4 && runner.state === 'running', 1_000);
    expect(events).toEqual(['start 2 false', 'stop 2', 'start 4 false']);
  });

  it('never starts again before its stop has returned', async () => {
    const events: string[] = [];
    const stopping = gate();
    const runner = new SingletonRunner({
      name: 'job',
      stopTimeoutMs: 10_000,
      isLeader: () => true,
      hooks: {
        start: ctx => void events.push(`start ${ctx.term}`),
        stop: async ctx => {
          events.push(`stop ${ctx.term} begins`);
          await stopping.promise;
          events.push(`stop ${ctx.term} ends`);
        },
      },
    });
    runner.want(1);
    await until(() => runner.state === 'running', 1_000);
    runner.want(undefined);
    await until(() => events.includes('stop 1 begins'), 1_000);
    runner.want(2); // leadership back while the stop still runs
    await flushPromises(50);
    expect(events).toEqual(['start 1', 'stop 1 begins']);
    stopping.open();
    await until(() => runner.state === 'running', 1_000);
    expect(events).toEqual(['start 1', 'stop 1 begins', 'stop 1 ends', 'start 2']);
    await runner.close();
  });

  it('restarts under a new term: stop of the old run, then start of the new one', async () => {
    const events: string[] = [];
    const runner = new SingletonRunner({
      name: 'job',
      stopTimeoutMs: 1_000,
      isLeader: () => true,
      hooks: {
        start: ctx => void events.push(`start ${ctx.term}`),
        stop: ctx => void events.push(`stop ${ctx.term}`),
      },
    });
    runner.want(1);
    await until(() => runner.state === 'running', 1_000);
    runner.want(2);
    await until(() => runner.term === 2 && runner.state === 'running', 1_000);
    expect(events).toEqual(['start 1', 'stop 1', 'start 2']);
    await runner.close();
  });

  it('stops a run whose start is still in flight once the start returns', async () => {
    const events: string[] = [];
    const starting = gate();
    let signal: AbortSignal | undefined;
    const runner = new SingletonRunner({
      name: 'job',
      stopTimeoutMs: 1_000,
      isLeader: () => true,
      hooks: {
        start: async ctx => {
          signal = ctx.signal;
          events.push('start begins');
          await starting.promise;
          events.push('start ends');
        },
        stop: () => void events.push('stop'),
      },
    });
    runner.want(1);
    await until(() => events.length === 1, 1_000);
    runner.want(undefined);
    expect(signal!.aborted).toBe(true);
    starting.open();
    await runner.whenIdle();
    expect(events).toEqual(['start begins', 'start ends', 'stop']);
  });

  describe('with fake timers', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('logs a start that throws and tries again after a backoff, not in a hot loop', async () => {
      const logger = recordingLogger();
      let attempts = 0;
      const runner = new SingletonRunner({
        name: 'job',
        stopTimeoutMs: 1_000,
        isLeader: () => true,
        logger,
        backoff: { initialMs: 1_000, maxMs: 8_000, multiplier: 2, jitter: 0 },
        hooks: {
          start: () => {
            attempts++;
            if (attempts < 3) throw new Error(`boom ${attempts}`);
          },
        },
      });
      runner.want(1);
      await flushPromises();
      expect(attempts).toBe(1);
      expect(runner.state).toBe('idle');
      expect(logger.lines.filter(l => l.startsWith('error'))).toEqual([
        expect.stringContaining('boom 1') as string,
      ]);
      expect(logger.lines[0]).toContain('retrying in 1000 ms');
      await jest.advanceTimersByTimeAsync(999);
      expect(attempts).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      await flushPromises();
      expect(attempts).toBe(2);
      await jest.advanceTimersByTimeAsync(1_999);
      expect(attempts).toBe(2);
      await jest.advanceTimersByTimeAsync(1);
      await flushPromises();
      expect(attempts).toBe(3);
      expect(runner.state).toBe('running');
      await runner.close();
    });

    it('tries a failed start again at once when the term changes', async () => {
      let attempts = 0;
      const runner = new SingletonRunner({
        name: 'job',
        stopTimeoutMs: 1_000,
        isLeader: () => true,
        logger: recordingLogger(),
        hooks: {
          start: () => {
            attempts++;
            if (attempts === 1) throw new Error('boom');
          },
        },
      });
      runner.want(1);
      await flushPromises();
      runner.want(1); // the same leadership: still waits
      await flushPromises();
      expect(attempts).toBe(1);
      runner.want(2);
      await flushPromises();
      expect(attempts).toBe(2);
      expect(runner.state).toBe('running');
      await runner.close();
    });

    it('logs a stop that overruns stopTimeoutMs, and when it finally returns', async () => {
      const logger = recordingLogger();
      const stopping = gate();
      const runner = new SingletonRunner({
        name: 'job',
        stopTimeoutMs: 10_000,
        isLeader: () => true,
        logger,
        hooks: { start: () => undefined, stop: () => stopping.promise },
      });
      runner.want(1);
      await flushPromises();
      runner.want(undefined);
      await jest.advanceTimersByTimeAsync(9_999);
      expect(logger.lines.some(l => l.startsWith('warn'))).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      expect(logger.lines.filter(l => l.startsWith('warn'))).toEqual([
        expect.stringContaining('10000 ms') as string,
      ]);
      expect(runner.state).toBe('stopping');
      stopping.open();
      await flushPromises();
      expect(runner.state).toBe('idle');
      expect(logger.lines.some(l => l.startsWith('log') && l.includes('returned after'))).toBe(
        true,
      );
    });

    it('counts a stop that throws as stopped', async () => {
      const logger = recordingLogger();
      const runner = new SingletonRunner({
        name: 'job',
        stopTimeoutMs: 1_000,
        isLeader: () => true,
        logger,
        hooks: {
          start: () => undefined,
          stop: () => {
            throw new Error('stop failed');
          },
        },
      });
      runner.want(1);
      await flushPromises();
      await runner.close();
      expect(runner.state).toBe('idle');
      expect(logger.lines.some(l => l.startsWith('warn') && l.includes('stop failed'))).toBe(true);
      runner.want(2); // closed: never again
      await flushPromises();
      expect(runner.running).toBe(false);
    });
  });
});
