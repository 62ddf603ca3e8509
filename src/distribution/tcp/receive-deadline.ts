/**
 * The receive-progress deadline of an authenticated link (the post-authentication counterpart of
 * the handshake deadlines). Any byte resets the heartbeat's silence timer, so a peer that declares
 * a large frame, or starts a fragmented message, and then trickles a byte now and then would hold
 * its partial buffers for ever. The rule closing such a link:
 *
 *   a partial unit holding `bytes` may be in progress for at most
 *   `failureTimeoutMs + bytes / minReceiveBytesPerSecond`
 *
 * - a frame whose first bytes arrived: `bytes` are the bytes of it received so far, so it must
 *   come in at an average of `minReceiveBytesPerSecond` once the grace of `failureTimeoutMs` is
 *   spent; a trickling peer is closed about `failureTimeoutMs` after it started, a sender at least
 *   that fast is never cut whatever the size, and a burst earns credit it must then keep up with;
 * - a fragmented message in progress, likewise over its bytes so far (it cannot hold up to
 *   `maxMessageBytes` for longer than `failureTimeoutMs + maxMessageBytes / rate`), and between
 *   two of its fragments, over the bytes the whole link received meanwhile: a sender interleaves
 *   a large message with the rest of its queue (`SendQueue.flush`, round-robin), so a message may
 *   wait for its next fragment while the link is busy, but not while the link idles.
 *
 * The rule scales with size, so it never cuts a large message on a link moving data faster than
 * the minimum rate; it is checked on the heartbeat's tick (no timer of its own, none per byte), so
 * a violation is seen within one `heartbeatMs` of the deadline.
 */

/**
 * Default minimum average rate of a partial frame or fragmented message, in bytes per second:
 * 64 KiB/s (512 kbit/s), far below any link a cluster runs on, high enough that holding a whole
 * 64 MiB `maxMessageBytes` costs a peer a steady 64 KiB/s for about 17 minutes.
 */
export const DEFAULT_MIN_RECEIVE_BYTES_PER_SECOND = 64 * 1024;

/** The timings the deadline derives from. */
export interface ReceiveDeadlineLimits {
  /** The grace every partial unit gets, the link's failure timeout. */
  readonly failureTimeoutMs: number;
  /** Minimum average rate once the grace is spent; {@link DEFAULT_MIN_RECEIVE_BYTES_PER_SECOND}. */
  readonly minReceiveBytesPerSecond?: number;
}

/** How long a partial unit that received `bytes` so far may be in progress, in ms. */
export function allowedMs(bytes: number, limits: ReceiveDeadlineLimits): number {
  const rate = limits.minReceiveBytesPerSecond ?? DEFAULT_MIN_RECEIVE_BYTES_PER_SECOND;
  return limits.failureTimeoutMs + (bytes * 1_000) / rate;
}

/** A partial unit past its deadline. */
export interface OverdueUnit {
  /** `frame`, `message` (too slow overall) or `fragment` (no fragment of it for too long). */
  readonly unit: 'frame' | 'message' | 'fragment';
  /** Bytes it received (for `fragment`: bytes the link received since its last fragment). */
  readonly bytes: number;
  /** How long it was in progress (for `fragment`: since its last fragment), in ms. */
  readonly elapsedMs: number;
  /** What {@link allowedMs} granted it. */
  readonly allowedMs: number;
}

/**
 * Watches the frame in progress of one link. The connection calls {@link FrameProgress.delivered}
 * per complete frame and {@link FrameProgress.received} after each chunk with the bytes the
 * decoder holds; a frame is in progress from the chunk that left bytes of it in the decoder until
 * a frame completes.
 */
export class FrameProgress {
  private since: number | undefined;

  constructor(private readonly limits: ReceiveDeadlineLimits) {}

  /** A frame completed. */
  delivered(): void {
    this.since = undefined;
  }

  /** A chunk was decoded at `now`, leaving `pendingBytes` of an incomplete frame. */
  received(now: number, pendingBytes: number): void {
    if (pendingBytes > 0) this.since ??= now;
    else this.since = undefined;
  }

  /** The frame in progress if it is past its deadline at `now`. */
  overdue(now: number, pendingBytes: number): OverdueUnit | undefined {
    if (this.since === undefined || pendingBytes === 0) return undefined;
    const elapsedMs = now - this.since;
    const allowed = allowedMs(pendingBytes, this.limits);
    return elapsedMs > allowed
      ? { unit: 'frame', bytes: pendingBytes, elapsedMs, allowedMs: allowed }
      : undefined;
  }
}
