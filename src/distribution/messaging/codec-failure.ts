/**
 * How a codec's failure becomes a {@link PayloadError}: the one mapping for the built-in codecs
 * (which also know when a payload is too deep) and the one for any codec, custom ones included.
 */
import { PayloadError } from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';

/**
 * A structural refusal inside a built-in codec (a scan or a depth check), turned into a
 * {@link PayloadError} by {@link codecFailure}; it never leaves the codec.
 * @internal
 */
export class Refusal extends Error {
  constructor(
    /** Whether the payload is refused for its depth (`ERR_PAYLOAD_TOO_DEEP`). */
    readonly tooDeep: boolean,
    /** Why, from the catalog; ends a `decodeFailed`/`encodeFailed` text. */
    why: string,
  ) {
    super(why);
  }
}

/**
 * A payload over a built-in codec's size limit for structured payloads, turned into a
 * {@link PayloadError} `ERR_PAYLOAD_TOO_LARGE` by {@link codecFailure}; it never leaves the codec.
 * @internal
 */
export class SizeRefusal extends Error {
  constructor(
    /** The payload's size in bytes, or a lower bound of it when it was refused before encoding. */
    readonly bytes: number,
    /** The limit it passed. */
    readonly limit: number,
  ) {
    super('too large');
  }
}

/**
 * A message that would decode into more objects than its size allows (see `msgpack-scanner.ts`),
 * turned into a {@link PayloadError} `ERR_PAYLOAD_TOO_COSTLY` by {@link codecFailure}.
 * @internal
 */
export class CostRefusal extends Error {
  constructor(
    /** The cost reached when the scan stopped. */
    readonly cost: number,
    /** The message's budget. */
    readonly budget: number,
    /** The message's size in bytes. */
    readonly bytes: number,
  ) {
    super('too costly');
  }
}

/** Whether `error` is V8's stack overflow: a payload too deep for a recursive encoder. */
function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The typed error of a failed encode or decode in a built-in codec: too deep, or malformed /
 * unencodable.
 * @internal
 */
export function codecFailure(
  error: unknown,
  codec: string,
  maxDepth: number,
  direction: 'encode' | 'decode',
): PayloadError {
  const encoding = direction === 'encode';
  if (error instanceof CostRefusal) {
    return new PayloadError(
      MessagingMessages.tooCostly(codec, error.cost, error.budget, error.bytes),
      { code: 'ERR_PAYLOAD_TOO_COSTLY', bytes: error.bytes },
    );
  }
  if (error instanceof SizeRefusal) {
    const { bytes, limit } = error;
    return new PayloadError(
      encoding
        ? MessagingMessages.structuredTooLarge(codec, bytes, limit)
        : MessagingMessages.structuredTooLargeReceived(codec, bytes, limit),
      { code: 'ERR_PAYLOAD_TOO_LARGE', bytes, limit },
    );
  }
  if ((error instanceof Refusal && error.tooDeep) || isStackOverflow(error)) {
    return new PayloadError(MessagingMessages.tooDeep(codec, maxDepth, encoding), {
      code: 'ERR_PAYLOAD_TOO_DEEP',
    });
  }
  let why = reason(error);
  // msgpackr's own wording for a symbol; the catalog's names what cannot be sent.
  if (encoding && /^Unknown type: symbol/.test(why))
    why = MessagingMessages.unencodable('symbol', '');
  return encoding
    ? new PayloadError(MessagingMessages.encodeFailed(codec, why), {
        code: 'ERR_PAYLOAD_ENCODE',
        cause: error,
      })
    : new PayloadError(MessagingMessages.decodeFailed(codec, why), {
        code: 'ERR_PAYLOAD_DECODE',
        cause: error,
      });
}

/**
 * What any codec's throw becomes: its own {@link PayloadError} as it is, anything else wrapped
 * (a custom codec may throw whatever it likes).
 * @internal
 */
export function toPayloadError(
  error: unknown,
  code: 'ERR_PAYLOAD_ENCODE' | 'ERR_PAYLOAD_DECODE',
  codec: string,
): PayloadError {
  if (error instanceof PayloadError) return error;
  const why = reason(error);
  return new PayloadError(
    code === 'ERR_PAYLOAD_ENCODE'
      ? MessagingMessages.encodeFailed(codec, why)
      : MessagingMessages.decodeFailed(codec, why),
    { code, cause: error },
  );
}
