/**
 * This node start's presence over NATS: a `hello` when it starts (and each time it has NATS
 * again), an `alive` every heartbeat interval (±10% jitter, so that nodes started together do not
 * announce in bursts), a `reply` to each other node's `hello` (sent to that start's inbox and
 * bound to it by its `to` field, so a newcomer learns everyone in one round trip instead of one
 * heartbeat interval), a directed `hello` to a start heard but not verified yet (its `reply`
 * proves it alive now: a recording cannot), and a `leaving` when it stops gracefully. Publishing
 * while cut off is skipped: presence is only news live.
 */
import { type KeyObject, createSecretKey } from 'node:crypto';
import { type PresenceAnnouncement, type PresenceKind, encodePresence } from '../protocol/index.js';
import type { NatsDistStatsCounter } from './nats-dist-stats.js';
import { NatsDistMessages as M } from './nats-dist.messages.js';

/** What the announcer needs of the link (a part of `NatsLink`). */
export interface AnnouncerLink {
  readonly connected: boolean;
  publish(subject: string, payload: Uint8Array): void;
}

/** What {@link PresenceAnnouncer} is built with. */
export interface PresenceAnnouncerOptions {
  readonly self: string;
  readonly incarnation: string;
  readonly startedAt: number;
  /** The presence key (`deriveKey('gen-cluster/nats/presence')`). */
  readonly key: Buffer;
  /** The presence broadcast subject. */
  readonly presenceSubject: string;
  /** The inbox subject of a node start. */
  readonly inbox: (incarnation: string) => string;
  readonly link: () => AnnouncerLink | undefined;
  readonly heartbeatIntervalMs: number;
  readonly counters: NatsDistStatsCounter;
  /** Node starts answered at most once per window each; remembered at most (default 10 000). */
  readonly maxReplyTargets?: number;
  /** `Math.random` by default (tests fix it). */
  readonly random?: () => number;
}

/** Jitter of the heartbeat interval: each wait is the interval ±10%. */
const JITTER = 0.1;

/** The announcer (see the file header). */
export class PresenceAnnouncer {
  /** Per incarnation, strictly increasing: receivers refuse a counter they have seen. */
  private counter = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** When each node start was last answered (monotonic ms), least recently answered first. */
  private readonly replied = new Map<string, number>();
  /** When each unverified node start was last asked (directed `hello`), the same way. */
  private readonly asked = new Map<string, number>();
  private readonly maxReplyTargets: number;
  private readonly random: () => number;
  /** The presence key made a `KeyObject` once (faster per MAC). */
  private readonly key: KeyObject;

  constructor(private readonly options: PresenceAnnouncerOptions) {
    this.maxReplyTargets = options.maxReplyTargets ?? 10_000;
    this.random = options.random ?? Math.random;
    this.key = createSecretKey(options.key);
  }

  /** Announces this start (`hello`) and starts the heartbeat. */
  start(): void {
    this.hello();
    this.schedule();
  }

  /** Announces this start again (`hello`): on a reconnect, everyone answers at once. */
  hello(): void {
    if (!this.stopped) this.publish('hello', this.options.presenceSubject);
  }

  /**
   * Answers another start's `hello` with a `reply` to its inbox, at most once per heartbeat
   * interval (at most 1 s) per start: a node that repeats its `hello` cannot make every node
   * answer it more often.
   */
  reply(to: PresenceAnnouncement, now = performance.now()): void {
    if (this.stopped || !this.due(this.replied, to, now)) return;
    this.publish('reply', this.options.inbox(to.incarnation), to.incarnation);
  }

  /**
   * Asks a start heard but not verified to answer (a `hello` to its inbox, carrying its
   * incarnation): its `reply` makes it a member. At most once per window per start, as
   * {@link reply}.
   */
  ask(to: Pick<PresenceAnnouncement, 'node' | 'incarnation'>, now = performance.now()): void {
    if (this.stopped || !this.due(this.asked, to, now)) return;
    this.publish('hello', this.options.inbox(to.incarnation), to.incarnation);
  }

  /** Whether `to` may be sent to again (then recorded as sent `now`): see {@link reply}. */
  private due(
    sent: Map<string, number>,
    to: Pick<PresenceAnnouncement, 'node' | 'incarnation'>,
    now: number,
  ): boolean {
    const target = `${to.node}|${to.incarnation}`;
    const last = sent.get(target);
    const window = Math.min(this.options.heartbeatIntervalMs, 1_000);
    if (last !== undefined && now - last < window) return false;
    sent.delete(target);
    sent.set(target, now);
    if (sent.size > this.maxReplyTargets) sent.delete(sent.keys().next().value as string);
    return true;
  }

  /**
   * Stops the heartbeat and tells every node this start leaves (`leaving`): they drop it at once
   * (reason `left`) instead of after the failure timeout.
   */
  leave(): void {
    if (this.stopped) return;
    this.stop();
    this.publish('leaving', this.options.presenceSubject);
  }

  /** Stops the heartbeat without a word (close, or a crash in tests). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    const interval = this.options.heartbeatIntervalMs;
    const delay = interval * (1 - JITTER + 2 * JITTER * this.random());
    this.timer = setTimeout(() => {
      this.publish('alive', this.options.presenceSubject);
      this.schedule();
    }, delay);
    this.timer.unref();
  }

  private publish(kind: PresenceKind, subject: string, to?: string): void {
    const link = this.options.link();
    // Cut off: nothing to say. The next `hello` (on reconnect) and `alive` say it again.
    if (!link?.connected) return;
    const { self, incarnation, startedAt, counters } = this.options;
    const packet = encodePresence(
      { kind, node: self, incarnation, counter: ++this.counter, startedAt, port: 0, to },
      this.key,
    );
    try {
      link.publish(subject, packet);
      counters.presenceOut++;
    } catch (error) {
      // The link dropped between the check and the publish: the same as cut off, nothing to say.
      if (link.connected)
        counters.warnOnce(`publish.${kind}`, M.publishFailed(`a presence ${kind}`, error), error);
    }
  }
}
