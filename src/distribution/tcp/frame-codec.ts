/**
 * Framing of the TCP dist: `L: u32 BE | type: u8 | payload: L - 1 bytes`, decoded incrementally
 * with `L` checked against the limit before any of the body is buffered. The frame types and
 * their payloads are described in docs/protocol.md ("Frames").
 */
import { checkInteger, GenClusterError } from '../../core/index.js';
import { FrameError } from './tcp.errors.js';
import { TcpMessages } from './tcp.messages.js';

/** Frame types. The decoder does not interpret them; the connection routes on them. */
export const FrameType = {
  /** A handshake message (see `handshake/`). */
  Handshake: 1,
  /** Heartbeat on an idle link; empty payload. */
  Tick: 2,
  /** A whole data message. */
  Data: 3,
  /** One fragment of a data message too large for one frame. */
  DataFragment: 4,
  /** A control message (membership, mesh). */
  Control: 5,
  /** The sender is leaving the cluster gracefully. */
  Leave: 6,
  /** Liveness probe. */
  Ping: 7,
  /** Answer to a {@link FrameType.Ping}. */
  Pong: 8,
} as const;

/** One of the {@link FrameType} values. */
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Bytes before the payload: the 4-byte length and the type byte. */
export const FRAME_HEADER_BYTES = 5;

/** Default largest `L` (type byte plus payload) a decoder accepts: 1 MiB of payload plus slack. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024 + 64;

/** Largest `L` the 4-byte length field can hold. */
export const MAX_FRAME_LENGTH_FIELD = 0xffff_ffff;

/** Smallest capacity the decoder allocates when it must copy a frame split across chunks. */
const MIN_ASSEMBLY_BYTES = 16 * 1024;

/** Below this many bytes a copy is done in JavaScript rather than by a native call. */
const SMALL_COPY_BYTES = 16;

/**
 * A piece of a split frame at least this large is kept as a view of its chunk until the frame is
 * complete (copied once, into a buffer of the exact size); smaller pieces are copied at once.
 */
const MIN_VIEW_BYTES = 1024;

/**
 * Most views kept for one frame: past it (a peer trickling a frame in many chunks) the frame is
 * copied into a growing buffer instead, so the bookkeeping stays small whatever the chunking.
 */
const MAX_VIEWS = 64;

/**
 * Encodes one frame in a single allocation.
 * @throws FrameError (`ERR_BAD_FRAME`) when `type` is not a byte, (`ERR_FRAME_TOO_LARGE`) when the
 * payload does not fit the 4-byte length field.
 */
export function encodeFrame(type: number, payload?: Uint8Array): Buffer {
  const length = payload?.length ?? 0;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  writeHeader(frame, type, length);
  if (payload !== undefined && length > 0) frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Encodes the 5 header bytes of a frame whose payload of `payloadLength` bytes is written
 * separately (e.g. with `socket.writev` / `cork`), so a large payload is never copied.
 * @throws FrameError as {@link encodeFrame}.
 */
export function encodeFrameHeader(type: number, payloadLength: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeHeader(header, type, payloadLength);
  return header;
}

function writeHeader(target: Buffer, type: number, payloadLength: number): void {
  if (!Number.isInteger(type) || type < 0 || type > 0xff)
    throw new FrameError(TcpMessages.frameTypeInvalid(type), { code: 'ERR_BAD_FRAME' });
  if (
    !Number.isInteger(payloadLength) ||
    payloadLength < 0 ||
    payloadLength + 1 > MAX_FRAME_LENGTH_FIELD
  ) {
    throw new FrameError(TcpMessages.payloadTooLarge(payloadLength), {
      code: 'ERR_FRAME_TOO_LARGE',
    });
  }
  target.writeUInt32BE(payloadLength + 1, 0);
  target[4] = type;
}

/** Options of a {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest `L` (type byte plus payload) accepted; default {@link DEFAULT_MAX_FRAME_BYTES}. */
  readonly maxFrameBytes?: number;
  /**
   * Receives each complete frame, in order. `payload` is a view of the pushed chunk when the frame
   * lay inside one chunk (no copy), and a fresh buffer when it spanned chunks. A throw is caught
   * and reported through `onError`, which ends the stream.
   */
  readonly onFrame: (type: number, payload: Buffer) => void;
  /**
   * Called at most once, when the stream is bad: `L = 0` or `L > maxFrameBytes`
   * ({@link FrameError}), or `onFrame` threw (its {@link GenClusterError} as is, anything else
   * wrapped in a `FrameError` `ERR_BAD_FRAME` with the throw as `cause`). All later input is
   * ignored. Must not throw.
   */
  readonly onError: (error: GenClusterError) => void;
}

/**
 * Incremental decoder of a frame stream. Feed it socket chunks with {@link FrameDecoder.push}; it
 * calls `onFrame` per complete frame and `onError` once on a bad stream.
 *
 * Work and memory are linear in the input whatever the chunking. A frame inside one chunk is
 * delivered as a view (no copy). A frame split across chunks is kept as views of its pieces (small
 * pieces copied) until it is complete, then copied once into a buffer of its exact size: one
 * allocation and one copy per byte, and nothing is allocated for the declared size before its
 * bytes arrived. A frame trickled in more than {@link MAX_VIEWS} pieces is copied into a buffer
 * that grows geometrically up to its declared length instead. Either way the decoder holds about
 * the bytes received for the frame (at most twice, plus the one chunk a first view shares with
 * frames before it), never the declared size up front.
 *
 * Since a split frame may be kept as views, a pushed chunk must not be written to afterwards
 * (socket chunks are fresh buffers, never reused).
 *
 * `push` may be called from inside `onFrame` (the chunk is queued and decoded after the current
 * one), and {@link FrameDecoder.maxFrameBytes} may be changed at any time (e.g. raised once the
 * handshake is done); the new limit applies from the next length field.
 */
export class FrameDecoder {
  private limit: number;
  private readonly onFrame: FrameDecoderOptions['onFrame'];
  private readonly onError: FrameDecoderOptions['onError'];
  /** Partial length field. */
  private readonly header = Buffer.alloc(4);
  private headerFill = 0;
  /** Declared length of the frame being read, or -1 while reading a length field. */
  private bodyLength = -1;
  /** Pieces of a split frame, in order, while it is kept as views (`body` undefined). */
  private readonly views: Buffer[] = [];
  /** Copy of a split frame trickled in too many pieces (capacity never above `bodyLength`). */
  private body: Buffer | undefined;
  /** Bytes of the frame being read received so far (in `views` or in `body`). */
  private bodyFill = 0;
  private stopped = false;
  private decoding = false;
  /** Chunks pushed from inside `onFrame`, decoded after the current one. */
  private readonly queue: Buffer[] = [];

  constructor(options: FrameDecoderOptions) {
    this.limit = checkMaxFrameBytes(options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.onFrame = options.onFrame;
    this.onError = options.onError;
  }

  /** Largest `L` accepted from the next length field on. */
  get maxFrameBytes(): number {
    return this.limit;
  }

  /** @throws InvalidConfigError unless an integer from 1 to 2^32 - 1. */
  set maxFrameBytes(value: number) {
    this.limit = checkMaxFrameBytes(value);
  }

  /** Bytes received and held but not yet delivered as a frame. */
  get bufferedBytes(): number {
    let queued = 0;
    for (const chunk of this.queue) queued += chunk.length;
    return this.headerFill + this.bodyFill + queued;
  }

  /** `true` once the decoder failed or was destroyed; it then ignores all input. */
  get closed(): boolean {
    return this.stopped;
  }

  /**
   * Decodes a chunk of the stream. Never throws. The chunk may be kept (as a view) until the frame
   * it ends in is complete: do not write to it afterwards.
   */
  push(chunk: Buffer): void {
    if (this.stopped || chunk.length === 0) return;
    if (this.decoding) {
      this.queue.push(chunk);
      return;
    }
    this.decoding = true;
    try {
      this.decode(chunk);
      for (let i = 0; i < this.queue.length && !this.stopped; i++) this.decode(this.queue[i]!);
    } finally {
      this.queue.length = 0;
      this.decoding = false;
    }
  }

  /** Drops everything buffered and ignores all later input, without calling `onError`. */
  destroy(): void {
    this.stopped = true;
    this.release();
  }

  private decode(chunk: Buffer): void {
    const end = chunk.length;
    let offset = 0;
    while (offset < end && !this.stopped) {
      if (this.bodyLength < 0) {
        let length: number;
        if (this.headerFill === 0 && end - offset >= 4) {
          length = chunk.readUInt32BE(offset);
          offset += 4;
        } else {
          const take = Math.min(4 - this.headerFill, end - offset);
          chunk.copy(this.header, this.headerFill, offset, offset + take);
          this.headerFill += take;
          offset += take;
          if (this.headerFill < 4) return;
          this.headerFill = 0;
          length = this.header.readUInt32BE(0);
        }
        if (length === 0)
          return this.fail(new FrameError(TcpMessages.frameEmpty(), { code: 'ERR_BAD_FRAME' }));
        if (length > this.limit) {
          return this.fail(
            new FrameError(TcpMessages.frameTooLarge(length, this.limit), {
              code: 'ERR_FRAME_TOO_LARGE',
            }),
          );
        }
        this.bodyLength = length;
      }
      const missing = this.bodyLength - this.bodyFill;
      if (this.bodyFill === 0 && end - offset >= missing) {
        // The whole frame is in this chunk: the payload is a view, the only object made for it.
        const type = chunk[offset]!;
        const payload = chunk.subarray(offset + 1, offset + missing);
        offset += missing;
        this.bodyLength = -1;
        this.deliver(type, payload);
        continue;
      }
      const take = Math.min(missing, end - offset);
      if (this.body === undefined) {
        if (take === missing) {
          offset = this.completeViews(chunk, offset, take);
          continue;
        }
        if (this.views.length < MAX_VIEWS) {
          // A small piece is copied (from the pool): it must not pin nor depend on its chunk.
          const piece = chunk.subarray(offset, offset + take);
          this.views.push(take < MIN_VIEW_BYTES ? Buffer.from(piece) : piece);
          this.bodyFill += take;
          offset += take;
          continue;
        }
        this.copyViews(this.bodyFill + take);
      }
      const body = this.reserve(this.bodyFill + take);
      if (take <= SMALL_COPY_BYTES) {
        // A native copy call costs more than a few byte moves (trickled input).
        for (let i = 0; i < take; i++) body[this.bodyFill + i] = chunk[offset + i]!;
      } else {
        chunk.copy(body, this.bodyFill, offset, offset + take);
      }
      this.bodyFill += take;
      offset += take;
      if (this.bodyFill === this.bodyLength) {
        const frame = body.length === this.bodyLength ? body : body.subarray(0, this.bodyLength);
        this.body = undefined;
        this.bodyFill = 0;
        this.bodyLength = -1;
        this.deliver(frame[0]!, frame.subarray(1));
      }
    }
  }

  /**
   * Completes a frame kept as views with its last `take` bytes at `offset` of `chunk`: one buffer
   * of the exact size, each byte copied once. Returns the offset after the frame.
   */
  private completeViews(chunk: Buffer, offset: number, take: number): number {
    const frame = Buffer.allocUnsafe(this.bodyLength);
    let at = 0;
    for (const view of this.views) at += view.copy(frame, at);
    chunk.copy(frame, at, offset, offset + take);
    this.views.length = 0;
    this.bodyFill = 0;
    this.bodyLength = -1;
    this.deliver(frame[0]!, frame.subarray(1));
    return offset + take;
  }

  /** Too many pieces: copies the views into a buffer of twice `needed` (capped at the length). */
  private copyViews(needed: number): void {
    const body = Buffer.allocUnsafe(
      Math.min(this.bodyLength, Math.max(needed * 2, MIN_ASSEMBLY_BYTES)),
    );
    let at = 0;
    for (const view of this.views) at += view.copy(body, at);
    this.views.length = 0;
    this.body = body;
  }

  /** The copy buffer, grown geometrically (capped at the declared length) to `needed`. */
  private reserve(needed: number): Buffer {
    const current = this.body;
    if (current !== undefined && current.length >= needed) return current;
    const grown = Math.min(
      this.bodyLength,
      Math.max(needed, (current?.length ?? 0) * 2, MIN_ASSEMBLY_BYTES),
    );
    const next = Buffer.allocUnsafe(grown);
    if (current !== undefined) current.copy(next, 0, 0, this.bodyFill);
    this.body = next;
    return next;
  }

  private deliver(type: number, payload: Buffer): void {
    try {
      this.onFrame(type, payload);
    } catch (error) {
      this.fail(
        error instanceof GenClusterError
          ? error
          : new FrameError(TcpMessages.frameHandlerFailed(error), {
              code: 'ERR_BAD_FRAME',
              cause: error,
            }),
      );
    }
  }

  private fail(error: GenClusterError): void {
    if (this.stopped) return;
    this.stopped = true;
    this.release();
    this.onError(error);
  }

  private release(): void {
    this.body = undefined;
    this.views.length = 0;
    this.bodyFill = 0;
    this.bodyLength = -1;
    this.headerFill = 0;
    this.queue.length = 0;
  }
}

function checkMaxFrameBytes(value: number): number {
  checkInteger('maxFrameBytes', value, 1, MAX_FRAME_LENGTH_FIELD);
  return value;
}
