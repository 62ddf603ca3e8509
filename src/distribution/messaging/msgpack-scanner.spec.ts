import fc from 'fast-check';
import { Unpackr } from 'msgpackr';
import {
  bytesOf,
  expectPrototypeClean,
  payloadError,
  str,
  structured,
} from '../../../test/support/payload-harness.js';
import { scanMsgpack } from './msgpack-scanner.js';
import { DEFAULT_MAX_PAYLOAD_DEPTH, createPayloadCodec } from './payload-codec.js';

describe('msgpack scanner', () => {
  describe('what it refuses and accepts', () => {
    it.each([
      ['the never-used 0xc1', [0xc1]],
      ['a bundled-strings extension', [0xd6, 0x62, 0, 0, 0, 0]],
      ['an unknown extension', [0xd4, 0x01, 0x00]],
      ['a two-byte record definition', [0xd5, 0x72, 0x60, 0x00, 0x90]],
      ['a Set extension not followed by an array', [0xd4, 0x73, 0x00, 0x01]],
      ['a reference id followed by a pointer', [0xd6, 0x69, 0, 0, 0, 1, 0xd6, 0x70, 0, 0, 0, 1]],
      ['a record key that is not a string', [0xd4, 0x72, 0x40, 0x91, 0x01, 0x02]],
      ['trailing bytes', [0x01, 0x02]],
      ['a truncated array', [0x92, 0x01]],
      ['an array longer than the data', [0xdd, 0xff, 0xff, 0xff, 0xff]],
    ])('refuses %s', (_what, bytes) => {
      expect(() => scanMsgpack(Buffer.from(bytes), 64)).toThrow();
      expect(payloadError(() => createPayloadCodec().decode(Buffer.from(bytes))).code).toBe(
        'ERR_PAYLOAD_DECODE',
      );
    });

    it('accepts everything the encoder writes', () => {
      const codec = createPayloadCodec();
      fc.assert(
        fc.property(structured, value => {
          scanMsgpack(codec.encode(value), DEFAULT_MAX_PAYLOAD_DEPTH);
        }),
        { seed: 7, numRuns: 500 },
      );
    });
  });

  describe('prototype pollution', () => {
    afterEach(expectPrototypeClean);

    it('msgpack: refuses an object (record) with a "__proto__" key', () => {
      // Record 0x40 with keys ["__proto__"] whose value is record 0x41 { polluted: true }.
      const bytes = bytesOf(
        [0xd4, 0x72, 0x40, 0x91],
        str('__proto__'),
        [0xd4, 0x72, 0x41, 0x91],
        str('polluted'),
        [0xc3],
      );
      const error = payloadError(() => createPayloadCodec().decode(bytes));
      expect(error.code).toBe('ERR_PAYLOAD_DECODE');
      expect(error.message).toContain('__proto__');
      // Without the codec's check msgpackr would rename the key: data silently changed.
      expect(Object.keys(new Unpackr({ structuredClone: true }).unpack(bytes))).toEqual([
        '__proto_',
      ]);
    });

    it('msgpack: refuses an Error extension named after an Object.prototype member', () => {
      // msgpackr looks the name up on a plain object: "valueOf" would return its internal table.
      const codec = createPayloadCodec();
      for (const name of ['valueOf', 'constructor', '__proto__', 'toString']) {
        const bytes = bytesOf([0xd4, 0x65, 0x00, 0x92], str(name), str('message'));
        expect(payloadError(() => codec.decode(bytes)).code).toBe('ERR_PAYLOAD_DECODE');
      }
      const fine = codec.decode(bytesOf([0xd4, 0x65, 0x00, 0x92], str('RangeError'), str('m')));
      expect(fine).toBeInstanceOf(RangeError);
    });
  });
});
