/**
 * Shared by the payload codec specs (src/distribution/messaging/*codec*.spec.ts and the msgpack
 * scanner's): hand-written msgpack bytes, values built in the main realm, a fast-check arbitrary of
 * what the msgpack codec carries exactly, and a helper that expects a PayloadError.
 */
import fc from 'fast-check';
import { PayloadError } from '../../src/distribution/messaging/messaging.errors.js';

/** A msgpack fixstr (under 32 bytes), written by hand. */
export const str = (text: string) => {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length >= 32) throw new Error('fixstr only');
  return Buffer.concat([Buffer.from([0xa0 + bytes.length]), bytes]);
};
/** Concatenates byte lists and buffers into one buffer. */
export const bytesOf = (...parts: (number[] | Buffer)[]) =>
  Buffer.concat(parts.map(part => (Buffer.isBuffer(part) ? part : Buffer.from(part))));

/**
 * Jest runs a spec in a vm context whose `Uint8Array` and `ArrayBuffer` are the main realm's (for
 * `Buffer`) but whose other typed arrays are the context's own. msgpackr recognises typed arrays
 * through the main realm's `TypedArray`, as it would in any real process, so the specs build them
 * in the main realm.
 */
export const realm = (setImmediate.constructor as FunctionConstructor)(
  'return globalThis',
)() as typeof globalThis;

/** Typed arrays as `{ type, items }`, so values from both realms compare equal. */
export function canon(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return { type: value.constructor.name, items: [...(value as unknown as Iterable<unknown>)] };
  if (Array.isArray(value)) return value.map(canon);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [canon(k), canon(v)]));
  if (value instanceof Set) return new Set([...value].map(canon));
  if (value !== null && typeof value === 'object' && !(value instanceof Date))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canon(v)]));
  return value;
}

/** `[]` nested `depth` levels deep (`[]` is 1). */
export function nestedArrays(depth: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < depth; i++) value = [value];
  return value;
}

/** The PayloadError `run` throws; fails when it throws anything else or nothing. */
export function payloadError(run: () => unknown): PayloadError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PayloadError);
    return error as PayloadError;
  }
  throw new Error('expected a PayloadError, nothing was thrown');
}

/** Checks that no spec polluted `Object.prototype`. */
export function expectPrototypeClean(): void {
  expect(Object.prototype).not.toHaveProperty('polluted');
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
}

/** Values the msgpack codec carries exactly. */
export const structured: fc.Arbitrary<unknown> = fc.letrec(tie => ({
  leaf: fc.oneof(
    fc.integer(),
    fc.double().map(d => (Object.is(d, -0) ? 0 : d)), // msgpack writes -0 as the integer 0
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.bigInt(),
    fc.date({ noInvalidDate: true }),
    fc.uint8Array({ maxLength: 16 }).map(bytes => Buffer.from(bytes)),
    fc.uint8Array({ maxLength: 16 }),
    fc.float64Array({ maxLength: 4 }).map(a => new realm.Float64Array(a)),
    fc.int32Array({ maxLength: 4 }).map(a => new realm.Int32Array(a)),
  ),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(
      fc.string().filter(key => key !== '__proto__'),
      tie('node'),
      { maxKeys: 4 },
    ),
    fc.array(fc.tuple(tie('leaf'), tie('node')), { maxLength: 3 }).map(entries => new Map(entries)),
    fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 4 }).map(items => new Set(items)),
  ),
})).node;
