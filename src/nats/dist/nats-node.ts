/**
 * One start of the NATS dist, once `init` ran: its link to NATS, the presence it announces and
 * hears, the frames it sends and receives, and the members it reports to the engine. The
 * {@link NatsDist} facade delegates to it.
 *
 * Inbound path: presence subject → `decodePresence` (MAC checked first) → replay guard →
 * {@link PresenceTracker} → `nodeUp` / `nodeDown`; inbox subject → `reply` and directed `hello`
 * presences as above, frames → `FrameReader` (MAC, seq, destination, reassembly) → sender check
 * (a member's start) → `Messaging.receive`. Nothing a peer or a stranger publishes throws out of
 * a handler: refusals are counted and warned about at most once a minute per reason.
 *
 * Membership is proved, not replayed: an `alive` or `hello` only makes its start pending (a
 * recording of a dead node's packets, replayed to a start that never saw them, passes the replay
 * guard). This start then sends that start a `hello` on its inbox; its `reply`, whose MAC covers
 * this start's incarnation, makes it a member (and the directed `hello`, naming that start, proves
 * this one to it: a pair verifies each other in two packets). A signed frame addressed to this
 * start proves as much. After that, its `alive`s (counters above the last) keep it a member.
 */
import { type KeyObject, createSecretKey } from 'node:crypto';
import type { DistContext, Peer } from '../../core/index.js';
import { Messaging, type PayloadCodec } from '../../distribution/index.js';
import { NatsLink, type ResolvedNatsConnection } from '../connection/index.js';
import {
  FrameReader,
  FrameWriter,
  type NatsSubjects,
  type PresenceAnnouncement,
  PresenceReplayGuard,
  decodePresence,
  isPresencePayload,
  natsSubjects,
  newIncarnation,
} from '../protocol/index.js';
import type { NatsDistSettings } from './nats-dist-options.js';
import { type NatsDistStats, NatsDistStatsCounter } from './nats-dist-stats.js';
import { NatsDistMessages as M } from './nats-dist.messages.js';
import { NatsTransport } from './nats-transport.js';
import { PresenceAnnouncer } from './presence-announcer.js';
import { PresenceTracker, type TrackedNode } from './presence-tracker.js';

/** What a {@link NatsNode} is started with. */
export interface NatsNodeOptions {
  readonly context: DistContext;
  readonly settings: NatsDistSettings;
  readonly connection: ResolvedNatsConnection;
  readonly codec: 'msgpack' | 'json' | PayloadCodec;
  readonly startedAt: number;
  /** Key of presence announcements (always set: the cookie decides who is a member). */
  readonly presenceKey: Buffer;
  /** Key of message frames; `null` for `messageAuth: 'none'`. */
  readonly messageKey: Buffer | null;
  /** Called when the heard nodes change (a node joined, left or went down): discovery refreshes. */
  readonly heardChanged?: () => void;
}

/** The running dist (see the file header). */
export class NatsNode {
  /** This start: names its inbox and ties its presence counters and frame seqs to it. */
  readonly incarnation = newIncarnation();
  readonly messaging: Messaging;
  readonly tracker: PresenceTracker;
  private readonly transport: NatsTransport;
  private readonly subjects: NatsSubjects;
  private readonly reader: FrameReader;
  private readonly guard = new PresenceReplayGuard();
  /** The presence key made a `KeyObject` once (faster per MAC). */
  private readonly presenceKey: KeyObject;
  /** Inbox subjects of destination starts, built once each (cleared at the bound). */
  private readonly inboxes = new Map<string, string>();
  /** `leave` was called: the heartbeat stopped, so our own presence no longer comes back. */
  private leaving = false;
  private readonly counters: NatsDistStatsCounter;
  private link: NatsLink | undefined;
  private readonly writer: FrameWriter;
  private announcer: PresenceAnnouncer | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly unsubscribes: (() => void)[] = [];
  /** `connect` calls waiting for a node's presence, by node. */
  private readonly waiters = new Map<string, Set<(up: boolean) => void>>();
  private closed = false;
  /** Cut off, as the link reports it. */
  private linkDown = false;
  /**
   * Our own presence stopped coming back (NATS echoes it to us): the link is dead although the
   * client has not noticed yet (a hung server or a partition is noticed after about two pings).
   * Everyone's silence is then ours, so membership freezes as while cut off.
   */
  private echoLost = false;
  /** When our own presence last came back (monotonic ms); unset until it first does. */
  private lastEcho: number | undefined;

  private constructor(private readonly options: NatsNodeOptions) {
    const { context, settings } = options;
    this.counters = new NatsDistStatsCounter(context.logger);
    this.subjects = natsSubjects(options.connection.subjectPrefix, settings.namespace);
    this.presenceKey = createSecretKey(options.presenceKey);
    this.reader = new FrameReader({
      incarnation: this.incarnation,
      key: options.messageKey,
      maxMessageBytes: settings.maxMessageBytes,
      partialTimeoutMs: settings.failureTimeoutMs,
    });
    // One writer per start: its seq only grows, so readers can refuse anything seen before. The
    // payload limit is read at each message: the server's becomes known when the link connects.
    this.writer = new FrameWriter({
      self: context.self,
      incarnation: this.incarnation,
      key: options.messageKey,
      maxPayloadBytes: () => this.link?.maxPayload ?? DEFAULT_MAX_PAYLOAD,
    });
    this.tracker = new PresenceTracker(
      {
        self: context.self,
        selfIncarnation: this.incarnation,
        failureTimeoutMs: settings.failureTimeoutMs,
        admits: node => context.admission?.admits(node) ?? true,
      },
      { up: node => this.up(node), down: (node, inc, reason) => this.down(node, inc, reason) },
    );
    this.transport = new NatsTransport({
      link: () => this.link,
      writer: this.writer,
      inbox: incarnation => this.inboxOf(incarnation),
      memberIncarnation: node => this.tracker.memberIncarnation(node),
      members: () => this.tracker.members().map(m => m.node),
      maxMessageBytes: settings.maxMessageBytes,
      maxQueueBytes: settings.maxQueueBytes,
      sent: (node, bytes) => this.counters.sent(node, bytes),
    });
    this.messaging = new Messaging({
      self: context.self,
      codec: options.codec,
      defaultRequestTimeoutMs: settings.requestTimeoutMs,
      maxMessageBytes: settings.maxMessageBytes,
      maxStructuredPayloadBytes: settings.maxStructuredPayloadBytes,
      logger: context.logger,
      transport: this.transport,
    });
  }

  /**
   * Opens the link (waiting at most `firstConnectWaitMs` for NATS: a node may start while it is
   * down, and is then cut off until it connects), subscribes, announces this start.
   * @throws what `NatsLink.open` throws for configuration or credentials retrying cannot fix
   */
  static async start(options: NatsNodeOptions): Promise<NatsNode> {
    const node = new NatsNode(options);
    await node.open();
    return node;
  }

  /** Whether this node has NATS now. */
  get connected(): boolean {
    return this.link?.connected ?? false;
  }

  /** The members, each with its start time as `meta.startedAt` (leadership orders by it). */
  members(): Peer[] {
    return this.tracker.members().map(peerOf);
  }

  /** Every node heard (members and candidates): what the dist's own discovery answers. */
  heard(): Peer[] {
    // Verified starts only: a pending one may be a recording.
    return this.tracker.heardNodes().map(peerOf);
  }

  /**
   * Resolves `true` once `node` is a member: at once when it is one or was heard (and admission
   * lets it in), else when its presence arrives; `false` when `signal` aborts first or the dist
   * closes, or when admission refuses it.
   */
  connect(node: string, signal: AbortSignal): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    const outcome = this.tracker.connect(node);
    if (outcome === 'member' || outcome === 'up') return Promise.resolve(true);
    if (outcome === 'notAdmitted' || signal.aborted) return Promise.resolve(false);
    return new Promise(resolve => {
      let waiting = this.waiters.get(node);
      if (!waiting) this.waiters.set(node, (waiting = new Set()));
      const settle = (up: boolean) => {
        signal.removeEventListener('abort', aborted);
        waiting.delete(settle);
        if (waiting.size === 0 && this.waiters.get(node) === waiting) this.waiters.delete(node);
        resolve(up);
      };
      const aborted = () => settle(false);
      waiting.add(settle);
      signal.addEventListener('abort', aborted, { once: true });
    });
  }

  /** Stops the heartbeat, tells every node this start leaves, and flushes (at most 1 s). */
  async leave(): Promise<void> {
    this.leaving = true;
    this.announcer?.leave();
    const link = this.link;
    if (link?.connected) await link.flush(1_000).catch(() => undefined);
  }

  /** Fails pending requests, stops the timers, closes the link. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.announcer?.stop();
    clearTimeout(this.tickTimer);
    this.messaging.close();
    for (const waiting of [...this.waiters.values()])
      for (const settle of [...waiting]) settle(false);
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    await this.link?.close();
  }

  /**
   * Goes silent at once, as a crashed process would: no `leaving`, link closed.
   * @internal Only tests call it, to show failure detection within one process.
   */
  async crashForTest(): Promise<void> {
    this.announcer?.stop();
    await this.close();
  }

  /** Members with their byte counters, refusals by reason, and the NATS counters. */
  stats(): NatsDistStats {
    return this.counters.snapshot(this.connected, this.link?.stats());
  }

  private async open(): Promise<void> {
    const { context, connection, settings } = this.options;
    const link = await NatsLink.open(connection, {
      name: context.self,
      logger: context.logger,
      status: (connected, reason) => this.status(connected, reason),
    });
    this.link = link;
    this.unsubscribes.push(
      link.subscribe(this.subjects.presence, payload => this.presence(payload, false)),
      link.subscribe(this.subjects.inbox(this.incarnation), payload =>
        isPresencePayload(payload) ? this.presence(payload, true) : this.frame(payload),
      ),
    );
    this.announcer = new PresenceAnnouncer({
      self: context.self,
      incarnation: this.incarnation,
      startedAt: this.options.startedAt,
      key: this.options.presenceKey,
      presenceSubject: this.subjects.presence,
      inbox: incarnation => this.inboxOf(incarnation),
      link: () => this.link,
      heartbeatIntervalMs: settings.heartbeatIntervalMs,
      counters: this.counters,
    });
    this.announcer.start();
    this.scheduleTick();
  }

  /** The link's connectivity changed: membership freezes while cut off, thaws on reconnect. */
  private status(connected: boolean, reason?: string): void {
    if (this.closed) return;
    if (connected) {
      this.linkDown = false;
      // Our echo is awaited afresh from now: the outage was not its silence.
      if (this.lastEcho !== undefined) this.lastEcho = performance.now();
      this.echoLost = false;
      this.updateFreeze();
      this.options.context.reportConnectivity?.(true);
      // Everyone answers a `hello` at once: members are confirmed in one round trip.
      this.announcer?.hello();
    } else {
      this.linkDown = true;
      this.updateFreeze();
      this.options.context.reportConnectivity?.(false, reason);
    }
  }

  /**
   * A presence packet: on the presence subject (`direct` false: `alive`, `hello`, `leaving`) or
   * on our inbox (a `reply`, or a `hello` asking us to answer; both carry our incarnation).
   */
  private presence(payload: Uint8Array, direct: boolean): void {
    try {
      const decoded = decodePresence(payload, this.presenceKey);
      if (!decoded.ok) return this.counters.refused('presence', decoded.reason);
      const a = decoded.announcement;
      const fits = direct
        ? a.kind === 'reply' || a.kind === 'hello'
        : a.kind !== 'reply' && a.to === undefined;
      if (!fits) return this.counters.refused('presence', 'misdirected');
      if (direct && a.to !== this.incarnation)
        return this.counters.refused('presence', 'wrongDestination');
      if (!this.guard.accept(a)) return this.counters.refused('presence', 'replayed');
      if (a.node === this.options.context.self) {
        if (a.incarnation === this.incarnation) this.echoed();
        else this.counters.warnOnce('duplicateSelf', M.duplicateName(a.node));
        return;
      }
      this.counters.presenceIn++;
      if (a.kind === 'leaving') {
        if (this.tracker.leaving(a)) return;
        // A candidate left: the heard nodes changed all the same (a member's `down` says it).
        if (!this.tracker.has(a.node)) this.options.heardChanged?.();
        return;
      }
      if (direct) {
        // A `reply` or a `hello` naming this start under its MAC: its sender is alive now. A
        // directed `hello` asks for a `reply` too (that proves this start to its sender).
        this.verified(a);
        if (a.kind === 'hello') this.announcer?.reply(a);
        return;
      }
      const outcome = this.tracker.unverified(a);
      if (outcome === 'duplicate')
        return this.counters.warnOnce(`duplicate|${a.node}`, M.duplicatePeer(a.node));
      // Not proved alive: ask it (a `hello` to its inbox, naming its start). Its answer makes it a
      // member; and the ask, naming it, proves this start to it as a `reply` would.
      if (outcome === 'pending') this.announcer?.ask(a);
      else if (a.kind === 'hello') this.announcer?.reply(a);
    } catch (error) {
      this.counters.warnOnce('presenceFailed', M.handlerFailed('presence packet', error), error);
    }
  }

  /** A `reply` or directed `hello` naming this start: its sender is alive now. */
  private verified(a: PresenceAnnouncement): void {
    const known = this.tracker.has(a.node);
    const outcome = this.tracker.heard(a);
    if (outcome === 'duplicate')
      return this.counters.warnOnce(`duplicate|${a.node}`, M.duplicatePeer(a.node));
    if (outcome === 'full') return this.counters.warnOnce('full', M.trackerFull(this.tracker.size));
    // A member's `up` reports the change; a new candidate (not admitted) is news too.
    if (outcome === 'candidate' && !known) this.options.heardChanged?.();
  }

  /** A frame on our inbox: a whole message, a fragment, or something refused. */
  private frame(payload: Uint8Array): void {
    try {
      const result = this.reader.accept(payload);
      if (result.kind === 'partial') return;
      if (result.kind === 'refused') return this.counters.refused('frame', result.reason);
      // Only a member's start is heard (or, messages unsigned, a pending start admission lets
      // in). A signed frame addressed to this start proves its sender alive as a `reply` does.
      const sender = this.tracker.frameFrom(
        result.from,
        result.fromIncarnation,
        this.options.messageKey !== null,
      );
      if (sender === 'notMember') return this.counters.refused('frame', 'notMember');
      // An answer goes to that start even while it is pending (unsigned messages).
      this.transport.learn(result.from, result.fromIncarnation);
      this.counters.received(result.from, result.body.length);
      this.messaging.receive(result.from, result.body);
    } catch (error) {
      this.counters.warnOnce('frameFailed', M.handlerFailed('message', error), error);
    }
  }

  private up(node: TrackedNode): void {
    this.counters.memberUp(node.node);
    this.options.context.nodeUp(peerOf(node));
    this.options.heardChanged?.();
    const waiting = this.waiters.get(node.node);
    if (waiting) for (const settle of [...waiting]) settle(true);
  }

  private down(node: string, incarnation: string, reason: Parameters<DistContext['nodeDown']>[1]) {
    this.counters.memberDown(node);
    this.transport.forget(node, incarnation);
    // Its message under way never completes; its seqs stay remembered (no replay reopened).
    this.reader.dropPartial(node);
    this.messaging.nodeDown(node);
    this.options.context.nodeDown(node, reason);
    this.options.heardChanged?.();
  }

  /** The inbox subject of a start, built once. */
  private inboxOf(incarnation: string): string {
    let subject = this.inboxes.get(incarnation);
    if (subject !== undefined) return subject;
    subject = this.subjects.inbox(incarnation);
    if (this.inboxes.size >= MAX_CACHED_INBOXES) this.inboxes.clear();
    this.inboxes.set(incarnation, subject);
    return subject;
  }

  /** Membership is frozen while cut off or while our own presence does not come back. */
  private updateFreeze(): void {
    const frozen = this.linkDown || this.echoLost;
    if (frozen && !this.tracker.isFrozen) this.tracker.freeze();
    else if (!frozen && this.tracker.isFrozen) this.tracker.thaw();
  }

  /** Our own `alive` or `hello` came back through NATS: the link carries presence. */
  private echoed(): void {
    this.lastEcho = performance.now();
    if (!this.echoLost) return;
    this.echoLost = false;
    this.updateFreeze();
    if (!this.linkDown) this.options.context.reportConnectivity?.(true);
  }

  /**
   * Freezes membership once our own presence has not come back for longer than about 1.5
   * heartbeats (at least half the failure timeout, so it happens before any peer's silence
   * counts). Off until the first echo: a server that does not echo changes nothing. Off too once
   * leaving (the heartbeat stopped) and while the link is known down (frozen anyway; the clock
   * restarts at the reconnect).
   */
  private checkEcho(now: number): void {
    if (this.lastEcho === undefined || this.echoLost || this.leaving || this.linkDown) return;
    const { heartbeatIntervalMs, failureTimeoutMs } = this.options.settings;
    const limit = Math.max(1.65 * heartbeatIntervalMs, failureTimeoutMs / 2);
    if (limit >= failureTimeoutMs || now - this.lastEcho <= limit) return;
    this.echoLost = true;
    this.updateFreeze();
    const silentMs = Math.round(now - this.lastEcho);
    this.counters.warnOnce('echoLost', M.echoLost(silentMs));
    // As cut off as a closed connection (a hung server, a partition): the engine says so at once,
    // before the client's pings give up on the server.
    this.options.context.reportConnectivity?.(false, M.echoLostReason(silentMs));
  }

  /** Checks for silent members a few times per failure timeout (a chained, unref'd timer). */
  private scheduleTick(): void {
    if (this.closed) return;
    const { failureTimeoutMs, heartbeatIntervalMs } = this.options.settings;
    const every = Math.max(10, Math.min(heartbeatIntervalMs, failureTimeoutMs / 10));
    this.tickTimer = setTimeout(() => {
      try {
        const now = performance.now();
        this.checkEcho(now);
        this.tracker.tick(now);
        this.reader.sweep(now);
      } catch (error) {
        this.counters.warnOnce('tickFailed', M.handlerFailed('heartbeat check', error), error);
      }
      this.scheduleTick();
    }, every);
    this.tickTimer.unref();
  }
}

/** The payload limit assumed until the server tells its own (NATS's default `max_payload`). */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Inbox subjects kept built at once. */
const MAX_CACHED_INBOXES = 10_000;

/** A tracked node as the engine sees it: its name and announced start time. */
function peerOf(node: TrackedNode): Peer {
  return { node: node.node, meta: { startedAt: node.startedAt } };
}
