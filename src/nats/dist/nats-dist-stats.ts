/**
 * The NATS dist's counters: messages and bytes each way, presence heard, and what was refused by
 * reason. Refusals are counted, and warned about at most once a minute per reason: a stranger
 * publishing garbage to the cluster's subjects must not flood the log.
 */
import {
  type ClusterLogger,
  type DistStats,
  type LinkStats,
  RateLimitedLog,
} from '../../core/index.js';
import { NatsDistMessages as M } from './nats-dist.messages.js';

/** What the NATS client counted on its connection, since it opened. */
export interface NatsClientStats {
  readonly inMsgs: number;
  readonly outMsgs: number;
  readonly inBytes: number;
  readonly outBytes: number;
  /** Reconnects to NATS since start. */
  readonly reconnects: number;
}

/** The NATS dist's own counters (integers since start), beside the {@link DistStats}. */
export interface NatsDistCounters {
  /** Whether this node has NATS now. */
  readonly connected: boolean;
  /** Whole messages sent and received, and their bytes (envelopes, before framing). */
  readonly messagesOut: number;
  readonly bytesOut: number;
  readonly messagesIn: number;
  readonly bytesIn: number;
  /** Verified presence announcements received (replays and forgeries excluded), and sent. */
  readonly presenceIn: number;
  readonly presenceOut: number;
  /**
   * What was dropped, by `<presence|frame>.<reason>`: `presence.badMac` (no cookie, or another
   * one), `presence.replayed`, `presence.malformed`, `presence.version`, `presence.misdirected`,
   * `frame.badMac`, `frame.replayed`, `frame.wrongDestination`, `frame.tooLarge`,
   * `frame.fragmentOrder`, `frame.authMismatch` (the sender's `messageAuth` differs),
   * `frame.malformed`.
   */
  readonly refusals: Readonly<Record<string, number>>;
  /** The client's own counters (NATS messages, framing and presence included). */
  readonly client: NatsClientStats;
}

/** {@link DistStats} of the NATS dist: links are its members, refusals by reason, plus `nats`. */
export interface NatsDistStats extends DistStats {
  readonly nats: NatsDistCounters;
}

const NO_CLIENT: NatsClientStats = {
  inMsgs: 0,
  outMsgs: 0,
  inBytes: 0,
  outBytes: 0,
  reconnects: 0,
};

/** The counters (see the file header). */
export class NatsDistStatsCounter {
  messagesOut = 0;
  bytesOut = 0;
  messagesIn = 0;
  bytesIn = 0;
  presenceIn = 0;
  presenceOut = 0;
  private readonly refusals = new Map<string, number>();
  /** Bytes each way per member, from its `nodeUp` to its `nodeDown`. */
  private readonly perNode = new Map<string, { in: number; out: number }>();
  private readonly warnings = new RateLimitedLog(60_000, 100);

  constructor(private readonly logger: ClusterLogger) {}

  /** Counts a refusal and warns about it (rate-limited per kind and reason). */
  refused(what: 'presence' | 'frame', reason: string): void {
    const key = `${what}.${reason}`;
    this.refusals.set(key, (this.refusals.get(key) ?? 0) + 1);
    this.warnings.write(key, M.refused(what, reason), line =>
      this.logger.warn(line, { event: 'natsRefused', reason: key }),
    );
  }

  /** Warns at most once a minute for `key`. */
  warnOnce(key: string, message: string, error?: unknown): void {
    this.warnings.write(key, message, line =>
      this.logger.warn(line, { event: 'natsDist', reason: key, error }),
    );
  }

  sent(node: string, bytes: number): void {
    this.messagesOut++;
    this.bytesOut += bytes;
    const counters = this.perNode.get(node);
    if (counters) counters.out += bytes;
  }

  received(node: string, bytes: number): void {
    this.messagesIn++;
    this.bytesIn += bytes;
    const counters = this.perNode.get(node);
    if (counters) counters.in += bytes;
  }

  memberUp(node: string): void {
    this.perNode.set(node, { in: 0, out: 0 });
  }

  memberDown(node: string): void {
    this.perNode.delete(node);
  }

  /** The snapshot of {@link NatsDistStats}. */
  snapshot(connected: boolean, client: NatsClientStats | undefined): NatsDistStats {
    const links: LinkStats[] = [...this.perNode].map(([node, bytes]) => ({
      node,
      hidden: false,
      // Nothing is queued per peer: the NATS client holds one buffer for every destination.
      queuedBytes: 0,
      queuedMessages: 0,
      bytesIn: bytes.in,
      bytesOut: bytes.out,
    }));
    const refusals = Object.fromEntries(this.refusals);
    return {
      links,
      handshakeRefusals: refusals,
      nats: {
        connected,
        messagesOut: this.messagesOut,
        bytesOut: this.bytesOut,
        messagesIn: this.messagesIn,
        bytesIn: this.bytesIn,
        presenceIn: this.presenceIn,
        presenceOut: this.presenceOut,
        refusals,
        client: client ?? NO_CLIENT,
      },
    };
  }
}
