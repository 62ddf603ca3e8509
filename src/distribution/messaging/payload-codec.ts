/**
 * Payload codecs: how a message's value becomes bytes and back. The built-in ones are
 * `'msgpack'` (the default, `msgpack.codec.ts`) and `'json'` (`json.codec.ts`); a custom codec is
 * any object with `name`, `encode` and `decode`.
 *
 * The built-in codecs refuse, with a {@link PayloadError}: values that cannot be sent (functions,
 * symbols; JSON also `bigint` and cycles) — `ERR_PAYLOAD_ENCODE`; structures nested deeper than
 * `maxDepth` (default 64) on encode and on decode — `ERR_PAYLOAD_TOO_DEEP`; malformed bytes —
 * `ERR_PAYLOAD_DECODE`. The msgpack codec also refuses structured payloads over
 * `maxStructuredPayloadBytes` — `ERR_PAYLOAD_TOO_LARGE` — and messages that would decode into
 * more objects than their size allows — `ERR_PAYLOAD_TOO_COSTLY`.
 *
 * Prototype pollution: decoded data never reaches `Object.prototype`. A `__proto__` key of an
 * object is refused (`ERR_PAYLOAD_DECODE`, `ERR_PAYLOAD_ENCODE`) by both built-in codecs, rather
 * than kept as an own property that a later `Object.assign` or deep merge would turn into a
 * prototype change. `constructor` and `prototype` keys are ordinary data, as with `JSON.parse`: a
 * handler that deep-merges a payload must use a merge that skips them.
 */
import { InvalidConfigError, checkInteger, isIntegerIn } from '../../core/index.js';
import { toPayloadError } from './codec-failure.js';
import { JsonCodec } from './json.codec.js';
import { PayloadError } from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';
import { MsgpackCodec } from './msgpack.codec.js';

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
  /**
   * Largest structured payload (anything but a `Buffer` or typed array), in encoded bytes, sent
   * or received; msgpack only (JSON has no binary form to point to instead). Default
   * {@link DEFAULT_MAX_STRUCTURED_PAYLOAD_BYTES}.
   */
  readonly maxStructuredPayloadBytes?: number;
}

/**
 * Default of {@link PayloadCodecLimits.maxStructuredPayloadBytes}: 2 MiB, which msgpackr encodes
 * or decodes in about 25–170 ms (see docs), the longest a structured message may hold the event
 * loop. A `Buffer` or typed array payload is not held to it.
 */
export const DEFAULT_MAX_STRUCTURED_PAYLOAD_BYTES = 2 * 1024 * 1024;

/** Default of {@link PayloadCodecLimits.maxDepth}. */
export const DEFAULT_MAX_PAYLOAD_DEPTH = 64;

/**
 * Highest `maxStructuredPayloadBytes` accepted (the message size field's bound).
 * @internal
 */
export const MAX_STRUCTURED_PAYLOAD_BYTES = 0xffff_ffff;

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
  checkInteger('maxDepth', maxDepth, 1, MAX_PAYLOAD_DEPTH_LIMIT);
  const maxStructured = limits.maxStructuredPayloadBytes ?? DEFAULT_MAX_STRUCTURED_PAYLOAD_BYTES;
  checkInteger('maxStructuredPayloadBytes', maxStructured, 1, MAX_STRUCTURED_PAYLOAD_BYTES);
  if (kind === 'msgpack') return new MsgpackCodec(maxDepth, maxStructured);
  if (kind === 'json') return new JsonCodec(maxDepth);
  throw new InvalidConfigError(MessagingMessages.codecUnknown(kind));
}

/**
 * A size the encoding of `value` is known to reach before it is encoded, or 0 when none is known:
 * the bytes of a binary payload (a `Buffer` or typed array) under a built-in codec, which never
 * encodes one smaller (msgpack copies the bytes; JSON writes at least one character per byte for
 * elements of up to 4 bytes). Custom codecs may compress, and structured payloads have no cheap
 * exact bound: both count as 0. Lets a send bound to be refused skip the encoding.
 * @internal
 */
export function encodedSizeLowerBound(codec: PayloadCodec, value: unknown): number {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) return 0;
  if (codec instanceof MsgpackCodec) return value.byteLength;
  if (codec instanceof JsonCodec) {
    const elementBytes = (value as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    return elementBytes <= 4 ? value.byteLength : 0;
  }
  return 0;
}

/**
 * Encodes with any codec, custom ones included: what it throws becomes a {@link PayloadError}, and
 * a `Uint8Array` result is taken as a `Buffer` without copying. Returns the parts of the encoding,
 * to be written one after the other: the msgpack codec passes a binary payload through as its
 * header and its own bytes, never concatenated.
 * @throws PayloadError (`ERR_PAYLOAD_*`)
 * @internal
 */
export function encodePayload(codec: PayloadCodec, value: unknown): Buffer[] {
  if (codec instanceof MsgpackCodec) return codec.encodeParts(value);
  let bytes: unknown;
  try {
    bytes = codec.encode(value);
  } catch (error) {
    throw toPayloadError(error, 'ERR_PAYLOAD_ENCODE', codec.name);
  }
  if (Buffer.isBuffer(bytes)) return [bytes];
  if (bytes instanceof Uint8Array)
    return [Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)];
  throw new PayloadError(MessagingMessages.codecResult(codec.name, typeof bytes), {
    code: 'ERR_PAYLOAD_ENCODE',
  });
}

/**
 * Decodes with any codec, custom ones included: what it throws becomes a {@link PayloadError}.
 * @throws PayloadError (`ERR_PAYLOAD_*`)
 * @internal
 */
export function decodePayload(codec: PayloadCodec, bytes: Buffer): unknown {
  try {
    return codec.decode(bytes);
  } catch (error) {
    throw toPayloadError(error, 'ERR_PAYLOAD_DECODE', codec.name);
  }
}

/**
 * The structured payload limit: the option, checked against the transport's message limit, or
 * the default capped by that limit. A dist calls it at construction to refuse bad options early.
 * (Declared in the published types: the layer's index re-exports it, and a stripped declaration
 * would leave that re-export dangling.)
 * @throws InvalidConfigError naming `maxStructuredPayloadBytes` (or `maxMessageBytes`)
 */
export function structuredLimit(options: {
  readonly maxStructuredPayloadBytes?: number;
  readonly maxMessageBytes?: number;
}): number {
  const max = options.maxMessageBytes;
  if (max !== undefined) checkInteger('maxMessageBytes', max, 1);
  const given = options.maxStructuredPayloadBytes;
  if (given === undefined) return Math.min(DEFAULT_MAX_STRUCTURED_PAYLOAD_BYTES, max ?? Infinity);
  if (!isIntegerIn(given, 1, max ?? MAX_STRUCTURED_PAYLOAD_BYTES))
    throw new InvalidConfigError(
      MessagingMessages.structuredLimitInvalid(given, max ?? MAX_STRUCTURED_PAYLOAD_BYTES),
      {
        option: 'maxStructuredPayloadBytes',
      },
    );
  return given;
}
