import { AbortControllerPool } from './abort-controller-pool.js';

describe('AbortControllerPool', () => {
  it('reuses the controller of a call that ended without aborting and without listeners', () => {
    const pool = new AbortControllerPool();
    const first = pool.take();
    const listener = () => undefined;
    first.signal.addEventListener('abort', listener, { once: true });
    first.signal.removeEventListener('abort', listener);
    pool.release(first);
    expect(pool.take()).toBe(first);
    expect(first.signal.aborted).toBe(false);
  });

  it('never hands out an aborted controller or one whose signal still has a listener', () => {
    const pool = new AbortControllerPool();
    const aborted = pool.take();
    aborted.abort();
    pool.release(aborted);
    const listened = pool.take();
    listened.signal.addEventListener('abort', () => undefined);
    pool.release(listened);
    const next = pool.take();
    expect(next).not.toBe(aborted);
    expect(next).not.toBe(listened);
    expect(next.signal.aborted).toBe(false);
  });
});
