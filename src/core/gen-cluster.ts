// Over the ~450-line guide on purpose (about 540 lines): this is the engine's public face
// (lifecycle, refresh, dist reports, their log lines); its rooms (options, lookup, refresh loop,
// backoff, connection attempts, outbox, connect-failure report, link admission, formation gate,
// discovery context) live beside it, and what remains shares its state.
import { setMaxListeners } from 'node:events';
import type { Observable } from 'rxjs';
import { type ClusterHealthSnapshot, readDistHealth } from './cluster-health.js';
import { QuorumTracker } from './quorum.js';
import type { SchedulerOptions } from './defaults.js';
import { DiscoveryLookup } from './discovery-lookup.js';
import { ConnectionAttempts } from './connection-attempts.js';
import { engineDiscoveryContext, engineFormationGate } from './engine-context.js';
import { DistConnectivity } from './dist-connectivity.js';
import { GenClusterError, toError } from './errors.js';
import { EventOutbox } from './event-outbox.js';
import type { FormationGate } from './formation-gate.js';
import { type WaitForFormationOptions, resolveWaitOptions } from './formation-options.js';
import type { ClusterEvent, Membership, NodeDownReason } from './events.js';
import { Limiter } from './limiter.js';
import { ADMISSION_REFRESH_WINDOW_MS, AdmissionControl } from './link-admission.js';
import { type StructuredLogger, asStructuredLogger } from './cluster-logger.js';
import { ConnectFailureReport, DEFAULT_CONNECT_FAILURE_REPORT } from './connect-failure-report.js';
import { consoleLogger } from './logger.js';
import { CoreMessages } from './messages.js';
import { type Peer, nodeKey, toPeer } from './peer.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import { RefreshLoop, type RefreshRound } from './refresh-loop.js';
import { resolveSchedulerOptions } from './scheduler-options.js';
import type { DiscoveryStrategy, DistStrategy } from './strategy.js';
import { invalidOption } from './validate.js';
import { waitForMemberCount } from './wait-for-members.js';

import type { GenClusterOptions } from './gen-cluster-options.js';

export type { GenClusterOptions } from './gen-cluster-options.js';

/** The lifecycle of a {@link GenCluster}. */
export type ClusterState = 'new' | 'running' | 'paused' | 'leaving' | 'stopped';

/**
 * The cluster engine: it asks discovery who the peers should be, asks the dist who is connected,
 * and connects the difference, on an interval and with per-node backoff. It knows nothing of Nest.
 *
 * @example
 * const cluster = new GenCluster({ node: 'a@127.0.0.1', discovery, dist });
 * cluster.membership$.subscribe(m => console.log(m.members));
 * await cluster.start();
 */
export class GenCluster {
  /** This node's canonical name. */
  readonly self: string;
  /** The options in force, defaults filled in. */
  readonly options: Readonly<SchedulerOptions>;

  private readonly discovery: DiscoveryStrategy;
  private readonly dist: DistStrategy;
  private readonly logger: StructuredLogger;
  private readonly failures: ConnectFailureReport;
  private readonly limiter: Limiter;
  private readonly refreshLoop: RefreshLoop;
  private readonly outbox: EventOutbox;
  private readonly lookup: DiscoveryLookup;
  private readonly admission: AdmissionControl;
  private readonly quorum: QuorumTracker | undefined;
  private readonly formation: FormationGate;
  private readonly connectivity: DistConnectivity;
  /** Whether the `formation` option was given: only then does readiness wait for it. */
  private readonly formationConfigured: boolean;

  private state: ClusterState = 'new';
  private readonly members = new Map<string, Peer>();
  private discovered = new Map<string, Peer>();
  private readonly backoff: ReconnectBackoff;
  private readonly attempts: ConnectionAttempts;
  private readonly stopping = new AbortController();
  private starting: Promise<void> | undefined;

  /** Snapshots of the membership: the current one at once, then each change. Completes on stop. */
  readonly membership$: Observable<Membership>;
  /** Membership and discovery events, in order per node. Completes on stop. */
  readonly events$: Observable<ClusterEvent>;

  constructor(options: GenClusterOptions) {
    this.options = resolveSchedulerOptions(options);
    this.self = nodeKey(options.node);
    if (!options.discovery || typeof options.discovery.peers !== 'function')
      throw invalidOption('discovery', options.discovery, CoreMessages.discoveryShape());
    if (!options.dist || typeof options.dist.connect !== 'function')
      throw invalidOption('dist', options.dist, CoreMessages.distShape());
    this.discovery = options.discovery;
    this.dist = options.dist;
    this.logger = asStructuredLogger(
      options.logger ?? consoleLogger(`GenCluster:${this.self}`),
    ).child({ node: this.self });
    this.failures = new ConnectFailureReport(this.logger, {
      ...DEFAULT_CONNECT_FAILURE_REPORT,
      ...options.connectFailureReport,
    });
    this.limiter = new Limiter(this.options.connectConcurrency);
    this.refreshLoop = new RefreshLoop(
      this.options.refreshIntervalMs === 'infinity' ? Infinity : this.options.refreshIntervalMs,
      () => this.discoverAndDispatch(),
      () => this.state === 'running',
      error =>
        this.logger.error(CoreMessages.refreshFailed(toError(error)), {
          event: 'refreshFailed',
          error,
        }),
    );
    this.backoff = new ReconnectBackoff(this.options.backoff, options.random ?? Math.random, node =>
      this.attempts.retryDue(node),
    );
    // every attempt in flight listens to it (connectConcurrency of them, plus a lookup)
    setMaxListeners(0, this.stopping.signal);
    this.quorum = QuorumTracker.fromOption(options.quorum, {
      republish: () => this.outbox.publishMembership(),
      logger: this.logger,
    });
    this.outbox = new EventOutbox(this.self, this.quorum);
    this.lookup = new DiscoveryLookup(this.discovery, {
      self: this.self,
      timeoutMs: this.options.discoveryTimeoutMs,
      stopping: this.stopping.signal,
      logger: this.logger,
      failed: (error, consecutive) =>
        this.outbox.emit({ type: 'discoveryError', error, consecutive }),
    });
    const interval = this.options.refreshIntervalMs;
    this.admission = new AdmissionControl({
      policy: this.options.removalPolicy,
      windowMs: interval === 'infinity' ? ADMISSION_REFRESH_WINDOW_MS : interval,
      discovered: key => this.discovered.has(key),
      running: () => this.state === 'running',
      refresh: () => void this.refresh(),
      stopping: this.stopping.signal,
      maxWaitMs: this.options.discoveryTimeoutMs,
    });
    this.connectivity = new DistConnectivity({
      logger: this.logger,
      emit: event => this.outbox.emit(event),
      reporting: () => this.state !== 'stopped' && this.state !== 'new',
    });
    this.membership$ = this.outbox.membership$;
    this.events$ = this.outbox.events$;
    const formation = engineFormationGate(options.formation, this.logger);
    this.formation = formation.gate;
    this.formationConfigured = formation.configured;
    this.attempts = new ConnectionAttempts({
      dist: this.dist,
      limiter: this.limiter,
      backoff: this.backoff,
      failures: this.failures,
      logger: this.logger,
      connectTimeoutMs: this.options.connectTimeoutMs,
      stopping: this.stopping.signal,
      running: () => this.state === 'running',
      discovered: key => this.discovered.get(key),
      isMember: key => this.members.has(key),
      nodeUp: peer => this.onNodeUp(peer),
      emit: event => this.outbox.emit(event),
    });
  }

  /** Where the cluster is in its lifecycle. */
  get status(): ClusterState {
    return this.state;
  }

  /** The discovery and dist strategies in use (for diagnostics). */
  get strategies(): { readonly discovery: DiscoveryStrategy; readonly dist: DistStrategy } {
    return { discovery: this.discovery, dist: this.dist };
  }

  /** The current snapshot. */
  get membership(): Membership {
    return this.outbox.membership;
  }

  /** Connected nodes, sorted, without self (as Erlang's `nodes()`). */
  nodes(): string[] {
    return [...this.outbox.membership.members];
  }

  /** The connected members as the dist reported them (with `meta`, e.g. start times), unsorted. */
  memberPeers(): Peer[] {
    return [...this.members.values()];
  }

  /** Whether this side has quorum; always true when no `quorum` rule is configured. */
  hasQuorum(): boolean {
    return this.outbox.quorumState?.has ?? true;
  }

  /** The last good discovery answer, without self. */
  discoveredPeers(): Peer[] {
    return [...this.discovered.values()];
  }

  /**
   * Whether the cluster has formed: at least `formation.minMembers` peers connected and the
   * discovered set unchanged for `formation.stableMarginMs` (see {@link GenClusterOptions.formation}).
   * Never before the first successful discovery answer; once true, true until the cluster stops.
   */
  get formed(): boolean {
    return this.formation.formed;
  }

  /** {@link formed}: the current value at once, then each change; `false` and complete on stop. */
  get formed$(): Observable<boolean> {
    return this.formation.formed$;
  }

  /**
   * Resolves once the cluster has formed by these numbers (the `formation` option's, or the
   * defaults, for those unset): at once when they are the configured ones and {@link formed} is
   * true. Rejects with `ERR_FORMATION_TIMEOUT` (a `FormationTimeoutError` with the members,
   * the required count and the time since the last change) after `timeoutMs` (the stable margin
   * plus 30 s; `Infinity` waits for ever), or `ERR_CLUSTER_STOPPED` when the cluster stops.
   */
  async waitForFormation(options?: WaitForFormationOptions): Promise<void> {
    const { timeoutMs, ...numbers } = resolveWaitOptions(options, this.formation.options);
    return this.formation.wait(
      numbers,
      timeoutMs,
      () => new GenClusterError('ERR_CLUSTER_STOPPED', CoreMessages.stopped()),
    );
  }

  /** What the engine knows of its own health, for readiness and liveness (reads, never waits). */
  health(): ClusterHealthSnapshot {
    const { state, options, dist } = this;
    const counts = { members: this.members.size, discovered: this.discovered.size };
    const facts = { state, ...counts, refreshIntervalMs: options.refreshIntervalMs };
    const formed = this.formationConfigured ? { formed: this.formation.formed } : {};
    const outage = this.connectivity.disconnectedForMs();
    const connectivity =
      outage === undefined ? {} : { distConnected: false, distDisconnectedForMs: outage };
    return {
      ...facts,
      ...this.lookup.health(),
      ...formed,
      ...connectivity,
      dist: readDistHealth(dist),
    };
  }

  /**
   * Starts the dist and the discovery, then runs the first refresh without waiting for it (so an
   * HTTP server is not held up by a slow DNS answer). Rejects if either strategy fails to start.
   */
  start(): Promise<void> {
    if (this.starting) return this.starting;
    if (this.state !== 'new') {
      return Promise.reject(new GenClusterError('ERR_CLUSTER_STOPPED', CoreMessages.stopped()));
    }
    this.starting = this.startStrategies();
    return this.starting;
  }

  private async startStrategies(): Promise<void> {
    this.state = 'running';
    try {
      await this.dist.init({
        self: this.self,
        logger: this.logger,
        nodeUp: peer => this.onNodeUp(peer),
        nodeDown: (node, reason) => this.onNodeDown(node, reason),
        admission: this.admission,
        reportConnectivity: (connected, reason) => this.connectivity.report(connected, reason),
      });
      await this.discovery.init?.(
        engineDiscoveryContext({
          self: this.self,
          logger: this.logger,
          dist: this.dist,
          requestRefresh: () => void this.refresh(),
          // paused stops refreshing, not discovery's own work: its failures are still news
          reporting: () => this.state === 'running' || this.state === 'paused',
          emit: event => this.outbox.emit(event),
        }),
      );
    } catch (error) {
      this.state = 'stopped';
      await Promise.allSettled([
        call(() => this.dist.close()),
        call(() => this.discovery.close?.()),
      ]);
      this.formation.close();
      this.outbox.complete();
      throw error;
    }
    // stop() may have been called while the strategies started; it waits for this, then closes.
    if (this.state !== 'running') return;
    this.logger.log(CoreMessages.nodeStarted(this.self, this.discovery.name, this.dist.name), {
      event: 'nodeStarted',
    });
    void this.refresh();
  }

  /**
   * Runs a refresh now: discovery, then a connection attempt to every discovered node that is not
   * connected and not backing off. Calls made while one runs share a single follow-up refresh.
   * Resolves when this round's connection attempts have settled. Does nothing unless running.
   */
  refresh(): Promise<void> {
    return this.refreshLoop.run();
  }

  /** Stops refreshing and retrying; connections stay up. */
  pause(): void {
    if (this.state !== 'running') return;
    this.state = 'paused';
    this.refreshLoop.stopTimer();
    this.backoff.clearTimers();
    this.logger.log(CoreMessages.paused(), { event: 'paused' });
  }

  /** Resumes after `pause()` with a refresh at once. */
  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'running';
    this.logger.log(CoreMessages.resumed(), { event: 'resumed' });
    void this.refresh();
  }

  /** Resolves once at least `count` nodes are connected; rejects after `timeoutMs`. */
  async waitForMembers(count: number, options: { timeoutMs?: number } = {}): Promise<Membership> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    return waitForMemberCount(this.membership$, count, timeoutMs, () => this.members.size);
  }

  /**
   * First half of a graceful stop: no more refreshes or retries, and peers are told this node is
   * leaving (they report reason `left`). Connections stay open until {@link close}.
   */
  async leave(): Promise<void> {
    if (this.state === 'leaving' || this.state === 'stopped') return;
    this.state = 'leaving';
    this.refreshLoop.stopTimer();
    this.backoff.clearTimers();
    this.stopping.abort(new GenClusterError('ERR_CLUSTER_STOPPED', CoreMessages.stopped()));
    // A start still in progress finishes first, so what it opens is closed below.
    await this.starting?.catch(() => undefined);
    await this.refreshLoop.settled();
    await this.attempts.settled();
    if (this.starting) {
      try {
        await call(() => this.dist.leave?.());
      } catch (error) {
        this.logger.warn(CoreMessages.leaveFailed(toError(error)), { event: 'leaveFailed', error });
      }
    }
  }

  /** Second half of a graceful stop: closes the dist and discovery and completes the streams. */
  async close(): Promise<void> {
    if (this.state === 'stopped') return;
    await this.leave();
    // the dist's close and the loop below report every member down: stopping loses no quorum
    this.quorum?.close();
    const wasStarted = this.starting !== undefined;
    if (wasStarted) {
      const results = await Promise.allSettled([
        call(() => this.dist.close()),
        call(() => this.discovery.close?.()),
      ]);
      for (const result of results) {
        if (result.status === 'rejected')
          this.logger.warn(CoreMessages.closeFailed(toError(result.reason)), {
            event: 'closeFailed',
            error: result.reason,
          });
      }
    }
    for (const node of [...this.members.keys()]) this.onNodeDown(node, 'stopped');
    this.failures.clear();
    this.state = 'stopped';
    this.formation.close();
    this.outbox.complete();
    if (wasStarted) this.logger.log(CoreMessages.nodeStopped(this.self), { event: 'nodeStopped' });
  }

  /** `leave()` then `close()`. */
  async stop(): Promise<void> {
    await this.leave();
    await this.close();
  }

  // --- refresh ------------------------------------------------------------------------------

  /** One round: discovery, then connection attempts, which the round does not wait for. */
  private async discoverAndDispatch(): Promise<RefreshRound> {
    this.admission.lookupStarted();
    let answer: Peer[] | undefined;
    try {
      answer = await this.lookup.peers();
      if (this.state === 'running' && answer) this.applyDiscovery(answer);
    } finally {
      // Admission checks waiting for this lookup answer from the set it left.
      this.admission.lookupFinished();
    }
    if (this.state !== 'running') return { attempts: Promise.resolve() };
    this.syncMembers();
    const attempts: Promise<void>[] = [];
    const now = performance.now();
    for (const [key, peer] of this.discovered) {
      if (this.members.has(key) || this.attempts.has(key) || this.backoff.waiting(key, now))
        continue;
      attempts.push(this.attempts.connect(peer));
    }
    // Every round, so the most verbose level: a person needs the changes, not the rounds.
    this.logger.verbose(
      CoreMessages.refreshSummary(this.discovered.size, this.members.size, attempts.length),
      { event: 'refresh' },
    );
    return { attempts: Promise.all(attempts) };
  }

  private applyDiscovery(peers: Peer[]): void {
    const next = new Map(peers.map(peer => [peer.node, peer] as const));
    let added = false;
    for (const [key, peer] of next) {
      if (this.discovered.has(key)) continue;
      added = true;
      this.outbox.emit({ type: 'discovered', node: key, peer });
    }
    const gone = [...this.discovered.keys()].filter(key => !next.has(key));
    this.discovered = next;
    // the set of node keys, not the answer's ports or order, is what must settle
    this.formation.answered(added || gone.length > 0);
    for (const key of gone) {
      this.backoff.drop(key);
      this.failures.forget(key);
      this.outbox.emit({ type: 'lost', node: key });
      const member = this.members.get(key);
      if (member && this.options.removalPolicy === 'disconnect') {
        this.logger.log(CoreMessages.disconnectingLost(key), {
          event: 'disconnecting',
          peer: key,
        });
        call(() => this.dist.disconnect(member)).catch(error =>
          this.logger.warn(CoreMessages.disconnectFailed(key, toError(error)), {
            event: 'disconnectFailed',
            peer: key,
            error,
          }),
        );
      }
    }
    this.quorum?.discovered(next.size);
  }

  /** Brings our view in line with `dist.members()`, for dists that do not push every change. */
  private syncMembers(): void {
    let reported: readonly Peer[];
    try {
      reported = this.dist.members();
    } catch (error) {
      this.logger.warn(CoreMessages.distMembersFailed(toError(error)), {
        event: 'distMembersFailed',
        error,
      });
      return;
    }
    const keys = new Set<string>();
    for (const entry of reported) {
      // A member reported under its own key (canonical, so its own key): nothing to parse again.
      if (this.members.has(entry.node)) {
        keys.add(entry.node);
        continue;
      }
      let peer: Peer;
      try {
        peer = toPeer(entry);
      } catch {
        continue;
      }
      keys.add(peer.node);
      if (!this.members.has(peer.node)) this.onNodeUp(peer);
    }
    for (const key of [...this.members.keys()]) if (!keys.has(key)) this.onNodeDown(key, 'unknown');
  }

  // --- reports from the dist ----------------------------------------------------------------

  private onNodeUp(reported: Peer): void {
    if (this.state === 'stopped') return;
    let peer: Peer;
    try {
      peer = toPeer(reported);
    } catch (error) {
      this.logger.warn(CoreMessages.invalidReportedNode(this.dist.name, toError(error)), {
        event: 'invalidReportedNode',
        error,
      });
      return;
    }
    const key = peer.node;
    if (key === this.self) return;
    this.attempts.bumpEpoch(key);
    if (this.members.has(key)) {
      this.members.set(key, peer);
      return;
    }
    this.members.set(key, peer);
    this.outbox.addMember(key);
    this.backoff.drop(key);
    this.failures.connected(key);
    this.logger.log(CoreMessages.nodeUp(key), { event: 'nodeUp', peer: key });
    this.outbox.emit({ type: 'nodeUp', node: key, peer });
    this.outbox.publishMembership();
    this.formation.membersChanged(this.members.size);
  }

  private onNodeDown(node: string, reason: NodeDownReason): void {
    let key: string;
    try {
      key = nodeKey(node);
    } catch {
      return;
    }
    if (!this.members.delete(key)) return;
    this.outbox.removeMember(key);
    this.attempts.bumpEpoch(key);
    this.logger.log(CoreMessages.nodeDown(key, reason), { event: 'nodeDown', peer: key, reason });
    this.outbox.emit({ type: 'nodeDown', node: key, reason });
    this.outbox.publishMembership();
    this.formation.membersChanged(this.members.size);
    // A lost node that is still discovered is retried at once, then on its backoff; one that is
    // no longer discovered, or that we dropped on purpose, is not.
    const peer = this.discovered.get(key);
    if (this.state === 'running' && peer && reason !== 'disconnected')
      this.attempts.connectInBackground(peer);
  }
}

/** Runs a strategy method so that a synchronous throw becomes a rejection. */
function call<T>(method: () => T | Promise<T>): Promise<T> {
  return Promise.resolve().then(method);
}
