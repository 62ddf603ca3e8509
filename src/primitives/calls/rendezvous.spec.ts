import fc from 'fast-check';
import type { ServiceKey } from '../primitives.types.js';
import { HRW_VERSION, keyDigest, owner, rank } from './rendezvous.js';

/** A fixed seed, so CI runs the same cases; fast-check prints it with any counterexample. */
const SEED = 14;
const KEY_COUNT = 10_000;

/** `node-1@127.0.0.1` .. `node-n@127.0.0.1`: the names of a real cluster, the worst case. */
function sequentialNodes(count: number, from = 1): string[] {
  return Array.from({ length: count }, (_, i) => `node-${from + i}@127.0.0.1`);
}

/** Keys as callers use them: ids in sequence, and some random strings. */
const sequentialKeys = Array.from({ length: KEY_COUNT }, (_, i) => `user:${i}`);
/** Fewer keys for the joins over random sets (1/(N+1) of 2,000 is still 7 sigma under the bound). */
const joinKeys = sequentialKeys.slice(0, 2_000);
const randomKeys = fc.sample(fc.string({ minLength: 1, maxLength: 24 }), {
  seed: SEED,
  numRuns: KEY_COUNT,
});

const nodeName = fc
  .tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), fc.stringMatching(/^[a-z0-9.]{1,20}$/))
  .map(([name, host]) => `${name}@${host}`);
const nodeSet = (min: number, max: number) =>
  fc.uniqueArray(nodeName, { minLength: min, maxLength: max });
const key: fc.Arbitrary<ServiceKey> = fc.oneof(
  fc.string({ minLength: 1 }),
  fc.integer(),
  fc.uint8Array({ minLength: 1, maxLength: 32 }),
);

/** The largest count of keys per owner over the mean. */
function imbalance(keys: readonly string[], nodes: readonly string[]): number {
  const counts = new Map<string, number>(nodes.map(node => [node, 0]));
  for (const k of keys) {
    const o = owner(k, nodes)!;
    counts.set(o, counts.get(o)! + 1);
  }
  return Math.max(...counts.values()) / (keys.length / nodes.length);
}

/** A plain murmur3 x86_32 over bytes, written from the reference, to check the in-place one. */
function referenceMurmur3(bytes: Uint8Array, seed: number): number {
  const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
  const mixK = (k: number) => Math.imul(rotl(Math.imul(k, 0xcc9e2d51), 15), 0x1b873593);
  let h = seed | 0;
  let i = 0;
  for (; i + 4 <= bytes.length; i += 4) {
    h ^= mixK(bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    h = (Math.imul(rotl(h, 13), 5) + 0xe6546b64) | 0;
  }
  let tail = 0;
  for (let shift = 0; i < bytes.length; i++, shift += 8) tail |= bytes[i]! << shift;
  if (bytes.length % 4 !== 0) h ^= mixK(tail);
  h ^= bytes.length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

describe('rendezvous hashing', () => {
  it('is version 1', () => {
    expect(HRW_VERSION).toBe(1);
  });

  it("digests keys with murmur3 x86_32, matching the algorithm's published vector", () => {
    // murmurhash3_32_gc("The quick brown fox jumps over the lazy dog", 0x9747b28c)
    expect(keyDigest('The quick brown fox jumps over the lazy dog')[0]).toBe(0x2fa826cd);
  });

  it('digests a string as its UTF-8 bytes and a number as its decimal string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), text => {
        const bytes = new TextEncoder().encode(text);
        const digest = keyDigest(text);
        expect(digest).toEqual(keyDigest(bytes));
        expect(digest).toEqual([
          referenceMurmur3(bytes, 0x9747b28c),
          referenceMurmur3(bytes, 0x5bd1e995),
        ]);
      }),
      { seed: SEED, numRuns: 2_000 },
    );
    fc.assert(
      fc.property(fc.double(), n => {
        expect(keyDigest(n)).toEqual(keyDigest(String(n)));
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('has no owner among no nodes, and the only node owns every key', () => {
    expect(owner('k', [])).toBeUndefined();
    expect(rank('k', [])).toEqual([]);
    expect(owner('k', ['a@h'])).toBe('a@h');
    expect(rank('k', ['a@h'])).toEqual(['a@h']);
  });

  it('balances 10,000 sequential or random keys on 10 sequentially named nodes (max/mean <= 1.2)', () => {
    const nodes = sequentialNodes(10);
    expect(imbalance(sequentialKeys, nodes)).toBeLessThanOrEqual(1.2);
    expect(imbalance(randomKeys, nodes)).toBeLessThanOrEqual(1.2);
  });

  it('balances 10,000 keys on 25 random sets of 10 node names (max/mean <= 1.2)', () => {
    fc.assert(
      fc.property(nodeSet(10, 10), nodes => {
        expect(imbalance(sequentialKeys, nodes)).toBeLessThanOrEqual(1.2);
      }),
      // 25, not more: under Jest's VM modules one owner() costs about 15 µs of CPU (1 µs in Node).
      { seed: SEED, numRuns: 25 },
    );
  });

  it('moves exactly the keys of a node that leaves, each to its second in rank', () => {
    fc.assert(
      fc.property(
        nodeSet(2, 12),
        fc.nat(),
        fc.array(key, { minLength: 50, maxLength: 200 }),
        (nodes, pick, keys) => {
          const gone = nodes[pick % nodes.length]!;
          const left = nodes.filter(node => node !== gone);
          for (const k of keys) {
            const ranked = rank(k, nodes);
            const after = owner(k, left);
            expect(after).toBe(ranked[0] === gone ? ranked[1] : ranked[0]);
          }
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('moves only the keys a joining node now owns, about 1/(N+1) of them', () => {
    fc.assert(
      fc.property(nodeSet(3, 12), nodeName, (nodes, joiner) => {
        fc.pre(!nodes.includes(joiner));
        const after = [...nodes, joiner];
        let moved = 0;
        for (const k of joinKeys) {
          const before = owner(k, nodes);
          const now = owner(k, after);
          if (now !== before) {
            expect(now).toBe(joiner);
            moved++;
          }
        }
        expect(moved / joinKeys.length).toBeLessThanOrEqual(1.5 / after.length);
      }),
      { seed: SEED, numRuns: 20 },
    );
    const nodes = sequentialNodes(10);
    const joined = [...nodes, 'node-11@127.0.0.1'];
    const moved = sequentialKeys.filter(k => owner(k, nodes) !== owner(k, joined));
    expect(moved.length / KEY_COUNT).toBeLessThanOrEqual(1.5 / 11);
    expect(moved.every(k => owner(k, joined) === 'node-11@127.0.0.1')).toBe(true);
  });

  it('ranks the same whatever the order of the nodes, owner first', () => {
    fc.assert(
      fc.property(nodeSet(1, 12), key, fc.nat(), (nodes, k, seed) => {
        const shuffled = [...nodes].sort((a, b) => ((a + seed).localeCompare(b) % 3) - 1);
        const reversed = [...nodes].reverse();
        const ranked = rank(k, nodes);
        expect(rank(k, shuffled)).toEqual(ranked);
        expect(rank(k, reversed)).toEqual(ranked);
        expect(owner(k, shuffled)).toBe(ranked[0]);
        expect(owner(k, reversed)).toBe(ranked[0]);
        expect([...ranked].sort()).toEqual([...nodes].sort());
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('ignores duplicate node names', () => {
    const nodes = sequentialNodes(5);
    for (const k of sequentialKeys.slice(0, 200)) {
      expect(owner(k, [...nodes, ...nodes])).toBe(owner(k, nodes));
    }
  });

  describe('pinned vectors (a change here breaks owners across versions: bump HRW_VERSION)', () => {
    const ten = sequentialNodes(10);
    const three = ['a@host-1', 'b@host-2', 'c@host-3'];
    const vectors: readonly (readonly [ServiceKey, readonly string[], string])[] = [
      ['user:1', ten, 'node-5@127.0.0.1'],
      ['user:2', ten, 'node-8@127.0.0.1'],
      ['user:42', ten, 'node-9@127.0.0.1'],
      ['order-7f3a', ten, 'node-5@127.0.0.1'],
      ['', ten, 'node-2@127.0.0.1'],
      ['é', ten, 'node-5@127.0.0.1'],
      ['日本語のキー', ten, 'node-2@127.0.0.1'],
      ['a fairly long key that spans several murmur3 blocks', ten, 'node-3@127.0.0.1'],
      [0, ten, 'node-3@127.0.0.1'],
      [7, ten, 'node-8@127.0.0.1'],
      [-1, ten, 'node-2@127.0.0.1'],
      [1.5, ten, 'node-6@127.0.0.1'],
      [2 ** 53, ten, 'node-5@127.0.0.1'],
      [new Uint8Array([]), ten, 'node-2@127.0.0.1'],
      [new Uint8Array([0, 1, 2, 3, 4]), ten, 'node-6@127.0.0.1'],
      [new Uint8Array([255, 254, 253]), ten, 'node-9@127.0.0.1'],
      ['user:1', three, 'a@host-1'],
      ['user:2', three, 'a@host-1'],
      [12_345, three, 'b@host-2'],
      ['prices:EURUSD', three, 'a@host-1'],
    ];

    it.each(vectors.map(([k, nodes, expected], i) => [i, k, nodes, expected] as const))(
      'vector %i',
      (_i, k, nodes, expected) => {
        expect(owner(k, nodes)).toBe(expected);
        expect(rank(k, nodes)[0]).toBe(expected);
      },
    );

    it('pins a whole ranking', () => {
      expect(rank('user:1', ten).map(node => node.slice(0, node.indexOf('@')))).toEqual([
        'node-5',
        'node-2',
        'node-1',
        'node-4',
        'node-3',
        'node-6',
        'node-9',
        'node-10',
        'node-8',
        'node-7',
      ]);
    });
  });
});
