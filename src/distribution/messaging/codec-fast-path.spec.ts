/**
 * The msgpack codec's fast path must be invisible: it writes msgpackr's bytes, reads what msgpackr
 * reads, and refuses (by falling back to the general path, which refuses) every hostile input the
 * general path refuses.
 */
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import {
  bytesOf,
  expectPrototypeClean,
  payloadError,
  str,
} from '../../../test/support/payload-harness.js';
import { FAST_MAX_KEYS, FastEncoder, NOT_FAST, fastDecode } from './codec-fast-path.js';
import { scanMsgpack } from './msgpack-scanner.js';
import { DEFAULT_MAX_PAYLOAD_DEPTH, createPayloadCodec } from './payload-codec.js';

const packr = new Packr({ structuredClone: true });
const unpackr = new Unpackr({ structuredClone: true, copyBuffers: true });

/**
 * Whether two decoded values are the same: prototype, keys in order, values by `Object.is` (Jest's
 * `toStrictEqual` compares `constructor` properties, which a payload may set to NaN).
 */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null)
    return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const keysA = Reflect.ownKeys(a);
  const keysB = Reflect.ownKeys(b);
  return (
    keysA.length === keysB.length &&
    keysA.every(
      (key, i) =>
        key === keysB[i] &&
        Object.is(
          (a as Record<PropertyKey, unknown>)[key],
          (b as Record<PropertyKey, unknown>)[key],
        ),
    )
  );
}

/** What the general path makes of `bytes`: the value, or `'refused'`. */
function general(bytes: Buffer): unknown {
  try {
    scanMsgpack(bytes, DEFAULT_MAX_PAYLOAD_DEPTH);
    return unpackr.unpack(bytes) as unknown;
  } catch {
    return 'refused';
  }
}

const strings = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  // lone surrogates included: msgpackr writes them in its own way below 64 units
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ minLength: 30, maxLength: 300 }),
  fc.constantFrom('', 'x'.repeat(31), 'x'.repeat(32), 'é'.repeat(40), 'x'.repeat(70000)),
  // large strings: past the in-chunk bound, past the large-chunk bound, str 16 / str 32 headers,
  // ASCII (read as Latin-1) and not, lone surrogates (written as U+FFFD past 64 units)
  fc.constantFrom(
    'x'.repeat(16 * 1024 + 1),
    'x'.repeat(65535),
    'x'.repeat(65536),
    'é'.repeat(30000),
    '€'.repeat(22000),
    'x'.repeat(90000),
    'a\ud800'.repeat(20000),
    '😀'.repeat(20000),
    'x'.repeat(65535) + 'é',
    'é' + 'x'.repeat(65535),
  ),
);
const numbers = fc.oneof(
  fc.integer(),
  fc.integer({ min: -200, max: 200 }),
  fc.double(),
  fc.constantFrom(
    0,
    -0,
    0x3f,
    0x40,
    0x7f,
    0xff,
    0x100,
    0xffff,
    0x10000,
    2 ** 32 - 1,
    2 ** 32,
    -(2 ** 31),
    -(2 ** 31) - 1,
    NaN,
    Infinity,
  ),
);
const scalars = fc.oneof(strings, numbers, fc.boolean(), fc.constant(null));
const keys = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('constructor', 'prototype', 'toString', '0', '1', 'd', 'é', 'hasOwnProperty'),
);
const objects = fc.dictionary(keys, scalars, { maxKeys: FAST_MAX_KEYS + 2 });
const values = fc.oneof(scalars, objects);

describe('msgpack codec fast path', () => {
  it('writes exactly the bytes msgpackr writes, which the scan accepts', () => {
    const encoder = new FastEncoder();
    fc.assert(
      fc.property(values, value => {
        const fast = encoder.encode(value, Infinity);
        if (fast === undefined) return;
        const expected = packr.pack(value);
        expect(fast.toString('hex')).toBe(expected.toString('hex'));
        expect(() => scanMsgpack(fast, 1)).not.toThrow();
      }),
      { numRuns: 2000 },
    );
  });

  it('takes the payloads of the benchmark and common small objects', () => {
    const encoder = new FastEncoder();
    for (const value of [
      { d: 'x'.repeat(32) },
      { d: 'x'.repeat(1024) },
      { d: 'x'.repeat(65536) },
      'x'.repeat(300_000),
      'text',
      5,
      null,
      {},
    ])
      expect(encoder.encode(value, Infinity)).toBeDefined();
  });

  it('leaves to the general path what it does not model', () => {
    const encoder = new FastEncoder();
    const withGetter = Object.defineProperty({}, 'a', { get: () => 1, enumerable: true });
    for (const value of [
      undefined,
      [1, 2],
      { a: { b: 1 } },
      { a: undefined },
      { a: 1n },
      new Date(0),
      new Map(),
      Object.create(null) as object,
      JSON.parse('{"__proto__": 1}') as object,
      { hasOwnProperty: 1 },
      { constructor: 'x' },
      Buffer.from('x'),
      Object.fromEntries(Array.from({ length: FAST_MAX_KEYS + 1 }, (_, i) => [`k${i}`, i])),
    ])
      expect(encoder.encode(value, Infinity)).toBeUndefined();
    // a getter runs (as msgpackr runs it), and the value is taken
    expect(encoder.encode(withGetter, Infinity)).toBeDefined();
  });

  it('never hands out bytes over the limit, and never writes over bytes it handed out', () => {
    const encoder = new FastEncoder();
    expect(encoder.encode({ d: 'x'.repeat(100) }, 50)).toBeUndefined();
    const first = encoder.encode({ d: 'a'.repeat(1000) }, Infinity)!;
    const copy = Buffer.from(first);
    for (let i = 0; i < 200; i++) encoder.encode({ d: 'b'.repeat(1000) }, Infinity);
    expect(first.equals(copy)).toBe(true);
    // an object whose values outgrow the chunk mid-way moves, keys and all, to a new one
    for (let i = 0; i < 300; i++) {
      const value = { k: 'é'.repeat(i * 50), n: i, s: 'x'.repeat(i) };
      expect(encoder.encode(value, Infinity)!.equals(packr.pack(value))).toBe(true);
    }
  });

  it('reads what msgpackr reads from every encoding it takes', () => {
    fc.assert(
      fc.property(values, value => {
        const bytes = packr.pack(value);
        const fast = fastDecode(bytes);
        if (fast === NOT_FAST) return;
        expect(same(fast, general(bytes))).toBe(true);
        expectPrototypeClean();
      }),
      { numRuns: 2000 },
    );
  });

  it('reads the same as the general path from arbitrary and mutated bytes, or leaves them to it', () => {
    const mutated = fc
      .tuple(
        values,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
      )
      .map(([value, edits]) => {
        const bytes = Buffer.from(packr.pack(value));
        for (const [at, byte] of edits) if (bytes.length > 0) bytes[at % bytes.length] = byte;
        return bytes;
      });
    const arbitrary = fc.uint8Array({ minLength: 1, maxLength: 40 }).map(a => Buffer.from(a));
    fc.assert(
      fc.property(fc.oneof(mutated, arbitrary), bytes => {
        const fast = fastDecode(bytes);
        if (fast === NOT_FAST) return;
        const reference = general(bytes);
        expect(reference).not.toBe('refused');
        expect(same(fast, reference)).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });

  it('leaves a `__proto__` key to the general path, which refuses it', () => {
    const codec = createPayloadCodec('msgpack');
    // { "__proto__": { "polluted": true } } as a record definition of id 0x40, by hand
    const record = bytesOf([0xd4, 0x72, 0x40, 0x91], str('__proto__'), [0xc3]);
    expect(fastDecode(record)).toBe(NOT_FAST);
    expect(payloadError(() => codec.decode(record)).code).toBe('ERR_PAYLOAD_DECODE');
    const own = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
    expect(payloadError(() => codec.encode(own)).code).toBe('ERR_PAYLOAD_ENCODE');
    expectPrototypeClean();
  });

  it('writes and reads large strings as msgpackr does, and keeps each encoding intact', () => {
    const encoder = new FastEncoder();
    const handed: [Buffer, Buffer][] = [];
    for (const text of [
      'x'.repeat(65536),
      'é'.repeat(40000),
      'x'.repeat(100_000),
      'a\ud800b'.repeat(30000),
      '😀'.repeat(70000),
      'x'.repeat(65536) + '\u00ff',
    ]) {
      for (const value of [text, { d: text }, { n: 1, d: text, e: 'y' }]) {
        const fast = encoder.encode(value, Infinity)!;
        expect(fast.equals(packr.pack(value))).toBe(true);
        handed.push([fast, Buffer.from(fast)]);
        const read = fastDecode(fast);
        // a lone surrogate was written as U+FFFD, which the fast path leaves to msgpackr
        if (text.includes('\ud800')) expect(read).toBe(NOT_FAST);
        else expect(same(read, general(fast))).toBe(true);
      }
    }
    // no encoding is written over by the next ones
    for (const [bytes, copy] of handed) expect(bytes.equals(copy)).toBe(true);
    // over the limit: refused before writing, the general path then refuses it
    expect(encoder.encode('x'.repeat(70000), 65536)).toBeUndefined();
    expect(encoder.encode({ d: 'é'.repeat(33000) }, 65536)).toBeUndefined();
  });

  it('leaves large invalid UTF-8 to the general path, and reads Latin-1-looking bytes as UTF-8', () => {
    const header = (length: number): number[] => [
      0xdb,
      0,
      length >> 16,
      (length >> 8) & 0xff,
      length & 0xff,
    ];
    const ascii = Buffer.alloc(70000, 0x78);
    const invalid = Buffer.from(ascii);
    invalid[50000] = 0xff;
    expect(fastDecode(bytesOf(header(invalid.length), [...invalid]))).toBe(NOT_FAST);
    const latin1 = Buffer.from(ascii);
    latin1[10] = 0xc3;
    latin1[11] = 0xa9;
    const read = fastDecode(bytesOf(header(latin1.length), [...latin1]));
    expect(read).toBe('x'.repeat(10) + 'é' + 'x'.repeat(70000 - 12));
    // a str 32 running past the end falls back
    expect(fastDecode(bytesOf(header(70001), [...ascii]))).toBe(NOT_FAST);
  });

  it('leaves invalid UTF-8 to the general path', () => {
    for (const bytes of [
      bytesOf([0xa2, 0xc3, 0x28]),
      bytesOf([0xd4, 0x72, 0x40, 0x91, 0xa1, 0xff, 0x01]),
      bytesOf([0xa3, 0xed, 0xa0, 0x80]),
    ])
      expect(fastDecode(bytes)).toBe(NOT_FAST);
  });

  it('keeps `constructor` and `prototype` as ordinary data, as the general path does', () => {
    const codec = createPayloadCodec('msgpack');
    const bytes = bytesOf([0xd4, 0x72, 0x40, 0x92], str('constructor'), str('prototype'), [1, 2]);
    const decoded = codec.decode(bytes) as Record<string, unknown>;
    expect(same(decoded, general(bytes))).toBe(true);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expectPrototypeClean();
  });

  it('refuses through the codec what the general path refuses: a getter that throws, too large', () => {
    const codec = createPayloadCodec('msgpack', { maxStructuredPayloadBytes: 64 });
    const throwing = Object.defineProperty({}, 'a', {
      enumerable: true,
      get: () => {
        throw new Error('boom');
      },
    });
    expect(payloadError(() => codec.encode(throwing)).code).toBe('ERR_PAYLOAD_ENCODE');
    expect(payloadError(() => codec.encode({ d: 'x'.repeat(100) })).code).toBe(
      'ERR_PAYLOAD_TOO_LARGE',
    );
    // the scratch state survived the throw
    expect(codec.decode(codec.encode({ a: 1 }))).toStrictEqual({ a: 1 });
  });
});
