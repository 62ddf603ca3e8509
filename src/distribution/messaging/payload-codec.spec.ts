import fc from 'fast-check';
import { InvalidConfigError } from '../../core/index.js';
import {
  expectPrototypeClean,
  nestedArrays,
  payloadError,
} from '../../../test/support/payload-harness.js';
import { PayloadError } from './messaging.errors.js';
import {
  DEFAULT_MAX_PAYLOAD_DEPTH,
  type PayloadCodec,
  createPayloadCodec,
  decodePayload,
  encodePayload,
} from './payload-codec.js';

describe('payload codecs', () => {
  describe.each([['msgpack'], ['json']] as const)('%s limits', kind => {
    const codec = createPayloadCodec(kind);

    it('refuses functions and symbols on encode with ERR_PAYLOAD_ENCODE', () => {
      for (const value of [
        () => 1,
        { handler: () => 1 },
        [1, () => 2],
        Symbol('s'),
        { s: Symbol('s') },
        [Symbol('s')],
      ]) {
        const error = payloadError(() => codec.encode(value));
        expect(error.code).toBe('ERR_PAYLOAD_ENCODE');
        expect(error.message).toMatch(/function|symbol/);
      }
    });

    it(`accepts ${DEFAULT_MAX_PAYLOAD_DEPTH} levels and refuses one more, on encode and on decode`, () => {
      const deepest = nestedArrays(DEFAULT_MAX_PAYLOAD_DEPTH);
      expect(codec.decode(codec.encode(deepest))).toEqual(deepest);
      const tooDeep = nestedArrays(DEFAULT_MAX_PAYLOAD_DEPTH + 1);
      const onEncode = payloadError(() => codec.encode(tooDeep));
      expect(onEncode.code).toBe('ERR_PAYLOAD_TOO_DEEP');
      expect(onEncode.message).toContain('64');
      const lenient = createPayloadCodec(kind, { maxDepth: 100 });
      const onDecode = payloadError(() => codec.decode(lenient.encode(tooDeep)));
      expect(onDecode.code).toBe('ERR_PAYLOAD_TOO_DEEP');
    });

    it('counts objects, maps and sets as levels and honours a custom maxDepth', () => {
      const shallow = createPayloadCodec(kind, { maxDepth: 3 });
      expect(shallow.decode(shallow.encode({ a: { b: [] } }))).toEqual({ a: { b: [] } });
      expect(payloadError(() => shallow.encode({ a: { b: [[]] } })).code).toBe(
        'ERR_PAYLOAD_TOO_DEEP',
      );
      if (kind === 'msgpack') {
        expect(payloadError(() => shallow.encode(new Map([[1, { b: new Set([[1]]) }]]))).code).toBe(
          'ERR_PAYLOAD_TOO_DEEP',
        );
      }
    });

    it('refuses an absurdly deep payload without overflowing the stack', () => {
      const depth = 200_000;
      const bytes =
        kind === 'msgpack'
          ? Buffer.concat([Buffer.alloc(depth - 1, 0x91), Buffer.from([0x90])])
          : Buffer.from('['.repeat(depth) + ']'.repeat(depth));
      expect(payloadError(() => codec.decode(bytes)).code).toBe('ERR_PAYLOAD_TOO_DEEP');
      // JS values that deep are refused too (msgpackr recurses, so it may overflow: still typed).
      let deep: unknown = [];
      for (let i = 0; i < depth; i++) deep = [deep];
      expect(payloadError(() => codec.encode(deep)).code).toBe('ERR_PAYLOAD_TOO_DEEP');
      // The codec still works afterwards.
      expect(codec.decode(codec.encode({ ok: [1] }))).toEqual({ ok: [1] });
    });

    it('never throws anything but a PayloadError on random bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), bytes => {
          try {
            codec.decode(Buffer.from(bytes));
          } catch (error) {
            expect(error).toBeInstanceOf(PayloadError);
          }
        }),
        { seed: 42, numRuns: 3000 },
      );
    });

    it('never throws anything but a PayloadError on corrupted messages', () => {
      const samples = [
        codec.encode({ a: 1, b: 'two', c: [3, 4, { d: null }] }),
        codec.encode([{ x: 1 }, { x: 2 }, { y: 'z' }]),
      ];
      if (kind === 'msgpack')
        samples.push(
          codec.encode({ when: new Date(0), m: new Map([[1, new Set([2])]]), e: new Error('x') }),
        );
      fc.assert(
        fc.property(
          fc.constantFrom(...samples),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
          fc.nat(),
          (sample, flips, cut) => {
            const bytes = Buffer.from(sample);
            for (const [at, value] of flips) bytes[at % bytes.length] = value;
            try {
              codec.decode(bytes.subarray(0, bytes.length - (cut % 3)));
            } catch (error) {
              expect(error).toBeInstanceOf(PayloadError);
            }
          },
        ),
        { seed: 42, numRuns: 3000 },
      );
    });
  });

  describe('prototype pollution', () => {
    afterEach(expectPrototypeClean);

    it.each([['msgpack'], ['json']] as const)(
      '%s: refuses to encode an object with an own "__proto__" property',
      kind => {
        const value = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
        expect(payloadError(() => createPayloadCodec(kind).encode(value)).code).toBe(
          'ERR_PAYLOAD_ENCODE',
        );
      },
    );
  });

  describe('createPayloadCodec', () => {
    it('returns a custom codec as it is', () => {
      const custom: PayloadCodec = {
        name: 'raw',
        encode: value => Buffer.from(String(value)),
        decode: bytes => bytes.toString(),
      };
      expect(createPayloadCodec(custom)).toBe(custom);
    });

    it.each([
      ['an unknown kind', () => createPayloadCodec('xml' as 'json')],
      ['an incomplete codec', () => createPayloadCodec({ name: 'x' } as PayloadCodec)],
      ['maxDepth 0', () => createPayloadCodec('msgpack', { maxDepth: 0 })],
      ['a fractional maxDepth', () => createPayloadCodec('json', { maxDepth: 2.5 })],
      ['a huge maxDepth', () => createPayloadCodec('msgpack', { maxDepth: 100_000 })],
    ])('refuses %s with InvalidConfigError', (_what, create) => {
      expect(create).toThrow(InvalidConfigError);
    });
  });
  describe('any codec', () => {
    const custom = (encode: (value: unknown) => unknown): PayloadCodec => ({
      name: 'custom',
      encode: encode as PayloadCodec['encode'],
      decode: () => {
        throw new TypeError('cannot read');
      },
    });

    it('takes a Uint8Array as a Buffer over the same memory', () => {
      const bytes = new Uint8Array([1, 2, 3]);
      const parts = encodePayload(
        custom(() => bytes),
        null,
      );
      expect(parts).toHaveLength(1);
      const encoded = parts[0]!;
      expect(Buffer.isBuffer(encoded)).toBe(true);
      expect(encoded.buffer).toBe(bytes.buffer);
    });

    it('turns what a codec throws or returns wrongly into a PayloadError naming the codec', () => {
      const thrown = payloadError(() =>
        encodePayload(
          custom(() => {
            throw new Error('nope');
          }),
          1,
        ),
      );
      expect(thrown).toMatchObject({
        code: 'ERR_PAYLOAD_ENCODE',
        message: expect.stringContaining('custom'),
      });
      expect(thrown.cause).toBeInstanceOf(Error);
      const wrong = payloadError(() =>
        encodePayload(
          custom(() => 'text'),
          1,
        ),
      );
      expect(wrong).toMatchObject({
        code: 'ERR_PAYLOAD_ENCODE',
        message: expect.stringContaining('string'),
      });
      const unreadable = payloadError(() =>
        decodePayload(
          custom(() => Buffer.alloc(0)),
          Buffer.from([1]),
        ),
      );
      expect(unreadable).toMatchObject({
        code: 'ERR_PAYLOAD_DECODE',
        message: expect.stringContaining('cannot read'),
      });
      const own = new PayloadError('too deep', { code: 'ERR_PAYLOAD_TOO_DEEP' });
      const passed = payloadError(() =>
        encodePayload(
          custom(() => {
            throw own;
          }),
          1,
        ),
      );
      expect(passed).toBe(own);
    });
  });
});
