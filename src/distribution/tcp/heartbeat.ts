/**
 * Failure detection of one link: a chained timer that,
 * every `heartbeatMs`, declares the peer down after `failureTimeoutMs` of silence, has the link
 * check its receive deadline (`receive-deadline.ts`: bytes alone are not progress) and sends a
 * tick on a link idle for about `heartbeatMs`; and `ping`, an explicit liveness probe.
 */
import { withDeadline } from '../../core/index.js';
import { ProtocolError } from './tcp.errors.js';
import { TcpMessages as M } from './tcp.messages.js';

/** The timings of a {@link Heartbeat}; both ends of a link share them (checked in the handshake). */
export interface HeartbeatTimings {
  readonly heartbeatMs: number;
  readonly failureTimeoutMs: number;
}

/** What a {@link Heartbeat} reads from and does to its link. */
export interface HeartbeatLink {
  /** Whether the link still runs (not closed, leaving or frozen); if not, a firing timer does nothing. */
  running(): boolean;
  /** When anything was last received (`performance.now()`). */
  lastReceived(): number;
  /** When anything was last written (`performance.now()`). */
  lastSent(): number;
  /** Bytes received so far. */
  bytesReceived(): number;
  /** Sends a tick now. */
  tick(): void;
  /** Sends a ping. */
  ping(): void;
  /** The peer was silent for `silentMs`, more than `failureTimeoutMs`: close the link. */
  silent(silentMs: number): void;
  /**
   * Checks at `now` that the frame and the fragmented messages in progress are within their
   * receive deadline; if not, closes the link and returns `false`.
   */
  progressing(now: number): boolean;
  /** The peer's name or address, for messages. */
  peer(): string;
}

/** A link's heartbeat timer and pings; see the file comment. */
export class Heartbeat {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly pongWaiters = new Set<(alive: boolean) => void>();
  private closed = false;

  constructor(
    private readonly timings: HeartbeatTimings,
    private readonly link: HeartbeatLink,
  ) {}

  /** Arms the timer (again). */
  start(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    const { heartbeatMs } = this.timings;
    const due = performance.now() + heartbeatMs;
    this.timer = setTimeout(() => {
      if (!this.link.running()) return;
      // Fired late: this process itself stalled (GC pause, synchronous work), so the peer's
      // frames may be waiting unread. Let the poll phase read them before judging the peer.
      if (performance.now() - due > heartbeatMs / 2) setImmediate(() => this.beat());
      else this.beat();
    }, heartbeatMs);
    this.timer.unref();
  }

  /** Stops the timer; pings in progress still settle. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stops for good: the timer, and every ping in progress resolves `false`. */
  close(): void {
    this.closed = true;
    this.stop();
    for (const waiter of [...this.pongWaiters]) waiter(false);
    this.pongWaiters.clear();
  }

  /** A pong arrived: every ping in progress resolves `true`. */
  pong(): void {
    for (const waiter of [...this.pongWaiters]) waiter(true);
  }

  /**
   * Resolves `true` if the peer answers a ping within `timeoutMs`, or sent anything at all
   * meanwhile (a peer busy sending us data is alive); `false` on silence or when the link closes.
   */
  ping(timeoutMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    const before = this.link.bytesReceived();
    const answered = withDeadline(
      signal =>
        new Promise<boolean>(resolve => {
          if (this.closed) return resolve(false);
          const done = (alive: boolean) => {
            this.pongWaiters.delete(done);
            signal.removeEventListener('abort', onAbort);
            resolve(alive);
          };
          const onAbort = () => done(false);
          signal.addEventListener('abort', onAbort, { once: true });
          this.pongWaiters.add(done);
          this.link.ping();
        }),
      {
        ms: timeoutMs,
        onTimeout: () => new ProtocolError(M.noPong(this.link.peer(), timeoutMs)),
      },
    );
    // No pong in time: still alive if anything at all came meanwhile.
    return answered.catch(() => this.link.bytesReceived() > before);
  }

  private beat(): void {
    if (!this.link.running()) return;
    const { heartbeatMs, failureTimeoutMs } = this.timings;
    const now = performance.now();
    const silentMs = now - this.link.lastReceived();
    if (silentMs > failureTimeoutMs) {
      this.link.silent(silentMs);
      return;
    }
    if (!this.link.progressing(now)) return;
    // Ticks only on idle links: any data we wrote already proves we are alive.
    if (now - this.link.lastSent() >= heartbeatMs * 0.9) this.link.tick();
    this.start();
  }
}
