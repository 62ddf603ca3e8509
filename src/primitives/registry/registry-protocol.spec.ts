import fc from 'fast-check';
import {
  MAX_REGISTRY_ENTRIES,
  REGISTRY_DELTA,
  REGISTRY_HELLO,
  entryKey,
  fromEntryKey,
  newEpoch,
  noIssues,
  parseDelta,
  parseEntries,
  parseHello,
  parseHelloAnswer,
} from './registry-protocol.js';

/** A fixed seed, so CI runs the same cases; fast-check prints it with any counterexample. */
const PROPERTY = { seed: 14, numRuns: 2_000 } as const;
const KINDS = new Set(['h', 's']);

describe('registry protocol', () => {
  it('names its topics on the reserved prefix', () => {
    expect(REGISTRY_HELLO).toBe('$gc.reg.hello');
    expect(REGISTRY_DELTA).toBe('$gc.reg.delta');
  });

  it('round-trips entry keys, names with any character included', () => {
    for (const [kind, name] of [
      ['h', 'prices'],
      ['s', 'a\u0000b'],
      ['g', ''],
    ] as const)
      expect(fromEntryKey(entryKey(kind, name))).toEqual([kind, name]);
  });

  it('makes a 16-hex-digit epoch, new each time', () => {
    const a = newEpoch();
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(newEpoch()).not.toBe(a);
  });

  it('parses a hello and refuses what is not one', () => {
    expect(parseHello({ v: 1, epoch: 'e', hrw: 1 })).toEqual({ v: 1, epoch: 'e', hrw: 1 });
    expect(parseHello({ v: 2, epoch: 'e', hrw: 1, extra: true })).toEqual({
      v: 2,
      epoch: 'e',
      hrw: 1,
    });
    expect(parseHello({ v: 1, epoch: 'e' })).toEqual({ v: 1, epoch: 'e', hrw: 0 });
    for (const bad of [
      null,
      [],
      'x',
      { v: 0, epoch: 'e' },
      { v: 1.5, epoch: 'e' },
      { v: 1, epoch: '' },
      { v: 1, epoch: 'x'.repeat(65) },
      { v: 1, epoch: 7 },
    ])
      expect(parseHello(bad)).toBeUndefined();
  });

  it('parses a hello answer, ignoring unknown kinds and fields', () => {
    const issues = noIssues();
    const answer = parseHelloAnswer(
      {
        v: 1,
        epoch: 'e',
        seq: 3,
        hrw: 1,
        entries: [
          ['h', 'a'],
          ['g', 'group'],
          ['s', 'b'],
          'junk',
          ['h'],
          ['h', 5],
          ['toolongkind', 'x'],
        ],
        future: {},
      },
      KINDS,
      issues,
    );
    expect(answer).toEqual({
      v: 1,
      epoch: 'e',
      seq: 3,
      hrw: 1,
      entries: [
        ['h', 'a'],
        ['s', 'b'],
      ],
    });
    expect(issues).toEqual({ tooMany: 0, reserved: 0 });
    expect(
      parseHelloAnswer({ v: 1, epoch: 'e', seq: -1, entries: [] }, KINDS, issues),
    ).toBeUndefined();
    expect(
      parseHelloAnswer({ v: 1, epoch: 'e', seq: 1, entries: {} }, KINDS, issues),
    ).toBeUndefined();
  });

  it('drops reserved names and invalid topics, counting the reserved ones', () => {
    const issues = noIssues();
    const entries = parseEntries(
      [
        ['h', '$gc.reg.hello'],
        ['h', ''],
        ['h', 'x'.repeat(2_000)],
        ['s', '$gc.x'],
        ['h', 'ok'],
      ],
      KINDS,
      issues,
    );
    expect(entries).toEqual([['h', 'ok']]);
    expect(issues.reserved).toBe(2);
  });

  it(`keeps the first ${MAX_REGISTRY_ENTRIES} entries and counts the rest`, () => {
    const issues = noIssues();
    const many = Array.from({ length: MAX_REGISTRY_ENTRIES + 5 }, (_, i) => ['h', `t${i}`]);
    const entries = parseEntries(many, KINDS, issues)!;
    expect(entries).toHaveLength(MAX_REGISTRY_ENTRIES);
    expect(entries.at(-1)).toEqual(['h', `t${MAX_REGISTRY_ENTRIES - 1}`]);
    expect(issues.tooMany).toBe(5);
  });

  it('parses deltas: add/del, or a set that wins', () => {
    const issues = noIssues();
    expect(parseDelta({ v: 1, epoch: 'e', seq: 2, add: [['h', 'a']] }, KINDS, issues)).toEqual({
      v: 1,
      epoch: 'e',
      seq: 2,
      add: [['h', 'a']],
      del: [],
    });
    expect(
      parseDelta({ v: 1, epoch: 'e', seq: 2, set: [['s', 'b']], add: [['h', 'a']] }, KINDS, issues),
    ).toEqual({ v: 1, epoch: 'e', seq: 2, set: [['s', 'b']] });
    expect(parseDelta({ v: 1, epoch: 'e', seq: 2, add: 'x' }, KINDS, issues)).toBeUndefined();
    expect(parseDelta({ v: 1, epoch: 'e', seq: 2, set: null }, KINDS, issues)).toBeUndefined();
    expect(parseDelta({ v: 1, epoch: 'e' }, KINDS, issues)).toBeUndefined();
  });

  it('never throws on any value, and gives a message or undefined', () => {
    const entry = fc.oneof(
      fc.tuple(fc.constantFrom('h', 's', 'g', ''), fc.string()),
      fc.anything(),
    );
    const message = fc.oneof(
      fc.anything(),
      fc.record(
        {
          v: fc.oneof(fc.integer(), fc.anything()),
          epoch: fc.oneof(fc.string(), fc.anything()),
          seq: fc.oneof(fc.nat(), fc.double(), fc.anything()),
          hrw: fc.anything(),
          entries: fc.oneof(fc.array(entry), fc.anything()),
          add: fc.oneof(fc.array(entry), fc.anything()),
          del: fc.oneof(fc.array(entry), fc.anything()),
          set: fc.oneof(fc.array(entry), fc.anything()),
        },
        { requiredKeys: [] },
      ),
    );
    fc.assert(
      fc.property(message, value => {
        const issues = noIssues();
        for (const parsed of [
          parseHello(value),
          parseHelloAnswer(value, KINDS, issues),
          parseDelta(value, KINDS, issues),
        ]) {
          if (parsed === undefined) continue;
          expect(Number.isSafeInteger(parsed.v) && parsed.v >= 1).toBe(true);
          expect(typeof parsed.epoch).toBe('string');
        }
        const answer = parseHelloAnswer(value, KINDS, issues);
        for (const [kind, name] of answer?.entries ?? []) {
          expect(KINDS.has(kind)).toBe(true);
          expect(name.startsWith('$gc.')).toBe(false);
        }
      }),
      PROPERTY,
    );
  });
});
