/**
 * The `'msgpack'` payload codec (the default): msgpackr with `structuredClone: true`, so `Date`,
 * `Map`, `Set`, `Buffer`/`Uint8Array`, the other typed arrays, `ArrayBuffer`, `DataView`,
 * `RegExp`, `Error`, `bigint`, `undefined` and cyclic or shared references survive the trip.
 *
 * Plain objects are msgpackr *records* (keys written once per shape), defined inside every
 * message: no structure is ever shared between messages, so two independent processes (or two
 * `Packr` instances) always understand each other, and one message cannot change how the next is
 * read.
 *
 * Every message goes through {@link scanMsgpack} after encoding and before decoding, so a payload
 * nested too deep and an object with a `__proto__` key are refused both ways (msgpackr alone would
 * silently rename that key `__proto_`). A msgpack *map* is decoded as a `Map`, where `"__proto__"`
 * is an ordinary key. A binary value is always copied out of the received message,
 * so it never aliases (nor keeps alive) a transport's buffer.
 */
import { Packr, Unpackr } from 'msgpackr';
import { Refusal, codecFailure } from './codec-failure.js';
import type { PayloadError } from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';
import { scanMsgpack } from './msgpack-scanner.js';
import type { PayloadCodec } from './payload-codec.js';

/**
 * The msgpack codec; build it with `createPayloadCodec('msgpack')`, which checks the limits.
 * @internal
 */
export class MsgpackCodec implements PayloadCodec {
  readonly name = 'msgpack';
  private readonly packr: Packr;
  private readonly unpackr: Unpackr;

  /** @param maxDepth deepest nesting accepted, already checked by the factory */
  constructor(private readonly maxDepth: number) {
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
    let bytes: Buffer;
    try {
      bytes = this.packr.pack(value);
    } catch (error) {
      throw this.encodeError(error);
    }
    try {
      scanMsgpack(bytes, this.maxDepth);
    } catch (error) {
      throw this.encodeError(error);
    }
    return bytes;
  }

  decode(bytes: Buffer): unknown {
    if (bytes.length === 0) return undefined;
    try {
      scanMsgpack(bytes, this.maxDepth);
      return this.unpackr.unpack(bytes);
    } catch (error) {
      throw codecFailure(error, this.name, this.maxDepth, 'decode');
    }
  }

  private encodeError(error: unknown): PayloadError {
    return codecFailure(error, this.name, this.maxDepth, 'encode');
  }
}
