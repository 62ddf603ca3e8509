import fc from 'fast-check';
import { type LeaderCandidate, leaderOf } from './leader-rule.js';

describe('leaderOf', () => {
  it.each<[string, LeaderCandidate[], string | undefined]>([
    ['nobody without candidates', [], undefined],
    ['the only candidate', [{ node: 'a@h', startedAt: 5 }], 'a@h'],
    [
      'the earliest start',
      [
        { node: 'a@h', startedAt: 20 },
        { node: 'b@h', startedAt: 10 },
        { node: 'c@h', startedAt: 30 },
      ],
      'b@h',
    ],
    [
      'the smaller name on equal start times',
      [
        { node: 'b@h', startedAt: 10 },
        { node: 'a@h', startedAt: 10 },
      ],
      'a@h',
    ],
    [
      'names by code unit, not by locale (upper case first)',
      [
        { node: 'a@h', startedAt: 1 },
        { node: 'B@h', startedAt: 1 },
      ],
      'B@h',
    ],
    [
      'names by code unit for non-BMP characters (surrogates sort before U+FFxx)',
      [
        { node: '\uff5e@h', startedAt: 1 },
        { node: '\u{1f600}@h', startedAt: 1 },
      ],
      '\u{1f600}@h',
    ],
    [
      'start time before name',
      [
        { node: 'a@h', startedAt: 11 },
        { node: 'z@h', startedAt: 10 },
      ],
      'z@h',
    ],
  ])('chooses %s', (_what, candidates, expected) => {
    expect(leaderOf(candidates)).toBe(expected);
  });

  it('chooses one of the candidates, the same one in any order, and no other is before it', () => {
    const candidate = fc.record({
      node: fc.string({ minLength: 1, maxLength: 6 }),
      startedAt: fc.integer({ min: 1, max: 5 }),
    });
    const view = fc
      .uniqueArray(candidate, { maxLength: 8, selector: c => c.node })
      .chain(list =>
        fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length })),
      );
    fc.assert(
      fc.property(view, ([list, shuffled]) => {
        const winner = leaderOf(list);
        expect(leaderOf(shuffled)).toBe(winner);
        if (list.length === 0) return expect(winner).toBeUndefined();
        const chosen = list.filter(c => c.node === winner);
        expect(chosen).toHaveLength(1);
        for (const other of list) {
          if (other.node === winner) continue;
          const before =
            other.startedAt < chosen[0]!.startedAt ||
            (other.startedAt === chosen[0]!.startedAt && other.node < chosen[0]!.node);
          expect(before).toBe(false);
        }
      }),
      { seed: 20_261_202 },
    );
  });
});
