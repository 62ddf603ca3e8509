import {
  type ClusterLogger,
  type DiscoveryContext,
  DiscoveryError,
  type DiscoveryStrategy,
  InvalidConfigError,
  type Peer,
  RateLimitedLog,
  toError,
} from '../../core/index.js';
import { AnswerChangeNotifier, isCanonicalNodeName } from '../../discovery/index.js';
import { NatsLink } from '../connection/index.js';
import {
  type NatsSubjects,
  type PresenceAnnouncement,
  type PresenceKind,
  decodePresence,
  encodePresence,
  natsSubjects,
  newIncarnation,
} from '../protocol/index.js';
import { NatsDiscoveryMessages as M } from './nats-discovery.messages.js';
import {
  NATS_DISCOVERY_DEFAULTS,
  NATS_DISCOVERY_KEY_LABEL,
  type NatsDiscoveryOptions,
  type ResolvedNatsDiscoveryOptions,
  resolveNatsDiscoveryOptions,
} from './nats-discovery-options.js';
import { NatsDiscoveryTable } from './nats-discovery-table.js';

/** Counters of a {@link NatsDiscovery}, since its start. */
export interface NatsDiscoveryStats {
  /** Announcements received (on the namespace's subject and this node's inbox). */
  readonly received: number;
  /** Announcements of other nodes taken into the table. */
  readonly accepted: number;
  /**
   * Payloads that are not announcements, carry a bad node name or port, or came on the wrong
   * subject (a `reply` broadcast, or another kind sent to this node's inbox).
   */
  readonly malformed: number;
  /** Announcements whose MAC does not match (another key, or forged). */
  readonly badMac: number;
  /** Announcements of a later protocol version. */
  readonly version: number;
  /** Authentic announcements that were not news (a replay, an earlier start's). */
  readonly replayed: number;
  /** Names forgotten to stay within `maxCandidates`. */
  readonly evicted: number;
  /** Names in the table now (heard recently or not). */
  readonly size: number;
  /** Announcements this node sent (`hello`, `alive`, `reply`, `leaving`). */
  readonly sent: number;
  /** Announcements this node could not send (cut off from NATS, mostly). */
  readonly sendErrors: number;
}

type Counter = Exclude<keyof NatsDiscoveryStats, 'evicted' | 'size'>;

/**
 * Peers through NATS, for the TCP mesh: every node announces its name and TCP dist port on its
 * namespace's subject (`hello` at start, then `alive` every `intervalMs` ±10%); nodes answering
 * a `hello` send a `reply` to the newcomer's own subject, so it learns everyone within one round
 * trip. A node not heard for `failureTimeoutMs` drops out; one that stops announces `leaving`
 * and drops out at once. The TCP dist then dials the peers (with its cookie handshake).
 *
 * Every announcement carries an HMAC-SHA256 (16 bytes) over the whole packet, keyed by
 * `context.deriveKey('gen-cluster/nats/discovery')` (HKDF of the TCP dist's cookie) or the
 * `secret` option, and a counter per start; announcements with a bad MAC, replayed or of an
 * earlier start are counted ({@link stats}) and dropped, with rate-limited warnings and no log
 * line per packet. The table is bounded (`maxCandidates`, least recently heard forgotten first).
 *
 * While this node is cut off from NATS, `peers()` throws a {@link DiscoveryError}: nothing can be
 * heard, so the cluster keeps its last good answer (the engine's contract for a failed lookup)
 * instead of seeing every peer go silent. After the reconnect every remembered node gets a full
 * `failureTimeoutMs` to be heard again, and this node says `hello` again to be answered at once.
 */
export class NatsDiscovery implements DiscoveryStrategy {
  readonly name = 'nats';
  /** The options in force, defaults filled in (the key derived from `secret` kept apart). */
  readonly settings: Omit<ResolvedNatsDiscoveryOptions, 'key'>;

  private readonly table: NatsDiscoveryTable;
  private readonly subjects: NatsSubjects;
  private readonly counts: Record<Counter, number> = {
    received: 0,
    accepted: 0,
    malformed: 0,
    badMac: 0,
    version: 0,
    replayed: 0,
    sent: 0,
    sendErrors: 0,
  };
  /** One key per kind of refusal or failure: no packet can fill it. */
  private readonly warnings = new RateLimitedLog(60_000, 16);
  /** Counts starts and stops, so the loop of an earlier start stops instead of running on. */
  private generation = 0;
  private incarnation = '';
  private counter = 0;
  private startedAt = 0;
  private self = '';
  private port = 0;
  private key: Buffer | undefined;
  /** The key of the `secret` option, if given: it wins over the dist's. */
  private readonly secretKey: Buffer | undefined;
  private link: NatsLink | undefined;
  private unsubscribe: (() => void)[] = [];
  private logger: ClusterLogger | undefined;
  private abort: AbortController | undefined;
  /** Whether the link said it is connected last (repeats are possible). */
  private wasConnected = false;
  private cutOffReason: string | undefined;
  private readonly answers = new AnswerChangeNotifier();
  private timer: NodeJS.Timeout | undefined;

  /**
   * Checks the options and reads the secret and credential files.
   * @throws InvalidConfigError naming the option, the value and the accepted forms.
   */
  constructor(options: NatsDiscoveryOptions) {
    const { key, ...settings } = resolveNatsDiscoveryOptions(options);
    this.settings = settings;
    this.secretKey = key;
    this.subjects = natsSubjects(this.settings.connection.subjectPrefix, this.settings.namespace);
    this.table = new NatsDiscoveryTable({
      maxCandidates: this.settings.maxCandidates,
      failureTimeoutMs: this.settings.failureTimeoutMs,
      now: () => performance.now(),
    });
  }

  /**
   * Connects to NATS (waiting at most `firstConnectWaitMs` for it; it goes on connecting in the
   * background), listens, and says `hello`.
   * @throws InvalidConfigError when there is no key (no `secret` and a dist that derives none) or
   *   no dist port (a dist other than TCP); OptionalPackageMissingError without
   *   `@nats-io/transport-node`; NatsConnectionError when NATS refuses the credentials or TLS.
   */
  async init(context: DiscoveryContext): Promise<void> {
    const generation = ++this.generation;
    this.key = this.secretKey ?? context.deriveKey?.(NATS_DISCOVERY_KEY_LABEL);
    if (this.key === undefined)
      throw new InvalidConfigError(M.noKey(), { option: 'discovery (nats).secret, secretFile' });
    if (context.port === undefined || context.port < 1 || context.port > 65_535)
      throw new InvalidConfigError(M.noPort(), { option: 'dist' });
    this.self = context.self;
    this.port = context.port;
    this.logger = context.logger;
    this.answers.attach(context.requestRefresh);
    // A new start: peers take its counters from the beginning again.
    this.incarnation = newIncarnation();
    this.counter = 0;
    this.startedAt = Date.now();
    // Fails here, not at the first announcement, for a name presence cannot carry.
    encodePresence(this.announcement('hello'), this.key);
    const abort = new AbortController();
    this.abort = abort;
    const link = await NatsLink.open(this.settings.connection, {
      name: context.self,
      logger: context.logger,
      status: (connected, reason) => this.onStatus(generation, connected, reason),
      signal: abort.signal,
    });
    // Only an open under way is aborted by close(): the link is closed below once opened.
    this.abort = undefined;
    if (generation !== this.generation) {
      await link.close();
      return;
    }
    this.link = link;
    this.unsubscribe = [
      link.subscribe(this.subjects.discoveryPresence, payload => this.receive(payload, false)),
      link.subscribe(this.subjects.discoveryInbox(this.incarnation), payload =>
        this.receive(payload, true),
      ),
    ];
    this.wasConnected = link.connected;
    if (link.connected) this.announce(this.subjects.discoveryPresence, 'hello');
    this.schedule(generation);
  }

  /**
   * The nodes heard within `failureTimeoutMs` (this node left out), with their TCP ports.
   * @throws DiscoveryError while cut off from NATS: the cluster keeps its last good answer.
   */
  peers(): Peer[] {
    if (this.link === undefined || !this.link.connected)
      throw new DiscoveryError(M.cutOff(this.cutOffReason));
    return this.table.peers();
  }

  /** Counters since the construction, and the table's size. */
  stats(): NatsDiscoveryStats {
    return { ...this.counts, evicted: this.table.evicted, size: this.table.size };
  }

  /**
   * Announces `leaving` (peers drop this node at once), waits a bounded time for it to reach the
   * server, and closes the connection. Idempotent.
   */
  async close(): Promise<void> {
    this.generation++;
    clearTimeout(this.timer);
    this.abort?.abort();
    const link = this.link;
    if (link === undefined) return;
    if (link.connected && this.announce(this.subjects.discoveryPresence, 'leaving'))
      await link.flush(NATS_DISCOVERY_DEFAULTS.closeFlushMs).catch(() => undefined);
    this.link = undefined;
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    this.unsubscribe = [];
    await link.close();
  }

  private schedule(generation: number): void {
    const jitter = NATS_DISCOVERY_DEFAULTS.jitter * (Math.random() * 2 - 1);
    this.timer = setTimeout(() => this.tick(generation), this.settings.intervalMs * (1 + jitter));
    this.timer.unref();
  }

  /** One round: say `alive`, forget long-silent nodes, notice expiries. */
  private tick(generation: number): void {
    if (generation !== this.generation) return;
    if (this.link?.connected === true) {
      this.announce(this.subjects.discoveryPresence, 'alive');
      this.table.prune(this.settings.failureTimeoutMs * 2);
      this.answers.notice(this.table.peers());
    }
    this.schedule(generation);
  }

  private onStatus(generation: number, connected: boolean, reason: string | undefined): void {
    if (generation !== this.generation) return;
    if (!connected) this.cutOffReason = reason;
    if (connected === this.wasConnected) return;
    this.wasConnected = connected;
    if (connected && this.link !== undefined) {
      // Nothing could be heard while cut off: everyone gets a full timeout again.
      this.table.refreshAll();
      this.announce(this.subjects.discoveryPresence, 'hello');
    }
    // Either way the answer changes (an error, or an answer again).
    this.answers.changed();
  }

  /** Publishes the next announcement of `kind` to `subject`; whether it went out. */
  private announce(subject: string, kind: PresenceKind, to?: string): boolean {
    const link = this.link;
    if (link === undefined) return false;
    this.counter++;
    try {
      link.publish(subject, encodePresence({ ...this.announcement(kind), to }, this.key!));
      this.counts.sent++;
      return true;
    } catch (error) {
      this.counts.sendErrors++;
      // Cut off: the link reports that itself. Anything else is news.
      if (link.connected) this.warn(`send ${kind}`, M.sendFailed(kind, toError(error).message));
      return false;
    }
  }

  private announcement(kind: PresenceKind): PresenceAnnouncement {
    return {
      kind,
      node: this.self,
      incarnation: this.incarnation,
      counter: this.counter,
      startedAt: this.startedAt,
      port: this.port,
    };
  }

  /** An announcement on the namespace's subject (`direct` false) or on this start's inbox. */
  private receive(payload: Uint8Array, direct: boolean): void {
    this.counts.received++;
    const decoded = decodePresence(payload, this.key!);
    if (!decoded.ok) {
      this.counts[decoded.reason]++;
      if (decoded.reason === 'badMac') this.warn('badMac', M.badMac());
      if (decoded.reason === 'version') this.warn('version', M.otherVersion());
      return;
    }
    const a = decoded.announcement;
    if (a.node === this.self) {
      if (a.incarnation !== this.incarnation) this.warn('duplicate', M.duplicateName(a.node));
      return;
    }
    // Only a `reply` goes to an inbox, bound to this start (`to`), and never to the namespace's
    // subject: a packet moved from one to the other, or a reply recorded for another start, is a
    // replay (counted as malformed, as a bad name or port).
    const placed = direct ? a.kind === 'reply' && a.to === this.incarnation : a.kind !== 'reply';
    if (
      !placed ||
      (!direct && a.to !== undefined) ||
      a.port === 0 ||
      !isCanonicalNodeName(a.node)
    ) {
      this.counts.malformed++;
      return;
    }
    const result = this.table.offer(a);
    if (result === 'replayed') {
      this.counts.replayed++;
      return;
    }
    this.counts.accepted++;
    // A newcomer: answer on its own subject, so it learns this node within one round trip.
    if (a.kind === 'hello')
      this.announce(this.subjects.discoveryInbox(a.incarnation), 'reply', a.incarnation);
    if (result === 'changed') {
      this.answers.changed();
    }
  }

  private warn(key: string, message: string): void {
    const logger = this.logger;
    if (logger !== undefined) this.warnings.write(key, message, m => logger.warn(m));
  }
}
