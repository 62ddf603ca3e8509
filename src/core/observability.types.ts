import type { MessageKind } from './strategy.js';

/**
 * The contracts through which health checks, metrics and traces observe a cluster, without naming
 * any monitoring package: `./metrics`, `./otel` and `./terminus` build on these, and a user can
 * attach other instrumentation through the same hooks.
 */

/** What instrumentation is told of a message leaving this node. */
export interface OutgoingMessageInfo {
  /** The node it goes to (this node for a message to itself; `'*'` for a broadcast). */
  readonly node: string;
  readonly topic: string;
  /** `'request'` or `'oneWay'` (a send or a broadcast). */
  readonly kind: MessageKind;
  /** `'request'`, `'send'` or `'broadcast'`. */
  readonly operation: 'request' | 'send' | 'broadcast';
  /** A library-internal topic (`$gc.` prefix): registry and system chatter. */
  readonly internal: boolean;
}

/** What instrumentation is told of a message received (after its envelope is decoded). */
export interface IncomingMessageInfo {
  /** The sending node. */
  readonly from: string;
  readonly topic: string;
  readonly kind: MessageKind;
  /** A library-internal topic (`$gc.` prefix). */
  readonly internal: boolean;
}

/**
 * How one of this node's requests ended: answered (`ok`), the handler threw (`remoteError`), no
 * answer in time (`timeout`), the node went away (`nodeDown`), the caller aborted (`aborted`),
 * refused before sending (`refused`: not connected, queue full, payload refused), or the
 * messaging layer closed (`closed`).
 */
export type RequestOutcome =
  'ok' | 'remoteError' | 'timeout' | 'nodeDown' | 'aborted' | 'refused' | 'closed';

/** Headers carried beside a message (lower-case ASCII keys, string values). */
export type MessageHeaders = Readonly<Record<string, string>>;

/** Returned by an `outgoing` hook: the headers to carry, and the end of the operation. */
export interface OutgoingScope {
  /** Carried to peers that accept headers; dropped for a hop to a peer that does not. */
  readonly headers?: MessageHeaders;
  /**
   * Called once: with the request's outcome, or `'sent'` once a one-way message is queued.
   * `error` is the error the caller sees, when there is one.
   */
  end(outcome: RequestOutcome | 'sent', error?: Error): void;
}

/** Returned by an `incoming` hook: runs the handler inside the scope, then ends it. */
export interface IncomingScope {
  /** Runs `fn` (the handler, synchronously) inside the scope, e.g. with a span active. */
  run<R>(fn: () => R): R;
  /** Called once, when the handler's answer (or its promise) settled. */
  end(outcome: 'ok' | 'error', error?: unknown): void;
}

/**
 * Hooks on the messaging path. Every member is optional. A hook must not throw; one that does is
 * skipped for that message and logged (rate-limited), and the message goes on.
 */
export interface MessagingInstrumentation {
  /** A message is about to leave; return a scope to carry headers and hear its end. */
  outgoing?(info: OutgoingMessageInfo): OutgoingScope | undefined;
  /** A message arrived; `headers` are what the sender carried (undefined when none). */
  incoming?(
    info: IncomingMessageInfo,
    headers: MessageHeaders | undefined,
  ): IncomingScope | undefined;
}

/** This node's messaging counters since it started (integers; read them, they are not reset). */
export interface MessagingStatsSnapshot {
  readonly messagesSent: number;
  readonly bytesSent: number;
  readonly messagesReceived: number;
  readonly bytesReceived: number;
  /** This node's requests by outcome (`other`: aborted, refused or closed). */
  readonly requests: {
    readonly ok: number;
    readonly remoteError: number;
    readonly timeout: number;
    readonly nodeDown: number;
    readonly other: number;
  };
  /** This node's requests awaiting an answer now. */
  readonly inFlight: number;
  /** Requests this node is serving now. */
  readonly serving: number;
}

/** Whether the dist can still be reached; `listening: false` is fatal for liveness. */
export interface DistHealth {
  readonly listening: boolean;
  /** Why it stopped listening, when it did. */
  readonly reason?: string;
}

/** One link as diagnostics and metrics see it. */
export interface LinkStats {
  readonly node: string;
  /** A hidden link (a tool such as the `gen-cluster` command), never a member. */
  readonly hidden: boolean;
  /** Bytes and messages waiting in the send queue. */
  readonly queuedBytes: number;
  readonly queuedMessages: number;
  /** Socket counters since the link opened. */
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/** What a dist can say of its links and refusals, for metrics. */
export interface DistStats {
  readonly links: readonly LinkStats[];
  /** Handshakes refused (either direction) by reason, since the dist started. */
  readonly handshakeRefusals: Readonly<Record<string, number>>;
}
