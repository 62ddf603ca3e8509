/**
 * Messages with more record shapes than msgpackr has one-byte record ids (64): ids are reused
 * within the message, and a shape met again after its id went to another is defined again, by
 * msgpackr as a pointer to its first key array (which then carries a reference id). The codec
 * must carry every such message, decode msgpackr's form, and write the keys inline again (the form
 * earlier builds accept); the scanner must still count depth and cost through definitions by
 * pointer.
 */
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { type TestNode, startInProcess, stopInProcess } from '../../../test/support/in-process.js';
import { bytesOf, payloadError, str } from '../../../test/support/payload-harness.js';
import { until } from '../../../test/support/wait.js';
import { scanMsgpack } from './msgpack-scanner.js';
import { DEFAULT_MAX_PAYLOAD_DEPTH, createPayloadCodec } from './payload-codec.js';

/** An object with one key, named after `i`. */
const one = (i: number) => ({ [`k${i}`]: i });
/** `n` objects, each of a shape of its own. */
const distinct = (n: number) => Array.from({ length: n }, (_, i) => one(i));
/** A msgpack `fixext 4` of `type` carrying the 32-bit `id` (a reference id or a pointer). */
const ext4 = (type: number, id: number) => [
  0xd6,
  type,
  id >>> 24,
  (id >> 16) & 255,
  (id >> 8) & 255,
  id & 255,
];
const ID = 0x69;
const POINTER = 0x70;

/** Offsets of record definitions (`d4 72 id`) whose keys are a pointer (`d6 70`). */
function definitionsByPointer(bytes: Buffer): number[] {
  const found: number[] = [];
  for (let i = 0; i + 4 < bytes.length; i++)
    if (
      bytes[i] === 0xd4 &&
      bytes[i + 1] === 0x72 &&
      bytes[i + 3] === 0xd6 &&
      bytes[i + 4] === POINTER
    )
      found.push(i);
  return found;
}

/** Record ids of the definitions (`d4 72 id`) in `bytes` (may include chance matches in data). */
function definedIds(bytes: Buffer): Set<number> {
  const ids = new Set<number>();
  for (let i = 0; i + 2 < bytes.length; i++)
    if (bytes[i] === 0xd4 && bytes[i + 1] === 0x72) ids.add(bytes[i + 2]);
  return ids;
}

/** Whether `bytes` hold a reference id or a pointer (`d6 69`, `d6 70`) anywhere. */
const hasReferences = (bytes: Buffer) =>
  bytes.includes(Buffer.from([0xd6, ID])) || bytes.includes(Buffer.from([0xd6, POINTER]));

describe('msgpack codec: more than 64 record shapes in one message', () => {
  const codec = createPayloadCodec();
  /** msgpackr with the codec's options: the form with definitions by pointer. */
  const packr = new Packr({ structuredClone: true });

  describe('round trips', () => {
    /** A tree of objects whose shapes vary at every level, each shape met several times. */
    const nested = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        [`outer${i % 80}`]: {
          [`middle${i % 90}`]: { [`inner${i % 70}`]: [one(i % 75), one(i % 3)] },
        },
        [`side${i % 66}`]: i,
      }));

    it.each([
      ['100 objects, each of a shape of its own', distinct(100)],
      [
        '65 shapes, then the first again (its record id went to the 65th)',
        [...distinct(65), one(0)],
      ],
      ['100 shapes, then the same 100 again', [...distinct(100), ...distinct(100)]],
      [
        '100 shapes, then the same again in reverse order',
        [...distinct(100), ...distinct(100).reverse()],
      ],
      ['500 shapes met in a cycle of 70, nested in three levels', nested(500)],
      [
        'objects of shapes of many keys (20 to 40), 300 shapes, each met twice',
        [
          ...Array.from({ length: 600 }, (_, i) =>
            Object.fromEntries(
              Array.from({ length: 20 + ((i % 300) % 21) }, (_, j) => [
                `key${(i % 300) * 41 + j}`,
                j,
              ]),
            ),
          ),
        ],
      ],
      [
        'a Map and a Set of objects of 130 shapes met twice',
        {
          map: new Map(distinct(130).map((o, i) => [i, o])),
          set: new Set([...distinct(130), ...distinct(130)]),
        },
      ],
    ])("carries %s, and decodes msgpackr's form of it", (_what, value) => {
      const bytes = codec.encode(value);
      expect(hasReferences(bytes)).toBe(false);
      expect(codec.decode(bytes)).toEqual(value);
      expect(new Unpackr({ structuredClone: true }).unpack(bytes)).toEqual(value);
      expect(codec.decode(packr.pack(value))).toEqual(value);
    });

    it('decodes a shape msgpackr defines again by pointer, and writes it inline', () => {
      const value = [...distinct(65), one(0)];
      // the 65th shape took id 0x40 from k0; msgpackr defines k0 again (as 0x41) by pointer
      expect(definitionsByPointer(packr.pack(value))).toHaveLength(1);
      expect(codec.decode(packr.pack(value))).toEqual(value);
      const bytes = codec.encode(value);
      expect(definitionsByPointer(bytes)).toHaveLength(0);
      // ends with the definition of k0 again, inline, and its value 0
      expect(bytes.subarray(-8)).toEqual(bytesOf([0xd4, 0x72, 0x41, 0x91], str('k0'), [0x00]));
      expect(codec.decode(bytes)).toEqual(value);
    });

    it('uses every record id from 0x40 to 0x7f, redefining them within the message', () => {
      const value = [...distinct(200), ...distinct(200)];
      const raw = packr.pack(value);
      // 400 definitions over 64 ids: each id defined again, 200 of them by pointer
      expect(definitionsByPointer(raw)).toHaveLength(200);
      expect(codec.decode(raw)).toEqual(value);
      const bytes = codec.encode(value);
      const ids = definedIds(bytes);
      for (let id = 0x40; id <= 0x7f; id++) expect(ids.has(id)).toBe(true);
      expect(hasReferences(bytes)).toBe(false);
      expect(codec.decode(bytes)).toEqual(value);
    });

    it('keeps shared and cyclic references among hundreds of shapes', () => {
      const shared = { s: 1 };
      const value: Record<string, unknown> = {
        list: [...distinct(100), shared, ...distinct(100), shared],
        again: shared,
      };
      value.self = value;
      const bytes = codec.encode(value);
      expect(definitionsByPointer(bytes)).toHaveLength(0);
      const decoded = codec.decode(bytes) as typeof value & { list: unknown[] };
      expect(decoded.self).toBe(decoded);
      expect(decoded.again).toBe(decoded.list[100]);
      expect(decoded.list[201]).toBe(decoded.list[100]);
      expect(decoded.list.slice(0, 100)).toEqual(distinct(100));
      expect(decoded.list.slice(101, 201)).toEqual(distinct(100));
    });

    it('refuses a payload whose keys written inline take it over the structured limit', () => {
      // 65 shapes of one 30-byte key, met twice: each of the 65 definitions again loses a 6-byte
      // pointer for its 32-byte key array, and the first definition its 6-byte reference id
      const long = (i: number) => ({ [`${String(i).padStart(2, '0')}${'x'.repeat(28)}`]: i });
      const value = [
        ...Array.from({ length: 65 }, (_, i) => long(i)),
        ...Array.from({ length: 65 }, (_, i) => long(i)),
      ];
      const rawLength = packr.pack(value).length;
      const inline = createPayloadCodec().encode(value).length;
      expect(inline).toBe(rawLength + 65 * (32 - 6 - 6));
      const tight = createPayloadCodec('msgpack', { maxStructuredPayloadBytes: rawLength + 100 });
      expect(payloadError(() => tight.encode(value)).code).toBe('ERR_PAYLOAD_TOO_LARGE');
      const enough = createPayloadCodec('msgpack', { maxStructuredPayloadBytes: inline });
      expect(enough.decode(enough.encode(value))).toEqual(value);
    });

    it('carries random objects of hundreds of random key sets (property)', () => {
      const keys = Array.from({ length: 24 }, (_, i) => `p${i}`);
      const leaf = fc.oneof(
        fc.integer(),
        fc.string({ maxLength: 4 }),
        fc.boolean(),
        fc.constant(null),
      );
      // an object: a random subset of the key pool, in random order (order makes the shape too)
      const object = (value: fc.Arbitrary<unknown>) =>
        fc
          .tuple(
            fc.shuffledSubarray(keys, { minLength: 0, maxLength: 8 }),
            fc.array(value, { minLength: 8, maxLength: 8 }),
          )
          .map(([names, values]) => Object.fromEntries(names.map((name, i) => [name, values[i]])));
      const tree = fc.letrec<{ node: unknown }>(tie => ({
        node: fc.oneof(
          { depthSize: 'small', withCrossShrink: true },
          leaf,
          object(tie('node')),
          fc.array(tie('node'), { maxLength: 4 }),
        ),
      })).node;
      const shapes = new Set<string>();
      const collect = (value: unknown): void => {
        if (Array.isArray(value)) value.forEach(collect);
        else if (value !== null && typeof value === 'object') {
          shapes.add(Object.keys(value).join());
          Object.values(value).forEach(collect);
        }
      };
      let manyShapes = 0;
      fc.assert(
        fc.property(
          fc.array(fc.oneof(object(leaf), object(tree)), { minLength: 100, maxLength: 400 }),
          value => {
            shapes.clear();
            collect(value);
            if (shapes.size > 200) manyShapes++;
            expect(codec.decode(codec.encode(value))).toEqual(value);
            expect(codec.decode(packr.pack(value))).toEqual(value);
          },
        ),
        { seed: 12, numRuns: 20 },
      );
      // the runs did hold hundreds of shapes per message
      expect(manyShapes).toBeGreaterThan(10);
    });
  });

  describe('scanning definitions by pointer', () => {
    /** Record 0x40 with keys ["a"], its array tagged with reference id 1, and the value 1. */
    const tagged = [0xd4, 0x72, 0x40, ...ext4(ID, 1), 0x91, ...str('a'), 0x01];

    it('accepts a definition whose keys point to an earlier definition', () => {
      const bytes = bytesOf([0x92], tagged, [0xd4, 0x72, 0x41, ...ext4(POINTER, 1), 0x02]);
      expect(codec.decode(bytes)).toEqual([{ a: 1 }, { a: 2 }]);
    });

    it.each([
      ['a pointer to no earlier key array', bytesOf([0xd4, 0x72, 0x40, ...ext4(POINTER, 1), 0x01])],
      [
        'a pointer to a reference id of a value, not of a key array',
        // msgpackr would take the values of the array ["a", "b"] as the keys
        bytesOf([0x92, ...ext4(ID, 1), 0x92], str('a'), str('b'), [
          0xd4,
          0x72,
          0x40,
          ...ext4(POINTER, 1),
          1,
          2,
        ]),
      ],
      [
        "a key array's reference id given again to a value",
        // four values if record 0x41 had the first key array's one key; msgpackr would give it
        // the keys of the later ["a", "b"] and read the last value as its second
        bytesOf([0x94], tagged, [...ext4(ID, 1), 0x92], str('a'), str('b'), [
          0xd4,
          0x72,
          0x41,
          ...ext4(POINTER, 1),
          1,
          2,
        ]),
      ],
      [
        "a key array's reference id given again to another key array",
        bytesOf(
          [0x93],
          tagged,
          [0xd4, 0x72, 0x41, ...ext4(ID, 1), 0x92],
          str('a'),
          str('b'),
          [1, 2],
          [0xd4, 0x72, 0x42, ...ext4(POINTER, 1), 1, 2],
        ),
      ],
      [
        'a key array pointing to a key array',
        bytesOf([0x92], tagged, [0xd4, 0x72, 0x41, ...ext4(ID, 2), ...ext4(POINTER, 1), 0x02]),
      ],
      [
        'another extension in place of the key array',
        bytesOf([0xd4, 0x72, 0x40, 0xd6, 0x73, 0, 0, 0, 0, 0x90]),
      ],
      ['a truncated pointer', bytesOf([0xd4, 0x72, 0x40, 0xd6, POINTER, 0, 0])],
    ])('refuses %s', (_what, bytes) => {
      expect(() => scanMsgpack(bytes, DEFAULT_MAX_PAYLOAD_DEPTH)).toThrow();
      expect(payloadError(() => codec.decode(bytes)).code).toBe('ERR_PAYLOAD_DECODE');
    });

    it('shows msgpackr alone reading a reused key-array id with the other keys', () => {
      const bytes = bytesOf([0x93], tagged, [...ext4(ID, 1), 0x92], str('a'), str('b'), [
        0xd4,
        0x72,
        0x41,
        ...ext4(POINTER, 1),
        1,
        2,
      ]);
      expect(new Unpackr({ structuredClone: true }).unpack(bytes)).toEqual([
        { a: 1 },
        ['a', 'b'],
        { a: 1, b: 2 },
      ]);
    });

    /** Records defined by pointer nested `levels` deep: `{a: {a: ... 1}}`. */
    const nestedByPointer = (levels: number) =>
      bytesOf(
        [0xd4, 0x72, 0x40, ...ext4(ID, 1), 0x91],
        str('a'),
        ...Array.from({ length: levels - 1 }, () => [0xd4, 0x72, 0x40, ...ext4(POINTER, 1)]),
        [0x01],
      );

    it('counts the depth of records defined by pointer', () => {
      const deepest = codec.decode(nestedByPointer(DEFAULT_MAX_PAYLOAD_DEPTH));
      let depth = 0;
      for (let v: unknown = deepest; typeof v === 'object'; v = (v as { a: unknown }).a) depth++;
      expect(depth).toBe(DEFAULT_MAX_PAYLOAD_DEPTH);
      const error = payloadError(() =>
        codec.decode(nestedByPointer(DEFAULT_MAX_PAYLOAD_DEPTH + 1)),
      );
      expect(error.code).toBe('ERR_PAYLOAD_TOO_DEEP');
      expect(payloadError(() => codec.decode(nestedByPointer(100_000))).code).toBe(
        'ERR_PAYLOAD_TOO_DEEP',
      );
    });

    it('prices the values of records defined by pointer (a flood of empty maps is too costly)', () => {
      // one key array of 1,000 keys, then 20 definitions by pointer, each of 1,000 empty maps
      const keys = Array.from({ length: 1000 }, (_, i) => str(`k${i}`));
      const maps = Buffer.alloc(1000, 0x80);
      const bytes = bytesOf(
        [0xdc, 0, 21, 0xd4, 0x72, 0x40, ...ext4(ID, 1), 0xdc, 0x03, 0xe8],
        ...keys,
        maps,
        ...Array.from({ length: 20 }, () => bytesOf([0xd4, 0x72, 0x40, ...ext4(POINTER, 1)], maps)),
      );
      expect(payloadError(() => codec.decode(bytes)).code).toBe('ERR_PAYLOAD_TOO_COSTLY');
    });

    /**
     * One key array of 1,000 keys, then `count` records defined again by pointer, each of 1,000
     * values `value` (a one-byte token): 9 bytes of definition give a shape of 1,000 keys.
     */
    const pointerFlood = (count: number, value: number) => {
      const values = Buffer.alloc(1000, value);
      return bytesOf(
        [
          0xdc,
          (count + 1) >> 8,
          (count + 1) & 255,
          0xd4,
          0x72,
          0x40,
          ...ext4(ID, 1),
          0xdc,
          0x03,
          0xe8,
        ],
        ...Array.from({ length: 1000 }, (_, i) => str(`k${i}`)),
        values,
        ...Array.from({ length: count }, () =>
          bytesOf([0xd4, 0x72, 0x40, ...ext4(POINTER, 1)], values),
        ),
      );
    };

    it('prices the keys of each record defined by pointer', () => {
      // 1-byte integers: 400 objects of 1,000 keys, within the budget
      const integers = codec.decode(pointerFlood(400, 0x01)) as unknown[];
      expect(integers).toHaveLength(401);
      expect(Object.keys(integers[400] as object)).toHaveLength(1000);
      // empty strings cost more than integers, and the 1,000 keys of each of the 400 shapes
      // tip the message over (priced as the values alone, it would pass)
      expect(payloadError(() => codec.decode(pointerFlood(400, 0xa0))).code).toBe(
        'ERR_PAYLOAD_TOO_COSTLY',
      );
    });
  });

  describe('between two nodes over TCP', () => {
    let a: TestNode;
    let b: TestNode;

    beforeAll(async () => {
      b = await startInProcess('shapes-b');
      a = await startInProcess('shapes-a', [`shapes-b@127.0.0.1:${b.port}`]);
      await until(
        () => a.cluster.nodes().length === 1 && b.cluster.nodes().length === 1,
        20_000,
        'a and b to link',
      );
      b.dist.messaging.on('echo', payload => payload);
    });
    afterAll(() => stopInProcess());

    it('carries a request and its reply of hundreds of shapes, shapes met again', async () => {
      const value = { list: [...distinct(300), ...distinct(300)], tree: [...distinct(70), one(0)] };
      await expect(a.dist.messaging.request('shapes-b@127.0.0.1', 'echo', value)).resolves.toEqual(
        value,
      );
    });
  });
});
