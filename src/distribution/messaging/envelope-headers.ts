/**
 * The headers an instrumentation hook carries beside a message (a W3C trace context, say), as
 * envelope kinds 5 and 6 put them on the wire, between the topic and the body:
 *
 * ```
 * count: uint8 | (keyLength: uint8 | key: [a-z0-9_-] | valueLength: uint16 BE | value: UTF-8)*
 * ```
 *
 * Bounded so that a peer cannot make a node hold much for them: at most {@link MAX_HEADERS}
 * headers, keys of at most {@link MAX_HEADER_KEY_BYTES} bytes, values of at most
 * {@link MAX_HEADER_VALUE_BYTES}, the whole block at most {@link MAX_HEADER_BYTES}.
 */
import { isUtf8 } from 'node:buffer';
import type { MessageHeaders } from '../../core/index.js';
import { EnvelopeError } from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';

/** Most headers on one message. */
export const MAX_HEADERS = 16;

/** Longest header key, in bytes (keys are lower-case ASCII letters, digits, `-` and `_`). */
export const MAX_HEADER_KEY_BYTES = 64;

/** Longest header value, in UTF-8 bytes. */
export const MAX_HEADER_VALUE_BYTES = 4096;

/** Largest encoded header block, count byte included. */
export const MAX_HEADER_BYTES = 8192;

const KEY = /^[a-z0-9_-]+$/;

/**
 * Encodes headers as the block kinds 5 and 6 carry.
 * @throws EnvelopeError (`ERR_BAD_ENVELOPE`) naming the bound a header breaks: too many, a key
 * that is empty, too long or not `[a-z0-9_-]`, a value that is not a string or too long, or a
 * block over {@link MAX_HEADER_BYTES}.
 */
export function encodeHeaders(headers: MessageHeaders): Buffer {
  const keys = Object.keys(headers);
  if (keys.length > MAX_HEADERS)
    throw new EnvelopeError(MessagingMessages.headerCount(keys.length, MAX_HEADERS));
  let total = 1;
  const values: string[] = [];
  for (const key of keys) {
    const value = headers[key];
    const why = headerProblem(key, value as unknown);
    if (why !== undefined) throw new EnvelopeError(why);
    values.push(value);
    total += 3 + key.length + Buffer.byteLength(value, 'utf8');
  }
  if (total > MAX_HEADER_BYTES)
    throw new EnvelopeError(MessagingMessages.headersTooLarge(total, MAX_HEADER_BYTES));
  const block = Buffer.allocUnsafe(total);
  block[0] = keys.length;
  let at = 1;
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index];
    block[at++] = key.length;
    at += block.write(key, at, 'latin1');
    const length = block.write(values[index], at + 2, 'utf8');
    block.writeUInt16BE(length, at);
    at += 2 + length;
  }
  return block;
}

/**
 * The headers to send out of those the hooks set, each left out alone when it breaks a bound:
 * a key that is empty, too long or not `[a-z0-9_-]`, a value that is not a string or over
 * {@link MAX_HEADER_VALUE_BYTES}. Of the rest, the first {@link MAX_HEADERS} (in key order) are
 * kept, and while they encode over {@link MAX_HEADER_BYTES} the last is left out: a large
 * `baggage` set after it never costs the `traceparent`.
 * @returns the headers kept (no prototype), and why the first one left out was (undefined when
 * none was).
 */
export function headersWithinBounds(headers: MessageHeaders): {
  readonly kept: MessageHeaders;
  readonly dropped: string | undefined;
} {
  const kept: Record<string, string> = Object.create(null) as Record<string, string>;
  const keys: string[] = [];
  const sizes: number[] = [];
  let dropped: string | undefined;
  let total = 1;
  for (const key of Object.keys(headers)) {
    const why = headerProblem(key, headers[key] as unknown);
    if (why !== undefined) {
      dropped ??= why;
      continue;
    }
    if (sizes.length === MAX_HEADERS) {
      dropped ??= MessagingMessages.headerCount(Object.keys(headers).length, MAX_HEADERS);
      continue;
    }
    const size = 3 + key.length + Buffer.byteLength(headers[key], 'utf8');
    kept[key] = headers[key];
    keys.push(key);
    sizes.push(size);
    total += size;
  }
  if (total > MAX_HEADER_BYTES) {
    dropped ??= MessagingMessages.headersTooLarge(total, MAX_HEADER_BYTES);
    for (let index = keys.length - 1; total > MAX_HEADER_BYTES; index--) {
      total -= sizes[index];
      delete kept[keys[index]];
    }
  }
  return { kept, dropped };
}

/** Why one header cannot be sent; undefined when it can. */
function headerProblem(key: string, value: unknown): string | undefined {
  if (key.length === 0 || key.length > MAX_HEADER_KEY_BYTES || !KEY.test(key))
    return MessagingMessages.headerKey(key, MAX_HEADER_KEY_BYTES);
  if (typeof value !== 'string') return MessagingMessages.headerValue(key);
  const valueBytes = Buffer.byteLength(value, 'utf8');
  if (valueBytes > MAX_HEADER_VALUE_BYTES)
    return MessagingMessages.headerValueTooLong(key, valueBytes, MAX_HEADER_VALUE_BYTES);
  return undefined;
}

/**
 * Decodes a header block received in an envelope of kind 5 or 6; the result has no prototype
 * (a key may be `__proto__`).
 * @throws EnvelopeError (`ERR_BAD_ENVELOPE`) for a block that is truncated, longer than its
 * headers, over a bound, or with a bad or repeated key or a value that is not UTF-8.
 */
export function decodeHeaders(block: Buffer): MessageHeaders {
  if (block.length < 1 || block.length > MAX_HEADER_BYTES)
    throw new EnvelopeError(MessagingMessages.headersTooLarge(block.length, MAX_HEADER_BYTES));
  const count = block[0];
  if (count > MAX_HEADERS)
    throw new EnvelopeError(MessagingMessages.headerCount(count, MAX_HEADERS));
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  let at = 1;
  for (let index = 0; index < count; index++) {
    if (at + 1 > block.length) throw truncated();
    const keyLength = block[at++];
    if (at + keyLength + 2 > block.length) throw truncated();
    const key = block.toString('latin1', at, at + keyLength);
    checkKey(key);
    if (Object.hasOwn(headers, key)) throw new EnvelopeError(MessagingMessages.headerRepeated(key));
    at += keyLength;
    const valueLength = block.readUInt16BE(at);
    at += 2;
    if (valueLength > MAX_HEADER_VALUE_BYTES)
      throw new EnvelopeError(
        MessagingMessages.headerValueTooLong(key, valueLength, MAX_HEADER_VALUE_BYTES),
      );
    if (at + valueLength > block.length) throw truncated();
    const raw = block.subarray(at, at + valueLength);
    if (!isUtf8(raw)) throw new EnvelopeError(MessagingMessages.headerValueUtf8(key));
    headers[key] = raw.toString('utf8');
    at += valueLength;
  }
  if (at !== block.length)
    throw new EnvelopeError(MessagingMessages.headersTrailing(block.length - at));
  return headers;
}

function checkKey(key: string): void {
  if (key.length === 0 || key.length > MAX_HEADER_KEY_BYTES || !KEY.test(key))
    throw new EnvelopeError(MessagingMessages.headerKey(key, MAX_HEADER_KEY_BYTES));
}

function truncated(): EnvelopeError {
  return new EnvelopeError(MessagingMessages.headersTruncated());
}
