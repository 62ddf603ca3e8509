import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import {
  bytesOf,
  canon,
  expectPrototypeClean,
  realm,
  str,
  structured,
} from '../../../test/support/payload-harness.js';
import { createPayloadCodec } from './payload-codec.js';

describe('msgpack codec', () => {
  it('keeps its encode room between encodings only when it is small', () => {
    // over 4,096 objects: the size walk cannot bound it, so it is encoded into the room
    const records = Array.from({ length: 5_000 }, (_, id) => ({ id, name: `n${id}` }));
    const roomOf = (codec: unknown) => (codec as { encodeRoom?: Buffer }).encodeRoom;
    const kept = createPayloadCodec('msgpack');
    const dropped = createPayloadCodec('msgpack', { maxStructuredPayloadBytes: 8 * 1024 * 1024 });
    for (const codec of [kept, dropped]) {
      expect(codec.decode(codec.encode(records) as Buffer)).toEqual(records);
    }
    expect(roomOf(kept)?.length).toBe(4 * 2 * 1024 * 1024 + 64 * 1024);
    expect(roomOf(dropped)).toBeUndefined();
  });

  describe('round trips', () => {
    const codec = createPayloadCodec();

    it('is the default and is named msgpack', () => {
      expect(codec.name).toBe('msgpack');
      expect(createPayloadCodec('msgpack').name).toBe('msgpack');
    });

    it('round-trips Dates, Maps, Sets, Buffers, typed arrays, RegExps, Errors and bigints', () => {
      const value = {
        date: new Date('2024-05-06T07:08:09.123Z'),
        map: new Map<unknown, unknown>([
          [1, 'one'],
          ['k', { nested: true }],
          [new Date(0), [1, 2]],
        ]),
        set: new Set([1, 'two', 3]),
        buffer: Buffer.from('hello'),
        bytes: new Uint8Array([1, 2, 3]),
        floats: new realm.Float64Array([1.5, -2.25]),
        shorts: new realm.Int16Array([1, -2]),
        longs: new realm.BigInt64Array([5n, -7n]),
        arrayBuffer: new Uint8Array([9, 8]).buffer,
        regexp: /ab+c/gi,
        big: 2n ** 70n,
        small: 5n,
        nothing: undefined,
        nil: null,
        list: [1, 'a', [true, false]],
        error: new TypeError('boom'),
      };
      const decoded = codec.decode(codec.encode(value)) as typeof value;
      expect(decoded.date).toEqual(value.date);
      expect(decoded.map).toBeInstanceOf(Map);
      expect(decoded.map).toEqual(value.map);
      expect(decoded.set).toEqual(value.set);
      expect(Buffer.isBuffer(decoded.buffer)).toBe(true);
      expect(decoded.buffer.toString()).toBe('hello');
      expect(decoded.bytes).toBeInstanceOf(Uint8Array);
      expect([...decoded.bytes]).toEqual([1, 2, 3]);
      expect(decoded.floats).toBeInstanceOf(Float64Array);
      expect([...decoded.floats]).toEqual([1.5, -2.25]);
      expect(decoded.shorts).toBeInstanceOf(Int16Array);
      expect([...decoded.shorts]).toEqual([1, -2]);
      expect([...decoded.longs]).toEqual([5n, -7n]);
      expect(decoded.arrayBuffer).toBeInstanceOf(ArrayBuffer);
      expect([...new Uint8Array(decoded.arrayBuffer)]).toEqual([9, 8]);
      expect(decoded.regexp).toEqual(/ab+c/gi);
      expect(decoded.big).toBe(2n ** 70n);
      expect(decoded.small).toBe(5n);
      expect('nothing' in decoded).toBe(true);
      expect(decoded.nothing).toBeUndefined();
      expect(decoded.nil).toBeNull();
      expect(decoded.list).toEqual([1, 'a', [true, false]]);
      expect(decoded.error).toBeInstanceOf(TypeError);
      expect(decoded.error.message).toBe('boom');
    });

    it('round-trips cyclic and shared structures, keeping identity', () => {
      const shared = { name: 'shared' };
      const cyclic: Record<string, unknown> = { id: 1, shared, again: shared };
      cyclic.self = cyclic;
      const decoded = codec.decode(codec.encode(cyclic)) as Record<string, unknown>;
      expect(decoded.self).toBe(decoded);
      expect(decoded.shared).toBe(decoded.again);
      expect(decoded.shared).toEqual({ name: 'shared' });
      const list: unknown[] = [1];
      list.push(list);
      const decodedList = codec.decode(codec.encode(list)) as unknown[];
      expect(decodedList[1]).toBe(decodedList);
    });

    it('round-trips undefined (a void answer) and reads an empty body as undefined', () => {
      expect(codec.decode(codec.encode(undefined))).toBeUndefined();
      expect(codec.decode(Buffer.alloc(0))).toBeUndefined();
    });

    it('round-trips arbitrary structured values', () => {
      fc.assert(
        fc.property(structured, value => {
          expect(canon(codec.decode(codec.encode(value)))).toEqual(canon(value));
        }),
        { seed: 42, numRuns: 500 },
      );
    });

    it('interoperates between independent instances: each message decodes alone in a fresh codec', () => {
      fc.assert(
        fc.property(fc.array(structured, { minLength: 1, maxLength: 6 }), values => {
          const sender = createPayloadCodec('msgpack');
          const messages = values.map(value => sender.encode(value));
          // Each message alone, in a brand-new decoder, in reverse order.
          for (let i = messages.length - 1; i >= 0; i--)
            expect(canon(createPayloadCodec('msgpack').decode(messages[i]))).toEqual(
              canon(values[i]),
            );
          // And one long-lived decoder, in reverse order.
          const receiver = createPayloadCodec('msgpack');
          for (let i = messages.length - 1; i >= 0; i--)
            expect(canon(receiver.decode(messages[i]))).toEqual(canon(values[i]));
        }),
        { seed: 42, numRuns: 200 },
      );
    });

    it('interoperates with a plain msgpackr Packr/Unpackr using structured clone', () => {
      const value = { a: 1, when: new Date(5), tags: new Set(['x']), nested: { b: [1, 2] } };
      const foreign = new Packr({ structuredClone: true });
      expect(codec.decode(foreign.pack(value))).toEqual(value);
      expect(new Unpackr({ structuredClone: true }).unpack(codec.encode(value))).toEqual(value);
    });

    it('keeps many object shapes apart within one message (record ids cycle)', () => {
      const value: Record<string, unknown> = {};
      for (let i = 0; i < 200; i++) value[`k${i}`] = { [`a${i}`]: i, inner: { [`b${i}`]: [i] } };
      expect(createPayloadCodec().decode(codec.encode(value))).toEqual(value);
    });

    it('does not let one message define how the next is read', () => {
      const receiver = createPayloadCodec();
      receiver.decode(codec.encode({ x: 1 })); // defines record id 0x40
      expect(receiver.decode(Buffer.from([0x40]))).toBe(64);
    });

    it('copies binaries out of the received bytes', () => {
      const bytes = codec.encode({ data: Buffer.from('abc') });
      const decoded = codec.decode(bytes) as { data: Buffer };
      bytes.fill(0);
      expect(decoded.data.toString()).toBe('abc');
    });
  });

  describe('prototype pollution', () => {
    afterEach(expectPrototypeClean);

    it('msgpack: decodes a map with key "__proto__" as a Map, leaving prototypes alone', () => {
      // { "__proto__": { "polluted": true } } as msgpack maps, written by hand.
      const bytes = bytesOf([0x81], str('__proto__'), [0x81], str('polluted'), [0xc3]);
      const decoded = createPayloadCodec().decode(bytes);
      expect(decoded).toBeInstanceOf(Map);
      const map = decoded as Map<string, Map<string, boolean>>;
      expect(map.get('__proto__')?.get('polluted')).toBe(true);
      expect((decoded as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getPrototypeOf(decoded)).toBe(Map.prototype);
    });
  });
});
