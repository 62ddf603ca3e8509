import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { InvalidConfigError } from '../../core/errors.js';
import { PayloadError } from './messaging.errors.js';
import {
  DEFAULT_MAX_PAYLOAD_DEPTH,
  type PayloadCodec,
  createPayloadCodec,
} from './payload-codec.js';
import { scanMsgpack } from './msgpack-scanner.js';

const str = (text: string) => {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length >= 32) throw new Error('fixstr only');
  return Buffer.concat([Buffer.from([0xa0 + bytes.length]), bytes]);
};
const bytesOf = (...parts: (number[] | Buffer)[]) =>
  Buffer.concat(parts.map(part => (Buffer.isBuffer(part) ? part : Buffer.from(part))));

/**
 * Jest runs a spec in a vm context whose `Uint8Array` and `ArrayBuffer` are the main realm's (for
 * `Buffer`) but whose other typed arrays are the context's own. msgpackr recognises typed arrays
 * through the main realm's `TypedArray`, as it would in any real process, so the specs build them
 * in the main realm.
 */
const realm = (setImmediate.constructor as FunctionConstructor)(
  'return globalThis',
)() as typeof globalThis;

/** Typed arrays as `{ type, items }`, so values from both realms compare equal. */
function canon(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return { type: value.constructor.name, items: [...(value as unknown as Iterable<unknown>)] };
  if (Array.isArray(value)) return value.map(canon);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [canon(k), canon(v)]));
  if (value instanceof Set) return new Set([...value].map(canon));
  if (value !== null && typeof value === 'object' && !(value instanceof Date))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canon(v)]));
  return value;
}

function nestedArrays(depth: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

function payloadError(run: () => unknown): PayloadError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PayloadError);
    return error as PayloadError;
  }
  throw new Error('expected a PayloadError, nothing was thrown');
}

function expectPrototypeClean(): void {
  expect(Object.prototype).not.toHaveProperty('polluted');
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

/** Values the msgpack codec carries exactly. */
const structured: fc.Arbitrary<unknown> = fc.letrec(tie => ({
  leaf: fc.oneof(
    fc.integer(),
    fc.double().map(d => (Object.is(d, -0) ? 0 : d)), // msgpack writes -0 as the integer 0
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.bigInt(),
    fc.date({ noInvalidDate: true }),
    fc.uint8Array({ maxLength: 16 }).map(bytes => Buffer.from(bytes)),
    fc.uint8Array({ maxLength: 16 }),
    fc.float64Array({ maxLength: 4 }).map(a => new realm.Float64Array(a)),
    fc.int32Array({ maxLength: 4 }).map(a => new realm.Int32Array(a)),
  ),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(
      fc.string().filter(key => key !== '__proto__'),
      tie('node'),
      { maxKeys: 4 },
    ),
    fc.array(fc.tuple(tie('leaf'), tie('node')), { maxLength: 3 }).map(entries => new Map(entries)),
    fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 4 }).map(items => new Set(items)),
  ),
})).node;

describe('payload codecs', () => {
  describe('msgpack (default)', () => {
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

    it('interoperates with msgpackr in another process, both ways, message by message', () => {
      const values = [
        { id: 1, at: new Date(1_000), tags: new Set(['a', 'b']), blob: Buffer.from([1, 2, 3]) },
        { id: 2, at: new Date(2_000), tags: new Set<string>(), blob: Buffer.alloc(0) },
        [{ x: 1 }, { x: 2, y: { z: [true] } }, new Map<unknown, unknown>([[1, { x: 3 }]])],
        { id: 3, nested: { id: 4, nested: null } },
      ];
      const sender = createPayloadCodec();
      const messages = values.map(value => sender.encode(value).toString('base64'));
      // The other process decodes each message alone, in reverse order, in a fresh Unpackr, then
      // encodes every value again with one long-lived Packr.
      const script = `
        import { readFileSync } from 'node:fs';
        import { Packr, Unpackr } from 'msgpackr';
        const messages = JSON.parse(readFileSync(0, 'utf8'));
        const values = [];
        for (let i = messages.length - 1; i >= 0; i--)
          values[i] = new Unpackr({ structuredClone: true }).unpack(Buffer.from(messages[i], 'base64'));
        const packr = new Packr({ structuredClone: true });
        process.stdout.write(JSON.stringify(values.map(v => packr.pack(v).toString('base64'))));
      `;
      const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        input: JSON.stringify(messages),
        cwd: process.cwd(),
        encoding: 'utf8',
      });
      const answers = JSON.parse(output) as string[];
      expect(answers).toHaveLength(values.length);
      for (let i = answers.length - 1; i >= 0; i--)
        expect(createPayloadCodec().decode(Buffer.from(answers[i], 'base64'))).toEqual(values[i]);
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

  describe('json', () => {
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

    it.each([['msgpack'], ['json']] as const)(
      '%s: refuses to encode an object with an own "__proto__" property',
      kind => {
        const value = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
        expect(payloadError(() => createPayloadCodec(kind).encode(value)).code).toBe(
          'ERR_PAYLOAD_ENCODE',
        );
      },
    );

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

  describe('msgpack scanner', () => {
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
});
