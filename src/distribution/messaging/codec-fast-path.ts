/**
 * The msgpack codec's fast path for the most common payloads: a string (of any length within the
 * limit), a number, a boolean, `null`, or a plain object of up to {@link FAST_MAX_KEYS} such
 * values (`{ d: 'x' }`, `{ d: 'x'.repeat(65536) }`).
 * It writes exactly the bytes msgpackr writes for the same value (a record definition carrying
 * its keys inline, then the values), so the wire format does not change and any build reads them;
 * and it reads back exactly what msgpackr would, without msgpackr's record machinery and without
 * the safety scan, because it accepts only a subset that the scan accepts by construction:
 * one level deep, keys that are valid UTF-8 strings other than `__proto__`, no extension but the
 * one record definition, and at most a few dozen tokens (far inside any cost budget).
 *
 * Anything else, or anything it is not sure of (a getter-free check is not made: getters run once
 * here and again on the general path if it falls back), goes to the general path, which applies
 * every check as before; so the fast path is never less safe, only shorter. Why: for a 32 byte
 * message, the size walk, msgpackr's record structures, the scan and msgpackr's reader cost about
 * as much as all the rest of a message's trip through the library.
 */
import { isAscii } from 'node:buffer';

/** Most keys of an object taken by the fast path (a `fixarray` of keys). */
export const FAST_MAX_KEYS = 15;

/**
 * Longest key (UTF-16 units) the fast path writes, and longest string value it reserves room for
 * by the three-bytes-per-unit bound; a longer value is measured first (see {@link scalarRoom}).
 */
export const FAST_MAX_STRING = 16 * 1024;

/**
 * Scratch memory a long string is measured in by writing it (its bytes are thrown away): about
 * three times faster than `Buffer.byteLength` for a 64 KiB string. Strings that may need more
 * than this are measured with `Buffer.byteLength`.
 */
const MEASURE_BYTES = 256 * 1024;
let measureScratch: Buffer | undefined;

/**
 * Size of the chunks encodings are cut from, as views (never copied), as msgpackr cuts them from
 * its own 8 KiB buffer: a small message held in a queue keeps at most this much memory alive.
 */
const CHUNK_BYTES = 8 * 1024;

/** Marks "not taken by the fast path": the general path must handle the value or bytes. */
export const NOT_FAST: unique symbol = Symbol('not fast');

const REPLACEMENT = '\uFFFD';

/** Strings up to this many bytes are read in JavaScript when ASCII. */
const SHORT_STRING = 16;

/** Strings of at least this many bytes are checked for ASCII and then copied as Latin-1. */
const LARGE_ASCII_BYTES = 1024;

const fromCharCode = String.fromCharCode;

/** Room a value may need, at most; -1 when the fast path does not take it. */
function scalarRoom(value: unknown): number {
  switch (typeof value) {
    case 'string': {
      const units = value.length;
      if (units <= FAST_MAX_STRING) return 5 + 3 * units;
      // Measured, so the encoding goes into a buffer of its exact size: a message held in a
      // queue keeps only its own bytes alive (msgpackr cuts it from a buffer four times the
      // three-bytes-per-unit bound, 768 KiB for a 64 KiB string), and cutting from large shared
      // chunks measured no faster in process (3 to 55 µs per 64 KiB with the allocator's state).
      if (3 * units > MEASURE_BYTES) return 5 + Buffer.byteLength(value, 'utf8');
      measureScratch ??= Buffer.allocUnsafeSlow(MEASURE_BYTES);
      return 5 + measureScratch.write(value, 0, MEASURE_BYTES, 'utf8');
    }
    case 'number':
      return 9;
    case 'boolean':
      return 1;
    case 'object':
      return value === null ? 1 : -1;
    default:
      return -1;
  }
}

/**
 * Encodes fast-path values into views of a chunk it owns; the bytes are never written over (the
 * next encoding starts after them), as with msgpackr's own buffer.
 * @internal
 */
export class FastEncoder {
  private chunk: Buffer = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  /** Where the next encoding starts in {@link FastEncoder.chunk}. */
  private position = 0;

  /**
   * The msgpack encoding of `value` (byte for byte msgpackr's), or `undefined` when the fast path
   * does not take it or it would be over `limit` bytes (the general path then refuses it with
   * its own error). Written in one pass, each value read once (a getter runs once, as in msgpackr).
   */
  encode(value: unknown, limit: number): Buffer | undefined {
    const room = scalarRoom(value);
    let at: number;
    if (room >= 0) {
      // a string's bytes are at least its units: one over the limit is refused before writing
      if (typeof value === 'string' && value.length > limit) return undefined;
      const target = this.reserve(0, room);
      at = writeScalar(target, this.position, value);
    } else {
      if (typeof value !== 'object' || value === null) return undefined;
      // msgpackr's own test for a record; an own `constructor` key fails it, so does a class
      if ((value as { constructor?: unknown }).constructor !== Object) return undefined;
      const keys = Object.keys(value);
      const count = keys.length;
      if (count > FAST_MAX_KEYS) return undefined;
      let keysRoom = 4;
      for (let i = 0; i < count; i++) {
        const key = keys[i];
        // `__proto__` is refused by the general path; with an own `hasOwnProperty` msgpackr
        // walks inherited keys too
        if (key === '__proto__' || key === 'hasOwnProperty' || key.length > FAST_MAX_STRING)
          return undefined;
        keysRoom += 5 + 3 * key.length;
      }
      // a record definition of id 0x40 (the first of a message), its keys, then the values
      let target = this.reserve(0, keysRoom);
      at = this.position;
      target[at] = 0xd4;
      target[at + 1] = 0x72;
      target[at + 2] = 0x40;
      target[at + 3] = 0x90 + count;
      at += 4;
      for (let i = 0; i < count; i++) at = writeString(target, at, keys[i]);
      for (let i = 0; i < count; i++) {
        const item = (value as Record<string, unknown>)[keys[i]];
        // bytes written past `position` are not handed out: the next encoding writes over them
        if (typeof item === 'string' && item.length > limit) return undefined;
        const itemRoom = scalarRoom(item);
        if (itemRoom < 0) return undefined;
        if (at + itemRoom > target.length) {
          at -= this.position;
          target = this.reserve(at, itemRoom);
          at += this.position;
        }
        at = writeScalar(target, at, item);
      }
    }
    const start = this.position;
    if (at - start > limit) return undefined;
    this.position = at;
    return this.chunk.subarray(start, at);
  }

  /**
   * The chunk, with room for `room` more bytes after the `written` bytes of this encoding (from
   * {@link FastEncoder.position}); when it has not, a new chunk, into which those are copied.
   */
  private reserve(written: number, room: number): Buffer {
    const chunk = this.chunk;
    if (this.position + written + room <= chunk.length) return chunk;
    const next = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, written + room));
    chunk.copy(next, 0, this.position, this.position + written);
    this.chunk = next;
    this.position = 0;
    return next;
  }
}

/** Writes a string, number, boolean or null as msgpackr does; returns the new offset. */
function writeScalar(target: Buffer, at: number, value: unknown): number {
  if (typeof value === 'string') return writeString(target, at, value);
  if (typeof value === 'number') return writeNumber(target, at, value);
  if (value === null) target[at] = 0xc0;
  else target[at] = value === true ? 0xc3 : 0xc2;
  return at + 1;
}

/** msgpackr's number encoding: the shortest integer form up to 32 bits, else a float 64. */
function writeNumber(target: Buffer, at: number, value: number): number {
  if (value >>> 0 === value) {
    // 0x40–0x7f are record ids for msgpackr: those integers take a uint 8
    if (value < 0x40) {
      target[at] = value;
      return at + 1;
    }
    if (value < 0x100) {
      target[at] = 0xcc;
      target[at + 1] = value;
      return at + 2;
    }
    if (value < 0x10000) {
      target[at] = 0xcd;
      target[at + 1] = value >> 8;
      target[at + 2] = value & 0xff;
      return at + 3;
    }
    target[at] = 0xce;
    target.writeUInt32BE(value, at + 1);
    return at + 5;
  }
  if (value >> 0 === value) {
    if (value >= -0x20) {
      target[at] = 0x100 + value;
      return at + 1;
    }
    if (value >= -0x80) {
      target[at] = 0xd0;
      target[at + 1] = value + 0x100;
      return at + 2;
    }
    if (value >= -0x8000) {
      target[at] = 0xd1;
      target.writeInt16BE(value, at + 1);
      return at + 3;
    }
    target[at] = 0xd2;
    target.writeInt32BE(value, at + 1);
    return at + 5;
  }
  target[at] = 0xcb;
  target.writeDoubleBE(value, at + 1);
  return at + 9;
}

/**
 * msgpackr's string encoding: its header by byte length (`fixstr`, `str 8/16/32`). Below 64
 * units msgpackr encodes in JavaScript, where a lone surrogate becomes its three-byte form (not
 * U+FFFD as `Buffer#write` makes it): the same loop here keeps the bytes identical.
 */
function writeString(target: Buffer, at: number, value: string): number {
  const units = value.length;
  // the header as the unit count predicts it; moved below if the bytes are fewer
  const headerSize = units < 0x20 ? 1 : units < 0x100 ? 2 : units < 0x10000 ? 3 : 5;
  const from = at + headerSize;
  let length: number;
  if (units < 0x40) {
    let p = from;
    for (let i = 0; i < units; i++) {
      let c1 = value.charCodeAt(i);
      let c2: number;
      if (c1 < 0x80) {
        target[p++] = c1;
      } else if (c1 < 0x800) {
        target[p++] = (c1 >> 6) | 0xc0;
        target[p++] = (c1 & 0x3f) | 0x80;
      } else if ((c1 & 0xfc00) === 0xd800 && ((c2 = value.charCodeAt(i + 1)) & 0xfc00) === 0xdc00) {
        c1 = 0x10000 + ((c1 & 0x03ff) << 10) + (c2 & 0x03ff);
        i++;
        target[p++] = (c1 >> 18) | 0xf0;
        target[p++] = ((c1 >> 12) & 0x3f) | 0x80;
        target[p++] = ((c1 >> 6) & 0x3f) | 0x80;
        target[p++] = (c1 & 0x3f) | 0x80;
      } else {
        target[p++] = (c1 >> 12) | 0xe0;
        target[p++] = ((c1 >> 6) & 0x3f) | 0x80;
        target[p++] = (c1 & 0x3f) | 0x80;
      }
    }
    length = p - from;
  } else {
    length = target.write(value, from, target.length - from, 'utf8');
  }
  const size = length < 0x20 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
  // the bytes move to follow the header they take, before it is written over them
  if (size !== headerSize) target.copyWithin(at + size, from, from + length);
  if (size === 1) {
    target[at] = 0xa0 | length;
  } else if (size === 2) {
    target[at] = 0xd9;
    target[at + 1] = length;
  } else if (size === 3) {
    target[at] = 0xda;
    target[at + 1] = length >> 8;
    target[at + 2] = length & 0xff;
  } else {
    target[at] = 0xdb;
    target.writeUInt32BE(length, at + 1);
  }
  return at + size + length;
}

/**
 * Reads a body the fast path takes, or returns {@link NOT_FAST}: one scalar, or one record
 * definition of id 0x40–0x7f with up to {@link FAST_MAX_KEYS} string keys followed by as many
 * scalar values, filling the body exactly. A key `__proto__`, a string that is not valid UTF-8,
 * an extension, a nested value, a 64-bit integer or a float 32 all fall back (msgpackr and the
 * scan then decide), so what this returns is what msgpackr returns for the same bytes.
 * @internal
 */
export function fastDecode(b: Buffer): unknown {
  const end = b.length;
  const t = b[0];
  if (t !== 0xd4) {
    const value = readScalar(b, 0, end);
    return cursor === end ? value : NOT_FAST;
  }
  if (end < 4 || b[1] !== 0x72 || b[2] < 0x40 || b[2] > 0x7f) return NOT_FAST;
  const header = b[3];
  if (header < 0x90 || header > 0x90 + FAST_MAX_KEYS) return NOT_FAST;
  const count = header - 0x90;
  const keys = scratchKeys;
  cursor = 4;
  for (let i = 0; i < count; i++) {
    const key = readScalar(b, cursor, end);
    if (typeof key !== 'string' || key === '__proto__') return NOT_FAST;
    keys[i] = key;
  }
  const object: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const value = readScalar(b, cursor, end);
    if (value === NOT_FAST) return NOT_FAST;
    object[keys[i]] = value;
  }
  return cursor === end ? object : NOT_FAST;
}

/** Keys of the record being read (at most {@link FAST_MAX_KEYS}; reused, strings only). */
const scratchKeys: string[] = [];

/** Where the last {@link readScalar} ended. */
let cursor = 0;

/**
 * Reads one scalar at `at` and sets {@link cursor} past it; {@link NOT_FAST} for any other token
 * or one that runs past `end`.
 */
function readScalar(b: Buffer, at: number, end: number): unknown {
  if (at >= end) return NOT_FAST;
  const t = b[at];
  if (t < 0x40 || t >= 0xe0) {
    cursor = at + 1;
    return t < 0x40 ? t : t - 0x100;
  }
  let length: number;
  let from: number;
  if (t >= 0xa0 && t < 0xc0) {
    length = t - 0xa0;
    from = at + 1;
  } else {
    switch (t) {
      case 0xc0:
        cursor = at + 1;
        return null;
      case 0xc2:
        cursor = at + 1;
        return false;
      case 0xc3:
        cursor = at + 1;
        return true;
      case 0xd9:
        if (at + 2 > end) return NOT_FAST;
        length = b[at + 1];
        from = at + 2;
        break;
      case 0xda:
        if (at + 3 > end) return NOT_FAST;
        length = (b[at + 1] << 8) | b[at + 2];
        from = at + 3;
        break;
      case 0xdb:
        if (at + 5 > end) return NOT_FAST;
        length = b.readUInt32BE(at + 1);
        from = at + 5;
        break;
      default: {
        const size =
          t === 0xcc || t === 0xd0 ? 1 : t === 0xcd || t === 0xd1 ? 2 : t === 0xcb ? 8 : 4;
        if (at + 1 + size > end) return NOT_FAST;
        cursor = at + 1 + size;
        switch (t) {
          case 0xcc:
            return b[at + 1];
          case 0xcd:
            return b.readUInt16BE(at + 1);
          case 0xce:
            return b.readUInt32BE(at + 1);
          case 0xd0:
            return b.readInt8(at + 1);
          case 0xd1:
            return b.readInt16BE(at + 1);
          case 0xd2:
            return b.readInt32BE(at + 1);
          case 0xcb:
            return b.readDoubleBE(at + 1);
          default:
            return NOT_FAST;
        }
      }
    }
  }
  const stop = from + length;
  if (stop > end) return NOT_FAST;
  cursor = stop;
  if (length === 0) return '';
  if (length <= SHORT_STRING) {
    // a native call costs more than a short ASCII string built here
    let text = '';
    for (let i = from; i < stop; i++) {
      const c = b[i];
      if (c >= 0x80) return utf8(b, from, stop);
      text += fromCharCode(c);
    }
    return text;
  }
  return utf8(b, from, stop);
}

/** The string of valid UTF-8 bytes, or {@link NOT_FAST}. */
function utf8(b: Buffer, from: number, stop: number): unknown {
  // ASCII bytes read alike as UTF-8 and Latin-1, and the Latin-1 copy skips UTF-8 decoding: for
  // 64 KiB, the check and the copy take about half of what `toString('utf8')` does
  if (stop - from >= LARGE_ASCII_BYTES && isAscii(b.subarray(from, stop)))
    return b.toString('latin1', from, stop);
  // Valid UTF-8 reads alike on every path msgpackr may take; invalid bytes (which `toString`
  // turns into U+FFFD, and msgpackr's paths each in their own way) go to msgpackr.
  const text = b.toString('utf8', from, stop);
  return text.includes(REPLACEMENT) ? NOT_FAST : text;
}
