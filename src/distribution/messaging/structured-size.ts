/**
 * Bounds of the size a structured payload will take once encoded by the msgpack codec, found by a
 * walk that is much cheaper than encoding and stops as soon as the lower bound passes the limit.
 * A sparse array of length 10^8 is refused after one step, not after seconds of encoding.
 *
 * The lower bound counts what msgpack can never write smaller: one byte per value (an array of
 * length n writes n values, holes included), one byte per UTF-16 unit of a string (UTF-8 is never
 * shorter), the bytes of a binary value. Object keys count nothing toward it (records write a shape
 * once for many objects). The upper bound counts what msgpack can never write larger (9 bytes per
 * number, 3 per UTF-16 unit, every key of every object); it is `Infinity` when the walk meets
 * something whose encoding it does not model (an `Error`, a `RegExp`, an object with `toJSON`), or
 * when it gave up after {@link WALK_MAX_OBJECTS} objects: past that, walking costs a fair share of
 * encoding itself (a `Set` lookup and the keys of each object), and the encoder's own stop takes
 * over.
 */

/** Objects the walk visits at most; the lower bound found so far stands, the upper is unknown. */
export const WALK_MAX_OBJECTS = 4096;

/** Bounds of an encoded size, in bytes. */
export interface SizeBounds {
  /** The encoding is at least this large (the walk stopped once it passed the limit). */
  readonly lower: number;
  /** The encoding is at most this large; `Infinity` when unknown. */
  readonly upper: number;
}

/**
 * Walks `value` without recursion; stops as soon as `lower` passes `limit`, or after
 * {@link WALK_MAX_OBJECTS} objects.
 * Getters run, as they do when the value is encoded.
 * @internal
 */
export function boundEncodedSize(value: unknown, limit: number): SizeBounds {
  let lower = 0;
  let upper = 0;
  const seen = new Set<object>();
  const stack: object[] = [];

  /** Counts a value; an object is counted when it is taken from the stack (its first byte now). */
  const add = (item: unknown): void => {
    if (typeof item === 'string') {
      lower += item.length === 0 ? 1 : item.length;
      upper += 3 * item.length + 5;
    } else if (typeof item === 'object' && item !== null) {
      lower += 1;
      stack.push(item);
    } else if (typeof item === 'bigint') {
      lower += 1;
      upper += 16 + Math.ceil(item.toString(16).length / 2);
    } else {
      // numbers, booleans, undefined (and array holes): 1 to 9 bytes; functions and symbols are
      // refused by the encoder
      lower += 1;
      upper += 9;
    }
  };

  add(value);
  let objects = 0;
  while (stack.length > 0 && lower <= limit) {
    if (++objects > WALK_MAX_OBJECTS) {
      upper = Infinity;
      break;
    }
    const item = stack.pop()!;
    if (seen.has(item)) {
      // written again as a reference
      upper += 6;
      continue;
    }
    seen.add(item);
    upper += 16;
    if (Array.isArray(item)) {
      const length = item.length;
      // every value at least one byte, counted up front, so a sparse array fails at once
      if (lower + length > limit) {
        lower += length;
        break;
      }
      for (let i = 0; i < length; i++) add(item[i]);
    } else if (ArrayBuffer.isView(item) || item instanceof ArrayBuffer) {
      lower += item.byteLength;
      upper += item.byteLength;
    } else if (item instanceof Map) {
      if (lower + 2 * item.size > limit) {
        lower += 2 * item.size;
        break;
      }
      for (const [key, entry] of item) {
        add(key);
        add(entry);
      }
    } else if (item instanceof Set) {
      if (lower + item.size > limit) {
        lower += item.size;
        break;
      }
      for (const entry of item) add(entry);
    } else if (item instanceof Date) {
      // 6 to 15 bytes
    } else if (
      item instanceof Error ||
      item instanceof RegExp ||
      typeof (item as { toJSON?: unknown }).toJSON === 'function'
    ) {
      upper = Infinity;
    } else {
      const keys = Object.keys(item);
      if (lower + keys.length > limit) {
        lower += keys.length;
        break;
      }
      for (const key of keys) {
        upper += 3 * key.length + 5;
        add((item as Record<string, unknown>)[key]);
      }
    }
  }
  return { lower, upper };
}
