/**
 * Turns a message into the NATS payloads carrying it: one frame, or fragments when it does not
 * fit the server's payload limit. Layout: `frame-format.ts`.
 */
import { type KeyObject, createSecretKey } from 'node:crypto';
import { InvalidConfigError, checkInteger } from '../../core/index.js';
import {
  FLAG_FRAGMENT,
  FLAG_MAC,
  FRAGMENT_FIELDS_BYTES,
  FRAME_MAGIC,
  FRAME_VERSION,
  HEADER_BYTES,
  MAX_FRAGMENTED_MESSAGE,
  MAX_NAME_BYTES,
  OFFSET_FLAGS,
  OFFSET_FRAGMENT,
  OFFSET_FROM,
  OFFSET_NAME_LENGTH,
  OFFSET_RESERVED,
  OFFSET_SEQ,
  OFFSET_TO,
} from './frame-format.js';
import { ProtocolMessages } from './protocol.messages.js';
import {
  INCARNATION_BYTES,
  INCARNATION_PATTERN,
  MAC_BYTES,
  checkIncarnation,
  macOf,
  writeSafeU64,
} from './wire.js';

/** How messages are authenticated: an HMAC per payload, or nothing (a trusted NATS account). */
export type MessageAuth = 'hmac' | 'none';

/** The smallest body room a fragment must have, so a tiny limit cannot make millions of them. */
const MIN_FRAGMENT_ROOM = 64;

/** What a {@link FrameWriter} is made for. */
export interface FrameWriterOptions {
  /** This node's name (1-255 bytes of UTF-8). */
  readonly self: string;
  /** This node start's incarnation ({@link newIncarnation}). */
  readonly incarnation: string;
  /** The message key (32 bytes from `deriveKey`); `null` for messageAuth `'none'`: no MAC. */
  readonly key: Buffer | null;
  /**
   * The largest NATS payload (the server's `max_payload`): longer messages are fragmented. A
   * function is read at each {@link FrameWriter.encode}: the limit becomes known (or changes)
   * when the client connects to a server, which may be after the writer was made.
   */
  readonly maxPayloadBytes: number | (() => number);
}

/** Destinations whose incarnation bytes are kept ready (cleared at the bound). */
const MAX_CACHED_DESTINATIONS = 10_000;

/**
 * Frames this node start's messages: one writer per start, shared by every destination, so its
 * sequence number (+1 per payload) only grows and a reader can refuse anything it has seen.
 * Synchronous and allocation-light: one buffer per payload, the body copied into it once, one
 * HMAC pass over it.
 */
export class FrameWriter {
  /** Header and MAC bytes of one whole-message payload from this node (a fragment adds 8). */
  readonly overheadBytes: number;

  /** The key made a `KeyObject` once (faster per MAC); `null`: no MAC. */
  private readonly key: KeyObject | null;
  private readonly maxPayloadBytes: () => number;
  /** The smallest `maxPayloadBytes` a fragment fits in (64 body bytes at least). */
  private readonly minPayloadBytes: number;
  /** Destination incarnations already checked, as their 8 wire bytes. */
  private readonly destinations = new Map<string, Buffer>();
  /** Header and name of a whole message, destination and seq left to fill. */
  private readonly wholeTemplate: Buffer;
  /** The same for a fragment (fragment fields left to fill). */
  private readonly fragmentTemplate: Buffer;
  private seq = 0;

  /**
   * @throws InvalidConfigError when the name is empty or over 255 bytes, the incarnation is not
   *   16 lowercase hex characters, or `maxPayloadBytes` (a number) leaves under 64 bytes for a
   *   fragment's body
   */
  constructor(o: FrameWriterOptions) {
    checkIncarnation('incarnation', o.incarnation);
    const name = Buffer.from(typeof o.self === 'string' ? o.self : '', 'utf8');
    if (name.length < 1 || name.length > MAX_NAME_BYTES)
      throw new InvalidConfigError(
        ProtocolMessages.unencodable('self', o.self, `1 to ${MAX_NAME_BYTES} bytes of UTF-8`),
        { option: 'self' },
      );
    const macBytes = o.key === null ? 0 : MAC_BYTES;
    this.overheadBytes = HEADER_BYTES + name.length + macBytes;
    this.minPayloadBytes = this.overheadBytes + FRAGMENT_FIELDS_BYTES + MIN_FRAGMENT_ROOM;
    const max = o.maxPayloadBytes;
    if (typeof max === 'function') this.maxPayloadBytes = max;
    else {
      checkInteger('maxPayloadBytes', max, this.minPayloadBytes, Number.MAX_SAFE_INTEGER);
      this.maxPayloadBytes = () => max;
    }
    this.key = o.key === null ? null : createSecretKey(o.key);
    const flags = o.key === null ? 0 : FLAG_MAC;
    this.wholeTemplate = template(flags, o.incarnation, name, HEADER_BYTES);
    this.fragmentTemplate = template(
      flags | FLAG_FRAGMENT,
      o.incarnation,
      name,
      HEADER_BYTES + FRAGMENT_FIELDS_BYTES,
    );
  }

  /**
   * The NATS payloads carrying the concatenation of `parts` to the start `toIncarnation`, in the
   * order they must be published (on one subject, synchronously): one payload when it fits
   * `maxPayloadBytes`, else fragments of at most that size. Each payload takes the next seq.
   * @throws InvalidConfigError when `toIncarnation` is not an incarnation, or the payload limit
   *   read now leaves under 64 bytes for a fragment's body
   * @throws RangeError when the message is over 4 GiB - 1 and must be fragmented
   */
  encode(toIncarnation: string, parts: readonly Buffer[]): Buffer[] {
    const to = this.destination(toIncarnation);
    let total = 0;
    for (const part of parts) total += part.length;
    const maxPayloadBytes = this.maxPayloadBytes();
    if (this.overheadBytes + total <= maxPayloadBytes) return [this.whole(to, parts, total)];
    if (!(maxPayloadBytes >= this.minPayloadBytes))
      checkInteger('maxPayloadBytes', maxPayloadBytes, this.minPayloadBytes);
    if (total > MAX_FRAGMENTED_MESSAGE)
      throw new RangeError(
        ProtocolMessages.unencodable('message', total, `up to ${MAX_FRAGMENTED_MESSAGE} bytes`),
      );
    return this.fragments(to, parts, total, maxPayloadBytes);
  }

  /** The wire bytes of a destination start, checked once per incarnation. */
  private destination(incarnation: string): Buffer {
    let bytes = this.destinations.get(incarnation);
    if (bytes !== undefined) return bytes;
    // Checked: Buffer.write(hex) would silently stop at the first bad character.
    if (!INCARNATION_PATTERN.test(incarnation)) checkIncarnation('toIncarnation', incarnation);
    bytes = Buffer.from(incarnation, 'hex');
    if (this.destinations.size >= MAX_CACHED_DESTINATIONS) this.destinations.clear();
    this.destinations.set(incarnation, bytes);
    return bytes;
  }

  private whole(to: Buffer, parts: readonly Buffer[], total: number): Buffer {
    const template = this.wholeTemplate;
    const macAt = template.length + total;
    const payload = Buffer.allocUnsafe(macAt + (this.key === null ? 0 : MAC_BYTES));
    template.copy(payload, 0);
    this.stamp(payload, to);
    let at = template.length;
    for (const part of parts) at += part.copy(payload, at);
    this.seal(payload, macAt);
    return payload;
  }

  private fragments(
    to: Buffer,
    parts: readonly Buffer[],
    total: number,
    maxPayloadBytes: number,
  ): Buffer[] {
    const template = this.fragmentTemplate;
    const macBytes = this.key === null ? 0 : MAC_BYTES;
    const room = maxPayloadBytes - template.length - macBytes;
    const payloads: Buffer[] = [];
    let partIndex = 0;
    let partAt = 0;
    for (let offset = 0; offset < total;) {
      const length = Math.min(room, total - offset);
      const macAt = template.length + length;
      const payload = Buffer.allocUnsafe(macAt + macBytes);
      template.copy(payload, 0);
      this.stamp(payload, to);
      payload.writeUInt32BE(total, OFFSET_FRAGMENT);
      payload.writeUInt32BE(offset, OFFSET_FRAGMENT + 4);
      // Copy `length` bytes from the parts, a fragment boundary may cut through a part.
      for (let at = template.length; at < macAt;) {
        const part = parts[partIndex]!;
        const copied = part.copy(payload, at, partAt, Math.min(part.length, partAt + macAt - at));
        at += copied;
        partAt += copied;
        if (partAt === part.length) {
          partIndex++;
          partAt = 0;
        }
      }
      this.seal(payload, macAt);
      payloads.push(payload);
      offset += length;
    }
    return payloads;
  }

  /** Writes the destination and the next seq. */
  private stamp(payload: Buffer, to: Buffer): void {
    to.copy(payload, OFFSET_TO, 0, INCARNATION_BYTES);
    writeSafeU64(payload, ++this.seq, OFFSET_SEQ);
  }

  private seal(payload: Buffer, macAt: number): void {
    if (this.key !== null) macOf(this.key, payload.subarray(0, macAt)).copy(payload, macAt);
  }
}

/** A payload's fixed bytes: header with the sender's start, and its name at `nameAt`. */
function template(flags: number, incarnation: string, name: Buffer, nameAt: number): Buffer {
  const bytes = Buffer.alloc(nameAt + name.length);
  bytes.writeUInt32BE(FRAME_MAGIC, 0);
  bytes[4] = FRAME_VERSION;
  bytes[OFFSET_FLAGS] = flags;
  bytes[OFFSET_NAME_LENGTH] = name.length;
  bytes[OFFSET_RESERVED] = 0;
  bytes.write(incarnation, OFFSET_FROM, INCARNATION_BYTES, 'hex');
  name.copy(bytes, nameAt);
  return bytes;
}
