// One link's life on one socket: handshake, framing, fragments, heartbeats, the send queue, close.
// Each of those parts is its own module; this file wires them to the socket and holds the link's
// state machine, which reads best in one place, so it stays one file a little over 450 lines.
import type { Socket } from 'node:net';
import { type ClusterLogger, type NodeDownReason, toError } from '../../core/index.js';
import { FragmentAssembler } from './fragment-assembler.js';
import { FRAGMENT_HEADER_BYTES } from './fragment-header.js';
import { FrameDecoder, FrameType, encodeFrame } from './frame-codec.js';
import {
  HANDSHAKE_MAX_FRAME_BYTES,
  type HandshakeResult,
  type HandshakeStep,
} from './handshake/index.js';
import {
  type HandshakeSite,
  closedDuringHandshakeError,
  handshakeTimeoutError,
} from './handshake-failure.js';
import { Heartbeat } from './heartbeat.js';
import { FrameProgress, type ReceiveDeadlineLimits } from './receive-deadline.js';
import { retainSlice } from './retain-slice.js';
import { SendQueue, type SendQueueLimits } from './send-queue.js';
import { ProtocolError } from './tcp.errors.js';
import { TcpMessages as M } from './tcp.messages.js';

/** Limits and timings of one link. */
export interface ConnectionLimits extends SendQueueLimits, ReceiveDeadlineLimits {
  readonly heartbeatMs: number;
  readonly handshakeStepTimeoutMs: number;
  readonly handshakeTotalTimeoutMs: number;
}

/** What an established link reports. */
export interface ConnectionHandlers {
  /** A whole message (an envelope) arrived. */
  onMessage(bytes: Buffer): void;
  /** A control message (JSON) arrived. */
  onControl(message: unknown): void;
  /** The link is gone; called exactly once. */
  onClose(reason: NodeDownReason, error?: Error): void;
}

/** A handshake driver: the initiator's `start()` or nothing, then `receive()` per message. */
export interface HandshakeDriver {
  start?(): HandshakeStep;
  receive(payload: Buffer): HandshakeStep | Promise<HandshakeStep>;
}

/** Where the socket of a connection leads, known before it is connected. */
export interface ConnectionTarget {
  /** `address:port` of the remote end, for messages (the socket's own is unknown until connected). */
  readonly remote?: string;
  /** The node dialled, for the errors of a dial. */
  readonly node?: string;
}

/** Frames a peer may send between its end of the handshake and ours. */
const MAX_EARLY_FRAMES = 1_024;
/** How long `leave()` waits for queued data and the goodbye to be written. */
const LEAVE_WAIT_MS = 500;

/**
 * One link to one peer: the socket's lifecycle, the handshake with its deadlines, then the
 * dispatch of received frames. Sending is the {@link SendQueue}'s job, reassembly the
 * {@link FragmentAssembler}'s, failure detection the {@link Heartbeat}'s.
 */
export class Connection {
  /** Set once the handshake succeeded. */
  peer: HandshakeResult['peer'] | undefined;
  /** What the peer announced (and this side knows), set once the handshake succeeded. */
  capabilities: ReadonlySet<string> = new Set();
  private handlers: ConnectionHandlers | undefined;
  /** Established, but frames are still held until {@link Connection.deliverEarly}. */
  private holding = false;
  private readonly decoder: FrameDecoder;
  private readonly sendQueue: SendQueue;
  private readonly fragments: FragmentAssembler;
  private readonly heartbeat: Heartbeat;
  private readonly frameProgress: FrameProgress;
  private readonly remoteAddress: string;
  private readonly node: string | undefined;
  private connected: boolean;
  private socketError: Error | undefined;
  private lastReceived = performance.now();
  private bytesReceived = 0;
  private closed = false;
  /** `leave()` started: nothing more is queued, everything queued is written, then the end. */
  private ending = false;
  private frozen = false;
  private closeReason: NodeDownReason = 'connectionClosed';
  private handshakeFrame: ((payload: Buffer) => void) | undefined;
  private authenticated = false;
  /** Frames received after the handshake, before the owner adopted the link. */
  private readonly early: [number, Buffer][] = [];
  private earlyBytes = 0;

  constructor(
    readonly socket: Socket,
    private readonly limits: ConnectionLimits,
    private readonly logger: ClusterLogger,
    target: ConnectionTarget = {},
  ) {
    socket.setNoDelay(true);
    this.remoteAddress =
      target.remote ?? `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.node = target.node;
    this.connected = !socket.connecting;
    if (!this.connected) socket.once('connect', () => (this.connected = true));
    this.sendQueue = new SendQueue(socket, limits, error => this.close('connectionClosed', error));
    this.fragments = new FragmentAssembler(limits.maxMessageBytes, {
      now: () => performance.now(),
      received: () => this.bytesReceived,
    });
    this.frameProgress = new FrameProgress(limits);
    this.heartbeat = new Heartbeat(limits, {
      running: () => !this.closed && !this.ending && !this.frozen,
      lastReceived: () => this.lastReceived,
      lastSent: () => this.sendQueue.lastSent,
      bytesReceived: () => this.bytesReceived,
      tick: () => this.sendQueue.tick(),
      ping: () => this.sendQueue.sendControl(encodeFrame(FrameType.Ping)),
      silent: ms =>
        this.close('heartbeatTimeout', new ProtocolError(M.noData(this.name, Math.round(ms)))),
      progressing: now => this.progressing(now),
      peer: () => this.name,
    });
    this.decoder = new FrameDecoder({
      maxFrameBytes: HANDSHAKE_MAX_FRAME_BYTES,
      onFrame: (type, payload) => {
        this.frameProgress.delivered();
        this.onFrame(type, payload);
      },
      onError: error => this.fail('connectionClosed', error),
    });
    socket.on('data', chunk => {
      this.lastReceived = performance.now();
      this.bytesReceived += chunk.length;
      this.decoder.push(chunk);
      this.frameProgress.received(this.lastReceived, this.decoder.bufferedBytes);
    });
    socket.on('error', error => {
      this.socketError ??= error;
      // A reset while leaving is the peer closing on our goodbye: still a stop.
      if (this.ending) this.fail(this.closeReason);
      else this.fail('connectionClosed', error);
    });
    socket.on('close', () => this.fail(this.closeReason));
  }

  /** Address of the remote end, for logs. */
  get remote(): string {
    return this.remoteAddress;
  }

  /** Closed, or leaving: nothing more can be sent. */
  get isClosed(): boolean {
    return this.closed || this.ending;
  }

  /** Bytes of control frames waiting to be written (diagnostics; bounded, see `SendQueue`). */
  get controlBytes(): number {
    return this.sendQueue.controlBytes;
  }

  /** Messages waiting in the send queue (or partly written), and their bytes. */
  get queued(): { messages: number; bytes: number } {
    return this.sendQueue.size;
  }

  /** Bytes of partial frames and messages held for this link (diagnostics; see `receive-deadline.ts`). */
  get partialBytes(): number {
    return this.decoder.bufferedBytes + this.fragments.bytes + this.earlyBytes;
  }

  /** The peer's name once known, else the remote address. */
  private get name(): string {
    return this.peer?.name ?? this.remoteAddress;
  }

  /**
   * Runs a handshake over this socket with a per-step and a total deadline (the total one is
   * armed at once, so it is also the pre-authentication idle deadline of an accepted socket).
   * A dialled socket that cannot connect rejects with a `ConnectError` (`ERR_CONNECT_FAILED` with
   * the system error as `cause`, or `ERR_CONNECT_TIMEOUT`). On any failure the link is closed.
   *
   * The deadlines are this method's own timers, not core `withDeadline`: that one starts its work
   * a microtask later, and an accepted TLS socket may emit the peer's first frame on the next tick,
   * before a frame handler installed that late.
   */
  handshake(driver: HandshakeDriver): Promise<HandshakeResult> {
    return new Promise<HandshakeResult>((resolve, reject) => {
      let stepTimer: ReturnType<typeof setTimeout> | undefined;
      let settled = false;
      const settle = (error?: Error, result?: HandshakeResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(stepTimer);
        clearTimeout(totalTimer);
        this.handshakeFrame = undefined;
        this.socket.off('close', onClose);
        if (error) {
          this.close('connectionClosed', error);
          reject(error);
        } else resolve(result!);
      };
      const { handshakeStepTimeoutMs: stepMs, handshakeTotalTimeoutMs: totalMs } = this.limits;
      const deadline = (what: string, ms: number) => {
        const timer = setTimeout(() => settle(handshakeTimeoutError(this.site, what, ms)), ms);
        timer.unref();
        return timer;
      };
      const totalTimer = deadline(M.handshakeTotalLimit(totalMs), totalMs);
      const armStep = () => {
        clearTimeout(stepTimer);
        stepTimer = deadline(M.handshakeStepLimit(stepMs), stepMs);
      };
      const onClose = () => settle(closedDuringHandshakeError(this.site, this.socketError));
      this.socket.once('close', onClose);
      const apply = (step: HandshakeStep) => {
        if (settled) return;
        for (const frame of step.send ?? []) this.socket.write(frame);
        if (step.error) settle(step.error);
        else if (step.done) {
          // Raise the frame limit now, before the decoder reads on: the peer's first frames may
          // follow its last handshake frame in the very same chunk.
          this.authenticated = true;
          this.capabilities = new Set(step.done.capabilities);
          this.decoder.maxFrameBytes = this.limits.maxFramePayloadBytes + FRAGMENT_HEADER_BYTES + 1;
          settle(undefined, step.done);
        } else armStep();
      };
      this.handshakeFrame = payload => {
        let step: HandshakeStep | Promise<HandshakeStep>;
        try {
          step = driver.receive(payload);
        } catch (error) {
          settle(toError(error));
          return;
        }
        if (step instanceof Promise) {
          // A decision in progress (it may ping the old link of a restarted node): no step deadline.
          clearTimeout(stepTimer);
          step.then(apply, (error: unknown) => settle(toError(error)));
        } else apply(step);
      };
      try {
        if (driver.start) apply(driver.start());
        else armStep();
      } catch (error) {
        settle(toError(error));
      }
    });
  }

  /** Where the handshake runs, for its errors. */
  private get site(): HandshakeSite {
    return { connected: this.connected, remote: this.remoteAddress, node: this.node };
  }

  /**
   * Switches to the established state: heartbeats and handlers. Frames received so far (and until
   * {@link Connection.deliverEarly}) are held, so the owner can announce the peer first.
   */
  establish(peer: HandshakeResult['peer'], handlers: ConnectionHandlers): void {
    this.peer = peer;
    this.handlers = handlers;
    this.holding = true;
    this.lastReceived = performance.now();
    this.heartbeat.start();
  }

  /** Delivers the frames held since the handshake, then every frame as it comes. */
  deliverEarly(): void {
    if (!this.holding) return;
    this.holding = false;
    const early = this.early.splice(0);
    this.earlyBytes = 0;
    for (const [type, payload] of early) {
      if (this.closed) return;
      try {
        this.dispatch(type, payload);
      } catch (error) {
        this.fail('connectionClosed', error as Error);
        return;
      }
    }
  }

  /**
   * Queues one message. Throws `MessageTooLargeError` over `maxMessageBytes`, `QueueFullError`
   * when the peer's queue is over its bounds (the caller's back-pressure signal); never blocks and never grows memory past the bounds.
   */
  enqueue(parts: Buffer[]): void {
    if (this.isClosed) throw new ProtocolError(M.linkClosed(this.name));
    this.sendQueue.enqueue(parts, this.name);
  }

  /**
   * Throws what {@link Connection.enqueue} would for a message of at least `bytes` bytes (see
   * `SendQueue.check`), before the message is encoded.
   */
  checkRoom(bytes: number): void {
    if (this.isClosed) throw new ProtocolError(M.linkClosed(this.name));
    this.sendQueue.check(bytes, this.name);
  }

  /**
   * Takes over the unsent messages of `other` (a link to the same node being replaced), ahead of
   * this link's own: messages partly written there are sent again whole here.
   */
  takeQueue(other: Connection): void {
    this.sendQueue.takeFrom(other.sendQueue);
  }

  /** Sends a control message (JSON) ahead of queued data; never refused for back-pressure. */
  sendControl(message: unknown): void {
    if (this.isClosed) return;
    const frame = encodeFrame(FrameType.Control, Buffer.from(JSON.stringify(message)));
    if (!this.sendQueue.sendControl(frame)) {
      this.logger.debug?.(M.controlQueueFull(this.name, this.sendQueue.controlBytes));
    }
  }

  /**
   * Resolves `true` if the peer answers a ping within `timeoutMs`, or sent anything at all
   * meanwhile (a peer busy sending us data is alive); `false` on silence or when the link fails.
   */
  ping(timeoutMs: number): Promise<boolean> {
    if (this.isClosed) return Promise.resolve(false);
    return this.heartbeat.ping(timeoutMs);
  }

  /**
   * Tells the peer this node is leaving and ends the link: the data already queued is written
   * first, then the goodbye, then the end of the stream. Waits at most {@link LEAVE_WAIT_MS} for
   * it all to be written; the local reason of the close is `stopped`.
   */
  async leave(): Promise<void> {
    if (this.closed || this.ending) return;
    this.closeReason = 'stopped';
    this.ending = true;
    this.heartbeat.stop();
    const socket = this.socket;
    await new Promise<void>(resolve => {
      const timer = setTimeout(resolve, LEAVE_WAIT_MS);
      timer.unref();
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.once('close', done);
      this.sendQueue.end();
      socket.end(done);
    });
  }

  /** @internal For tests: behave as a stopped process (no reads, no writes, no ticks). */
  freeze(): void {
    this.frozen = true;
    this.sendQueue.freeze();
    this.heartbeat.stop();
    this.socket.pause();
  }

  /** Closes the link at once. */
  close(reason: NodeDownReason, error?: Error): void {
    this.closeReason = reason;
    this.fail(reason, error);
  }

  private fail(reason: NodeDownReason, error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.decoder.destroy();
    this.heartbeat.close();
    this.sendQueue.close();
    this.fragments.clear();
    this.early.length = 0;
    this.earlyBytes = 0;
    this.socket.destroy();
    if (error && this.handlers) this.logger.warn(M.linkClosedLog(this.name, error.message));
    this.handlers?.onClose(reason, error);
  }

  // --- receive -------------------------------------------------------------------------------

  /** The receive deadline, checked on each heartbeat (see `receive-deadline.ts`). */
  private progressing(now: number): boolean {
    const overdue =
      this.frameProgress.overdue(now, this.decoder.bufferedBytes) ??
      this.fragments.overdue(now, this.limits);
    if (overdue === undefined) return true;
    this.close('heartbeatTimeout', new ProtocolError(M.receiveDeadline(this.name, overdue)));
    return false;
  }

  private onFrame(type: number, payload: Buffer): void {
    if (this.closed) return;
    if (!this.handlers || this.holding) {
      if (this.handshakeFrame) {
        if (type !== FrameType.Handshake) {
          throw new ProtocolError(M.unexpectedFrameInHandshake(type));
        }
        this.handshakeFrame(payload);
        return;
      }
      // The peer may write its first frames as soon as it is done, before our side has adopted
      // the link (a promise turn later): hold them, boundedly, until deliverEarly().
      if (!this.authenticated) {
        throw new ProtocolError(M.unexpectedFrameBeforeLink(type));
      }
      if (
        this.early.length >= MAX_EARLY_FRAMES ||
        this.earlyBytes + payload.length > this.limits.maxMessageBytes
      ) {
        throw new ProtocolError(M.tooManyEarlyFrames(this.remoteAddress));
      }
      this.early.push([type, retainSlice(payload)]);
      this.earlyBytes += payload.length;
      return;
    }
    this.dispatch(type, payload);
  }

  private dispatch(type: number, payload: Buffer): void {
    const handlers = this.handlers!;
    switch (type) {
      case FrameType.Tick:
        return;
      case FrameType.Data:
        handlers.onMessage(payload);
        return;
      case FrameType.DataFragment: {
        const message = this.fragments.push(payload);
        if (message) handlers.onMessage(message);
        return;
      }
      case FrameType.Control: {
        let message: unknown;
        try {
          message = JSON.parse(payload.toString('utf8'));
        } catch (error) {
          throw new ProtocolError(M.malformedControl(), { cause: error });
        }
        handlers.onControl(message);
        return;
      }
      case FrameType.Ping:
        this.sendQueue.pong();
        return;
      case FrameType.Pong:
        this.heartbeat.pong();
        return;
      case FrameType.Leave:
        this.closeReason = 'left';
        this.fail('left');
        return;
      default:
        throw new ProtocolError(M.unknownFrame(type));
    }
  }
}
