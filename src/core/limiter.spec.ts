import { Limiter } from './limiter.js';
import { flushPromises } from '../../test/support/wait.js';

/** A task that finishes when `release()` is called, recording when it started and ended. */
function gate(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>(resolve => (release = resolve));
  return {
    release: () => release(),
    task: async () => {
      log.push(`start ${name}`);
      await done;
      log.push(`end ${name}`);
      return name;
    },
  };
}

describe('Limiter', () => {
  it('runs at most `concurrency` tasks at once, the rest in arrival order', async () => {
    const limiter = new Limiter(2);
    const log: string[] = [];
    const gates = ['a', 'b', 'c', 'd'].map(name => gate(log, name));
    const results = gates.map(g => limiter.run(g.task));
    await flushPromises();
    expect(log).toEqual(['start a', 'start b']);
    gates[1]!.release();
    await flushPromises();
    expect(log).toEqual(['start a', 'start b', 'end b', 'start c']);
    for (const g of gates) g.release();
    await expect(Promise.all(results)).resolves.toEqual(['a', 'b', 'c', 'd']);
    expect(log.filter(line => line.startsWith('start'))).toEqual([
      'start a',
      'start b',
      'start c',
      'start d',
    ]);
  });

  it('frees its slot when a task fails', async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limiter.run(() => Promise.resolve(7))).resolves.toBe(7);
  });

  it('keeps arrival order across a long queue (past its compaction points) and ends idle', async () => {
    const limiter = new Limiter(3);
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const all = Array.from({ length: 5_000 }, (_, i) =>
      limiter.run(async () => {
        started.push(i);
        most = Math.max(most, ++running);
        await Promise.resolve();
        running--;
      }),
    );
    await Promise.all(all);
    expect(started).toEqual(Array.from({ length: 5_000 }, (_, i) => i));
    expect(most).toBe(3);
    // idle again: the next tasks start at once, up to the limit
    const log: string[] = [];
    const gates = ['x', 'y', 'z', 'w'].map(name => gate(log, name));
    const more = gates.map(g => limiter.run(g.task));
    await flushPromises();
    expect(log).toEqual(['start x', 'start y', 'start z']);
    for (const g of gates) g.release();
    await Promise.all(more);
  });
});
