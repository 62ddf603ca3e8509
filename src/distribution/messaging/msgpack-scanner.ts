/**
 * The prototype-safety scan of msgpack bytes, run before msgpackr reads them (on decode) and after
 * it writes them (on encode, for the depth): it accepts only what the msgpack codec produces (the
 * standard msgpack types, the structured-clone extensions, one-byte record definitions with string
 * keys, written inline or as a pointer to the keys of an earlier definition) and refuses the rest (the never-used `0xc1`, bundled strings, foreign extensions, a
 * `__proto__` record key, an `Error` named after an `Object.prototype` member) before msgpackr
 * sees it. It never recurses, so no payload can overflow the stack while being checked.
 *
 * It also prices what decoding will allocate, so no message costs more than a bounded multiple of
 * its size in heap or time: one byte of msgpack can become a whole JavaScript object (`0x80`, an
 * empty map, decodes into a `Map` of about 190 bytes of heap and 2 µs; 8 MiB of them took a
 * receiver to 1.75 GiB). Each token has a cost, about the heap bytes it becomes (see
 * {@link DECODE_COST}); a message of `n` bytes may cost at most
 * {@link DECODE_COST_ALLOWANCE} + {@link DECODE_COST_PER_BYTE} × `n`, else it is refused before
 * msgpackr allocates anything. Measured with msgpackr 1.12: ordinary data (records of numbers and
 * strings, nested objects, arrays of numbers) costs 3 to 15 per byte; arrays of tiny objects
 * (`[{a: 1}, ...]`, 20 heap bytes per byte) pass; floods of empty maps, arrays, sets or binaries
 * do not.
 */
import { CostRefusal, Refusal } from './codec-failure.js';
import { MessagingMessages as M } from './messaging.messages.js';

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
 * Decoding cost of each kind of token, about the heap bytes (and so the time) it turns into;
 * measured with msgpackr 1.12 on Node 20. Nested values add their own cost.
 * @internal
 */
export const DECODE_COST = Object.freeze({
  /** A map becomes a `Map` (~190 bytes, ~2 µs each). */
  map: 512,
  /** A `Set` (the prefix extension; its array counts too). */
  set: 512,
  /** An `Error` or `RegExp` (the prefix extension; its array counts too). */
  object: 256,
  /** An array (~40 bytes, ~0.5 µs). */
  array: 64,
  /** An object of a record shape (40–64 bytes, ~0.3 µs), or a record definition. */
  record: 48,
  /**
   * Each key of a record definition, inline or by pointer: its slot in the new shape, and the slow
   * first reads of objects of a fresh shape (a flood of shapes defined by pointer, 100 keys each,
   * decoded at 260–400 ns per byte, against 70–150 for records of known shapes). An inline key
   * adds the cost of its string.
   */
  recordKey: 24,
  /** A string: its header; add 2 per byte (UTF-16). */
  string: 16,
  /** A binary value or typed array: its header; add its bytes (copied out). */
  binary: 192,
  /** A `Date` (~100 bytes) or `bigint`. */
  date: 128,
  /** A 64-bit float in an array (a heap number). */
  float: 24,
  /** Any other value. */
  scalar: 8,
});

/** The cost every message may reach whatever its size. */
export const DECODE_COST_ALLOWANCE = 1024 * 1024;

/** The cost each byte of a message adds to its budget. */
export const DECODE_COST_PER_BYTE = 32;

/** The decoding cost budget of a message of `bytes` bytes. @internal */
export function decodeBudget(bytes: number): number {
  return DECODE_COST_ALLOWANCE + DECODE_COST_PER_BYTE * bytes;
}

/**
 * Walks msgpack bytes without recursion and throws a {@link Refusal} unless they hold exactly one
 * value, nested at most `maxDepth` deep, made only of what the encoder above produces. It mirrors
 * msgpackr's reader for the accepted subset, so the depth it measures is the depth msgpackr will
 * recurse to. Linear in the number of tokens; strings and binaries are skipped by length.
 * @param keyReferences when given, receives three numbers for each reference token in place of or
 * before the keys of a record definition: its offset, then the start and end of the key array a
 * pointer stands for (0 and 0 for a reference id), in the order of the bytes
 * @internal
 */
export function scanMsgpack(b: Uint8Array, maxDepth: number, keyReferences?: number[]): void {
  const end = b.length;
  const budget = decodeBudget(end);
  let cost = 0;
  let pos = 0;
  // Open containers: values still to read in each, and whether it counts toward the depth
  // (a prefix extension — id, Set, Error, RegExp — wraps one value without adding a level).
  const remaining: number[] = [];
  const counted: boolean[] = [];
  let depth = 0;
  // Record definitions of this message: key count by record id.
  let records: (number | undefined)[] | undefined;
  // Key arrays of record definitions that carry a reference id, by reference id: their key
  // count, and where their bytes start and end.
  let keyArrays: Map<number, [count: number, start: number, end: number]> | undefined;
  let expect = ANY;
  let errorName = false;

  const bad = (why: string): never => {
    throw new Refusal(false, why);
  };
  const need = (n: number): void => {
    if (pos + n > end) bad(M.scanTruncated());
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
  const readId = (at: number): number =>
    ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
  /**
   * The key array of a record definition (after its `0xd4 0x72 id`), consumed; returns its key
   * count. Inline, it is an array of strings, none `__proto__`. When one message holds more than
   * 64 shapes, msgpackr reuses record ids, and a shape met again after its id went to another is
   * defined again with the same key array, which its reference tracking (structured clone) then
   * writes as a pointer to the first one, whose array it marks with a reference id. A pointer
   * must name a key array already read here, so the keys it stands for were checked and counted;
   * msgpackr copies them into a new shape, priced per key.
   */
  const recordKeys = (): number => {
    let id = -1;
    need(1);
    if (b[pos] === 0xd6) {
      need(6);
      const type = b[pos + 1];
      if (type !== EXT_ID && type !== EXT_POINTER) bad(M.scanMalformedRecordDefinition());
      id = readId(pos + 2);
      if (type === EXT_POINTER) {
        const keys = keyArrays?.get(id);
        if (keys === undefined) return bad(M.scanMalformedRecordDefinition());
        keyReferences?.push(pos, keys[1], keys[2]);
        pos += 6;
        cost += DECODE_COST.recordKey * keys[0];
        return keys[0];
      }
      if (keyArrays?.has(id)) bad(M.scanMalformedReferenceId());
      keyReferences?.push(pos, 0, 0);
      pos += 6;
    }
    const keysStart = pos;
    const count = arrayHeader();
    if (count < 0) bad(M.scanMalformedRecordDefinition());
    if (count > end - pos) bad(M.scanTruncated());
    for (let i = 0; i < count; i++) {
      const start = pos;
      const length = stringHeader();
      if (length < 0) bad(M.scanRecordKeyNotString());
      need(length);
      if (length === PROTO_KEY.length && PROTO_KEY.equals(b.subarray(pos, pos + length)))
        bad(M.forbiddenKey('__proto__'));
      pos += length;
      cost += DECODE_COST.recordKey + DECODE_COST.string + 2 * (pos - start);
    }
    if (id >= 0) (keyArrays ??= new Map()).set(id, [count, keysStart, pos]);
    return count;
  };

  for (;;) {
    need(1);
    const tokenStart = pos;
    const t = b[pos++];
    const expected = expect;
    expect = ANY;
    if (expected === ARRAY && !isArrayToken(t)) bad(M.scanExtensionWithoutArray());
    // Children of the value just read: -1 for a complete value.
    let open = -1;
    let prefix = false;

    if (t < 0x40 || t >= 0xe0) {
      // positive or negative fixint
    } else if (t < 0x80) {
      const keys = records?.[t & 0x3f];
      if (keys !== undefined) {
        open = keys; // a record of a shape defined earlier in this message
        cost += DECODE_COST.record;
      }
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
            bad(M.scanReferenceToReference());
          switch (type) {
            case EXT_UNDEFINED:
            case EXT_DATE:
              break;
            case EXT_BIGINT:
            case EXT_TYPED:
              if (length < 1) bad(M.scanEmptyExtension());
              break;
            case EXT_POINTER:
              if (length !== 4) bad(M.scanMalformedPointer());
              break;
            case EXT_ID:
              if (length !== 4) bad(M.scanMalformedReferenceId());
              if (keyArrays?.has(readId(pos - 4))) bad(M.scanMalformedReferenceId());
              prefix = true;
              expect = NOT_REFERENCE;
              break;
            case EXT_SET:
            case EXT_REGEXP:
            case EXT_ERROR:
              if (t !== 0xd4) bad(M.scanMalformedExtension());
              prefix = true;
              expect = ARRAY;
              errorName = type === EXT_ERROR;
              break;
            case EXT_RECORD: {
              if (t !== 0xd4) bad(M.scanUnsupportedRecordDefinition());
              cost += DECODE_COST.record;
              const id = b[pos - 1] & 0x3f;
              const count = recordKeys();
              (records ??= [])[id] = count;
              open = count;
              break;
            }
            default:
              bad(M.scanUnsupportedExtension(type));
          }
          break;
        }
        default:
          bad(M.scanUnsupportedToken(t));
      }
    }

    cost += tokenCost(t, b, tokenStart, pos);
    if (cost > budget) throw new CostRefusal(cost, budget, end);

    if (errorName && !prefix && isArrayToken(t)) {
      // msgpackr looks the first element up as a property of an object: it must be a plain string
      // and not one of Object.prototype's names (`valueOf` would hand out msgpackr's own table).
      errorName = false;
      if (open > 0) {
        const start = pos;
        const length = stringHeader();
        if (length < 0) bad(M.scanErrorNameNotString());
        need(length);
        const name = Buffer.from(b.buffer, b.byteOffset + pos, length).toString('utf8');
        if (name in Object.prototype) bad(M.scanRefusedErrorName(name));
        pos = start;
      }
    }

    if (prefix) {
      remaining.push(1);
      counted.push(false);
      continue;
    }
    if (open >= 0) {
      if (depth + 1 > maxDepth) throw new Refusal(true, M.nestedTooDeep());
      if (open > end - pos) bad(M.scanTruncated());
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
  if (expect !== ANY) bad(M.scanTruncated());
  if (pos !== end) bad(M.scanTrailingBytes(end - pos));
}

/**
 * The decoding cost of the token that starts at `start` (type byte `t`) and whose header and
 * inline bytes end at `pos`; record instances and definitions are priced where they are read.
 */
function tokenCost(t: number, b: Uint8Array, start: number, pos: number): number {
  const C = DECODE_COST;
  if (t < 0x80 || t >= 0xe0) return C.scalar;
  if (t < 0x90 || t === 0xde || t === 0xdf) return C.map;
  if (t < 0xa0 || t === 0xdc || t === 0xdd) return C.array;
  // fixstr, str 8/16/32: their bytes were skipped, so pos - start covers them
  if (t < 0xc0 || t === 0xd9 || t === 0xda || t === 0xdb) return C.string + 2 * (pos - start);
  if (t === 0xc4 || t === 0xc5 || t === 0xc6) return C.binary + (pos - start);
  if (t === 0xcb) return C.float;
  if ((t >= 0xd4 && t <= 0xd8) || t === 0xc7 || t === 0xc8 || t === 0xc9) {
    const length = pos - start;
    // the extension type is the byte before its data
    const type = b[t >= 0xd4 ? start + 1 : start + (t === 0xc7 ? 2 : t === 0xc8 ? 3 : 5)];
    switch (type) {
      case EXT_SET:
        return C.set;
      case EXT_ERROR:
      case EXT_REGEXP:
        return C.object;
      case EXT_TYPED:
        return C.binary + length;
      case EXT_DATE:
        return C.date;
      case EXT_BIGINT:
        return C.date + length;
      default:
        return C.scalar;
    }
  }
  return C.scalar;
}
