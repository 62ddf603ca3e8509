import { rank } from './rendezvous.js';
import { Selector, type SelectorContext } from './selection.js';

const A = 'a@h';
const B = 'b@h';
const C = 'c@h';
const D = 'd@h';

function selector(context: Partial<SelectorContext> = {}): Selector {
  return new Selector({ self: undefined, random: Math.random, pendingTo: undefined, ...context });
}

function tally(picks: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of picks) counts[node] = (counts[node] ?? 0) + 1;
  return counts;
}

describe('Selector', () => {
  it('spreads round-robin within 1: 300 calls to 3 servers give 100 each', () => {
    const s = selector();
    const picks = Array.from({ length: 300 }, () => s.pick('t', [A, B, C], undefined));
    expect(tally(picks)).toEqual({ [A]: 100, [B]: 100, [C]: 100 });
    expect(picks.slice(0, 6)).toEqual([A, B, C, A, B, C]);
  });

  it('keeps one round-robin counter per topic', () => {
    const s = selector();
    expect([s.pick('x', [A, B], 'round-robin'), s.pick('y', [A, B], 'round-robin')]).toEqual([
      A,
      A,
    ]);
    expect([s.pick('x', [A, B], 'round-robin'), s.pick('y', [A, B], 'round-robin')]).toEqual([
      B,
      B,
    ]);
  });

  it('stays within 1 over each stable stretch when the membership changes in between', () => {
    const s = selector();
    for (let i = 0; i < 7; i++) s.pick('t', [A, B, C], undefined);
    const four = Array.from({ length: 400 }, () => s.pick('t', [A, B, C, D], undefined));
    expect(Object.values(tally(four))).toEqual([100, 100, 100, 100]);
    const two = Array.from({ length: 301 }, () => s.pick('t', [A, C], undefined));
    const counts = Object.values(tally(two));
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    // Another topic's traffic changes nothing here.
    for (let i = 0; i < 5; i++) s.pick('other', [A, B, C], undefined);
    const again = Array.from({ length: 30 }, () => s.pick('t', [A, B, C], undefined));
    expect(Object.values(tally(again))).toEqual([10, 10, 10]);
  });

  it('starts a forgotten topic afresh', () => {
    const s = selector();
    s.pick('t', [A, B, C], undefined);
    s.forget('t');
    expect(s.pick('t', [A, B, C], undefined)).toBe(A);
  });

  it('picks at random through the injected source', () => {
    const values = [0, 0.34, 0.67, 0.999_999];
    const s = selector({ random: () => values.shift()! });
    expect([A, B, C, D].map(() => s.pick('t', [A, B, C], 'random'))).toEqual([A, B, C, C]);
  });

  it('prefers this node with local-first, and goes round-robin when it does not serve', () => {
    const s = selector({ self: B });
    expect([1, 2, 3].map(() => s.pick('t', [A, B, C], 'local-first'))).toEqual([B, B, B]);
    expect([1, 2, 3, 4].map(() => s.pick('t', [A, C], 'local-first'))).toEqual([A, C, A, C]);
    const unknownSelf = selector();
    expect([1, 2].map(() => unknownSelf.pick('t', [A, B], 'local-first'))).toEqual([A, B]);
  });

  it('picks the fewest pending with least-pending, ties in turn', () => {
    const pending: Record<string, number> = { [A]: 3, [B]: 1, [C]: 1, [D]: 0 };
    const s = selector({ pendingTo: node => pending[node] ?? 0 });
    expect(s.pick('t', [A, B, C, D], 'least-pending')).toBe(D);
    const ties = [1, 2, 3, 4].map(() => s.pick('t', [A, B, C], 'least-pending'));
    expect(tally(ties)).toEqual({ [B]: 2, [C]: 2 });
    expect(ties[0]).not.toBe(ties[1]);
    pending[A] = 0;
    pending[B] = 0;
    pending[C] = 0;
    const idle = [1, 2, 3, 4, 5, 6].map(() => s.pick('t', [A, B, C], 'least-pending'));
    expect(tally(idle)).toEqual({ [A]: 2, [B]: 2, [C]: 2 });
  });

  it('goes round-robin with least-pending on a messaging layer that does not count', () => {
    const s = selector();
    expect([1, 2, 3].map(() => s.pick('t', [A, B, C], 'least-pending'))).toEqual([A, B, C]);
  });

  it('sends a key to its owner, then down its rank as owners are excluded', () => {
    const s = selector();
    const all = [A, B, C, D];
    for (const key of ['tenant-1', 'tenant-2', 42, new Uint8Array([1, 2])]) {
      const ranked = rank(key, all);
      expect(s.pick('t', all, { key })).toBe(ranked[0]);
      expect(s.pick('t', all, { key })).toBe(ranked[0]);
      expect(
        s.pick(
          't',
          all.filter(n => n !== ranked[0]),
          { key },
        ),
      ).toBe(ranked[1]);
      expect(
        s.pick(
          't',
          all.filter(n => n !== ranked[0] && n !== ranked[1]),
          { key },
        ),
      ).toBe(ranked[2]);
    }
  });

  it('retries round-robin on the next node in name order, leaving the counter alone', () => {
    const s = selector({ self: D });
    expect(s.pickAfter('t', [A, C], undefined, B)).toBe(C);
    expect(s.pickAfter('t', [A, B], 'round-robin', C)).toBe(A);
    expect(s.pickAfter('t', [A, C], 'local-first', B)).toBe(C);
    expect(s.pickAfter('t', [A, D], 'local-first', B)).toBe(D);
    expect(s.pickAfter('t', [B, C, D], { key: 'k' }, A)).toBe(rank('k', [B, C, D])[0]);
    expect([1, 2, 3].map(() => s.pick('t', [A, B, C], undefined))).toEqual([A, B, C]);
  });

  it('returns the only candidate whatever the selection', () => {
    const s = selector({ self: B, random: () => 0.5, pendingTo: () => 4 });
    for (const select of [
      'round-robin',
      'random',
      'local-first',
      'least-pending',
      { key: 'k' },
    ] as const)
      expect(s.pick('t', [C], select)).toBe(C);
  });
});
