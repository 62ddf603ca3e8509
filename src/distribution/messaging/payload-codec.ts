/**
 * Payload codecs: how a message's value becomes bytes and back.
 *
 * - `'msgpack'` (default): msgpackr with `structuredClone: true`, so `Date`, `Map`, `Set`,
 *   `Buffer`/`Uint8Array`, the other typed arrays, `ArrayBuffer`, `DataView`, `RegExp`, `Error`,
 *   `bigint`, `undefined` and cyclic or shared references survive the trip. Plain objects are
 *   msgpackr *records* (keys written once per shape), defined inside every message: no structure
 *   is ever shared between messages, so two independent processes (or two `Packr` instances)
 *   always understand each other, and one message cannot change how the next is read.
 * - `'json'`: `JSON.stringify` / `JSON.parse`, with JSON's usual losses (`Date` → string, `Map` →
 *   `{}`, `undefined` properties dropped); no binary support.
 *
 * Both refuse, with a {@link PayloadError}: values that cannot be sent (functions, symbols; JSON
 * also `bigint` and cycles) — `ERR_PAYLOAD_ENCODE`; structures nested deeper than `maxDepth`
 * (default 64) on encode and on decode — `ERR_PAYLOAD_TOO_DEEP`; malformed bytes —
 * `ERR_PAYLOAD_DECODE`.
 *
 * Prototype pollution: decoded data never reaches `Object.prototype`. A `__proto__` key of an
 * object is refused (`ERR_PAYLOAD_DECODE`) on decode and on encode, by both codecs, rather than
 * kept as an own property that a later `Object.assign` or deep merge would turn into a prototype
 * change. (msgpackr alone would silently rename it `__proto_`.) A msgpack *map* is decoded as a
 * `Map`, where `"__proto__"` is an ordinary key. `constructor` and `prototype` keys are ordinary
 * data, as with `JSON.parse`: a handler that deep-merges a payload must use a merge that skips
 * them.
 *
 * The msgpack decoder first scans the bytes without recursion and accepts only what the encoder
 * produces: the standard msgpack types, the structured-clone extensions, and one-byte record
 * definitions with string keys. It refuses the rest (the never-used `0xc1`, bundled strings, foreign
 * extensions) before msgpackr sees it. A binary value is always copied out of the received
 * message, so it never aliases (nor keeps alive) a transport's buffer.
 */
import { Packr, Unpackr } from 'msgpackr';
import { InvalidConfigError } from '../../core/errors.js';
import { PayloadError } from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';

/** Turns a message's value into bytes and back. Implementations throw {@link PayloadError}. */
export interface PayloadCodec {
  /** Name used in logs and errors, e.g. `"msgpack"`. */
  readonly name: string;
  /** Encodes a value; throws `PayloadError` (`ERR_PAYLOAD_ENCODE`, `ERR_PAYLOAD_TOO_DEEP`). */
  encode(value: unknown): Buffer;
  /** Decodes bytes from a peer; throws `PayloadError` (`ERR_PAYLOAD_DECODE`, `ERR_PAYLOAD_TOO_DEEP`). */
  decode(bytes: Buffer): unknown;
}

/** The built-in codecs. */
export type PayloadCodecKind = 'msgpack' | 'json';

/** Limits of a built-in codec. */
export interface PayloadCodecLimits {
  /**
   * Deepest nesting of objects, arrays, maps and sets accepted, on encode and on decode
   * (`[]` is 1 deep, `{ a: [] }` 2). Default {@link DEFAULT_MAX_PAYLOAD_DEPTH}; at most
   * {@link MAX_PAYLOAD_DEPTH_LIMIT}.
   */
  readonly maxDepth?: number;
}

/** Default of {@link PayloadCodecLimits.maxDepth}. */
export const DEFAULT_MAX_PAYLOAD_DEPTH = 64;

/** Highest `maxDepth` accepted: decoding recurses once per level. */
export const MAX_PAYLOAD_DEPTH_LIMIT = 1_000;

/**
 * Returns a built-in codec, or `kind` itself when it is already a codec (the limits are then the
 * codec's own business).
 * @throws InvalidConfigError for an unknown kind, a codec object without `name`/`encode`/`decode`,
 * or a `maxDepth` that is not an integer from 1 to {@link MAX_PAYLOAD_DEPTH_LIMIT}.
 */
export function createPayloadCodec(
  kind: PayloadCodecKind | PayloadCodec = 'msgpack',
  limits: PayloadCodecLimits = {},
): PayloadCodec {
  if (typeof kind === 'object' && kind !== null) {
    const codec = kind as Partial<PayloadCodec>;
    if (
      typeof codec.name !== 'string' ||
      typeof codec.encode !== 'function' ||
      typeof codec.decode !== 'function'
    )
      throw new InvalidConfigError(MessagingMessages.codecUnknown(kind));
    return kind;
  }
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_PAYLOAD_DEPTH;
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_PAYLOAD_DEPTH_LIMIT)
    throw new InvalidConfigError(
      MessagingMessages.maxDepthInvalid(limits.maxDepth, MAX_PAYLOAD_DEPTH_LIMIT),
    );
  if (kind === 'msgpack') return new MsgpackCodec(maxDepth);
  if (kind === 'json') return new JsonCodec(maxDepth);
  throw new InvalidConfigError(MessagingMessages.codecUnknown(kind));
}

const EMPTY = Buffer.alloc(0);

/** Internal signal of a structural refusal, turned into a {@link PayloadError} by the codec. */
class Refusal extends Error {
  constructor(
    readonly tooDeep: boolean,
    why: string,
  ) {
    super(why);
  }
}

function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// msgpack

class MsgpackCodec implements PayloadCodec {
  readonly name = 'msgpack';
  private readonly packr: Packr;
  private readonly unpackr: Unpackr;

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
      throw payloadError(error, this.name, this.maxDepth, 'decode');
    }
  }

  private encodeError(error: unknown): PayloadError {
    return payloadError(error, this.name, this.maxDepth, 'encode');
  }
}

/** The typed error of a failed encode or decode: too deep, or malformed / unencodable. */
function payloadError(
  error: unknown,
  codec: string,
  maxDepth: number,
  direction: 'encode' | 'decode',
): PayloadError {
  const encoding = direction === 'encode';
  if ((error instanceof Refusal && error.tooDeep) || isStackOverflow(error)) {
    return new PayloadError(
      'ERR_PAYLOAD_TOO_DEEP',
      MessagingMessages.tooDeep(codec, maxDepth, encoding),
    );
  }
  let why = reason(error);
  if (encoding && /^Unknown type: symbol/.test(why))
    why = MessagingMessages.unencodable('symbol', '');
  return encoding
    ? new PayloadError('ERR_PAYLOAD_ENCODE', MessagingMessages.encodeFailed(codec, why), {
        cause: error,
      })
    : new PayloadError('ERR_PAYLOAD_DECODE', MessagingMessages.decodeFailed(codec, why), {
        cause: error,
      });
}

/** Structured-clone extension types of msgpackr that the scanner accepts. */
const EXT_UNDEFINED = 0x00;
const EXT_BIGINT = 0x42;
const EXT_ERROR = 0x65;
const EXT_ID = 0x69;
const EXT_POINTER = 0x70;
const EXT_RECORD = 0x72;
const EXT_SET = 0x73;
const EXT_TYPED = 0x74;
const EXT_REGEXP = 0x78;
const EXT_DATE = 0xff;

/** What the next value must be. */
const ANY = 0;
const ARRAY = 1;
const NOT_REFERENCE = 2;

const PROTO_KEY = Buffer.from('__proto__');

/**
 * Walks msgpack bytes without recursion and throws a {@link Refusal} unless they hold exactly one
 * value, nested at most `maxDepth` deep, made only of what the encoder above produces. It mirrors
 * msgpackr's reader for the accepted subset, so the depth it measures is the depth msgpackr will
 * recurse to. Linear in the number of tokens; strings and binaries are skipped by length.
 * @internal
 */
export function scanMsgpack(b: Uint8Array, maxDepth: number): void {
  const end = b.length;
  let pos = 0;
  // Open containers: values still to read in each, and whether it counts toward the depth
  // (a prefix extension — id, Set, Error, RegExp — wraps one value without adding a level).
  const remaining: number[] = [];
  const counted: boolean[] = [];
  let depth = 0;
  // Record definitions of this message: key count by record id.
  let records: (number | undefined)[] | undefined;
  let expect = ANY;
  let errorName = false;

  const bad = (why: string): never => {
    throw new Refusal(false, why);
  };
  const need = (n: number): void => {
    if (pos + n > end) bad('truncated data');
  };
  const u16 = (): number => {
    need(2);
    const v = (b[pos] << 8) | b[pos + 1];
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = ((b[pos] << 24) | (b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3]) >>> 0;
    pos += 4;
    return v;
  };
  const skip = (n: number): void => {
    need(n);
    pos += n;
  };
  /** Length of the string token at `pos`, which is consumed up to its bytes; -1 if not a string. */
  const stringHeader = (): number => {
    need(1);
    const t = b[pos];
    if (t >= 0xa0 && t < 0xc0) {
      pos += 1;
      return t - 0xa0;
    }
    if (t === 0xd9) {
      pos += 1;
      need(1);
      return b[pos++];
    }
    if (t === 0xda) {
      pos += 1;
      return u16();
    }
    if (t === 0xdb) {
      pos += 1;
      return u32();
    }
    return -1;
  };
  /** Length of the array token at `pos`, consumed; -1 if not an array. */
  const arrayHeader = (): number => {
    need(1);
    const t = b[pos];
    if (t >= 0x90 && t < 0xa0) {
      pos += 1;
      return t - 0x90;
    }
    if (t === 0xdc) {
      pos += 1;
      return u16();
    }
    if (t === 0xdd) {
      pos += 1;
      return u32();
    }
    return -1;
  };
  const isArrayToken = (t: number): boolean => (t >= 0x90 && t < 0xa0) || t === 0xdc || t === 0xdd;

  for (;;) {
    need(1);
    const t = b[pos++];
    const expected = expect;
    expect = ANY;
    if (expected === ARRAY && !isArrayToken(t)) bad('an extension is not followed by an array');
    // Children of the value just read: -1 for a complete value.
    let open = -1;
    let prefix = false;

    if (t < 0x40 || t >= 0xe0) {
      // positive or negative fixint
    } else if (t < 0x80) {
      const keys = records?.[t & 0x3f];
      if (keys !== undefined) open = keys; // a record of a shape defined earlier in this message
    } else if (t < 0x90) {
      open = (t - 0x80) * 2;
    } else if (t < 0xa0) {
      open = t - 0x90;
    } else if (t < 0xc0) {
      skip(t - 0xa0);
    } else {
      switch (t) {
        case 0xc0:
        case 0xc2:
        case 0xc3:
          break;
        case 0xc4: // bin 8
        case 0xd9: // str 8
          need(1);
          skip(1 + b[pos]);
          break;
        case 0xc5: // bin 16
        case 0xda: // str 16
          skip(u16());
          break;
        case 0xc6: // bin 32
        case 0xdb: // str 32
          skip(u32());
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          skip(4);
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          skip(8);
          break;
        case 0xcc:
        case 0xd0:
          skip(1);
          break;
        case 0xcd:
        case 0xd1:
          skip(2);
          break;
        case 0xdc:
          open = u16();
          break;
        case 0xdd:
          open = u32();
          break;
        case 0xde:
          open = u16() * 2;
          break;
        case 0xdf:
          open = u32() * 2;
          break;
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
        case 0xc7:
        case 0xc8:
        case 0xc9: {
          let length: number;
          if (t >= 0xd4) length = 1 << (t - 0xd4);
          else if (t === 0xc7) {
            need(1);
            length = b[pos++];
          } else length = t === 0xc8 ? u16() : u32();
          need(1 + length);
          const type = b[pos];
          pos += 1 + length;
          if ((type === EXT_ID || type === EXT_POINTER) && expected === NOT_REFERENCE)
            bad('a reference is followed by a reference');
          switch (type) {
            case EXT_UNDEFINED:
            case EXT_DATE:
              break;
            case EXT_BIGINT:
            case EXT_TYPED:
              if (length < 1) bad('empty extension');
              break;
            case EXT_POINTER:
              if (length !== 4) bad('malformed pointer');
              break;
            case EXT_ID:
              if (length !== 4) bad('malformed reference id');
              prefix = true;
              expect = NOT_REFERENCE;
              break;
            case EXT_SET:
            case EXT_REGEXP:
            case EXT_ERROR:
              if (t !== 0xd4) bad('malformed extension');
              prefix = true;
              expect = ARRAY;
              errorName = type === EXT_ERROR;
              break;
            case EXT_RECORD: {
              if (t !== 0xd4) bad('unsupported record definition');
              const id = b[pos - 1] & 0x3f;
              const count = arrayHeader();
              if (count < 0) bad('malformed record definition');
              if (count > end - pos) bad('truncated data');
              for (let i = 0; i < count; i++) {
                const length = stringHeader();
                if (length < 0) bad('a record key is not a string');
                need(length);
                if (length === PROTO_KEY.length && PROTO_KEY.equals(b.subarray(pos, pos + length)))
                  bad(MessagingMessages.forbiddenKey('__proto__'));
                pos += length;
              }
              (records ??= [])[id] = count;
              open = count;
              break;
            }
            default:
              bad(`unsupported extension type ${type}`);
          }
          break;
        }
        default:
          bad(`unsupported token 0x${t.toString(16)}`);
      }
    }

    if (errorName && !prefix && isArrayToken(t)) {
      // msgpackr looks the first element up as a property of an object: it must be a plain string
      // and not one of Object.prototype's names (`valueOf` would hand out msgpackr's own table).
      errorName = false;
      if (open > 0) {
        const start = pos;
        const length = stringHeader();
        if (length < 0) bad('an error name is not a string');
        need(length);
        const name = Buffer.from(b.buffer, b.byteOffset + pos, length).toString('utf8');
        if (name in Object.prototype) bad(`refused error name ${JSON.stringify(name)}`);
        pos = start;
      }
    }

    if (prefix) {
      remaining.push(1);
      counted.push(false);
      continue;
    }
    if (open >= 0) {
      if (depth + 1 > maxDepth) throw new Refusal(true, 'too deep');
      if (open > end - pos) bad('truncated data');
      if (open > 0) {
        remaining.push(open);
        counted.push(true);
        depth++;
        continue;
      }
    }
    // A value is complete: close every container it completes.
    let last = remaining.length - 1;
    while (last >= 0) {
      if (--remaining[last] > 0) break;
      remaining.pop();
      if (counted.pop()) depth--;
      last--;
    }
    if (last < 0) break;
  }
  if (expect !== ANY) bad('truncated data');
  if (pos !== end) bad(`${end - pos} bytes after the value`);
}

// ---------------------------------------------------------------------------------------------
// JSON

class JsonCodec implements PayloadCodec {
  readonly name = 'json';

  constructor(private readonly maxDepth: number) {}

  encode(value: unknown): Buffer {
    let text: string | undefined;
    try {
      text = JSON.stringify(value, jsonReplacer);
      if (text !== undefined) checkJsonDepth(text, this.maxDepth);
    } catch (error) {
      throw payloadError(error, this.name, this.maxDepth, 'encode');
    }
    // `undefined` (a void handler's answer) travels as an empty body.
    return text === undefined ? EMPTY : Buffer.from(text, 'utf8');
  }

  decode(bytes: Buffer): unknown {
    if (bytes.length === 0) return undefined;
    try {
      const text = bytes.toString('utf8');
      checkJsonDepth(text, this.maxDepth);
      // `JSON.parse` keeps `"__proto__"` as an own property; refuse it (even spelt with escapes).
      const risky = text.includes('__proto__') || text.includes('\\u');
      return JSON.parse(text, risky ? jsonReviver : undefined);
    } catch (error) {
      throw payloadError(error, this.name, this.maxDepth, 'decode');
    }
  }
}

function jsonReplacer(key: string, value: unknown): unknown {
  const type = typeof value;
  if (type === 'function' || type === 'symbol')
    throw new Refusal(false, MessagingMessages.unencodable(type, key));
  if (key === '__proto__') throw new Refusal(false, MessagingMessages.forbiddenKey(key));
  return value;
}

function jsonReviver(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new Refusal(false, MessagingMessages.forbiddenKey(key));
  return value;
}

/** Throws a too-deep {@link Refusal} when brackets outside strings nest deeper than `maxDepth`. */
function checkJsonDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0, n = text.length; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) throw new Refusal(true, 'too deep');
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}
