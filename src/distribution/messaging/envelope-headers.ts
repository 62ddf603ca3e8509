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
    checkKey(key);
    const value: unknown = headers[key];
    if (typeof value !== 'string') throw new EnvelopeError(MessagingMessages.headerValue(key));
    const valueBytes = Buffer.byteLength(value, 'utf8');
    if (valueBytes > MAX_HEADER_VALUE_BYTES)
      throw new EnvelopeError(
        MessagingMessages.headerValueTooLong(key, valueBytes, MAX_HEADER_VALUE_BYTES),
      );
    values.push(value);
    total += 3 + key.length + valueBytes;
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
