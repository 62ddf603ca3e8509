/**
 * This node's messaging counters: messages and bytes through the transport, and this node's
 * requests by how they ended. Plain integer fields bumped on the message path (no allocation, no
 * hook needed), read by metrics at scrape time through `Messaging.stats`.
 */
import type { MessagingStatsSnapshot, RequestOutcome } from '../../core/index.js';

/**
 * The counters behind {@link MessagingStatsSnapshot}. Messages to this node itself never reach
 * the transport and are not counted as sent or received; responses are messages like any other.
 * @internal
 */
export class MessagingStats {
  messagesSent = 0;
  bytesSent = 0;
  messagesReceived = 0;
  bytesReceived = 0;
  ok = 0;
  remoteError = 0;
  timeout = 0;
  nodeDown = 0;
  /** Aborted, refused or closed. */
  other = 0;

  /** Counts one message handed to the transport. */
  sent(bytes: number): void {
    this.messagesSent++;
    this.bytesSent += bytes;
  }

  /** Counts one message received from the transport. */
  received(bytes: number): void {
    this.messagesReceived++;
    this.bytesReceived += bytes;
  }

  /** Counts one of this node's requests, ended with `outcome`. */
  ended(outcome: RequestOutcome): void {
    switch (outcome) {
      case 'ok':
        this.ok++;
        return;
      case 'remoteError':
        this.remoteError++;
        return;
      case 'timeout':
        this.timeout++;
        return;
      case 'nodeDown':
        this.nodeDown++;
        return;
      default:
        this.other++;
    }
  }

  /** A copy of the counters, with the gauges the caller knows. */
  snapshot(inFlight: number, serving: number): MessagingStatsSnapshot {
    return {
      messagesSent: this.messagesSent,
      bytesSent: this.bytesSent,
      messagesReceived: this.messagesReceived,
      bytesReceived: this.bytesReceived,
      requests: {
        ok: this.ok,
        remoteError: this.remoteError,
        timeout: this.timeout,
        nodeDown: this.nodeDown,
        other: this.other,
      },
      inFlight,
      serving,
    };
  }
}

/**
 * The counters of a layer that has not started (a deferred layer before attach) or keeps none (a
 * custom dist's messaging): all zero.
 */
export const ZERO_MESSAGING_STATS: MessagingStatsSnapshot = Object.freeze({
  messagesSent: 0,
  bytesSent: 0,
  messagesReceived: 0,
  bytesReceived: 0,
  requests: Object.freeze({ ok: 0, remoteError: 0, timeout: 0, nodeDown: 0, other: 0 }),
  inFlight: 0,
  serving: 0,
});
