import { jest } from '@jest/globals';
import { Packr, Unpackr } from 'msgpackr';
import { realm } from '../../../test/support/payload-harness.js';

// The scanner is wrapped so the specs can tell whether a decode went through it.
const actualScanner = await import('./msgpack-scanner.js');
const scanMsgpack = jest.fn(actualScanner.scanMsgpack);
jest.unstable_mockModule('./msgpack-scanner.js', () => ({ ...actualScanner, scanMsgpack }));
const { createPayloadCodec, encodePayload } = await import('./payload-codec.js');
const { PASS_THROUGH_COPY_BYTES, binaryParts, readBinary, NOT_BINARY } =
  await import('./msgpack-binary.js');

const packr = new Packr({ structuredClone: true });
const unpackr = new Unpackr({ structuredClone: true, copyBuffers: true });
const LARGE = PASS_THROUGH_COPY_BYTES + 1;
/** `ArrayBuffer` with resizing (ES2024), which the project's `lib` does not declare yet. */
type Resizable = new (length: number, options: { maxByteLength: number }) => ArrayBuffer;

/** A received message: the body at the end of a buffer of its own, like a reassembled message. */
function received(parts: Buffer[], before = 11): Buffer {
  const whole = Buffer.concat([Buffer.alloc(before), ...parts]);
  return whole.subarray(before);
}

describe('msgpack binary pass-through', () => {
  const codec = createPayloadCodec('msgpack');
  beforeEach(() => scanMsgpack.mockClear());

  it.each([0, 1, 255, 256, 65_535, 65_536, LARGE])(
    'writes a %i-byte Buffer as msgpackr does, in two parts, the payload not copied when large',
    size => {
      const payload = Buffer.alloc(size, 3);
      const parts = encodePayload(codec, payload);
      expect(parts).toHaveLength(2);
      expect(Buffer.concat(parts).equals(packr.pack(payload))).toBe(true);
      // large payloads are the caller's memory itself; small ones a copy (reusable at once)
      expect(parts[1]!.buffer === payload.buffer).toBe(size > PASS_THROUGH_COPY_BYTES);
      expect(scanMsgpack).not.toHaveBeenCalled();
    },
  );

  it.each([
    [
      'resizable',
      () => new (ArrayBuffer as unknown as Resizable)(LARGE, { maxByteLength: 2 * LARGE }),
    ],
    ['shared', () => new SharedArrayBuffer(LARGE)],
  ])('copies a large payload over %s memory, which could change under the queue', (_kind, make) => {
    const payload = new Uint8Array(make() as ArrayBuffer).fill(7);
    const parts = encodePayload(codec, payload);
    expect(parts[1]!.buffer === payload.buffer).toBe(false);
    expect(parts[1]!.equals(Buffer.from(payload))).toBe(true);
  });

  it.each([
    ['Int8Array', 1],
    ['Uint8Array', 1],
    ['Uint8ClampedArray', 1],
    ['Int16Array', 2],
    ['Uint16Array', 2],
    ['Int32Array', 4],
    ['Uint32Array', 4],
    ['Float32Array', 4],
    ['Float64Array', 8],
    ['BigInt64Array', 8],
    ['BigUint64Array', 8],
  ] as const)('writes a %s as msgpackr does, in two parts', (name, width) => {
    for (const bytes of [8, 248, 256, 65_536, LARGE + 7]) {
      const length = Math.floor(bytes / width);
      const Type = realm[name] as unknown as new (n: number) => ArrayBufferView;
      const Local = globalThis[name] as unknown as new (n: number) => ArrayBufferView;
      const main = new Type(length);
      new Uint8Array(main.buffer).forEach((_, i, all) => (all[i] = i & 0xff));
      // msgpackr knows the main realm's typed arrays only (as in any real process)
      const expected = packr.pack(main);
      const local = new Local(length);
      new Uint8Array(local.buffer).set(new Uint8Array(main.buffer));
      for (const value of [main, local]) {
        const parts = encodePayload(codec, value);
        expect(parts).toHaveLength(2);
        expect(Buffer.concat(parts).equals(expected)).toBe(true);
      }
    }
  });

  it('hands back a received Buffer as a view of the received bytes, without msgpackr or the scan', () => {
    const payload = Buffer.alloc(LARGE, 9);
    const body = received(encodePayload(codec, payload));
    const value = codec.decode(body) as Buffer;
    expect(Buffer.isBuffer(value)).toBe(true);
    expect(value.buffer).toBe(body.buffer);
    expect(value.equals(payload)).toBe(true);
    expect(scanMsgpack).not.toHaveBeenCalled();
  });

  it('copies a small received Buffer, so it never pins a large chunk', () => {
    const body = received(encodePayload(codec, Buffer.from('abc')), 60_000);
    const value = codec.decode(body) as Buffer;
    expect(value.buffer).not.toBe(body.buffer);
    expect(value.toString()).toBe('abc');
    expect(scanMsgpack).not.toHaveBeenCalled();
  });

  it('hands back typed arrays of their own type, as views when aligned', () => {
    const bytes = new Uint8Array(LARGE).fill(5);
    const u8 = codec.decode(received(encodePayload(codec, bytes))) as Uint8Array;
    expect(Object.getPrototypeOf(u8)).toBe(Uint8Array.prototype);
    expect(Buffer.isBuffer(u8)).toBe(false);
    expect(u8.byteLength).toBe(LARGE);
    expect(u8[LARGE - 1]).toBe(5);
    // a header of 7 bytes (ext 32, 0x74, the type code): aligned when the body starts at 8k + 1
    const floats = new Float64Array(LARGE).fill(1.5);
    const aligned = received(encodePayload(codec, floats), 17);
    const f64 = codec.decode(aligned) as Float64Array;
    expect(Object.getPrototypeOf(f64)).toBe(Float64Array.prototype);
    expect(f64.length).toBe(LARGE);
    expect(f64[LARGE - 1]).toBe(1.5);
    expect(f64.buffer).toBe(aligned.buffer);
    // misaligned: one copy into memory of its own
    const misaligned = received(encodePayload(codec, floats), 16);
    const copy = codec.decode(misaligned) as Float64Array;
    expect(copy.buffer).not.toBe(misaligned.buffer);
    expect(copy.byteOffset).toBe(0);
    expect(copy[0]).toBe(1.5);
    expect(scanMsgpack).not.toHaveBeenCalled();
  });

  it('decodes what msgpackr writes for a binary payload to the same type and content', () => {
    for (const value of [Buffer.from([1, 2]), new Uint8Array([3]), new realm.Int16Array([-1, 2])]) {
      const fromMsgpackr = codec.decode(received([packr.pack(value)])) as ArrayBufferView;
      const byMsgpackr = unpackr.unpack(packr.pack(value)) as ArrayBufferView;
      expect(fromMsgpackr.constructor.name).toBe(byMsgpackr.constructor.name);
      expect(
        Buffer.from(fromMsgpackr.buffer, fromMsgpackr.byteOffset, fromMsgpackr.byteLength),
      ).toEqual(Buffer.from(byMsgpackr.buffer, byMsgpackr.byteOffset, byMsgpackr.byteLength));
    }
  });

  it('leaves to msgpackr and the scan what is not exactly one binary value', () => {
    for (const body of [
      Buffer.from([0xc4, 0x02, 0x01]), // truncated
      Buffer.from([0xc4, 0x01, 0x01, 0x00]), // trailing byte
      Buffer.from([0xc7, 0x02, 0x74, 0x03, 0x00]), // Int16Array of 1 byte
      Buffer.from([0xc7, 0x02, 0x74, 0x10, 0x00]), // ArrayBuffer: msgpackr's
      Buffer.from([0xc7, 0x02, 0x75, 0x01, 0x00]), // another extension
      Buffer.from([0x92, 0xc4, 0x00, 0xc4, 0x00]), // an array of binaries
    ])
      expect(readBinary(body)).toBe(NOT_BINARY);
    expect(binaryParts(new DataView(new ArrayBuffer(4)))).toBeUndefined();
    expect(binaryParts(new ArrayBuffer(4))).toBeUndefined();
    expect(binaryParts({ data: Buffer.alloc(1) })).toBeUndefined();
    codec.decode(Buffer.from([0x92, 0xc4, 0x00, 0xc4, 0x00]));
    expect(scanMsgpack).toHaveBeenCalledTimes(1);
  });
});
