import { randomBytes } from 'node:crypto';
import {
  type ClusterLogger,
  type DiscoveryContext,
  DiscoveryError,
  type DiscoveryStrategy,
  InvalidConfigError,
  type Peer,
  RateLimitedLog,
} from '../../core/index.js';
import { AnswerChangeNotifier, isCanonicalNodeName } from '../answer-change.js';
import type { GossipSocketError } from './gossip.errors.js';
import { GossipMessages } from './gossip.messages.js';
import {
  GOSSIP_DISCOVERY_DEFAULTS,
  type GossipDiscoveryOptions,
  type ResolvedGossipOptions,
  resolveGossipOptions,
} from './gossip-options.js';
import {
  GOSSIP_KEY_LABEL,
  type GossipAnnouncement,
  decodeAnnouncement,
  encodeAnnouncement,
} from './gossip-packet.js';
import { type DatagramSocket, GossipSocket } from './gossip-socket.js';
import { GossipTable } from './gossip-table.js';

/** Counters of a {@link GossipDiscovery}, since its start. */
export interface GossipStats {
  /** Packets received on the group (this node's own included). */
  readonly received: number;
  /** Announcements of other nodes taken into the table. */
  readonly accepted: number;
  /** Packets that are not announcements of this format (or, signed, carry a bad node name). */
  readonly malformed: number;
  /** Packets whose MAC does not match (another key, or forged). */
  readonly badMac: number;
  /** Authentic announcements of another namespace. */
  readonly otherNamespace: number;
  /** Authentic announcements that were not news (a counter not above the last, an old start). */
  readonly replayed: number;
  /** Names forgotten to stay within `maxCandidates`. */
  readonly evicted: number;
  /** Names in the table now (heard recently or not). */
  readonly size: number;
  /** Announcements this node sent. */
  readonly sent: number;
  /** Announcements this node failed to send. */
  readonly sendErrors: number;
}

/**
 * @internal What specs replace: the socket and the monotonic clock. Handed in through
 * {@link GossipDiscovery.withDependencies} only, so the public constructor never names this type
 * (the published declarations strip it).
 */
export interface GossipDependencies {
  readonly createSocket?: () => DatagramSocket;
  readonly now?: () => number;
}

/** The dependencies of the construction under way ({@link GossipDiscovery.withDependencies}). */
let injected: GossipDependencies | undefined;

type Counter = Exclude<keyof GossipStats, 'evicted' | 'size'>;

/**
 * Peers from UDP multicast on one LAN (libcluster's Gossip): every node announces its name, dist
 * port, namespace and a random incarnation on a group every `intervalMs` (±10%), and answers the
 * nodes it heard within the last `missedIntervals` intervals. A node that stops announces that it
 * is leaving and drops out at once.
 *
 * Every announcement carries an HMAC-SHA256 (16 bytes) over the whole packet, keyed by a key the
 * dist derives from the cookie (or the `secret` option), and a counter per incarnation; packets
 * with a bad MAC, of another namespace, or not newer than the last of their sender are counted
 * and dropped without a log line per packet and without a dial. The table is bounded
 * (`maxCandidates`, least recently heard forgotten first).
 *
 * When the socket cannot join the group or its sends fail (a host with no multicast route),
 * `peers()` throws a {@link DiscoveryError} whose cause is a `GossipSocketError`
 * (`ERR_GOSSIP_SOCKET`) naming both fixes; the cluster keeps its last good peers and the socket is
 * retried every interval.
 */
export class GossipDiscovery implements DiscoveryStrategy {
  readonly name = 'gossip';
  /** The options in force, defaults filled in. */
  readonly settings: ResolvedGossipOptions;

  private readonly table: GossipTable;
  private readonly counts: Record<Counter, number> = {
    received: 0,
    accepted: 0,
    malformed: 0,
    badMac: 0,
    otherNamespace: 0,
    replayed: 0,
    sent: 0,
    sendErrors: 0,
  };
  /** The socket's advice (`socket <operation>` keys): a limiter no packet can fill. */
  private readonly socketWarnings = new RateLimitedLog(60_000, 8);
  /** Warnings about packets received: one key each (`badMac`, `duplicate`). */
  private readonly packetWarnings = new RateLimitedLog(60_000, 8);
  private readonly dependencies: GossipDependencies;
  /** Counts starts and stops, so a round of an earlier start stops instead of running on. */
  private generation = 0;
  private incarnation = 0n;
  private counter = 0n;
  private key: Buffer | undefined;
  private socket: GossipSocket | undefined;
  private logger: ClusterLogger | undefined;
  private self = '';
  private port = 0;
  /** Why the socket cannot gossip now: a failed bind or join, or the last send's failure. */
  private failure: GossipSocketError | undefined;
  private readonly answers = new AnswerChangeNotifier();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /** @throws InvalidConfigError naming the option, the value and the accepted forms. */
  constructor(
    options: Omit<GossipDiscoveryOptions, 'strategy'> & { readonly strategy?: 'gossip' } = {},
  ) {
    const dependencies = injected ?? {};
    injected = undefined;
    this.dependencies = dependencies;
    this.settings = resolveGossipOptions(options);
    this.table = new GossipTable({
      maxCandidates: this.settings.maxCandidates,
      expiryMs: this.settings.missedIntervals * this.settings.intervalMs,
      now: dependencies.now ?? (() => performance.now()),
    });
  }

  /**
   * @internal A discovery whose socket and clock are replaced (specs).
   * @throws InvalidConfigError as the constructor
   */
  static withDependencies(
    options: Omit<GossipDiscoveryOptions, 'strategy'> & { readonly strategy?: 'gossip' },
    dependencies: GossipDependencies,
  ): GossipDiscovery {
    injected = dependencies;
    try {
      return new GossipDiscovery(options);
    } finally {
      injected = undefined;
    }
  }

  /**
   * Opens the socket and sends the first announcement.
   * @throws InvalidConfigError when there is no key (no `secret` and a dist that derives none),
   *   no dist port, or a node name gossip cannot carry (over 255 bytes).
   */
  async init(context: DiscoveryContext): Promise<void> {
    // A new start is a new incarnation: peers accept its counter from 1 again.
    const generation = ++this.generation;
    this.incarnation = randomBytes(8).readBigUInt64BE();
    this.counter = 0n;
    this.closed = false;
    this.failure = undefined;
    this.self = context.self;
    this.logger = context.logger;
    this.answers.attach(context.requestRefresh);
    this.key = this.settings.key ?? context.deriveKey?.(GOSSIP_KEY_LABEL);
    if (this.key === undefined)
      throw new InvalidConfigError(GossipMessages.noKey('this dist'), { option: 'secret' });
    if (context.port === undefined)
      throw new InvalidConfigError(GossipMessages.noPort(), { option: 'dist' });
    this.port = context.port;
    encodeAnnouncement(this.announcement(false), this.key);
    this.socket = new GossipSocket(
      this.settings,
      (packet, from) => this.receive(packet, from),
      error => this.report(error),
      this.dependencies.createSocket,
    );
    await this.tick(generation);
  }

  /** The nodes heard recently (this node's own announcements excluded). */
  peers(): Peer[] {
    if (this.failure !== undefined)
      throw new DiscoveryError(this.failure.message, { cause: this.failure });
    return this.table.peers();
  }

  /** Counters since the start, and the table's size. */
  stats(): GossipStats {
    return { ...this.counts, evicted: this.table.evicted, size: this.table.size };
  }

  /** Announces that this node leaves (peers drop it at once), then closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    clearTimeout(this.timer);
    const socket = this.socket;
    if (socket === undefined) return;
    if (socket.ready) await this.announce(socket, true);
    await socket.close();
  }

  /**
   * One round: (re)open the socket if needed, announce, notice nodes that went quiet. A round of
   * an earlier start (`generation` no longer current: stopped, maybe started again meanwhile)
   * stops after its await, so a re-init never runs two chains.
   */
  private async tick(generation: number): Promise<void> {
    const socket = this.socket!;
    const opened = await socket.open();
    if (generation !== this.generation) return;
    if (opened !== undefined) this.fail(opened);
    else await this.announce(socket, false);
    if (generation !== this.generation) return;
    this.answers.notice(this.table.peers());
    const jitter = GOSSIP_DISCOVERY_DEFAULTS.jitter * (Math.random() * 2 - 1);
    this.timer = setTimeout(
      () => void this.tick(generation),
      this.settings.intervalMs * (1 + jitter),
    );
    this.timer.unref();
  }

  private async announce(socket: GossipSocket, leaving: boolean): Promise<void> {
    this.counter++;
    const error = await socket.send(encodeAnnouncement(this.announcement(leaving), this.key!));
    if (error !== undefined) {
      this.counts.sendErrors++;
      this.fail(error);
      return;
    }
    this.counts.sent++;
    if (this.failure !== undefined && !leaving) {
      this.logger?.log(GossipMessages.socketRecovered(this.failure.operation));
      this.socketWarnings.forget(`socket ${this.failure.operation}`);
      this.failure = undefined;
    }
  }

  private announcement(leaving: boolean): GossipAnnouncement {
    return {
      incarnation: this.incarnation,
      counter: this.counter,
      namespace: this.settings.namespace,
      node: this.self,
      port: this.port,
      leaving,
    };
  }

  private fail(error: GossipSocketError): void {
    this.failure = error;
    this.report(error);
  }

  private report(error: GossipSocketError): void {
    const logger = this.logger;
    if (logger !== undefined)
      this.socketWarnings.write(`socket ${error.operation}`, error.message, m => logger.warn(m));
  }

  private receive(packet: Buffer, from: string): void {
    this.counts.received++;
    const decoded = decodeAnnouncement(packet, this.key!);
    if (!decoded.ok) {
      this.counts[decoded.reason]++;
      if (decoded.reason === 'badMac') this.warnOnce('badMac', GossipMessages.badMac(from));
      return;
    }
    const a = decoded.announcement;
    if (a.namespace !== this.settings.namespace) {
      this.counts.otherNamespace++;
      return;
    }
    if (a.node === this.self) {
      if (a.incarnation !== this.incarnation)
        this.warnOnce('duplicate', GossipMessages.duplicateName(a.node, from));
      return;
    }
    if (!isCanonicalNodeName(a.node)) {
      this.counts.malformed++;
      return;
    }
    const result = this.table.offer(a);
    if (result === 'replayed') {
      this.counts.replayed++;
      return;
    }
    this.counts.accepted++;
    if (result === 'changed') {
      this.answers.changed();
    }
  }

  private warnOnce(key: string, message: string): void {
    const logger = this.logger;
    if (logger !== undefined) this.packetWarnings.write(key, message, m => logger.warn(m));
  }
}
