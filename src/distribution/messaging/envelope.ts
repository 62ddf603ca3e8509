/**
 * The binary envelope of one message, so a transport only moves bytes:
 *
 * ```
 * kind: uint8 | requestId: uint32 BE | topicLength: uint16 BE | topic: UTF-8 | body
 * ```
 *
 * Kinds 5 and 6 (a send, a request, with headers) carry a header block between topic and body:
 *
 * ```
 * kind | requestId | topicLength | topic | headersLength: uint16 BE | headers | body
 * ```
 *
 * (the block's layout in `envelope-headers.ts`). They go only to a peer whose link announced the
 * `headers` capability: an older node would drop them as unknown kinds.
 *
 * `kind` is one of {@link EnvelopeKind}. `requestId` is 0 for a one-way send and pairs a response
 * with its request otherwise. A response carries an empty topic (the requester knows it). The body
 * is the payload as encoded by the codec (for an error response, a small JSON object); it runs to
 * the end of the message, whose length the transport's framing gives.
 */
import { isUtf8 } from 'node:buffer';
import { isIntegerIn } from '../../core/index.js';
import { MAX_HEADER_BYTES } from './envelope-headers.js';
import { EnvelopeError, InvalidTopicError } from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';

/** Kinds of message. */
export const EnvelopeKind = {
  /** One-way message; no answer. */
  Send: 1,
  /** Request awaiting a response with the same request id. */
  Request: 2,
  /** Successful answer to a request; the body is the handler's encoded result. */
  Response: 3,
  /** Failed answer to a request; the body describes the error. */
  ErrorResponse: 4,
  /** On the wire only: a send with headers (decoded as `Send` with `headers`). */
  SendWithHeaders: 5,
  /** On the wire only: a request with headers (decoded as `Request` with `headers`). */
  RequestWithHeaders: 6,
} as const;

/** One of the {@link EnvelopeKind} values. */
export type EnvelopeKind = (typeof EnvelopeKind)[keyof typeof EnvelopeKind];

/** Bytes of the fixed header, before the topic. */
export const ENVELOPE_HEADER_BYTES = 7;

/** Highest request id: ids are uint32 on the wire. */
export const MAX_REQUEST_ID = 0xffff_ffff;

/** Longest topic, in UTF-8 bytes. */
export const MAX_TOPIC_BYTES = 1024;

/**
 * A decoded envelope. `body` and `headers` are views into the received bytes, not copies. Kinds
 * 5 and 6 are reported as `Send` and `Request` with their (still encoded) `headers`.
 */
export interface Envelope {
  readonly kind: EnvelopeKind;
  readonly requestId: number;
  readonly topic: string;
  readonly body: Buffer;
  /** The encoded header block of a kind 5 or 6 envelope; decode it with `decodeHeaders`. */
  readonly headers: Buffer | undefined;
}

/**
 * Encodes an envelope as parts, the header (with the topic) then the body, itself one buffer or
 * several parts (a binary payload's header and bytes), so a transport can write them with
 * `writev` without copying a large body. With `headers` (an encoded header block), a `Send` or a
 * `Request` is written as kind 5 or 6.
 * @throws InvalidTopicError when `topic` is not a string of at most {@link MAX_TOPIC_BYTES} bytes;
 * EnvelopeError (`ERR_BAD_ENVELOPE`) for an unknown kind, headers with a kind other than 1 or 2,
 * a header block over `MAX_HEADER_BYTES`, or a request id that is not a uint32.
 */
export function encodeEnvelope(
  kind: EnvelopeKind,
  requestId: number,
  topic: string,
  body: Buffer | readonly Buffer[],
  headers?: Buffer,
): Buffer[] {
  if (headers === undefined ? kind < 1 || kind > 4 : kind !== 1 && kind !== 2)
    throw new EnvelopeError(MessagingMessages.envelopeKindInvalid(kind));
  if (headers !== undefined && headers.length > MAX_HEADER_BYTES)
    throw new EnvelopeError(
      MessagingMessages.envelopeHeadersTooLong(headers.length, MAX_HEADER_BYTES),
    );
  if (!isIntegerIn(requestId, 0, MAX_REQUEST_ID))
    throw new EnvelopeError(MessagingMessages.envelopeRequestIdInvalid(requestId, MAX_REQUEST_ID));
  if (typeof topic !== 'string')
    throw new InvalidTopicError(MessagingMessages.topicInvalid(topic, MAX_TOPIC_BYTES));
  const single = Buffer.isBuffer(body);
  if (!single && !allBuffers(body))
    throw new EnvelopeError(MessagingMessages.envelopeBodyInvalid());
  const topicBytes = topicByteLength(topic);
  if (topicBytes > MAX_TOPIC_BYTES)
    throw new InvalidTopicError(MessagingMessages.topicInvalid(topic, MAX_TOPIC_BYTES));
  const headerBytes = headers === undefined ? 0 : 2 + headers.length;
  const header = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + topicBytes + headerBytes);
  header[0] = headers === undefined ? kind : kind + 4;
  header[1] = requestId >>> 24;
  header[2] = (requestId >>> 16) & 0xff;
  header[3] = (requestId >>> 8) & 0xff;
  header[4] = requestId & 0xff;
  header[5] = topicBytes >>> 8;
  header[6] = topicBytes & 0xff;
  if (topicBytes === topic.length) {
    // ASCII (one byte per unit): copied here, cheaper than a native write for a short topic
    for (let i = 0; i < topicBytes; i++) header[ENVELOPE_HEADER_BYTES + i] = topic.charCodeAt(i);
  } else header.write(topic, ENVELOPE_HEADER_BYTES, 'utf8');
  if (headers !== undefined) {
    const at = ENVELOPE_HEADER_BYTES + topicBytes;
    header.writeUInt16BE(headers.length, at);
    headers.copy(header, at + 2);
  }
  if (single) return [header, body];
  const parts: Buffer[] = [header];
  for (const part of body as readonly Buffer[]) parts.push(part);
  return parts;
}

/** Whether `body` is an array of buffers. */
function allBuffers(body: unknown): boolean {
  if (!Array.isArray(body)) return false;
  for (const part of body) if (!Buffer.isBuffer(part)) return false;
  return true;
}

/** Longest topic measured in JavaScript (ASCII topics); longer ones ask `Buffer.byteLength`. */
const SHORT_TOPIC = 64;

/** UTF-8 length of `topic`; a short ASCII topic is measured without a native call. */
function topicByteLength(topic: string): number {
  const length = topic.length;
  if (length > SHORT_TOPIC) return Buffer.byteLength(topic, 'utf8');
  for (let i = 0; i < length; i++)
    if (topic.charCodeAt(i) >= 0x80) return Buffer.byteLength(topic, 'utf8');
  return length;
}

/** Total length of the parts of an envelope, e.g. for a frame header. */
export function envelopeLength(parts: readonly Uint8Array[]): number {
  let length = 0;
  for (const part of parts) length += part.length;
  return length;
}

/**
 * Decodes one whole message.
 * @throws EnvelopeError (`ERR_BAD_ENVELOPE`) when the bytes are truncated, the kind is unknown, the
 * topic is longer than {@link MAX_TOPIC_BYTES}, than the message, or not valid UTF-8, or the
 * header block of kind 5 or 6 is longer than `MAX_HEADER_BYTES` or than the message (its
 * contents are checked by `decodeHeaders`, only when something reads them).
 */
export function decodeEnvelope(bytes: Buffer): Envelope {
  if (bytes.length < ENVELOPE_HEADER_BYTES)
    throw new EnvelopeError(
      MessagingMessages.envelopeTruncated(bytes.length, ENVELOPE_HEADER_BYTES),
    );
  const kind = bytes[0];
  if (kind < 1 || kind > 6) throw new EnvelopeError(MessagingMessages.envelopeKind(kind));
  const requestId = bytes.readUInt32BE(1);
  const topicBytes = bytes.readUInt16BE(5);
  if (topicBytes > MAX_TOPIC_BYTES)
    throw new EnvelopeError(MessagingMessages.envelopeTopicTooLong(topicBytes, MAX_TOPIC_BYTES));
  const topicEnd = ENVELOPE_HEADER_BYTES + topicBytes;
  let bodyStart = topicEnd + (kind > 4 ? 2 : 0);
  if (bodyStart > bytes.length)
    throw new EnvelopeError(MessagingMessages.envelopeTruncated(bytes.length, bodyStart));
  let topic = '';
  if (topicBytes > 0) {
    topic = readTopic(bytes, topicEnd);
  }
  let headers: Buffer | undefined;
  if (kind > 4) {
    const headersLength = bytes.readUInt16BE(topicEnd);
    if (headersLength > MAX_HEADER_BYTES)
      throw new EnvelopeError(
        MessagingMessages.envelopeHeadersTooLong(headersLength, MAX_HEADER_BYTES),
      );
    headers = bytes.subarray(bodyStart, bodyStart + headersLength);
    bodyStart += headersLength;
    if (bodyStart > bytes.length)
      throw new EnvelopeError(MessagingMessages.envelopeTruncated(bytes.length, bodyStart));
  }
  return {
    kind: (kind > 4 ? kind - 4 : kind) as EnvelopeKind,
    requestId,
    topic,
    body: bytes.subarray(bodyStart),
    headers,
  };
}

/**
 * The topic at {@link ENVELOPE_HEADER_BYTES} up to `end`: a short ASCII one read in JavaScript
 * (cheaper than a view, a UTF-8 check and a native decode), any other checked as UTF-8.
 * @throws EnvelopeError when the bytes are not valid UTF-8
 */
function readTopic(bytes: Buffer, end: number): string {
  if (end - ENVELOPE_HEADER_BYTES <= SHORT_TOPIC) {
    let topic = '';
    let i = ENVELOPE_HEADER_BYTES;
    for (; i < end; i++) {
      const c = bytes[i];
      if (c >= 0x80) break;
      topic += String.fromCharCode(c);
    }
    if (i === end) return topic;
  }
  const raw = bytes.subarray(ENVELOPE_HEADER_BYTES, end);
  if (!isUtf8(raw)) throw new EnvelopeError(MessagingMessages.envelopeTopicUtf8());
  return raw.toString('utf8');
}
