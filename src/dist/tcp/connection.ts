import type { Socket } from 'node:net';
import type { NodeDownReason } from '../../core/events.js';
import type { ClusterLogger } from '../../core/logger.js';
import { QueueFullError } from '../messaging/messaging-errors.js';
import { FrameDecoder, FrameType, encodeFrame, encodeFrameHeader } from './frame-codec.js';
import { HANDSHAKE_MAX_FRAME_BYTES, type HandshakeResult, type HandshakeStep } from './handshake.js';
import { HandshakeError, ProtocolError } from './tcp-errors.js';

/** Limits and timings of one link. */
export interface ConnectionLimits {
  readonly heartbeatMs: number;
  readonly failureTimeoutMs: number;
  readonly handshakeStepTimeoutMs: number;
  readonly handshakeTotalTimeoutMs: number;
  /** Largest data frame payload; larger messages are fragmented. */
  readonly maxFramePayloadBytes: number;
  /** Largest whole message accepted from the peer. */
  readonly maxMessageBytes: number;
  /** Bytes and messages a peer's send queue may hold; over them `enqueue` throws. */
  readonly maxQueueBytes: number;
  readonly maxQueueMessages: number;
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

interface Outgoing {
  /** The whole message as one buffer once it is being fragmented. */
  data: Buffer[];
  bytes: number;
  /** Bytes already written (fragmented messages). */
  offset: number;
  id: number;
}

const FRAGMENT_HEADER_BYTES = 5; // u32 message id + u8 flags
const FLAG_LAST = 1;
/** How many bytes one flush writes before yielding, so control frames and other peers get a turn. */
const FLUSH_BUDGET_BYTES = 512 * 1024;
/** Frames a peer may send between its end of the handshake and ours. */
const MAX_EARLY_FRAMES = 1_024;
/** Fragmented messages being reassembled at once from one peer. */
const MAX_PARTIAL_MESSAGES = 64;

/**
 * One link to one peer: it runs the handshake with its deadlines, then carries frames both ways
 * with heartbeats, a bounded send queue, write coalescing (one flush per event-loop turn) and
 * fragmentation of large messages, interleaved so heartbeats and small messages never starve.
 */
export class Connection {
  /** Set once the handshake succeeded. */
  peer: HandshakeResult['peer'] | undefined;
  private handlers: ConnectionHandlers | undefined;
  private readonly decoder: FrameDecoder;
  private lastReceived = performance.now();
  private lastSent = performance.now();
  private heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private closeReason: NodeDownReason = 'connectionClosed';
  private readonly control: Buffer[] = [];
  private readonly queue: Outgoing[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private waitingDrain = false;
  private nextFragmentId = 1;
  private readonly partial = new Map<number, { parts: Buffer[]; bytes: number }>();
  private handshakeFrame: ((payload: Buffer) => void) | undefined;
  private pongWaiters: (() => void)[] = [];
  private frozen = false;
  private authenticated = false;
  private readonly early: [number, Buffer][] = [];

  constructor(
    readonly socket: Socket,
    private readonly limits: ConnectionLimits,
    private readonly logger: ClusterLogger,
  ) {
    socket.setNoDelay(true);
    this.decoder = new FrameDecoder({
      maxFrameBytes: HANDSHAKE_MAX_FRAME_BYTES,
      onFrame: (type, payload) => this.onFrame(type, payload),
      onError: error => this.fail('connectionClosed', error),
    });
    socket.on('data', chunk => {
      this.lastReceived = performance.now();
      this.decoder.push(chunk);
    });
    socket.on('error', error => this.fail('connectionClosed', error));
    socket.on('close', () => this.fail(this.closeReason));
  }

  /** Address of the remote end, for logs. */
  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Runs a handshake over this socket with a per-step and a total deadline (the total one is
   * armed at once, so it is also the pre-authentication idle deadline of an accepted socket).
   */
  handshake(driver: HandshakeDriver): Promise<HandshakeResult> {
    return new Promise<HandshakeResult>((resolve, reject) => {
      let stepTimer: ReturnType<typeof setTimeout> | undefined;
      const settle = (error?: Error, result?: HandshakeResult) => {
        if (!error) this.authenticated = true;
        clearTimeout(stepTimer);
        clearTimeout(totalTimer);
        this.handshakeFrame = undefined;
        this.socket.off('close', onClose);
        if (error) {
          this.close('connectionClosed', error);
          reject(error);
        } else resolve(result!);
      };
      const timeout = (what: string) => () =>
        settle(new HandshakeError('ERR_HANDSHAKE_TIMEOUT', `Handshake with ${this.remote} timed out (${what}).`, { reason: 'timeout', byPeer: false }));
      const totalTimer = setTimeout(timeout(`${this.limits.handshakeTotalTimeoutMs} ms in all`), this.limits.handshakeTotalTimeoutMs);
      totalTimer.unref();
      const armStep = () => {
        clearTimeout(stepTimer);
        stepTimer = setTimeout(timeout(`${this.limits.handshakeStepTimeoutMs} ms for one step`), this.limits.handshakeStepTimeoutMs);
        stepTimer.unref();
      };
      const onClose = () => settle(new ProtocolError(`Connection to ${this.remote} closed during the handshake.`));
      this.socket.once('close', onClose);
      const apply = (step: HandshakeStep) => {
        for (const frame of step.send ?? []) this.socket.write(frame);
        if (step.error) settle(step.error);
        else if (step.done) settle(undefined, step.done);
        else armStep();
      };
      this.handshakeFrame = payload => {
        let step: HandshakeStep | Promise<HandshakeStep>;
        try {
          step = driver.receive(payload);
        } catch (error) {
          settle(error as Error);
          return;
        }
        if (step instanceof Promise) {
          clearTimeout(stepTimer);
          step.then(apply, error => settle(error as Error));
        } else apply(step);
      };
      if (driver.start) apply(driver.start());
      else armStep();
    });
  }

  /** Switches to the established state: larger frames, heartbeats, handlers. */
  establish(peer: HandshakeResult['peer'], handlers: ConnectionHandlers): void {
    this.peer = peer;
    this.handlers = handlers;
    this.decoder.maxFrameBytes = this.limits.maxFramePayloadBytes + FRAGMENT_HEADER_BYTES + 1;
    this.lastReceived = performance.now();
    this.armHeartbeat();
    for (const [type, payload] of this.early.splice(0)) {
      if (this.closed) return;
      try {
        this.onFrame(type, payload);
      } catch (error) {
        this.fail('connectionClosed', error as Error);
      }
    }
  }

  /**
   * Queues one message. Throws {@link QueueFullError} when the peer's queue is over its bounds (the
   * caller's back-pressure signal); never blocks and never grows memory past the bounds.
   */
  enqueue(parts: Buffer[]): void {
    if (this.closed) throw new ProtocolError(`Connection to ${this.peer?.name ?? this.remote} is closed.`);
    let bytes = 0;
    for (const part of parts) bytes += part.length;
    if (bytes > this.limits.maxMessageBytes) {
      throw new QueueFullError(`Message of ${bytes} bytes exceeds maxMessageBytes (${this.limits.maxMessageBytes}).`);
    }
    if (this.queue.length >= this.limits.maxQueueMessages || this.queuedBytes + bytes > this.limits.maxQueueBytes) {
      throw new QueueFullError(
        `Send queue to ${this.peer?.name ?? this.remote} is full (${this.queue.length} messages, ${this.queuedBytes} bytes).`,
      );
    }
    this.queue.push({ data: parts, bytes, offset: 0, id: 0 });
    this.queuedBytes += bytes;
    this.scheduleFlush();
  }

  /** Sends a control message (JSON) ahead of queued data; never refused for back-pressure. */
  sendControl(message: unknown): void {
    if (this.closed) return;
    this.control.push(encodeFrame(FrameType.Control, Buffer.from(JSON.stringify(message))));
    this.scheduleFlush();
  }

  /** Resolves `true` if the peer answers a ping within `timeoutMs`. */
  ping(timeoutMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise(resolve => {
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref();
      const done = (alive: boolean) => {
        clearTimeout(timer);
        this.pongWaiters = this.pongWaiters.filter(w => w !== onPong);
        resolve(alive);
      };
      const onPong = () => done(true);
      this.pongWaiters.push(onPong);
      this.control.push(encodeFrame(FrameType.Ping));
      this.scheduleFlush();
      this.socket.once('close', () => done(false));
    });
  }

  /** Tells the peer this node is leaving, flushes, and ends the link. */
  async leave(): Promise<void> {
    if (this.closed) return;
    this.control.push(encodeFrame(FrameType.Leave));
    this.flush();
    this.closeReason = 'stopped';
    await new Promise<void>(resolve => {
      this.socket.end(resolve);
      const timer = setTimeout(resolve, 500);
      timer.unref();
    });
  }

  /** @internal For tests: behave as a stopped process (no reads, no writes, no ticks). */
  freeze(): void {
    this.frozen = true;
    clearTimeout(this.heartbeatTimer);
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
    clearTimeout(this.heartbeatTimer);
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.partial.clear();
    for (const waiter of this.pongWaiters) waiter();
    this.socket.destroy();
    if (error && this.handlers) this.logger.warn(`Link to ${this.peer?.name ?? this.remote} closed: ${error.message}`);
    this.handlers?.onClose(reason, error);
  }

  // --- receive -------------------------------------------------------------------------------

  private onFrame(type: number, payload: Buffer): void {
    if (!this.handlers) {
      if (this.handshakeFrame) {
        if (type !== FrameType.Handshake) throw new ProtocolError(`Unexpected frame ${type} during the handshake.`);
        this.handshakeFrame(payload);
        return;
      }
      // The peer may write its first frames as soon as it is done, before our side has adopted
      // the link (a promise turn later): hold them, boundedly, until establish().
      if (!this.authenticated || this.early.length >= MAX_EARLY_FRAMES) {
        throw new ProtocolError(`Unexpected frame ${type} outside of an established link.`);
      }
      this.early.push([type, Buffer.from(payload)]);
      return;
    }
    switch (type) {
      case FrameType.Tick:
        return;
      case FrameType.Data:
        this.handlers.onMessage(payload);
        return;
      case FrameType.DataFragment:
        this.onFragment(payload);
        return;
      case FrameType.Control: {
        let message: unknown;
        try {
          message = JSON.parse(payload.toString('utf8'));
        } catch (error) {
          throw new ProtocolError('Malformed control frame.', { cause: error });
        }
        this.handlers.onControl(message);
        return;
      }
      case FrameType.Ping:
        this.control.push(encodeFrame(FrameType.Pong));
        this.scheduleFlush();
        return;
      case FrameType.Pong:
        for (const waiter of this.pongWaiters.splice(0)) waiter();
        return;
      case FrameType.Leave:
        this.closeReason = 'left';
        this.fail('left');
        return;
      default:
        throw new ProtocolError(`Unknown frame type ${type}.`);
    }
  }

  private onFragment(payload: Buffer): void {
    if (payload.length < FRAGMENT_HEADER_BYTES) throw new ProtocolError('Truncated fragment.');
    const id = payload.readUInt32BE(0);
    const last = (payload[4]! & FLAG_LAST) !== 0;
    const chunk = Buffer.from(payload.subarray(FRAGMENT_HEADER_BYTES));
    let entry = this.partial.get(id);
    if (!entry) {
      if (this.partial.size >= MAX_PARTIAL_MESSAGES) throw new ProtocolError('Too many fragmented messages at once.');
      entry = { parts: [], bytes: 0 };
      this.partial.set(id, entry);
    }
    entry.parts.push(chunk);
    entry.bytes += chunk.length;
    if (entry.bytes > this.limits.maxMessageBytes) throw new ProtocolError(`Message exceeds maxMessageBytes (${this.limits.maxMessageBytes}).`);
    if (!last) return;
    this.partial.delete(id);
    this.handlers!.onMessage(entry.parts.length === 1 ? entry.parts[0]! : Buffer.concat(entry.parts, entry.bytes));
  }

  // --- send ----------------------------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.flushScheduled || this.waitingDrain || this.closed || this.frozen) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Writes control frames, then up to a budget of data, in one corked batch. */
  private flush(): void {
    if (this.closed || this.frozen) return;
    const socket = this.socket;
    socket.cork();
    for (const frame of this.control.splice(0)) socket.write(frame);
    let budget = FLUSH_BUDGET_BYTES;
    const maxPayload = this.limits.maxFramePayloadBytes;
    while (this.queue.length > 0 && budget > 0) {
      const message = this.queue[0]!;
      if (message.offset === 0 && message.bytes <= maxPayload) {
        socket.write(encodeFrameHeader(FrameType.Data, message.bytes));
        for (const part of message.data) socket.write(part);
        this.queue.shift();
        this.queuedBytes -= message.bytes;
        budget -= message.bytes;
        continue;
      }
      // A large message goes out one fragment at a time, round-robin with the rest of the queue.
      if (message.id === 0) {
        message.id = this.nextFragmentId;
        this.nextFragmentId = (this.nextFragmentId % 0xffff_ffff) + 1;
        if (message.data.length > 1) message.data = [Buffer.concat(message.data, message.bytes)];
      }
      const whole = message.data[0]!;
      const length = Math.min(maxPayload - FRAGMENT_HEADER_BYTES, message.bytes - message.offset);
      const last = message.offset + length >= message.bytes;
      const header = Buffer.allocUnsafe(FRAGMENT_HEADER_BYTES);
      header.writeUInt32BE(message.id, 0);
      header[4] = last ? FLAG_LAST : 0;
      socket.write(encodeFrameHeader(FrameType.DataFragment, FRAGMENT_HEADER_BYTES + length));
      socket.write(header);
      socket.write(whole.subarray(message.offset, message.offset + length));
      message.offset += length;
      budget -= length;
      this.queue.shift();
      if (last) this.queuedBytes -= message.bytes;
      else this.queue.push(message);
    }
    socket.uncork();
    this.lastSent = performance.now();
    if (this.queue.length === 0 && this.control.length === 0) return;
    if (socket.writableNeedDrain) {
      this.waitingDrain = true;
      socket.once('drain', () => {
        this.waitingDrain = false;
        this.flush();
      });
    } else this.scheduleFlush();
  }

  private armHeartbeat(): void {
    const { heartbeatMs, failureTimeoutMs } = this.limits;
    this.heartbeatTimer = setTimeout(() => {
      if (this.closed) return;
      const now = performance.now();
      if (now - this.lastReceived > failureTimeoutMs) {
        this.close(
          'heartbeatTimeout',
          new ProtocolError(`No data from ${this.peer?.name ?? this.remote} for ${Math.round(now - this.lastReceived)} ms.`),
        );
        return;
      }
      // Ticks only on idle links: any data we wrote already proves we are alive.
      if (now - this.lastSent >= heartbeatMs * 0.9 && !this.waitingDrain) {
        this.control.push(encodeFrame(FrameType.Tick));
        this.flush();
      }
      this.armHeartbeat();
    }, heartbeatMs);
    this.heartbeatTimer.unref();
  }
}
