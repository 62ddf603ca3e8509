/**
 * How an encoded message leaves this node: to the transport, or, for this node itself, to its own
 * dispatcher in a microtask (the same path a received message takes, never synchronously inside
 * the caller). Also the check that refuses, before any encoding, what the transport is bound to
 * refuse, and the fan-out of a broadcast, whose payload is encoded once for every target.
 */
import {
  type BroadcastOptions,
  InvalidConfigError,
  type MessageHeaders,
} from '../../core/index.js';
import type { DispatchLogLevel, Dispatcher } from './dispatch.js';
import { EnvelopeKind, encodeEnvelope, envelopeLength } from './envelope.js';
import { encodeHeaders, headersWithinBounds } from './envelope-headers.js';
import type { MessagingStats } from './messaging-stats.js';
import { withRequest } from './request-errors.js';
import { MessagingMessages } from './messaging.messages.js';
import type { MessageTransport } from './messaging.options.js';
import { type PayloadCodec, encodePayload, encodedSizeLowerBound } from './payload-codec.js';

/**
 * What {@link Delivery} needs of the messaging facade.
 * @internal
 */
export interface DeliveryContext {
  /** This node's name: messages to it never reach the transport. */
  readonly self: string;
  readonly transport: MessageTransport;
  readonly codec: PayloadCodec;
  /** Counts the messages handed to the transport. */
  readonly stats: MessagingStats;
  readonly isClosed: () => boolean;
  /** Handles a message from this node to itself, as `receive` handles one from a peer. */
  readonly dispatch: Dispatcher['dispatch'];
  readonly log: (level: DispatchLogLevel, key: string, message: string) => void;
}

/**
 * Hands encoded messages to the transport or to this node's own handlers.
 * @internal
 */
export class Delivery {
  constructor(private readonly context: DeliveryContext) {}

  /**
   * Hands a message to the transport, or to this node's own handlers (asynchronously, with its
   * `headers`, which an instrumentation hook set).
   */
  deliver(
    node: string,
    kind: EnvelopeKind,
    requestId: number,
    topic: string,
    body: Buffer[],
    headers?: MessageHeaders,
  ): void {
    const { context } = this;
    if (node === context.self) {
      // One buffer of its own: the receiving handler never shares memory with the sender's value.
      this.deliverToSelf(kind, requestId, topic, Buffer.concat(body), headers);
      return;
    }
    const block =
      headers !== undefined && context.transport.headers?.(node) === true
        ? this.headerBlock(topic, headers)
        : undefined;
    const parts = encodeEnvelope(kind, requestId, topic, body, block);
    context.transport.send(node, parts);
    context.stats.sent(envelopeLength(parts));
  }

  /**
   * Checks, encodes and queues a one-way message (see `Messaging.send`).
   * @throws what the transport or the codec throws, naming `node` and `topic`.
   */
  send(node: string, topic: string, payload: unknown, headers?: MessageHeaders): void {
    try {
      this.checkRoom(node, payload);
      const body = encodePayload(this.context.codec, payload);
      this.deliver(node, EnvelopeKind.Send, 0, topic, body, headers);
    } catch (error) {
      throw withRequest(error, node, topic);
    }
  }

  /**
   * Refuses, before encoding, a message the transport is bound to refuse: a full queue, a node
   * down, or a binary payload already over the message limit (its bytes are a lower bound of the
   * message's). Messages to self never reach the transport.
   */
  checkRoom(node: string, payload: unknown): void {
    const { context } = this;
    if (node === context.self || context.transport.check === undefined) return;
    context.transport.check(node, encodedSizeLowerBound(context.codec, payload));
  }

  /**
   * Sends a one-way message to every connected member but self, or to the connected members and
   * this node among `options.nodes`, encoding the payload once. A target the transport refuses
   * is skipped and logged (rate-limited); a listed node that is not a member is skipped.
   * @returns how many targets the message was queued for (this node included when listed).
   * @throws PayloadError; InvalidConfigError for a `nodes` that is not an array of names.
   */
  broadcast(
    topic: string,
    payload: unknown,
    options: BroadcastOptions | undefined,
    headers?: MessageHeaders,
  ): number {
    const { context } = this;
    const members = context.transport.members();
    const listed = options?.nodes;
    let toSelf = false;
    let candidates: readonly string[] = members;
    if (listed !== undefined) {
      if (!Array.isArray(listed) || !listed.every(node => typeof node === 'string' && node !== ''))
        throw new InvalidConfigError(MessagingMessages.broadcastNodesInvalid(listed), {
          option: 'nodes',
        });
      const wanted = new Set<string>(listed);
      toSelf = wanted.has(context.self);
      candidates = members.filter(node => wanted.has(node));
    }
    const targets: string[] = [];
    for (const node of candidates) {
      if (node === context.self) continue;
      try {
        this.checkRoom(node, payload);
        targets.push(node);
      } catch (error) {
        this.broadcastFailed(node, topic, error);
      }
    }
    // Every target refused already: nothing to encode the payload for.
    if (targets.length === 0 && !toSelf) return 0;
    const body = encodePayload(context.codec, payload);
    let queued = 0;
    if (targets.length > 0) {
      const plain = encodeEnvelope(EnvelopeKind.Send, 0, topic, body);
      // Both encoded once: the targets that take headers get them, the others the plain one.
      const block = headers === undefined ? undefined : this.headerBlock(topic, headers);
      const rich = block && encodeEnvelope(EnvelopeKind.Send, 0, topic, body, block);
      for (const node of targets) {
        try {
          const parts =
            rich !== undefined && context.transport.headers?.(node) === true ? rich : plain;
          context.transport.send(node, parts);
          context.stats.sent(envelopeLength(parts));
          queued++;
        } catch (error) {
          this.broadcastFailed(node, topic, error);
        }
      }
    }
    if (toSelf) {
      this.deliverToSelf(EnvelopeKind.Send, 0, topic, Buffer.concat(body), headers);
      queued++;
    }
    return queued;
  }

  /**
   * The encoded header block; undefined when no header is left. A header that breaks a bound is
   * left out alone (see {@link headersWithinBounds}: the last ones go while the block is over
   * 8 KiB), logged (rate-limited), and the message goes with the others.
   */
  private headerBlock(topic: string, headers: MessageHeaders): Buffer | undefined {
    const { context } = this;
    try {
      const { kept, dropped } = headersWithinBounds(headers);
      if (dropped !== undefined)
        context.log('warn', 'headers', MessagingMessages.headersDropped(topic, dropped));
      const block = encodeHeaders(kept);
      // No header at all: the plain kind, which every peer reads.
      return block.length > 1 ? block : undefined;
    } catch (error) {
      // Not expected once bounded; a header set that still fails goes as none rather than fail
      // the message.
      context.log(
        'warn',
        'headers',
        MessagingMessages.headersDropped(topic, (error as Error).message),
      );
      return undefined;
    }
  }

  private deliverToSelf(
    kind: EnvelopeKind,
    requestId: number,
    topic: string,
    bytes: Buffer,
    headers: MessageHeaders | undefined,
  ): void {
    const { context } = this;
    queueMicrotask(() => {
      if (context.isClosed()) return;
      try {
        context.dispatch(context.self, kind, requestId, topic, bytes, headers);
      } catch (error) {
        context.log(
          'warn',
          `receive|${context.self}`,
          MessagingMessages.receiveFailed(context.self, error),
        );
      }
    });
  }

  private broadcastFailed(node: string, topic: string, error: unknown): void {
    this.context.log(
      'warn',
      `broadcast|${node}`,
      MessagingMessages.broadcastFailed(node, topic, error),
    );
  }
}
