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
 * something whose encoding it does not model (an `Error`, a `RegExp`, an object with `toJSON`).
 */

/** Bounds of an encoded size, in bytes. */
export interface SizeBounds {
  /** The encoding is at least this large (the walk stopped once it passed the limit). */
  readonly lower: number;
  /** The encoding is at most this large; `Infinity` when unknown. */
  readonly upper: number;
}

/**
 * Walks `value` without recursion; stops as soon as `lower` passes `limit`.
 * Getters run, as they do when the value is encoded.
 * @internal
 */
export function boundEncodedSize(value: unknown, limit: number): SizeBounds {
  let lower = 0;
  let upper = 0;
  const seen = new Set<object>();
  const stack: unknown[] = [value];
  // An array's values are counted once up front (so a sparse array of any length fails at once);
  // each value then adds its size beyond that first byte.
  const prepaid: boolean[] = [false];
  while (stack.length > 0) {
    const item = stack.pop();
    const paid = prepaid.pop()! ? 1 : 0;
    let low = 1;
    let high = 9;
    switch (typeof item) {
      case 'string':
        low = Math.max(1, item.length);
        high = 3 * item.length + 5;
        break;
      case 'bigint':
        high = 16 + Math.ceil(item.toString(16).length / 2);
        break;
      case 'object': {
        if (item === null) break;
        if (seen.has(item)) {
          // written again as a reference
          high = 6;
          break;
        }
        seen.add(item);
        high = 16;
        if (Array.isArray(item)) {
          const length = item.length;
          low = 1 + length;
          // holes are written as `undefined` (3 bytes); their values add nothing below
          for (let i = 0; i < length && lower + low - paid <= limit; i++) {
            stack.push(item[i]);
            prepaid.push(true);
          }
        } else if (ArrayBuffer.isView(item)) {
          low = item.byteLength + 1;
          high = item.byteLength + 16;
        } else if (item instanceof ArrayBuffer) {
          low = item.byteLength + 1;
          high = item.byteLength + 16;
        } else if (item instanceof Map) {
          low = 1 + 2 * item.size;
          for (const [k, v] of item) {
            if (lower + low - paid > limit) break;
            stack.push(k, v);
            prepaid.push(true, true);
          }
        } else if (item instanceof Set) {
          low = 1 + item.size;
          for (const v of item) {
            if (lower + low - paid > limit) break;
            stack.push(v);
            prepaid.push(true);
          }
        } else if (item instanceof Date) {
          high = 15;
        } else if (
          item instanceof Error ||
          item instanceof RegExp ||
          typeof (item as { toJSON?: unknown }).toJSON === 'function'
        ) {
          high = Infinity;
        } else {
          const keys = Object.keys(item);
          low = 1 + keys.length;
          for (const key of keys) {
            high += 3 * key.length + 5;
            if (lower + low - paid > limit) break;
            stack.push((item as Record<string, unknown>)[key]);
            prepaid.push(true);
          }
        }
        break;
      }
      default:
        // numbers, booleans, undefined: 1 to 9 bytes; functions and symbols are refused by the
        // encoder
        break;
    }
    lower += low - paid;
    upper += high;
    if (lower > limit) break;
  }
  return { lower, upper };
}
