import type { Socket } from 'node:net';
import { ConnectError } from '../../core/errors.js';
import type { NodeDownReason } from '../../core/events.js';
import type { ClusterLogger } from '../../core/logger.js';
import { QueueFullError } from '../messaging/messaging.errors.js';
import {
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameType,
  encodeFrame,
  encodeFrameHeader,
} from './frame-codec.js';
import {
  HANDSHAKE_MAX_FRAME_BYTES,
  type HandshakeResult,
  type HandshakeStep,
} from './handshake.js';
import { HandshakeError, ProtocolError } from './tcp.errors.js';
import { TcpMessages as M } from './tcp.messages.js';

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

/** Where the socket of a connection leads, known before it is connected. */
export interface ConnectionTarget {
  /** `address:port` of the remote end, for messages (the socket's own is unknown until connected). */
  readonly remote?: string;
  /** The node dialled, for the errors of a dial. */
  readonly node?: string;
}

interface Outgoing {
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

const FRAGMENT_HEADER_BYTES = 5; // u32 message id + u8 flags
const FLAG_LAST = 1;
/** How many bytes one flush writes before yielding, so control frames and other peers get a turn. */
const FLUSH_BUDGET_BYTES = 512 * 1024;
/** Messages up to this size are copied into a shared write buffer rather than written apart. */
const SMALL_MESSAGE_BYTES = 16 * 1024;
/** Size of one shared write buffer. */
const BATCH_BYTES = 64 * 1024;
/** Frames a peer may send between its end of the handshake and ours. */
const MAX_EARLY_FRAMES = 1_024;
/** Fragmented messages being reassembled at once from one peer. */
const MAX_PARTIAL_MESSAGES = 64;
/** Bytes of control frames (ticks, pings, pongs, peer lists) queued at most. */
const MAX_CONTROL_BYTES = 4 * 1024 * 1024;
/** How long `leave()` waits for queued data and the goodbye to be written. */
const LEAVE_WAIT_MS = 500;

/**
 * A received slice worth keeping (early frames, fragments): the view itself when it fills most of
 * its underlying memory, else a copy, so that small slices never pin large socket chunks.
 * Decoder output is never reused (views of fresh socket chunks or of fresh reassembly buffers).
 */
function keep(view: Buffer): Buffer {
  return view.length * 2 >= view.buffer.byteLength ? view : Buffer.from(view);
}

/**
 * One link to one peer: it runs the handshake with its deadlines, then carries frames both ways
 * with heartbeats, a bounded send queue, write coalescing (one flush per event-loop turn) and
 * fragmentation of large messages, interleaved so heartbeats and small messages never starve.
 */
export class Connection {
  /** Set once the handshake succeeded. */
  peer: HandshakeResult['peer'] | undefined;
  private handlers: ConnectionHandlers | undefined;
  /** Established, but frames are still held until {@link Connection.deliverEarly}. */
  private holding = false;
  private readonly decoder: FrameDecoder;
  private readonly remoteAddress: string;
  private readonly node: string | undefined;
  private connected: boolean;
  private socketError: Error | undefined;
  private lastReceived = performance.now();
  private bytesReceived = 0;
  private lastSent = performance.now();
  private heartbeatTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** `leave()` started: nothing more is queued, everything queued is written, then the end. */
  private ending = false;
  private closeReason: NodeDownReason = 'connectionClosed';
  private readonly control: Buffer[] = [];
  private controlBytes = 0;
  private pongQueued = false;
  private queue: Outgoing[] = [];
  private queuedBytes = 0;
  /** Bytes of the messages being fragmented (started, not finished). */
  private fragmentingBytes = 0;
  private flushScheduled = false;
  private waitingDrain = false;
  private nextFragmentId = 1;
  private readonly partial = new Map<number, { parts: Buffer[]; bytes: number }>();
  private partialBytes = 0;
  private handshakeFrame: ((payload: Buffer) => void) | undefined;
  private readonly pongWaiters = new Set<(alive: boolean) => void>();
  private frozen = false;
  private authenticated = false;
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
    this.decoder = new FrameDecoder({
      maxFrameBytes: HANDSHAKE_MAX_FRAME_BYTES,
      onFrame: (type, payload) => this.onFrame(type, payload),
      onError: error => this.fail('connectionClosed', error),
    });
    socket.on('data', chunk => {
      this.lastReceived = performance.now();
      this.bytesReceived += chunk.length;
      this.decoder.push(chunk);
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

  /**
   * Runs a handshake over this socket with a per-step and a total deadline (the total one is
   * armed at once, so it is also the pre-authentication idle deadline of an accepted socket).
   * A dialled socket that cannot connect rejects with a `ConnectError` (`ERR_CONNECT_FAILED` with
   * the system error as `cause`, or `ERR_CONNECT_TIMEOUT`).
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
      const node = this.node ?? this.remoteAddress;
      const timeout = (what: string, ms: number) => () =>
        settle(
          this.connected
            ? new HandshakeError(
                'ERR_HANDSHAKE_TIMEOUT',
                M.handshakeTimedOut(this.remoteAddress, what),
                {
                  reason: 'timeout',
                  byPeer: false,
                },
              )
            : new ConnectError(M.connectTimeout(node, this.remoteAddress, ms), {
                code: 'ERR_CONNECT_TIMEOUT',
                node,
              }),
        );
      const { handshakeStepTimeoutMs: stepMs, handshakeTotalTimeoutMs: totalMs } = this.limits;
      const totalTimer = setTimeout(timeout(`${totalMs} ms in all`, totalMs), totalMs);
      totalTimer.unref();
      const armStep = () => {
        clearTimeout(stepTimer);
        stepTimer = setTimeout(timeout(`${stepMs} ms for one step`, stepMs), stepMs);
        stepTimer.unref();
      };
      const onClose = () => {
        const cause = this.socketError;
        settle(
          !this.connected && cause
            ? new ConnectError(M.connectFailed(node, this.remoteAddress, cause.message), {
                node,
                cause,
              })
            : new ProtocolError(M.closedDuringHandshake(this.remoteAddress), { cause }),
        );
      };
      this.socket.once('close', onClose);
      const apply = (step: HandshakeStep) => {
        if (settled) return;
        for (const frame of step.send ?? []) this.socket.write(frame);
        if (step.error) settle(step.error);
        else if (step.done) {
          // Raise the frame limit now, before the decoder reads on: the peer's first frames may
          // follow its last handshake frame in the very same chunk.
          this.authenticated = true;
          this.decoder.maxFrameBytes = this.limits.maxFramePayloadBytes + FRAGMENT_HEADER_BYTES + 1;
          settle(undefined, step.done);
        } else armStep();
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
      try {
        if (driver.start) apply(driver.start());
        else armStep();
      } catch (error) {
        settle(error as Error);
      }
    });
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
    this.armHeartbeat();
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
   * Queues one message. Throws {@link QueueFullError} when the peer's queue is over its bounds (the
   * caller's back-pressure signal); never blocks and never grows memory past the bounds.
   */
  enqueue(parts: Buffer[]): void {
    if (this.isClosed) throw new ProtocolError(M.linkClosed(this.peer?.name ?? this.remoteAddress));
    let bytes = 0;
    for (const part of parts) bytes += part.length;
    if (bytes > this.limits.maxMessageBytes) {
      throw new QueueFullError(
        `Message of ${bytes} bytes exceeds maxMessageBytes (${this.limits.maxMessageBytes}).`,
      );
    }
    if (
      this.queue.length >= this.limits.maxQueueMessages ||
      this.queuedBytes + bytes > this.limits.maxQueueBytes
    ) {
      throw new QueueFullError(
        `Send queue to ${this.peer?.name ?? this.remoteAddress} is full (${this.queue.length} messages, ${this.queuedBytes} bytes).`,
      );
    }
    this.queue.push({ data: parts, bytes, offset: 0, part: 0, partOffset: 0, id: 0 });
    this.queuedBytes += bytes;
    if (this.flushScheduled || this.waitingDrain || this.ending || this.frozen) return;
    // The first message of a turn goes out at once (latency); the ones queued after it in the
    // same turn wait for the end of the turn and go out together (throughput).
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
    this.flush();
  }

  /**
   * Takes over the unsent messages of `other` (a link to the same node being replaced), ahead of
   * this link's own: messages partly written there are sent again whole here.
   */
  takeQueue(other: Connection): void {
    if (other === this || other.queue.length === 0) return;
    const moved = other.queue;
    other.queue = [];
    other.queuedBytes = 0;
    other.fragmentingBytes = 0;
    if (this.isClosed) return;
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

  /** Sends a control message (JSON) ahead of queued data; never refused for back-pressure. */
  sendControl(message: unknown): void {
    if (this.isClosed) return;
    if (this.pushControl(encodeFrame(FrameType.Control, Buffer.from(JSON.stringify(message))))) {
      this.scheduleFlush();
    } else {
      this.logger.debug?.(
        M.controlQueueFull(this.peer?.name ?? this.remoteAddress, this.controlBytes),
      );
    }
  }

  /**
   * Resolves `true` if the peer answers a ping within `timeoutMs`, or sent anything at all
   * meanwhile (a peer busy sending us data is alive); `false` on silence or when the link fails.
   */
  ping(timeoutMs: number): Promise<boolean> {
    if (this.isClosed) return Promise.resolve(false);
    return new Promise(resolve => {
      const before = this.bytesReceived;
      let settled = false;
      const done = (alive: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pongWaiters.delete(done);
        this.socket.off('close', onClose);
        resolve(alive);
      };
      const onClose = () => done(false);
      const timer = setTimeout(() => done(!this.closed && this.bytesReceived > before), timeoutMs);
      timer.unref();
      this.pongWaiters.add(done);
      this.socket.once('close', onClose);
      this.pushControl(encodeFrame(FrameType.Ping));
      this.scheduleFlush();
    });
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
    clearTimeout(this.heartbeatTimer);
    const socket = this.socket;
    await new Promise<void>(resolve => {
      const timer = setTimeout(resolve, LEAVE_WAIT_MS);
      timer.unref();
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.once('close', done);
      if (!this.frozen) {
        this.flush(true);
        socket.write(encodeFrame(FrameType.Leave));
      }
      socket.end(done);
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
    this.decoder.destroy();
    clearTimeout(this.heartbeatTimer);
    this.queue = [];
    this.queuedBytes = 0;
    this.fragmentingBytes = 0;
    this.control.length = 0;
    this.controlBytes = 0;
    this.partial.clear();
    this.partialBytes = 0;
    this.early.length = 0;
    this.earlyBytes = 0;
    for (const waiter of [...this.pongWaiters]) waiter(false);
    this.pongWaiters.clear();
    this.socket.destroy();
    if (error && this.handlers) {
      this.logger.warn(M.linkClosedLog(this.peer?.name ?? this.remoteAddress, error.message));
    }
    this.handlers?.onClose(reason, error);
  }

  // --- receive -------------------------------------------------------------------------------

  private onFrame(type: number, payload: Buffer): void {
    if (this.closed) return;
    if (!this.handlers || this.holding) {
      if (this.handshakeFrame) {
        if (type !== FrameType.Handshake) {
          throw new ProtocolError(M.unexpectedFrame(type, 'during the handshake'));
        }
        this.handshakeFrame(payload);
        return;
      }
      // The peer may write its first frames as soon as it is done, before our side has adopted
      // the link (a promise turn later): hold them, boundedly, until deliverEarly().
      if (!this.authenticated) {
        throw new ProtocolError(M.unexpectedFrame(type, 'outside of an established link'));
      }
      if (
        this.early.length >= MAX_EARLY_FRAMES ||
        this.earlyBytes + payload.length > this.limits.maxMessageBytes
      ) {
        throw new ProtocolError(M.tooManyEarlyFrames(this.remoteAddress));
      }
      this.early.push([type, keep(payload)]);
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
      case FrameType.DataFragment:
        this.onFragment(payload);
        return;
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
        // One answer is enough for any number of pings not yet answered.
        if (!this.pongQueued && this.pushControl(encodeFrame(FrameType.Pong))) {
          this.pongQueued = true;
          this.scheduleFlush();
        }
        return;
      case FrameType.Pong:
        for (const waiter of [...this.pongWaiters]) waiter(true);
        return;
      case FrameType.Leave:
        this.closeReason = 'left';
        this.fail('left');
        return;
      default:
        throw new ProtocolError(M.unknownFrame(type));
    }
  }

  private onFragment(payload: Buffer): void {
    if (payload.length < FRAGMENT_HEADER_BYTES) throw new ProtocolError(M.truncatedFragment());
    const id = payload.readUInt32BE(0);
    const last = (payload[4]! & FLAG_LAST) !== 0;
    const chunk = keep(payload.subarray(FRAGMENT_HEADER_BYTES));
    let entry = this.partial.get(id);
    if (!entry) {
      if (this.partial.size >= MAX_PARTIAL_MESSAGES) throw new ProtocolError(M.tooManyPartials());
      entry = { parts: [], bytes: 0 };
      this.partial.set(id, entry);
    }
    // All reassemblies together stay within maxMessageBytes (senders never exceed it, see flush).
    if (this.partialBytes + chunk.length > this.limits.maxMessageBytes) {
      throw new ProtocolError(M.partialsTooLarge(this.limits.maxMessageBytes));
    }
    entry.parts.push(chunk);
    entry.bytes += chunk.length;
    this.partialBytes += chunk.length;
    if (!last) return;
    this.partial.delete(id);
    this.partialBytes -= entry.bytes;
    this.handlers!.onMessage(
      entry.parts.length === 1 ? entry.parts[0]! : Buffer.concat(entry.parts, entry.bytes),
    );
  }

  // --- send ----------------------------------------------------------------------------------

  /** Queues a control frame unless the control queue is over its bound. */
  private pushControl(frame: Buffer): boolean {
    if (this.controlBytes + frame.length > MAX_CONTROL_BYTES) return false;
    this.control.push(frame);
    this.controlBytes += frame.length;
    return true;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.waitingDrain || this.closed || this.ending || this.frozen) {
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
    this.controlBytes = 0;
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
    this.lastSent = performance.now();
    if (all || (this.queue.length === 0 && this.control.length === 0)) return;
    if (socket.writableNeedDrain) {
      if (this.waitingDrain) return;
      this.waitingDrain = true;
      socket.once('drain', () => {
        this.waitingDrain = false;
        this.flush();
      });
    } else this.scheduleFlush();
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
    const header = Buffer.allocUnsafe(FRAGMENT_HEADER_BYTES);
    header.writeUInt32BE(message.id, 0);
    header[4] = message.offset + length >= message.bytes ? FLAG_LAST : 0;
    socket.write(encodeFrameHeader(FrameType.DataFragment, FRAGMENT_HEADER_BYTES + length));
    socket.write(header);
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

  private armHeartbeat(): void {
    const { heartbeatMs } = this.limits;
    const due = performance.now() + heartbeatMs;
    this.heartbeatTimer = setTimeout(() => {
      if (this.closed || this.frozen) return;
      // Fired late: this process itself stalled (GC pause, synchronous work), so the peer's
      // frames may be waiting unread. Let the poll phase read them before judging the peer.
      if (performance.now() - due > heartbeatMs / 2) setImmediate(() => this.heartbeat());
      else this.heartbeat();
    }, heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private heartbeat(): void {
    if (this.closed || this.ending || this.frozen) return;
    const { heartbeatMs, failureTimeoutMs } = this.limits;
    const now = performance.now();
    if (now - this.lastReceived > failureTimeoutMs) {
      const peer = this.peer?.name ?? this.remoteAddress;
      this.close(
        'heartbeatTimeout',
        new ProtocolError(M.noData(peer, Math.round(now - this.lastReceived))),
      );
      return;
    }
    // Ticks only on idle links: any data we wrote already proves we are alive.
    if (now - this.lastSent >= heartbeatMs * 0.9 && !this.waitingDrain) {
      if (this.pushControl(encodeFrame(FrameType.Tick))) this.flush();
    }
    this.armHeartbeat();
  }
}
