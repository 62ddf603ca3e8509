import type { Socket } from 'node:net';
import { MessageTooLargeError, QueueFullError } from '../transport.errors.js';
import { FRAGMENT_HEADER_BYTES, encodeFragmentHeader } from './fragment-header.js';
import { FRAME_HEADER_BYTES, FrameType, encodeFrame, encodeFrameHeader } from './frame-codec.js';
import { ProtocolError } from './tcp.errors.js';
import { TcpMessages as M } from './tcp.messages.js';

/** Bounds of a {@link SendQueue}. */
export interface SendQueueLimits {
  /** Largest data frame payload; larger messages are fragmented. */
  readonly maxFramePayloadBytes: number;
  /** Largest message; also the bound of the peer's reassemblies, so of our fragments in flight. */
  readonly maxMessageBytes: number;
  /** Bytes and messages the queue may hold; over them `enqueue` throws. */
  readonly maxQueueBytes: number;
  readonly maxQueueMessages: number;
}

/** What a {@link SendQueue} needs of its socket (a `net.Socket`, or a fake in tests). */
export type SendQueueSocket = Pick<Socket, 'write' | 'cork' | 'uncork' | 'once'> & {
  readonly writableNeedDrain: boolean;
};

/** One queued message. */
export interface Outgoing {
  /** The message's parts, never concatenated: fragments are cut with a cursor over them. */
  readonly data: Buffer[];
  readonly bytes: number;
  /** Bytes already written (fragmented messages). */
  offset: number;
  /** Index in `data` of the part the next fragment starts in, and the offset within that part. */
  part: number;
  partOffset: number;
  /** Fragment id, 0 until the first fragment is written. */
  id: number;
}

/** How many bytes one flush writes before yielding, so control frames and other peers get a turn. */
export const FLUSH_BUDGET_BYTES = 512 * 1024;
/** Messages up to this size are copied into a shared write buffer rather than written apart. */
export const SMALL_MESSAGE_BYTES = 16 * 1024;
/** Size of one shared write buffer. */
export const BATCH_BYTES = 64 * 1024;
/** Bytes of control frames (ticks, pings, pongs, peer lists) queued at most. */
export const MAX_CONTROL_BYTES = 4 * 1024 * 1024;

/**
 * The outgoing side of one link: a bounded queue of messages and of control frames, written with
 * coalescing (one flush per event-loop turn, small messages copied into shared buffers) and
 * fragmentation of large messages, interleaved so control frames and small messages never starve.
 *
 * Policy at the bounds: a message over `maxMessageBytes` is refused with a
 * {@link MessageTooLargeError} (not retryable); one that would take the queue past
 * `maxQueueMessages`/`maxQueueBytes` with a {@link QueueFullError} (the caller's back-pressure
 * signal); a control frame past {@link MAX_CONTROL_BYTES} is dropped. {@link SendQueue.check}
 * applies the same rules before a message exists, so a send bound to fail is not encoded.
 */
export class SendQueue {
  private readonly control: Buffer[] = [];
  private controlQueued = 0;
  private pongQueued = false;
  private queue: Outgoing[] = [];
  private queuedBytes = 0;
  /** Bytes of the messages being fragmented (started, not finished). */
  private fragmentingBytes = 0;
  private flushScheduled = false;
  private waiting = false;
  private nextFragmentId = 1;
  private sentAt = performance.now();
  private closed = false;
  private ending = false;
  private frozen = false;

  /**
   * @param broken told when a queued message can no longer be written as framed (its memory was
   * detached or shrunk after it was queued, e.g. transferred to a worker); the queue is then
   * closed, and the link must be, since the peer expects the bytes its frame header announced
   */
  constructor(
    private readonly socket: SendQueueSocket,
    private readonly limits: SendQueueLimits,
    private readonly broken: (error: Error) => void = () => undefined,
  ) {}

  /** When a flush last wrote to the socket (`performance.now()`). */
  get lastSent(): number {
    return this.sentAt;
  }

  /** Bytes of control frames waiting to be written. */
  get controlBytes(): number {
    return this.controlQueued;
  }

  /** Messages waiting (or partly written), and their bytes. */
  get size(): { messages: number; bytes: number } {
    return { messages: this.queue.length, bytes: this.queuedBytes };
  }

  /** Waiting for the socket's `drain`: nothing more is written until then. */
  get waitingDrain(): boolean {
    return this.waiting;
  }

  /**
   * Queues one message for `peer`. The first message of an event-loop turn is written at once
   * (latency); the ones queued after it in the same turn go out together at its end (throughput).
   * @throws MessageTooLargeError when the message is over `maxMessageBytes`; QueueFullError when
   * the queue would go over its bounds
   */
  enqueue(parts: Buffer[], peer: string): void {
    let bytes = 0;
    for (const part of parts) bytes += part.length;
    this.check(bytes, peer);
    this.queue.push({ data: parts, bytes, offset: 0, part: 0, partOffset: 0, id: 0 });
    this.queuedBytes += bytes;
    if (this.flushScheduled || this.waiting || this.ending || this.frozen) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
    this.flush();
  }

  /**
   * Throws what {@link SendQueue.enqueue} would throw for a message of at least `bytes` bytes, so
   * a send bound to be refused fails before its payload is encoded. Exact for any lower bound:
   * a message larger than `bytes` is refused whenever one of `bytes` is.
   * @throws MessageTooLargeError; QueueFullError
   */
  check(bytes: number, peer: string): void {
    const limit = this.limits.maxMessageBytes;
    if (bytes > limit) {
      throw new MessageTooLargeError(M.messageTooLarge(peer, bytes, limit), {
        node: peer,
        bytes,
        limit,
      });
    }
    if (
      this.queue.length >= this.limits.maxQueueMessages ||
      this.queuedBytes + bytes > this.limits.maxQueueBytes
    ) {
      throw new QueueFullError(M.queueFull(peer, this.queue.length, this.queuedBytes), {
        node: peer,
      });
    }
  }

  /**
   * Takes over the unsent messages of `other` (the queue of a link to the same node being
   * replaced), ahead of this queue's own: messages partly written there are sent again whole here.
   * `other` is emptied even when this queue no longer sends.
   */
  takeFrom(other: SendQueue): void {
    if (other === this || other.queue.length === 0) return;
    const moved = other.queue;
    other.queue = [];
    other.queuedBytes = 0;
    other.fragmentingBytes = 0;
    if (this.closed || this.ending) return;
    let bytes = 0;
    for (const message of moved) {
      message.offset = 0;
      message.part = 0;
      message.partOffset = 0;
      message.id = 0;
      bytes += message.bytes;
    }
    this.queue = [...moved, ...this.queue];
    this.queuedBytes += bytes;
    this.scheduleFlush();
  }

  /** Queues a control frame ahead of data; `false` when the control queue is over its bound. */
  sendControl(frame: Buffer): boolean {
    if (!this.pushControl(frame)) return false;
    this.scheduleFlush();
    return true;
  }

  /** Answers a ping: one pong is enough for any number of pings not yet answered. */
  pong(): void {
    if (!this.pongQueued && this.pushControl(encodeFrame(FrameType.Pong))) {
      this.pongQueued = true;
      this.scheduleFlush();
    }
  }

  /** Writes a tick at once (an idle link proves it is alive), unless the socket is backed up. */
  tick(): void {
    if (!this.waiting && this.pushControl(encodeFrame(FrameType.Tick))) this.flush();
  }

  /** Stops writing for good while keeping what is queued (a stopped process, in tests). */
  freeze(): void {
    this.frozen = true;
  }

  /**
   * The link is leaving: everything queued is written now, then the goodbye (a `Leave` frame),
   * unless the queue is frozen; nothing is queued or written after that.
   */
  end(): void {
    this.ending = true;
    if (this.frozen || this.closed) return;
    this.flush(true);
    this.socket.write(encodeFrame(FrameType.Leave));
  }

  /** Drops everything queued; nothing is written any more. */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.fragmentingBytes = 0;
    this.control.length = 0;
    this.controlQueued = 0;
  }

  private pushControl(frame: Buffer): boolean {
    if (this.controlQueued + frame.length > MAX_CONTROL_BYTES) return false;
    this.control.push(frame);
    this.controlQueued += frame.length;
    return true;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.waiting || this.closed || this.ending || this.frozen) {
      return;
    }
    this.flushScheduled = true;
    // Once per turn of the event loop: every message queued meanwhile goes out in one batch.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /**
   * Writes control frames, then up to a budget of data (everything with `all`), in one corked
   * batch. Large messages go out one fragment at a time, round-robin with the rest of the queue;
   * a large message is not started while the ones being fragmented would exceed maxMessageBytes
   * with it (the peer's bound on all reassemblies), so smaller messages may overtake it.
   */
  private flush(all = false): void {
    if (this.closed || this.frozen || (this.ending && !all)) return;
    const socket = this.socket;
    socket.cork();
    for (const frame of this.control) socket.write(frame);
    this.control.length = 0;
    this.controlQueued = 0;
    this.pongQueued = false;
    let budget = all ? Infinity : FLUSH_BUDGET_BYTES;
    const maxPayload = this.limits.maxFramePayloadBytes;
    let batch: Buffer | undefined;
    let batchFill = 0;
    do {
      // A large message that may not start yet stays in place, and so do the large messages
      // after it: large messages start in the order they were queued.
      let blocked = false;
      let i = 0;
      while (i < this.queue.length && budget > 0) {
        const message = this.queue[i]!;
        if (message.id === 0 && message.bytes <= maxPayload) {
          if (message.bytes <= SMALL_MESSAGE_BYTES) {
            // Small messages are copied into one buffer: one write for many of them.
            const need = FRAME_HEADER_BYTES + message.bytes;
            if (batch === undefined || batchFill + need > batch.length) {
              if (batch !== undefined) socket.write(batch.subarray(0, batchFill));
              batch = Buffer.allocUnsafe(this.batchSize(i));
              batchFill = 0;
            }
            batch.writeUInt32BE(message.bytes + 1, batchFill);
            batch[batchFill + 4] = FrameType.Data;
            batchFill += FRAME_HEADER_BYTES;
            for (const part of message.data) batchFill += part.copy(batch, batchFill);
          } else {
            if (batch !== undefined && batchFill > 0) socket.write(batch.subarray(0, batchFill));
            batch = undefined;
            if (!partsIntact(message)) return this.breakOff(socket);
            socket.write(encodeFrameHeader(FrameType.Data, message.bytes));
            for (const part of message.data) if (part.length > 0) socket.write(part);
          }
          if (i === 0) this.queue.shift();
          else this.queue.splice(i, 1);
          this.queuedBytes -= message.bytes;
          budget -= message.bytes;
          continue;
        }
        if (message.id === 0) {
          if (
            blocked ||
            (this.fragmentingBytes > 0 &&
              this.fragmentingBytes + message.bytes > this.limits.maxMessageBytes)
          ) {
            blocked = true;
            i++;
            continue;
          }
          message.id = this.nextFragmentId;
          this.nextFragmentId = (this.nextFragmentId % 0xffff_ffff) + 1;
          this.fragmentingBytes += message.bytes;
        }
        // A large message goes out one fragment at a time, round-robin with the rest.
        if (batch !== undefined && batchFill > 0) socket.write(batch.subarray(0, batchFill));
        batch = undefined;
        if (!partsIntact(message)) return this.breakOff(socket);
        budget -= this.writeFragment(message);
        this.queue.splice(i, 1);
        if (message.offset >= message.bytes) {
          this.queuedBytes -= message.bytes;
          this.fragmentingBytes -= message.bytes;
        } else this.queue.push(message);
      }
    } while (all && this.queue.length > 0);
    if (batch !== undefined && batchFill > 0) socket.write(batch.subarray(0, batchFill));
    socket.uncork();
    this.sentAt = performance.now();
    if (all || (this.queue.length === 0 && this.control.length === 0)) return;
    if (socket.writableNeedDrain) {
      if (this.waiting) return;
      this.waiting = true;
      socket.once('drain', () => {
        this.waiting = false;
        this.flush();
      });
    } else this.scheduleFlush();
  }

  /** A queued message's memory changed under it: nothing more can be written on this link. */
  private breakOff(socket: SendQueueSocket): void {
    socket.uncork();
    this.close();
    this.broken(new ProtocolError(M.payloadDetached()));
  }

  /** Bytes of the small messages from `from` on, to write in one buffer (at most BATCH_BYTES). */
  private batchSize(from: number): number {
    let size = 0;
    for (let i = from; i < this.queue.length; i++) {
      const message = this.queue[i]!;
      if (message.id !== 0 || message.bytes > SMALL_MESSAGE_BYTES) break;
      const need = FRAME_HEADER_BYTES + message.bytes;
      if (size + need > BATCH_BYTES) return size === 0 ? need : size;
      size += need;
    }
    return size;
  }

  /** Writes the next fragment of `message`, cut from its parts with its cursor; returns its size. */
  private writeFragment(message: Outgoing): number {
    const socket = this.socket;
    const length = Math.min(
      this.limits.maxFramePayloadBytes - FRAGMENT_HEADER_BYTES,
      message.bytes - message.offset,
    );
    socket.write(encodeFrameHeader(FrameType.DataFragment, FRAGMENT_HEADER_BYTES + length));
    socket.write(encodeFragmentHeader(message.id, message.offset + length >= message.bytes));
    for (let left = length; left > 0;) {
      const part = message.data[message.part]!;
      const take = Math.min(left, part.length - message.partOffset);
      if (take > 0) {
        socket.write(
          take === part.length
            ? part
            : part.subarray(message.partOffset, message.partOffset + take),
        );
      }
      message.partOffset += take;
      left -= take;
      if (message.partOffset >= part.length) {
        message.part++;
        message.partOffset = 0;
      }
    }
    message.offset += length;
    return length;
  }
}

/** Whether a message's parts still hold the bytes they held when it was queued. */
function partsIntact(message: Outgoing): boolean {
  let bytes = 0;
  for (const part of message.data) bytes += part.length;
  return bytes === message.bytes;
}
