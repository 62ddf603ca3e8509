import { withDeadline } from './deadline.js';

const timeout = () => new Error('deadline passed');

describe('withDeadline', () => {
  it('settles with the result of work that finishes in time', async () => {
    await expect(withDeadline(async () => 42, { ms: 1_000, onTimeout: timeout })).resolves.toBe(42);
  });

  it('turns a synchronous throw of the work into a rejection', async () => {
    await expect(
      withDeadline(
        () => {
          throw new Error('boom');
        },
        { ms: 1_000, onTimeout: timeout },
      ),
    ).rejects.toThrow('boom');
  });

  it('rejects at the deadline and aborts the work, even when the work ignores its signal', async () => {
    let inner: AbortSignal | undefined;
    const started = performance.now();
    await expect(
      withDeadline(
        signal => {
          inner = signal;
          return new Promise<never>(() => undefined);
        },
        { ms: 20, onTimeout: timeout },
      ),
    ).rejects.toThrow('deadline passed');
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    expect(inner?.aborted).toBe(true);
  });

  it('rejects with the outer reason when the caller aborts first', async () => {
    const outer = new AbortController();
    const pending = withDeadline(() => new Promise<never>(() => undefined), {
      ms: 60_000,
      signal: outer.signal,
      onTimeout: timeout,
    });
    outer.abort(new Error('stopping'));
    await expect(pending).rejects.toThrow('stopping');
  });

  it('does not start work when the outer signal is already aborted', async () => {
    const outer = AbortSignal.abort(new Error('already stopped'));
    let ran = false;
    await expect(
      withDeadline(
        () => {
          ran = true;
        },
        { ms: 1_000, signal: outer, onTimeout: timeout },
      ),
    ).rejects.toThrow('already stopped');
    expect(ran).toBe(false);
  });

  it('waits without a timer when the deadline is Infinity', async () => {
    await expect(
      withDeadline(() => new Promise(resolve => setTimeout(() => resolve('late'), 10)), {
        ms: Infinity,
        onTimeout: timeout,
      }),
    ).resolves.toBe('late');
  });
});
