/**
 * The `'msgpack'` payload codec (the default): msgpackr with `structuredClone: true`, so `Date`,
 * `Map`, `Set`, `Buffer`/`Uint8Array`, the other typed arrays, `ArrayBuffer`, `DataView`,
 * `RegExp`, `Error`, `bigint`, `undefined` and cyclic or shared references survive the trip.
 *
 * Plain objects are msgpackr *records* (keys written once per shape), defined inside every
 * message: no structure is ever shared between messages, so two independent processes (or two
 * `Packr` instances) always understand each other, and one message cannot change how the next is
 * read. Past 64 shapes in a message msgpackr reuses record ids, and a shape defined again gets
 * its keys written inline again (msgpackr points to the first copy, which earlier builds refuse).
 *
 * A payload that is itself a `Buffer` or typed array passes through (`msgpack-binary.ts`): sent
 * as a header plus its own bytes, received as a view, neither copied nor scanned, whatever its
 * size. Any other payload is *structured*: it may take at most `maxStructuredBytes` once encoded,
 * checked before encoding by a cheap walk (`structured-size.ts`) and, when the walk cannot tell,
 * while encoding (msgpackr writes into a buffer that refuses to grow past the limit), and again on
 * receipt; it goes through {@link scanMsgpack} after encoding and before decoding, so a payload
 * nested too deep, an object with a `__proto__` key (msgpackr alone would silently rename it
 * `__proto_`) and a message that would decode into too many objects are refused both ways. A
 * msgpack *map* is decoded as a `Map`, where `"__proto__"` is an ordinary key. A binary value
 * inside a structured payload is copied out of the received message.
 *
 * The commonest small payloads (a string, number, boolean or `null`, or a plain object of up to 15
 * of them) take a fast path (`codec-fast-path.ts`) that writes msgpackr's bytes itself and reads
 * them back directly: it accepts only a subset the scan accepts by construction, and falls back
 * here for anything else, so the checks above hold for every payload.
 */
import { constants } from 'node:buffer';
import { Packr, Unpackr } from 'msgpackr';
import { Refusal, SizeRefusal, codecFailure } from './codec-failure.js';
import { FastEncoder, NOT_FAST, fastDecode } from './codec-fast-path.js';
import type { PayloadError } from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';
import { NOT_BINARY, binaryParts, readBinary } from './msgpack-binary.js';
import { scanMsgpack } from './msgpack-scanner.js';
import type { PayloadCodec } from './payload-codec.js';
import { boundEncodedSize } from './structured-size.js';

/**
 * Room msgpackr may use, past the limit, while encoding a payload whose size the walk could not
 * bound: it reserves three bytes per UTF-16 unit before writing a string, so a string within the
 * limit may need up to three times it.
 */
const ENCODE_ROOM_FACTOR = 4;
const ENCODE_ROOM_SLACK = 64 * 1024;

/**
 * Largest encode room kept between encodings (the default limit's is 8 MiB): a larger one, from a
 * raised `maxStructuredPayloadBytes`, is allocated for each encoding that needs it and dropped
 * after, rather than held (and its written pages resident) for the codec's life.
 */
const KEPT_ROOM_BYTES = 16 * 1024 * 1024;

/**
 * The msgpack codec; build it with `createPayloadCodec('msgpack')`, which checks the limits.
 * @internal
 */
export class MsgpackCodec implements PayloadCodec {
  readonly name = 'msgpack';
  private readonly packr: Packr;
  private readonly unpackr: Unpackr;
  private encodeRoom: Buffer | undefined;
  private readonly fast = new FastEncoder();

  /**
   * @param maxDepth deepest nesting accepted, already checked by the factory
   * @param maxStructuredBytes largest structured payload, encoded, already checked
   */
  constructor(
    private readonly maxDepth: number,
    readonly maxStructuredBytes: number,
  ) {
    // Records stay on (msgpackr's default) but with no shared structures: every message carries
    // its own record definitions. `useRecords: false` would decode a Map and an object alike.
    this.packr = new Packr({
      structuredClone: true,
      writeFunction: () => {
        throw new Refusal(false, MessagingMessages.unencodable('function', ''));
      },
    });
    this.unpackr = new Unpackr({ structuredClone: true, copyBuffers: true });
  }

  encode(value: unknown): Buffer {
    const fast = this.encodeFast(value);
    if (fast !== undefined) return fast;
    const binary = binaryParts(value);
    if (binary !== undefined) return Buffer.concat(binary);
    let bytes: Buffer;
    try {
      bytes = this.packStructured(value);
    } catch (error) {
      throw this.encodeError(error);
    }
    const keyReferences: number[] = [];
    try {
      scanMsgpack(bytes, this.maxDepth, keyReferences);
      if (keyReferences.length > 0) {
        bytes = this.inlineRecordKeys(bytes, keyReferences);
        // priced again as the receiver will: the inline keys cost more, and add bytes
        scanMsgpack(bytes, this.maxDepth);
      }
    } catch (error) {
      throw this.encodeError(error);
    }
    return bytes;
  }

  /**
   * Encodes `value` as parts to write one after the other: a binary payload as its header and its
   * own bytes (never concatenated), anything else as {@link MsgpackCodec.encode} does.
   * @throws PayloadError (`ERR_PAYLOAD_TOO_LARGE` before encoding when it can tell)
   */
  encodeParts(value: unknown): Buffer[] {
    return binaryParts(value) ?? [this.encode(value)];
  }

  decode(bytes: Buffer): unknown {
    if (bytes.length === 0) return undefined;
    const binary = readBinary(bytes);
    if (binary !== NOT_BINARY) return binary;
    try {
      if (bytes.length > this.maxStructuredBytes)
        throw new SizeRefusal(bytes.length, this.maxStructuredBytes);
      // the common small shapes, read directly; anything else is scanned and read by msgpackr
      const fast = fastDecode(bytes);
      if (fast !== NOT_FAST) return fast;
      scanMsgpack(bytes, this.maxDepth);
      return this.unpackr.unpack(bytes);
    } catch (error) {
      throw codecFailure(error, this.name, this.maxDepth, 'decode');
    }
  }

  /**
   * The fast path's encoding (`codec-fast-path.ts`), or `undefined` for the general path, which
   * also takes whatever the fast path threw (a getter, say) so it is refused as it always was.
   */
  private encodeFast(value: unknown): Buffer | undefined {
    try {
      return this.fast.encode(value, this.maxStructuredBytes);
    } catch {
      return undefined;
    }
  }

  /**
   * Refuses a structured payload over the limit before encoding it when a walk shows it (its
   * lower bound is over), encodes it plainly when the walk shows it fits (its upper bound is not
   * over), and otherwise encodes it into a buffer that refuses to grow, so encoding stops soon
   * after the output passes the limit instead of running to the end.
   */
  private packStructured(value: unknown): Buffer {
    const limit = this.maxStructuredBytes;
    const { lower, upper } = boundEncodedSize(value, limit);
    if (lower > limit) throw new SizeRefusal(lower, limit);
    if (upper <= limit) {
      // the walk's bound is checked once more on the bytes, so a receiver never refuses them
      const bytes = this.packr.pack(value);
      if (bytes.length > limit) throw new SizeRefusal(bytes.length, limit);
      return bytes;
    }
    let bytes: Buffer;
    try {
      this.packr.useBuffer(this.room());
      bytes = this.packr.pack(value);
      if (bytes.length > limit) throw new SizeRefusal(bytes.length, limit);
      // the room is written over by the next encoding: the result leaves it
      bytes = Buffer.from(bytes);
    } finally {
      // msgpackr writes the next payloads after this one in the same buffer: give it a new one
      this.packr.useBuffer(Buffer.allocUnsafeSlow(8192));
    }
    return bytes;
  }

  /**
   * The buffer msgpackr encodes into when the walk cannot bound the size, allocated once unless
   * larger than {@link KEPT_ROOM_BYTES} (its pages are taken as they are written): msgpackr grows a full buffer by allocating a larger one
   * and copying into it with `copy`, which this one refuses, so encoding stops there.
   */
  private room(): Buffer {
    if (this.encodeRoom !== undefined) return this.encodeRoom;
    const limit = this.maxStructuredBytes;
    const size = Math.min(limit * ENCODE_ROOM_FACTOR + ENCODE_ROOM_SLACK, constants.MAX_LENGTH);
    const room = Buffer.allocUnsafeSlow(size);
    Object.defineProperty(room, 'copy', {
      value: (_target: unknown, _targetStart: number, _start: number, end: number) => {
        throw new SizeRefusal(end, limit);
      },
    });
    if (room.length <= KEPT_ROOM_BYTES) this.encodeRoom = room;
    return room;
  }

  /**
   * Writes again, inline, the keys of each record definition that msgpackr wrote as a pointer to
   * an earlier definition's keys (a shape met again after its record id went to another, past 64
   * shapes in one message), and drops the reference ids it put on those key arrays: earlier builds
   * of this codec refuse such pointers and read the inline form, as msgpackr and this build do.
   * @param references offsets and key arrays from {@link scanMsgpack}
   */
  private inlineRecordKeys(bytes: Buffer, references: number[]): Buffer {
    const parts: Buffer[] = [];
    let from = 0;
    for (let i = 0; i < references.length; i += 3) {
      const at = references[i];
      parts.push(bytes.subarray(from, at));
      if (references[i + 2] > 0) parts.push(bytes.subarray(references[i + 1], references[i + 2]));
      from = at + 6; // a fixext 4: the reference id or the pointer
    }
    parts.push(bytes.subarray(from));
    const inlined = Buffer.concat(parts);
    if (inlined.length > this.maxStructuredBytes)
      throw new SizeRefusal(inlined.length, this.maxStructuredBytes);
    return inlined;
  }

  private encodeError(error: unknown): PayloadError {
    return codecFailure(error, this.name, this.maxDepth, 'encode');
  }
}
