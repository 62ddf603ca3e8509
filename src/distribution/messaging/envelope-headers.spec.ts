import fc from 'fast-check';
import {
  MAX_HEADERS,
  MAX_HEADER_BYTES,
  MAX_HEADER_KEY_BYTES,
  MAX_HEADER_VALUE_BYTES,
  decodeHeaders,
  encodeHeaders,
} from './envelope-headers.js';
import { EnvelopeError } from './messaging.errors.js';

const keys = fc.stringMatching(/^[a-z0-9_-]{1,64}$/);
const values = fc
  .string({ unit: 'grapheme', maxLength: 200 })
  .filter(value => Buffer.byteLength(value) <= MAX_HEADER_VALUE_BYTES);
/** Header sets within every bound (keys are unique in a record). */
const headerSets = fc.dictionary(keys, values, { maxKeys: MAX_HEADERS });

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(EnvelopeError);
    return (error as EnvelopeError).code;
  }
  return undefined;
}

/** A block by hand: count, then each key and value as given (lengths from the bytes). */
function block(count: number, entries: [Buffer, Buffer][], extra = Buffer.alloc(0)): Buffer {
  const parts: Buffer[] = [Buffer.from([count])];
  for (const [key, value] of entries) {
    const length = Buffer.alloc(2);
    length.writeUInt16BE(value.length);
    parts.push(Buffer.from([key.length]), key, length, value);
  }
  return Buffer.concat([...parts, extra]);
}

describe('envelope headers', () => {
  it('round-trips any header set within the bounds', () => {
    fc.assert(
      fc.property(headerSets, headers => {
        const encoded = encodeHeaders(headers);
        expect(encoded.length).toBeLessThanOrEqual(MAX_HEADER_BYTES);
        expect({ ...decodeHeaders(encoded) }).toEqual(headers);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('lays out count, key length, key, value length and value', () => {
    expect(encodeHeaders({ ab: 'é' }).toString('hex')).toBe('01' + '02' + '6162' + '0002' + 'c3a9');
    expect(encodeHeaders({}).toString('hex')).toBe('00');
  });

  it('decodes into an object without prototype, so a __proto__ key is only data', () => {
    const decoded = decodeHeaders(encodeHeaders(JSON.parse('{"__proto__":"x"}') as never));
    expect(Object.getPrototypeOf(decoded)).toBeNull();
    expect(decoded['__proto__']).toBe('x');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it.each([
    ['17 headers', Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']))],
    ['an empty key', { '': 'v' }],
    ['a key of 65 bytes', { ['k'.repeat(MAX_HEADER_KEY_BYTES + 1)]: 'v' }],
    ['an upper-case key', { Traceparent: 'v' }],
    ['a key with a space', { 'a b': 'v' }],
    ['a value over 4 KiB', { k: 'é'.repeat(MAX_HEADER_VALUE_BYTES / 2 + 1) }],
    ['a value that is not a string', { k: 42 as unknown as string }],
    [
      'a block over 8 KiB',
      { a: 'x'.repeat(MAX_HEADER_VALUE_BYTES), b: 'x'.repeat(MAX_HEADER_VALUE_BYTES) },
    ],
  ])('refuses to encode %s', (_what, headers) => {
    expect(codeOf(() => encodeHeaders(headers))).toBe('ERR_BAD_ENVELOPE');
  });

  const key = Buffer.from('k');
  const value = Buffer.from('v');
  it.each([
    ['an empty block', Buffer.alloc(0)],
    ['a count over 16', block(17, [])],
    ['a count beyond the entries', block(2, [[key, value]])],
    ['bytes after the last header', block(1, [[key, value]], Buffer.from([0]))],
    [
      'a repeated key',
      block(2, [
        [key, value],
        [key, value],
      ]),
    ],
    ['a key out of [a-z0-9_-]', block(1, [[Buffer.from('K'), value]])],
    ['an empty key', block(1, [[Buffer.alloc(0), value]])],
    ['a value that is not UTF-8', block(1, [[key, Buffer.from([0xc3, 0x28])]])],
    ['a value over 4 KiB', block(1, [[key, Buffer.alloc(MAX_HEADER_VALUE_BYTES + 1, 0x61)]])],
    ['a block over 8 KiB', Buffer.alloc(MAX_HEADER_BYTES + 1)],
  ])('refuses to decode %s with ERR_BAD_ENVELOPE', (_what, bytes) => {
    expect(codeOf(() => decodeHeaders(bytes))).toBe('ERR_BAD_ENVELOPE');
  });

  it('never throws anything but an EnvelopeError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), bytes => {
        try {
          decodeHeaders(Buffer.from(bytes));
        } catch (error) {
          expect(error).toBeInstanceOf(EnvelopeError);
        }
      }),
      { seed: 42, numRuns: 5000 },
    );
  });
});
