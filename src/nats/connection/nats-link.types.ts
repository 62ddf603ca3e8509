/** The types at the edges of a `NatsLink`. */
import type { ClusterLogger } from '../../core/index.js';

/** What a `NatsLink` reports to and logs through. */
export interface NatsLinkPorts {
  /** The client's name on the server (its monitoring pages show it), e.g. the node name. */
  readonly name: string;
  readonly logger: ClusterLogger;
  /** Every change of connectivity (repeats are possible; the engine ignores them). */
  status(connected: boolean, reason?: string): void;
  /** Aborting it closes the link; while `open` still waits, `open` rejects with ERR_NATS_CONNECT. */
  readonly signal?: AbortSignal;
}

/** Counters of a `NatsLink`, across its client connections. */
export interface NatsLinkStats {
  readonly inMsgs: number;
  readonly outMsgs: number;
  readonly inBytes: number;
  readonly outBytes: number;
  /** Reconnects after the first connect. */
  readonly reconnects: number;
}
