import fc from 'fast-check';
import { expectPrototypeClean, payloadError } from '../../../test/support/payload-harness.js';
import { createPayloadCodec } from './payload-codec.js';

describe('json codec', () => {
  describe('round trips', () => {
    const codec = createPayloadCodec('json');

    it('round-trips JSON values', () => {
      fc.assert(
        fc.property(fc.jsonValue(), value => {
          expect(codec.decode(codec.encode(value))).toEqual(JSON.parse(JSON.stringify(value)));
        }),
        { seed: 42, numRuns: 300 },
      );
    });

    it('has JSON semantics for Dates and undefined', () => {
      expect(codec.decode(codec.encode({ at: new Date(0), gone: undefined }))).toEqual({
        at: '1970-01-01T00:00:00.000Z',
      });
      expect(codec.encode(undefined).length).toBe(0);
      expect(codec.decode(Buffer.alloc(0))).toBeUndefined();
    });

    it('refuses malformed text with ERR_PAYLOAD_DECODE', () => {
      expect(payloadError(() => codec.decode(Buffer.from('{"a":'))).code).toBe(
        'ERR_PAYLOAD_DECODE',
      );
    });

    it('refuses bigints and cycles with ERR_PAYLOAD_ENCODE', () => {
      expect(payloadError(() => codec.encode({ n: 1n })).code).toBe('ERR_PAYLOAD_ENCODE');
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      expect(payloadError(() => codec.encode(cyclic)).code).toBe('ERR_PAYLOAD_ENCODE');
    });
  });

  describe('prototype pollution', () => {
    afterEach(expectPrototypeClean);

    it('json: refuses a "__proto__" key, plain or escaped, at any depth', () => {
      const codec = createPayloadCodec('json');
      for (const text of [
        '{"__proto__": {"polluted": true}}',
        '{"\\u005f_proto__": {"polluted": true}}',
        '{"a": [1, {"__proto__": {"polluted": true}}]}',
      ]) {
        const error = payloadError(() => codec.decode(Buffer.from(text)));
        expect(error.code).toBe('ERR_PAYLOAD_DECODE');
        expect(error.message).toContain('__proto__');
      }
      // A "__proto__" inside a string value is just text.
      expect(codec.decode(Buffer.from('{"note": "__proto__"}'))).toEqual({ note: '__proto__' });
    });
  });
});
