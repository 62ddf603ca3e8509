import { randomBytes } from 'node:crypto';
import type { ClusterLogger, DistHealth, DistStats, Peer } from '../../core/index.js';
import type { Connection } from './connection.js';
import { Dial, dialAbortedError } from './dialer.js';
import type { HandshakeIdentity } from './handshake/index.js';
import { LinkLog } from './link-log.js';
import { LinkTable } from './link-table.js';
import { Listener } from './listener.js';
import type { MeshEvents, MeshOptions } from './mesh.types.js';
import { TcpStats } from './tcp-stats.js';
import { TransitiveConnect } from './transitive.js';

export type { Link, MeshEvents, MeshOptions } from './mesh.types.js';

/**
 * The connection table of the TCP dist: one authenticated link per peer node. A facade over its
 * parts: the {@link Listener} (accept, pre-authentication caps, TLS accept, inbound
 * authentication), one {@link Dial} per node being dialled, the {@link LinkTable} (adoption,
 * simultaneous-connect tie-break and restart rules) and {@link TransitiveConnect}.
 *
 * TLS: accepted sockets go through the caps, then a TLS handshake, then the cookie handshake;
 * dialled ones through a TLS handshake, then the cookie handshake.
 */
export class Mesh {
  /** This start of the node, told to peers so they can tell a restart from a duplicate. */
  readonly incarnation = randomBytes(8).toString('hex');
  private readonly log: LinkLog;
  private readonly links: LinkTable;
  private readonly listener: Listener;
  private readonly transitive: TransitiveConnect | undefined;
  /** Dials in progress, by node. */
  private readonly dialing = new Map<string, Dial>();
  private closing = false;
  private readonly counters = new TcpStats();

  constructor(
    private readonly options: MeshOptions,
    events: MeshEvents,
    private readonly logger: ClusterLogger,
  ) {
    this.log = new LinkLog(logger);
    this.transitive = options.transitive
      ? new TransitiveConnect(
          {
            self: options.self,
            dialTimeoutMs: options.handshakeTotalTimeoutMs,
            known: node => this.links.has(node) || this.dialing.has(node),
            connect: (peer, signal) => this.connect(peer, signal),
            admits: node => this.links.admits(node),
          },
          logger,
        )
      : undefined;
    this.links = new LinkTable(options, {
      events,
      control: (from, message) => this.transitive?.onControl(from, message),
      linked: link => this.transitive?.share(link, this.links.memberLinks()),
      closing: () => this.closing,
      dialing: node => this.dialing.has(node),
    });
    this.listener = new Listener(
      options,
      {
        closing: () => this.closing,
        identity: () => this.identity(),
        decide: peer => this.links.decide(peer),
        adopt: (connection, peer) => this.links.adopt(connection, peer, 'in'),
        refused: failure => this.counters.refused(failure),
      },
      this.log,
      logger,
    );
  }

  /** The port the listener got (the fixed one, or the ephemeral one assigned). */
  get port(): number | null {
    return this.listener.port;
  }

  /** Whether the listener still accepts (`listening: false` once it was lost, with why). */
  health(): DistHealth {
    return this.listener.health.health;
  }

  /** Every link's counters and the handshake refusals by reason. */
  stats(): DistStats {
    return this.counters.snapshot(this.links.all());
  }

  /** Starts listening. Rejects when the port is taken or the address is not local. */
  listen(): Promise<number> {
    return this.listener.listen();
  }

  /** Connected member nodes (hidden links excluded). */
  members(): Peer[] {
    return this.links.members();
  }

  /** The link of a node, hidden or not. @internal */
  connectionTo(node: string): Connection | undefined {
    return this.links.connectionTo(node);
  }

  /**
   * Dials a node; resolves `true` once linked (by this dial or by the peer's simultaneous one),
   * `false` when the link did not hold. One dial per node at a time: a second call while one is
   * in progress shares its outcome.
   */
  connect(peer: Peer, signal?: AbortSignal): Promise<boolean> {
    const node = peer.node;
    if (this.closing) return Promise.resolve(false);
    if (this.links.has(node)) return Promise.resolve(true);
    const pending = this.dialing.get(node);
    if (pending) return pending.promise;
    if (signal?.aborted) return Promise.reject(dialAbortedError(node, signal));
    const dial = new Dial(peer, signal, {
      options: this.options,
      logger: this.logger,
      log: this.log,
      closing: () => this.closing,
      identity: () => this.identity(),
      adopt: (connection, linked) => this.links.adopt(connection, linked, 'out'),
      linked: other => this.links.has(other),
      waitForLink: (other, wait) => this.links.waitForLink(other, wait),
      settled: done => {
        if (this.dialing.get(done.node) === done) this.dialing.delete(done.node);
      },
      refused: failure => this.counters.refused(failure),
    });
    this.dialing.set(node, dial);
    dial.start();
    return dial.promise;
  }

  /** @internal For tests: every link stops reading and writing. */
  freeze(): void {
    for (const link of this.links.all()) link.connection.freeze();
  }

  /** Drops the link to a node. */
  disconnect(node: string): boolean {
    return this.links.disconnect(node);
  }

  /** Tells every peer this node leaves, then closes the links. */
  async leave(): Promise<void> {
    this.closing = true;
    this.listener.stopAccepting();
    for (const dial of [...this.dialing.values()]) dial.cancel();
    await Promise.all(this.links.all().map(link => link.connection.leave()));
  }

  /** Closes everything at once. */
  async close(): Promise<void> {
    this.closing = true;
    for (const dial of [...this.dialing.values()]) dial.cancel();
    this.listener.dropPending();
    this.links.close();
    await this.listener.close();
  }

  private identity(): HandshakeIdentity {
    return {
      name: this.options.self,
      incarnation: this.incarnation,
      listenPort: this.listener.port,
      hidden: this.options.hidden,
      heartbeatMs: this.options.heartbeatMs,
      failureTimeoutMs: this.options.failureTimeoutMs,
      startedAt: this.options.startedAt,
    };
  }
}
