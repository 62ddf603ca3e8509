/**
 * Binary pass-through of the msgpack codec: a payload that is itself a `Buffer` or a typed array
 * is sent as a small msgpack header plus the payload's own bytes (two parts, never concatenated),
 * and a received body that is exactly one such value is handed back as a view of the received
 * bytes, without msgpackr and without the safety scan. The bytes on the wire are exactly what
 * msgpackr writes for the same value (`bin 8/16/32` for a `Buffer`, the structured-clone
 * extension `0x74` for a typed array), so older releases read them and are read alike.
 *
 * Why: copying and scanning a 32 MiB payload held the event loop for 150–250 ms on each side; a
 * header and a view cost microseconds whatever the size.
 */

/** msgpackr's codes of the typed arrays inside extension `0x74` (its `typedArrays` table). */
const TYPED_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;

/** Extension type of a typed array in msgpackr's structured clone. */
const EXT_TYPED = 0x74;
/**
 * Payloads up to this size are copied at send time: the copy costs microseconds and keeps the
 * sender free to reuse its buffer at once, as before. Larger ones go out as they are.
 */
export const PASS_THROUGH_COPY_BYTES = 64 * 1024;

type TypedArray = (typeof TYPED_ARRAYS)[number]['prototype'];

const TYPED_ARRAY_NAMES = TYPED_ARRAYS.map(type => type.name);

/**
 * The typed array code msgpackr gives `value`: by its constructor's name, as msgpackr finds it
 * (so typed arrays of another realm count too); -1 for a DataView or a renamed subclass.
 */
function typedArrayCode(value: ArrayBufferView): number {
  const name = (value.constructor as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? TYPED_ARRAY_NAMES.indexOf(name as never) : -1;
}

/**
 * The parts of `value`'s msgpack encoding when it is a binary payload sent as it is: the header,
 * then the payload's bytes (a view of them, or a copy up to {@link PASS_THROUGH_COPY_BYTES}).
 * `undefined` for anything else, which msgpackr encodes.
 * @internal
 */
export function binaryParts(value: unknown): Buffer[] | undefined {
  if (!ArrayBuffer.isView(value)) return undefined;
  let header: Buffer;
  const length = value.byteLength;
  if (Buffer.isBuffer(value)) {
    header = binHeader(length);
  } else {
    const code = typedArrayCode(value);
    if (code < 0) return undefined;
    header = typedHeader(length, code);
  }
  const view = Buffer.from(value.buffer, value.byteOffset, length);
  return [header, length <= PASS_THROUGH_COPY_BYTES || mayChange(value) ? Buffer.from(view) : view];
}

/**
 * Whether the memory under `value` may change length or be written by another thread while the
 * message waits to be written (a shared or resizable buffer): such payloads are copied at send,
 * since the queue cuts frames from its parts' lengths.
 */
function mayChange(value: ArrayBufferView): boolean {
  const memory = value.buffer as ArrayBufferLike & { resizable?: boolean; growable?: boolean };
  return (
    (typeof SharedArrayBuffer !== 'undefined' && memory instanceof SharedArrayBuffer) ||
    memory.resizable === true ||
    memory.growable === true
  );
}

/** The `bin` header msgpackr writes for `length` bytes. */
function binHeader(length: number): Buffer {
  if (length < 0x100) return Buffer.from([0xc4, length]);
  if (length < 0x10000) return Buffer.from([0xc5, length >> 8, length & 0xff]);
  const header = Buffer.allocUnsafe(5);
  header[0] = 0xc6;
  header.writeUInt32BE(length, 1);
  return header;
}

/** The extension header msgpackr writes for a typed array of `length` bytes (type byte included). */
function typedHeader(length: number, code: number): Buffer {
  const size = length + 1;
  if (size < 0x100) return Buffer.from([0xc7, size, EXT_TYPED, code]);
  if (size < 0x10000) return Buffer.from([0xc8, size >> 8, size & 0xff, EXT_TYPED, code]);
  const header = Buffer.allocUnsafe(7);
  header[0] = 0xc9;
  header.writeUInt32BE(size, 1);
  header[5] = EXT_TYPED;
  header[6] = code;
  return header;
}

/** Marks "not a lone binary value": the body goes through the scanner and msgpackr. */
export const NOT_BINARY: unique symbol = Symbol('not binary');

/**
 * The value of a body that is exactly one binary value (a `bin`, or a typed array extension of a
 * type msgpackr knows), without copying when that is possible: a `Buffer` view of the bytes, or
 * a typed array over them when their offset suits its alignment. A view is kept only when it fills
 * at least half of the memory under it, so a small payload never pins a large socket chunk.
 * Returns {@link NOT_BINARY} for anything else (including a typed array whose length is not a
 * multiple of its element size, which msgpackr refuses).
 * @internal
 */
export function readBinary(body: Buffer): unknown {
  const end = body.length;
  if (end < 2) return NOT_BINARY;
  const t = body[0]!;
  let start: number;
  let length: number;
  if (t === 0xc4 || t === 0xc5 || t === 0xc6) {
    start = t === 0xc4 ? 2 : t === 0xc5 ? 3 : 5;
    if (end < start) return NOT_BINARY;
    length = t === 0xc4 ? body[1]! : t === 0xc5 ? body.readUInt16BE(1) : body.readUInt32BE(1);
    if (start + length !== end) return NOT_BINARY;
    return keep(body.subarray(start, end));
  }
  if (t !== 0xc7 && t !== 0xc8 && t !== 0xc9) return NOT_BINARY;
  const at = t === 0xc7 ? 2 : t === 0xc8 ? 3 : 5;
  if (end < at + 2 || body[at] !== EXT_TYPED) return NOT_BINARY;
  const size = t === 0xc7 ? body[1]! : t === 0xc8 ? body.readUInt16BE(1) : body.readUInt32BE(1);
  start = at + 2;
  length = size - 1;
  if (size < 1 || start + length !== end) return NOT_BINARY;
  const Type = TYPED_ARRAYS[body[at + 1]!];
  if (Type === undefined || length % Type.BYTES_PER_ELEMENT !== 0) return NOT_BINARY;
  const offset = body.byteOffset + start;
  const bytes = body.subarray(start, end);
  if (offset % Type.BYTES_PER_ELEMENT !== 0 || !fills(bytes)) {
    // Not aligned (or too small to keep the chunk alive): one copy into memory of its own, as
    // msgpackr makes.
    const copy = new Uint8Array(length);
    copy.set(bytes);
    return new Type(copy.buffer) as TypedArray;
  }
  return new Type(
    body.buffer as ArrayBuffer,
    offset,
    length / Type.BYTES_PER_ELEMENT,
  ) as TypedArray;
}

/** Whether a view fills at least half of the memory under it (see `tcp/retain-slice.ts`). */
function fills(view: Uint8Array): boolean {
  return view.length * 2 >= view.buffer.byteLength;
}

function keep(view: Buffer): Buffer {
  return fills(view) ? view : Buffer.from(view);
}
