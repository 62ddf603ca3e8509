/**
 * Messaging's transport over NATS: each message to a node becomes one payload, or fragments when
 * it is larger than the server's `max_payload`, published to the inbox subject of that node's
 * start. Per-pair FIFO holds because every payload of this node leaves through one connection
 * and, for one destination start, on one subject, published synchronously in `send` order: NATS
 * delivers the messages of one publisher on one subject to a subscriber in order.
 */
import {
  MessageTooLargeError,
  type MessageTransport,
  NodeDownError,
  QueueFullError,
} from '../../distribution/index.js';
import { NatsPayloadTooLargeError } from '../connection/index.js';
import { NatsDistMessages as M } from './nats-dist.messages.js';

/** What the transport needs of the NATS link (a part of `NatsLink`). */
export interface TransportLink {
  readonly connected: boolean;
  publish(subject: string, payload: Uint8Array): void;
  /** Bytes the client holds unsent, when the link can tell. */
  pendingBytes?(): number;
}

/** What the transport needs of the frame writer (a part of `FrameWriter`). */
export interface TransportWriter {
  encode(toIncarnation: string, parts: readonly Buffer[]): Buffer[];
}

/** What {@link NatsTransport} is built with. */
export interface NatsTransportOptions {
  /** The link, once open (`undefined` before, or after close). */
  readonly link: () => TransportLink | undefined;
  readonly writer: TransportWriter;
  /** The inbox subject of a node start. */
  readonly inbox: (incarnation: string) => string;
  /** The incarnation of `node` when it is a member. */
  readonly memberIncarnation: (node: string) => string | undefined;
  /** The member nodes. */
  readonly members: () => readonly string[];
  readonly maxMessageBytes: number;
  /** Most bytes the client may hold unsent before `send` throws `QueueFullError`. */
  readonly maxQueueBytes: number;
  /** Most senders whose start is remembered from their frames; default 10 000. */
  readonly maxLearned?: number;
  /** Counts one message sent to `node`, of `bytes` (its parts), in `payloads` NATS messages. */
  readonly sent?: (node: string, bytes: number, payloads: number) => void;
}

/** The transport (see the file header). */
export class NatsTransport implements MessageTransport {
  /**
   * The start of nodes learned from their verified frames, in the order last heard: a node may
   * ask this one before its presence was heard (or while admission keeps it a candidate), and the
   * answer must still reach it. Bounded: the least recently heard is forgotten first.
   */
  private readonly learned = new Map<string, string>();
  private readonly maxLearned: number;

  constructor(private readonly options: NatsTransportOptions) {
    this.maxLearned = options.maxLearned ?? 10_000;
  }

  send(node: string, parts: Buffer[]): void {
    let bytes = 0;
    for (const part of parts) bytes += part.length;
    const { link, incarnation } = this.route(node, bytes);
    const subject = this.options.inbox(incarnation);
    let payloads = this.options.writer.encode(incarnation, parts);
    try {
      try {
        for (const payload of payloads) link.publish(subject, payload);
      } catch (error) {
        // The server's limit changed (a reconnect to another server) after the message was cut
        // to the old one: cut it again to the limit known now, once. A receiver drops what a
        // first attempt may have delivered of it (a fragment gap).
        if (!(error instanceof NatsPayloadTooLargeError)) throw error;
        payloads = this.options.writer.encode(incarnation, parts);
        for (const payload of payloads) link.publish(subject, payload);
      }
    } catch (error) {
      // The client refuses a publish while it is cut off from NATS; a payload still over the
      // server's limit means the limit moved again under us: the node is unreachable for now.
      if (error instanceof NatsPayloadTooLargeError || !link.connected)
        throw new NodeDownError(link.connected ? M.payloadRefused(node) : M.cutOff(node), {
          node,
          cause: error,
        });
      throw error;
    }
    this.options.sent?.(node, bytes, payloads.length);
  }

  check(node: string, minBytes: number): void {
    this.route(node, minBytes);
  }

  members(): readonly string[] {
    return this.options.members();
  }

  /** Every node start of a NATS dist takes messages with headers (envelope kinds 5 and 6). */
  headers(): boolean {
    return true;
  }

  /** A verified frame came from `node`'s start `incarnation`: answers to it can go there. */
  learn(node: string, incarnation: string): void {
    // The hot path (a member's frames): nothing to learn, an answer goes to its member start.
    if (this.options.memberIncarnation(node) === incarnation) return;
    this.learned.delete(node);
    this.learned.set(node, incarnation);
    if (this.learned.size > this.maxLearned) {
      const oldest = this.learned.keys().next().value as string;
      this.learned.delete(oldest);
    }
  }

  /** `node`'s start `incarnation` is gone: nothing more is sent to it. */
  forget(node: string, incarnation: string): void {
    if (this.learned.get(node) === incarnation) this.learned.delete(node);
  }

  /** The start of `node` a message goes to: a member's, else the one its frames came from. */
  incarnationOf(node: string): string | undefined {
    return this.options.memberIncarnation(node) ?? this.learned.get(node);
  }

  /** The link and start a message of `bytes` to `node` goes to, or the error `send` throws. */
  private route(node: string, bytes: number): { link: TransportLink; incarnation: string } {
    const incarnation = this.incarnationOf(node);
    if (incarnation === undefined) throw new NodeDownError(M.nodeDown(node), { node });
    const link = this.options.link();
    if (!link?.connected) throw new NodeDownError(M.cutOff(node), { node });
    const limit = this.options.maxMessageBytes;
    if (bytes > limit)
      throw new MessageTooLargeError(M.messageTooLarge(node, bytes, limit), { node, bytes, limit });
    const pending = link.pendingBytes?.() ?? 0;
    if (pending > 0 && pending + bytes > this.options.maxQueueBytes)
      throw new QueueFullError(M.queueFull(node, pending, this.options.maxQueueBytes), { node });
    return { link, incarnation };
  }
}
