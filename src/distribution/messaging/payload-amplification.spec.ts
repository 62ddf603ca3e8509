/**
 * Adversarial inputs of the msgpack codec (issue 12, payload amplification): element floods,
 * sparse arrays, long runs of one-byte containers and random bytes. Every property runs with a
 * fixed seed (fast-check prints it with the counterexample on failure).
 */
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { payloadError, structured } from '../../../test/support/payload-harness.js';
import { PayloadError } from './messaging.errors.js';
import { DECODE_COST_ALLOWANCE, DECODE_COST_PER_BYTE } from './msgpack-scanner.js';
import { createPayloadCodec } from './payload-codec.js';
import { boundEncodedSize } from './structured-size.js';

const MiB = 1024 * 1024;
const packr = new Packr({ structuredClone: true });
const SEED = 20_261_201;

/** An array (`array 32` header) of `count` copies of `token`. */
function flood(token: number[], count: number): Buffer {
  const bytes = Buffer.alloc(5 + token.length * count);
  bytes[0] = 0xdd;
  bytes.writeUInt32BE(count, 1);
  const one = Buffer.from(token);
  for (let i = 0; i < count; i++) one.copy(bytes, 5 + i * token.length);
  return bytes;
}

/** Tokens that decode into far more heap than their size, and ordinary ones. */
const TOKENS: Record<string, number[]> = {
  emptyMap: [0x80],
  emptyArray: [0x90],
  map1: [0x81, 0x01, 0x01],
  emptyBinary: [0xc4, 0x00],
  date: [0xd6, 0xff, 0, 0, 0, 1],
  emptySet: [0xd4, 0x73, 0x00, 0x90],
  nil: [0xc0],
  fixint: [0x07],
  float: [0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0],
  string: [0xa3, 0x61, 0x62, 0x63],
};

describe('msgpack codec under adversarial input', () => {
  const codec = createPayloadCodec('msgpack', { maxStructuredPayloadBytes: 64 * MiB });

  it('refuses 8 MiB of empty maps or arrays before decoding (ERR_PAYLOAD_TOO_COSTLY), not retryable', () => {
    for (const token of [TOKENS.emptyMap!, TOKENS.emptyArray!]) {
      const bytes = flood(token, 8 * MiB);
      const started = performance.now();
      const error = payloadError(() => codec.decode(bytes));
      expect(error.code).toBe('ERR_PAYLOAD_TOO_COSTLY');
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/too many objects/);
      // refused by the scan, which stops at the budget (generous window: shared CI cores)
      expect(performance.now() - started).toBeLessThan(5_000);
    }
  });

  it('accepts ordinary data of any shape up to the limit: records, numbers, strings, small objects', () => {
    // each far past the fixed allowance, so the per-byte budget decides
    const values: unknown[][] = [
      Array.from({ length: 60_000 }, (_, i) => ({ id: i, name: `item ${i}`, ok: i % 2 === 0 })),
      Array.from({ length: 200_000 }, (_, i) => i * 1.5),
      Array.from({ length: 60_000 }, (_, i) => [i & 0x7f, (i >> 7) & 0x7f]),
      Array.from({ length: 60_000 }, () => ({ a: 1 })),
      Array.from({ length: 60_000 }, (_, i) => `text ${i}`),
      Array.from({ length: 20_000 }, (_, i) => ({ user: { id: i, tags: ['a'] }, at: new Date(i) })),
    ];
    for (const value of values) {
      const decoded = codec.decode(codec.encode(value)) as unknown[];
      expect(decoded).toHaveLength(value.length);
      expect(decoded.slice(-3)).toEqual(value.slice(-3));
    }
  });

  it('prices every flood within the budget or refuses it, whatever the token and count', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(TOKENS)),
        fc.integer({ min: 0, max: 200_000 }),
        (name, count) => {
          const token = TOKENS[name]!;
          const bytes = flood(token, count);
          try {
            const value = codec.decode(bytes) as unknown[];
            expect(value).toHaveLength(count);
          } catch (error) {
            expect(error).toBeInstanceOf(PayloadError);
            expect((error as PayloadError).code).toBe('ERR_PAYLOAD_TOO_COSTLY');
            // only what costs more than its budget is refused
            expect(count).toBeGreaterThan(
              (DECODE_COST_ALLOWANCE + DECODE_COST_PER_BYTE * bytes.length) / 600,
            );
          }
        },
      ),
      { seed: SEED, numRuns: 40 },
    );
  });

  it('decodes random bytes to a value or a PayloadError, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 512 }), bytes => {
        try {
          codec.decode(Buffer.from(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(PayloadError);
        }
      }),
      { seed: SEED, numRuns: 5_000 },
    );
  });

  it('decodes floods of 0x80 / 0x90 bytes under any header to a value or a PayloadError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0x80, 0x90),
        fc.constantFrom([0xdd], [0xdc], [0xdf], [0xde], [0x9f], [0x8f], []),
        fc.integer({ min: 0, max: 1 << 20 }),
        fc.integer({ min: 1, max: 200_000 }),
        (fill, header, declared, length) => {
          const head = Buffer.from(header);
          const size = header[0] === 0xdc || header[0] === 0xde ? 2 : header.length === 1 ? 4 : 0;
          const bytes = Buffer.alloc(head.length + (header.length && size) + length, fill);
          head.copy(bytes);
          if (size === 2) bytes.writeUInt16BE(declared & 0xffff, 1);
          else if (size === 4 && header[0]! >= 0xdc) bytes.writeUInt32BE(declared, 1);
          try {
            codec.decode(bytes);
          } catch (error) {
            expect(error).toBeInstanceOf(PayloadError);
          }
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe('structured payload limit (encode)', () => {
  const limit = 64 * 1024;
  const codec = createPayloadCodec('msgpack', { maxStructuredPayloadBytes: limit });

  it('refuses a sparse array of length 10^8 at once, with an error that suggests a Buffer', () => {
    const sparse: number[] = [];
    sparse[1e8 - 1] = 1;
    const started = performance.now();
    const error = payloadError(() => createPayloadCodec('msgpack').encode(sparse));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(error).toMatchObject({ code: 'ERR_PAYLOAD_TOO_LARGE', retryable: false });
    expect(error.bytes).toBeGreaterThanOrEqual(1e8);
    expect(error.limit).toBe(2 * MiB);
    expect(error.message).toMatch(/Buffer/);
    expect(error.message).toMatch(/maxStructuredPayloadBytes/);
  });

  it('stops encoding soon after the output passes the limit when the walk cannot tell', () => {
    // 60,000 numbers of 9 bytes: the walk's lower bound (1 byte each) fits, the encoding does not
    const numbers = Array.from({ length: 60_000 }, (_, i) => 2 ** 40 + i + 0.5);
    const whole = packr.pack(numbers).length;
    expect(boundEncodedSize(numbers, limit).lower).toBeLessThanOrEqual(limit);
    const error = payloadError(() => codec.encode(numbers));
    expect(error.code).toBe('ERR_PAYLOAD_TOO_LARGE');
    // stopped within the room given to msgpackr, before the end of the whole encoding
    expect(error.bytes).toBeLessThanOrEqual(4 * limit + 64 * 1024);
    expect(error.bytes).toBeLessThan(whole);
    expect(error.bytes).toBeGreaterThan(limit);
  });

  it('encodes what fits whether or not the walk can tell (strings near the limit included)', () => {
    for (const value of [
      'x'.repeat(limit - 8),
      'é'.repeat(Math.floor(limit / 2) - 8),
      Array.from({ length: 5_000 }, (_, i) => 2 ** 40 + i + 0.5),
      { nested: { list: Array.from({ length: 1_000 }, (_, i) => ({ i })) } },
    ])
      expect(codec.decode(codec.encode(value))).toEqual(value);
  });

  it('refuses a received structured body over the limit without decoding it', () => {
    const body = packr.pack('x'.repeat(limit + 1));
    expect(payloadError(() => codec.decode(body))).toMatchObject({
      code: 'ERR_PAYLOAD_TOO_LARGE',
      limit,
    });
    // a binary body of any size is not structured
    const binary = packr.pack(Buffer.alloc(limit * 2));
    expect((codec.decode(binary) as Buffer).length).toBe(limit * 2);
  });

  it('bounds the encoded size of any value from below and above', () => {
    fc.assert(
      fc.property(structured, value => {
        const size = packr.pack(value).length;
        const { lower, upper } = boundEncodedSize(value, Infinity);
        expect(lower).toBeLessThanOrEqual(size);
        expect(upper).toBeGreaterThanOrEqual(size);
      }),
      { seed: SEED, numRuns: 1_000 },
    );
  });

  it('never refuses a value whose encoding fits, and always refuses one that does not', () => {
    fc.assert(
      fc.property(structured, fc.integer({ min: 1, max: 400 }), (value, small) => {
        // a lone Buffer or typed array is not structured: it passes through
        fc.pre(!ArrayBuffer.isView(value));
        const size = packr.pack(value).length;
        const tight = createPayloadCodec('msgpack', { maxStructuredPayloadBytes: small });
        if (size <= small) tight.decode(tight.encode(value));
        else
          expect(payloadError(() => tight.encode(value)).code).toMatch(
            /^ERR_PAYLOAD_(TOO_LARGE|ENCODE)$/,
          );
      }),
      { seed: SEED, numRuns: 1_000 },
    );
  });
});
