/**
 * Checks and reassembles the frames arriving on this node start's inbox. Layout:
 * `frame-format.ts`.
 */
import { isUtf8 } from 'node:buffer';
import { type KeyObject, createSecretKey, timingSafeEqual } from 'node:crypto';
import { checkInteger } from '../../core/index.js';
import {
  FLAG_FRAGMENT,
  FLAG_MAC,
  FRAGMENT_FIELDS_BYTES,
  FRAME_MAGIC,
  FRAME_VERSION,
  HEADER_BYTES,
  KNOWN_FLAGS,
  OFFSET_FLAGS,
  OFFSET_FRAGMENT,
  OFFSET_FROM,
  OFFSET_NAME_LENGTH,
  OFFSET_RESERVED,
  OFFSET_SEQ,
  OFFSET_TO,
} from './frame-format.js';
import { IncarnationHistory } from './incarnation-history.js';
import {
  INCARNATION_BYTES,
  MAC_BYTES,
  asBuffer,
  checkIncarnation,
  macOf,
  readSafeU64,
} from './wire.js';

/** Why a frame was refused. */
export type FrameRefusal =
  /** Not a frame of this version, or its fields do not fit its size. */
  | 'malformed'
  /** The MAC does not match: another key, or forged or altered bytes. */
  | 'badMac'
  /** A seq not above the last seen from that sender start (or an older remembered start). */
  | 'replayed'
  /** Addressed to another start (of this node or another): a frame replayed to the wrong inbox. */
  | 'wrongDestination'
  /** The message is over `maxMessageBytes` (refused on its first fragment, nothing buffered). */
  | 'tooLarge'
  /** A fragment that does not continue the message under way from its sender (one was lost). */
  | 'fragmentOrder'
  /** Signed while this reader expects no MAC, or unsigned while it expects one. */
  | 'authMismatch';

/** What {@link FrameReader.accept} made of one payload. */
export type FrameResult =
  | {
      readonly kind: 'message';
      readonly from: string;
      readonly fromIncarnation: string;
      /** The message; a view into the payload for a whole one (no copy), a new buffer if fragmented. */
      readonly body: Buffer;
    }
  /** A fragment taken; the message is not complete yet. */
  | { readonly kind: 'partial' }
  | { readonly kind: 'refused'; readonly reason: FrameRefusal };

/** What a {@link FrameReader} is made for. */
export interface FrameReaderOptions {
  /** This node start's incarnation: frames addressed to another are refused. */
  readonly incarnation: string;
  /** The message key; `null` for messageAuth `'none'`. Must match the senders'. */
  readonly key: Buffer | null;
  /** The longest message taken (fragmented or not); a longer one is refused, never buffered. */
  readonly maxMessageBytes: number;
  /** Senders remembered at once (default 10 000); the least recently heard is forgotten first. */
  readonly maxSenders?: number;
  /**
   * Most bytes of unfinished messages buffered at once, all senders together (default twice
   * `maxMessageBytes`): a fragment that would go over drops the oldest unfinished messages first.
   */
  readonly maxPartialBytes?: number;
  /**
   * An unfinished message with no new fragment for this long (ms) is dropped when
   * {@link FrameReader.sweep} runs; unset: never by age.
   */
  readonly partialTimeoutMs?: number;
  /** Monotonic ms; `performance.now` by default. */
  readonly clock?: () => number;
}

/** The default of {@link FrameReaderOptions.maxSenders}. */
export const DEFAULT_MAX_SENDERS = 10_000;

/** A message being reassembled, or skipped (over the limit), from one sender. */
interface Reassembly {
  readonly incarnation: string;
  readonly total: number;
  /** Bytes of the message seen so far; the next fragment's offset. */
  received: number;
  /** The seq the next fragment must have. */
  nextSeq: number;
  /** The fragments' bodies (views of their payloads); `undefined` while skipping a message. */
  readonly chunks: Buffer[] | undefined;
  /** When its last fragment arrived (monotonic ms). */
  lastAt: number;
  /** Bytes it holds in `chunks` (counted in the reader's buffered partial bytes). */
  bytes: number;
}

interface Sender {
  readonly from: string;
  readonly history: IncarnationHistory;
  reassembly: Reassembly | undefined;
}

/**
 * Checks each payload on this start's inbox, cheapest checks first and the MAC (constant time)
 * before any string is decoded, then refuses replays and reassembles fragments. Never throws.
 *
 * Replays: the MAC covers the sender's name and start, the destination start and the seq, so a
 * captured frame cannot be moved to another inbox (`wrongDestination`) nor played again here: the
 * seq must be above the last seen from its sender start (`replayed`). The last seqs of the last 4
 * starts of each sender are remembered; a sender forgotten (by {@link forget}, or least recently
 * heard at the `maxSenders` bound) can have its earlier frames to this start replayed once.
 *
 * Fragments: a sender's fragments must arrive back to back, with consecutive seqs and offsets; a
 * gap (NATS dropped one) drops the message under way (`fragmentOrder` for what follows, or the
 * next whole message or first fragment simply replaces it; counted in {@link droppedPartials}).
 * At most one message per sender is buffered, up to `maxMessageBytes`; the first fragment of a
 * longer one is refused (`tooLarge`) and its followers skipped with the same reason. All senders
 * together buffer at most `maxPartialBytes` (the oldest unfinished message dropped first to make
 * room); {@link dropPartial} frees a dead sender's at once and {@link sweep} those gone stale.
 */
export class FrameReader {
  private readonly incarnation: Buffer;
  /** The key made a `KeyObject` once (faster per MAC); `null`: no MAC. */
  private readonly key: KeyObject | null;
  private readonly maxMessageBytes: number;
  private readonly maxSenders: number;
  private readonly senders = new Map<string, Sender>();
  /** Senders with a message under way, oldest started first. */
  private readonly partials = new Set<Sender>();
  private partialBytes = 0;
  private readonly maxPartialBytes: number;
  private readonly partialTimeoutMs: number;
  private readonly clock: () => number;
  /** The sender touched last: a burst from one sender skips the LRU reordering. */
  private lastSender: string | undefined;
  private dropped = 0;

  /** @throws InvalidConfigError for an incarnation or a bound out of range */
  constructor(o: FrameReaderOptions) {
    checkIncarnation('incarnation', o.incarnation);
    checkInteger('maxMessageBytes', o.maxMessageBytes, 1, Number.MAX_SAFE_INTEGER);
    const maxSenders = o.maxSenders ?? DEFAULT_MAX_SENDERS;
    checkInteger('maxSenders', maxSenders, 1, Number.MAX_SAFE_INTEGER);
    this.incarnation = Buffer.from(o.incarnation, 'hex');
    this.key = o.key === null ? null : createSecretKey(o.key);
    this.maxMessageBytes = o.maxMessageBytes;
    this.maxSenders = maxSenders;
    this.maxPartialBytes = o.maxPartialBytes ?? 2 * o.maxMessageBytes;
    checkInteger('maxPartialBytes', this.maxPartialBytes, 1, Number.MAX_SAFE_INTEGER);
    this.partialTimeoutMs = o.partialTimeoutMs ?? Number.POSITIVE_INFINITY;
    this.clock = o.clock ?? (() => performance.now());
  }

  /** Bytes of unfinished messages buffered now. */
  get bufferedPartialBytes(): number {
    return this.partialBytes;
  }

  /**
   * Drops the message under way from `from`, if any, keeping its seqs (unlike {@link forget},
   * which would let its earlier frames be replayed): for a sender declared down.
   */
  dropPartial(from: string): void {
    const sender = this.senders.get(from);
    if (sender?.reassembly !== undefined) this.drop(sender);
  }

  /** Drops the unfinished messages with no fragment for `partialTimeoutMs`. */
  sweep(now = this.clock()): void {
    for (const sender of this.partials)
      if (now - sender.reassembly!.lastAt > this.partialTimeoutMs) this.drop(sender);
  }

  /** Messages under way dropped because a fragment was missing (or a sender was forgotten). */
  get droppedPartials(): number {
    return this.dropped;
  }

  /** Senders remembered now. */
  get size(): number {
    return this.senders.size;
  }

  /** Checks one payload of this start's inbox. Never throws. */
  accept(payload: Uint8Array): FrameResult {
    const length = payload.length;
    if (length < HEADER_BYTES + 1) return MALFORMED;
    const frame = asBuffer(payload);
    if (frame.readUInt32BE(0) !== FRAME_MAGIC || frame[4] !== FRAME_VERSION) return MALFORMED;
    const flags = frame[OFFSET_FLAGS]!;
    if ((flags & ~KNOWN_FLAGS) !== 0 || frame[OFFSET_RESERVED] !== 0) return MALFORMED;
    if ((flags & FLAG_MAC) === 0 ? this.key !== null : this.key === null) return AUTH_MISMATCH;
    const fragment = (flags & FLAG_FRAGMENT) !== 0;
    const nameAt = fragment ? HEADER_BYTES + FRAGMENT_FIELDS_BYTES : HEADER_BYTES;
    const nameLength = frame[OFFSET_NAME_LENGTH]!;
    const bodyAt = nameAt + nameLength;
    const macAt = this.key === null ? length : length - MAC_BYTES;
    if (nameLength === 0 || bodyAt > macAt) return MALFORMED;
    if (
      this.key !== null &&
      !timingSafeEqual(macOf(this.key, frame.subarray(0, macAt)), frame.subarray(macAt))
    )
      return BAD_MAC;
    // After the MAC, so a forged frame counts as forged whatever its destination says.
    if (frame.compare(this.incarnation, 0, INCARNATION_BYTES, OFFSET_TO, OFFSET_TO + 8) !== 0)
      return WRONG_DESTINATION;
    const seq = readSafeU64(frame, OFFSET_SEQ);
    if (seq < 1) return MALFORMED;
    const nameBytes = frame.subarray(nameAt, bodyAt);
    if (!isUtf8(nameBytes)) return MALFORMED;
    const from = nameBytes.toString('utf8');
    const fromIncarnation = frame.toString('hex', OFFSET_FROM, OFFSET_FROM + INCARNATION_BYTES);
    const sender = this.sender(from, fromIncarnation, seq);
    if (sender === undefined) return REPLAYED;
    if (!fragment) {
      if (sender.reassembly !== undefined) this.drop(sender);
      if (macAt - bodyAt > this.maxMessageBytes) return TOO_LARGE;
      return { kind: 'message', from, fromIncarnation, body: frame.subarray(bodyAt, macAt) };
    }
    return this.fragment(frame, sender, from, fromIncarnation, seq, bodyAt, macAt);
  }

  /**
   * Forgets `from` (its seqs and any message under way). Its earlier frames to this start,
   * replayed, would be accepted again: call it for a node gone for good, to free memory sooner
   * than the `maxSenders` bound does.
   */
  forget(from: string): void {
    const sender = this.senders.get(from);
    if (sender === undefined) return;
    if (sender.reassembly !== undefined) this.drop(sender);
    this.senders.delete(from);
    if (this.lastSender === from) this.lastSender = undefined;
  }

  /**
   * The sender's state after taking `seq` from its start `incarnation`; `undefined` when `seq` is
   * not news (a replay).
   */
  private sender(from: string, incarnation: string, seq: number): Sender | undefined {
    let sender = this.senders.get(from);
    if (sender === undefined) {
      sender = {
        from,
        history: new IncarnationHistory(incarnation, seq),
        reassembly: undefined,
      };
      this.senders.set(from, sender);
      this.lastSender = from;
      if (this.senders.size > this.maxSenders) {
        const oldest = this.senders.keys().next().value!;
        this.forget(oldest);
      }
      return sender;
    }
    if (!sender.history.offer(incarnation, seq)) return undefined;
    if (this.lastSender !== from) {
      // Delete and set again: the map stays least recently heard first.
      this.senders.delete(from);
      this.senders.set(from, sender);
      this.lastSender = from;
    }
    return sender;
  }

  private fragment(
    frame: Buffer,
    sender: Sender,
    from: string,
    fromIncarnation: string,
    seq: number,
    bodyAt: number,
    macAt: number,
  ): FrameResult {
    const total = frame.readUInt32BE(OFFSET_FRAGMENT);
    const offset = frame.readUInt32BE(OFFSET_FRAGMENT + 4);
    const length = macAt - bodyAt;
    if (length === 0 || offset + length > total) {
      if (sender.reassembly !== undefined) this.drop(sender);
      return MALFORMED;
    }
    if (offset === 0) {
      // A new message: whatever was under way lost its end.
      if (sender.reassembly !== undefined) this.drop(sender);
      const skipped = total > this.maxMessageBytes;
      const chunks = skipped ? undefined : [frame.subarray(bodyAt, macAt)];
      if (length === total)
        return skipped ? TOO_LARGE : this.complete(from, fromIncarnation, chunks!, total);
      sender.reassembly = {
        incarnation: fromIncarnation,
        total,
        received: length,
        nextSeq: seq + 1,
        chunks,
        lastAt: this.clock(),
        bytes: 0,
      };
      this.partials.add(sender);
      if (skipped) return TOO_LARGE;
      this.buffered(sender, length);
      return sender.reassembly === undefined ? PARTIAL_DROPPED : PARTIAL;
    }
    const r = sender.reassembly;
    if (
      r === undefined ||
      r.incarnation !== fromIncarnation ||
      r.nextSeq !== seq ||
      r.received !== offset ||
      r.total !== total
    ) {
      if (r !== undefined) this.drop(sender);
      return FRAGMENT_ORDER;
    }
    r.received += length;
    r.nextSeq++;
    r.lastAt = this.clock();
    const done = r.received === total;
    if (r.chunks === undefined) {
      if (done) this.release(sender);
      return TOO_LARGE;
    }
    r.chunks.push(frame.subarray(bodyAt, macAt));
    if (done) {
      this.release(sender);
      return this.complete(from, fromIncarnation, r.chunks, total);
    }
    this.buffered(sender, length);
    return sender.reassembly === undefined ? PARTIAL_DROPPED : PARTIAL;
  }

  private complete(
    from: string,
    fromIncarnation: string,
    chunks: Buffer[],
    total: number,
  ): FrameResult {
    // One copy, at the end: the fragments stay views of their payloads until then.
    return { kind: 'message', from, fromIncarnation, body: Buffer.concat(chunks, total) };
  }

  /** `bytes` more buffered for `sender`: over the global cap, the oldest partials go first. */
  private buffered(sender: Sender, bytes: number): void {
    sender.reassembly!.bytes += bytes;
    this.partialBytes += bytes;
    for (const oldest of this.partials) {
      if (this.partialBytes <= this.maxPartialBytes) break;
      this.drop(oldest);
    }
  }

  /** The message under way of `sender` is done (complete or skipped to its end). */
  private release(sender: Sender): void {
    this.partialBytes -= sender.reassembly!.bytes;
    sender.reassembly = undefined;
    this.partials.delete(sender);
  }

  private drop(sender: Sender): void {
    const r = sender.reassembly!;
    // A skipped message (over the limit) was already refused: not counted again.
    if (r.chunks !== undefined) this.dropped++;
    this.partialBytes -= r.bytes;
    sender.reassembly = undefined;
    this.partials.delete(sender);
  }
}

const MALFORMED = { kind: 'refused', reason: 'malformed' } as const;
const BAD_MAC = { kind: 'refused', reason: 'badMac' } as const;
const REPLAYED = { kind: 'refused', reason: 'replayed' } as const;
const WRONG_DESTINATION = { kind: 'refused', reason: 'wrongDestination' } as const;
const TOO_LARGE = { kind: 'refused', reason: 'tooLarge' } as const;
const FRAGMENT_ORDER = { kind: 'refused', reason: 'fragmentOrder' } as const;
const AUTH_MISMATCH = { kind: 'refused', reason: 'authMismatch' } as const;
const PARTIAL = { kind: 'partial' } as const;
/** The fragment was taken, but the cap on buffered bytes dropped its own message. */
const PARTIAL_DROPPED = { kind: 'refused', reason: 'tooLarge' } as const;
