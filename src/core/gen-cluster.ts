import { setMaxListeners } from 'node:events';
import {
  BehaviorSubject,
  type Observable,
  Subject,
  distinctUntilChanged,
  filter,
  firstValueFrom,
  timeout,
} from 'rxjs';
import { backoffDelay } from './backoff.js';
import {
  type BackoffOptions,
  DEFAULT_GEN_CLUSTER_OPTIONS,
  type RemovalPolicy,
  type SchedulerOptions,
} from './defaults.js';
import {
  ConnectError,
  DiscoveryError,
  GenClusterError,
  InvalidConfigError,
  toError,
} from './errors.js';
import type { ClusterEvent, Membership, NodeDownReason } from './events.js';
import { Limiter } from './limiter.js';
import { type ClusterLogger, consoleLogger } from './logger.js';
import { CoreMessages } from './messages.js';
import { type Peer, nodeKey, toPeer } from './peer.js';
import type { DiscoveryStrategy, DistStrategy } from './strategy.js';

/** Options of {@link GenCluster}. Only `node`, `discovery` and `dist` are required. */
export interface GenClusterOptions extends Partial<Omit<SchedulerOptions, 'backoff'>> {
  /** This node's name, `name@host`. */
  readonly node: string;
  /** Who the peers should be. */
  readonly discovery: DiscoveryStrategy;
  /** How to connect to them. */
  readonly dist: DistStrategy;
  /** Per-node reconnect backoff; unset fields take their defaults. */
  readonly backoff?: Partial<BackoffOptions>;
  /** Where logs go; a console logger for warnings and errors when unset. */
  readonly logger?: ClusterLogger;
  /** Uniform random source in [0, 1) for backoff jitter; `Math.random` when unset. */
  readonly random?: () => number;
}

/** The lifecycle of a {@link GenCluster}. */
export type ClusterState = 'new' | 'running' | 'paused' | 'leaving' | 'stopped';

/** What waits to be delivered: an event, or a new membership snapshot. */
type Outgoing = { readonly event: ClusterEvent } | { readonly members: readonly string[] };

interface Backoff {
  attempt: number;
  dueAt: number;
  timer?: ReturnType<typeof setTimeout>;
}

const sameMembers = (a: Membership, b: Membership) =>
  a.members.length === b.members.length && a.members.every((node, i) => node === b.members[i]);

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
  private readonly logger: ClusterLogger;
  private readonly random: () => number;
  private readonly limiter: Limiter;
  private readonly interval: number;

  private readonly membershipSubject: BehaviorSubject<Membership>;
  private readonly eventsSubject = new Subject<ClusterEvent>();
  private readonly outbox: Outgoing[] = [];
  private emitting = false;

  private state: ClusterState = 'new';
  private readonly members = new Map<string, Peer>();
  private discovered = new Map<string, Peer>();
  private readonly backoffs = new Map<string, Backoff>();
  private readonly connecting = new Map<string, Promise<void>>();
  /**
   * Per node with a connect in flight: bumped on every up/down report of it, to tell a stale
   * connect result from a fresh one. Entries live only as long as the attempt.
   */
  private readonly epochs = new Map<string, number>();
  private readonly stopping = new AbortController();
  /** The member names in order, kept sorted as they change (sorting per change is O(n log n)). */
  private readonly sortedMembers: string[] = [];
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private starting: Promise<void> | undefined;
  private inflight: Promise<void> | undefined;
  private followUp: Promise<void> | undefined;
  private discoveryFailures = 0;

  /** Snapshots of the membership: the current one at once, then each change. Completes on stop. */
  readonly membership$: Observable<Membership>;
  /** Membership and discovery events, in order per node. Completes on stop. */
  readonly events$: Observable<ClusterEvent>;

  constructor(options: GenClusterOptions) {
    this.options = resolveSchedulerOptions(options);
    this.self = nodeKey(options.node);
    if (!options.discovery || typeof options.discovery.peers !== 'function') {
      throw new InvalidConfigError(
        CoreMessages.invalidOption(
          'discovery',
          options.discovery,
          'an object with a peers() method',
        ),
      );
    }
    if (!options.dist || typeof options.dist.connect !== 'function') {
      throw new InvalidConfigError(
        CoreMessages.invalidOption(
          'dist',
          options.dist,
          'an object with init(), members(), connect(), disconnect() and close()',
        ),
      );
    }
    this.discovery = options.discovery;
    this.dist = options.dist;
    this.logger = options.logger ?? consoleLogger(`GenCluster:${this.self}`);
    this.random = options.random ?? Math.random;
    this.limiter = new Limiter(this.options.connectConcurrency);
    this.interval =
      this.options.refreshIntervalMs === 'infinity' ? Infinity : this.options.refreshIntervalMs;
    // every attempt in flight listens to it (connectConcurrency of them, plus a lookup)
    setMaxListeners(0, this.stopping.signal);
    this.membershipSubject = new BehaviorSubject<Membership>({ self: this.self, members: [] });
    this.membership$ = this.membershipSubject
      .asObservable()
      .pipe(distinctUntilChanged(sameMembers));
    this.events$ = this.eventsSubject.asObservable();
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
    return this.membershipSubject.value;
  }

  /** Connected nodes, sorted, without self (as Erlang's `nodes()`). */
  nodes(): string[] {
    return [...this.membershipSubject.value.members];
  }

  /** The last good discovery answer, without self. */
  discoveredPeers(): Peer[] {
    return [...this.discovered.values()];
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
      });
      await this.discovery.init?.({
        self: this.self,
        logger: this.logger,
        requestRefresh: () => void this.refresh(),
      });
    } catch (error) {
      this.state = 'stopped';
      await Promise.allSettled([
        call(() => this.dist.close()),
        call(() => this.discovery.close?.()),
      ]);
      this.complete();
      throw error;
    }
    // stop() may have been called while the strategies started; it waits for this, then closes.
    if (this.state !== 'running') return;
    this.logger.log(
      `Node ${this.self} started (discovery "${this.discovery.name}", dist "${this.dist.name}").`,
    );
    void this.refresh();
  }

  /**
   * Runs a refresh now: discovery, then a connection attempt to every discovered node that is not
   * connected and not backing off. Calls made while one runs share a single follow-up refresh.
   * Resolves when this round's connection attempts have settled. Does nothing unless running.
   */
  refresh(): Promise<void> {
    if (this.state !== 'running') return Promise.resolve();
    if (this.inflight) {
      this.followUp ??= this.inflight.then(() => {
        this.followUp = undefined;
        return this.refresh();
      });
      return this.followUp;
    }
    let attempts: Promise<unknown> = Promise.resolve();
    const round = this.discoverAndDispatch()
      .then(started => {
        attempts = started.attempts;
      })
      .catch(error => this.logger.error(`Refresh failed unexpectedly: ${toError(error).message}`))
      .finally(() => {
        this.inflight = undefined;
        this.armRefreshTimer();
      });
    this.inflight = round;
    return round.then(() => attempts).then(() => undefined);
  }

  /** Stops refreshing and retrying; connections stay up. */
  pause(): void {
    if (this.state !== 'running') return;
    this.state = 'paused';
    this.clearRefreshTimer();
    for (const backoff of this.backoffs.values()) this.clearBackoffTimer(backoff);
    this.logger.log('Cluster paused.');
  }

  /** Resumes after `pause()` with a refresh at once. */
  resume(): void {
    if (this.state !== 'paused') return;
    this.state = 'running';
    this.logger.log('Cluster resumed.');
    void this.refresh();
  }

  /** Resolves once at least `count` nodes are connected; rejects after `timeoutMs`. */
  async waitForMembers(count: number, options: { timeoutMs?: number } = {}): Promise<Membership> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const enough = this.membership$.pipe(filter(m => m.members.length >= count));
    try {
      return await firstValueFrom(
        Number.isFinite(timeoutMs) ? enough.pipe(timeout({ first: timeoutMs })) : enough,
      );
    } catch (error) {
      if (error instanceof Error && error.name === 'TimeoutError') {
        throw new GenClusterError(
          'ERR_WAIT_TIMEOUT',
          CoreMessages.waitTimeout(count, timeoutMs, this.members.size),
        );
      }
      if (error instanceof Error && error.name === 'EmptyError')
        throw new GenClusterError('ERR_CLUSTER_STOPPED', CoreMessages.stopped());
      throw error;
    }
  }

  /**
   * First half of a graceful stop: no more refreshes or retries, and peers are told this node is
   * leaving (they report reason `left`). Connections stay open until {@link close}.
   */
  async leave(): Promise<void> {
    if (this.state === 'leaving' || this.state === 'stopped') return;
    this.state = 'leaving';
    this.clearRefreshTimer();
    for (const backoff of this.backoffs.values()) this.clearBackoffTimer(backoff);
    this.stopping.abort(new GenClusterError('ERR_CLUSTER_STOPPED', CoreMessages.stopped()));
    // A start still in progress finishes first, so what it opens is closed below.
    await this.starting?.catch(() => undefined);
    await this.inflight;
    await Promise.allSettled(this.connecting.values());
    if (this.starting) {
      try {
        await call(() => this.dist.leave?.());
      } catch (error) {
        this.logger.warn(`Leaving the cluster failed: ${toError(error).message}`);
      }
    }
  }

  /** Second half of a graceful stop: closes the dist and discovery and completes the streams. */
  async close(): Promise<void> {
    if (this.state === 'stopped') return;
    await this.leave();
    const wasStarted = this.starting !== undefined;
    if (wasStarted) {
      const results = await Promise.allSettled([
        call(() => this.dist.close()),
        call(() => this.discovery.close?.()),
      ]);
      for (const result of results) {
        if (result.status === 'rejected')
          this.logger.warn(`Closing failed: ${toError(result.reason).message}`);
      }
    }
    for (const node of [...this.members.keys()]) this.onNodeDown(node, 'stopped');
    this.state = 'stopped';
    this.complete();
    if (wasStarted) this.logger.log(`Node ${this.self} stopped.`);
  }

  /** `leave()` then `close()`. */
  async stop(): Promise<void> {
    await this.leave();
    await this.close();
  }

  // --- refresh ------------------------------------------------------------------------------

  /**
   * One round: discovery, then connection attempts. The attempts are handed back in an object (a
   * bare promise would be awaited by this async function): the round, and so the timer, must not
   * wait for slow peers.
   */
  private async discoverAndDispatch(): Promise<{ attempts: Promise<unknown> }> {
    const answer = await this.lookup();
    if (this.state !== 'running') return { attempts: Promise.resolve() };
    if (answer) this.applyDiscovery(answer);
    this.syncMembers();
    const attempts: Promise<void>[] = [];
    const now = performance.now();
    for (const [key, peer] of this.discovered) {
      if (this.members.has(key) || this.connecting.has(key)) continue;
      const backoff = this.backoffs.get(key);
      if (backoff && (backoff.timer || backoff.dueAt > now)) {
        // A retry not due yet whose timer was cleared (by pause(), or while the node was out of
        // discovery) is re-armed, so it is not left waiting for a refresh that may never come.
        if (!backoff.timer) this.armRetry(key, backoff, backoff.dueAt - now);
        continue;
      }
      attempts.push(this.connect(peer));
    }
    this.logger.debug?.(
      `Refresh: ${this.discovered.size} discovered, ${this.members.size} connected, ${attempts.length} to connect.`,
    );
    return { attempts: Promise.all(attempts) };
  }

  private async lookup(): Promise<Peer[] | undefined> {
    const strategy = this.discovery.name;
    const ms = this.options.discoveryTimeoutMs;
    const controller = new AbortController();
    const onStop = () => controller.abort(this.stopping.signal.reason);
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timedOut = new Promise<never>((_, reject) => {
        // a discovery that ignores its signal must not hold up stop()
        controller.signal.addEventListener(
          'abort',
          () => reject(toError(controller.signal.reason)),
          {
            once: true,
          },
        );
        timer = setTimeout(() => {
          const error = new DiscoveryError(CoreMessages.discoveryTimeout(strategy, ms), {
            code: 'ERR_DISCOVERY_TIMEOUT',
          });
          controller.abort(error);
          reject(error);
        }, ms);
        timer.unref?.();
      });
      const raw = await Promise.race([
        Promise.resolve().then(() => this.discovery.peers(controller.signal)),
        timedOut,
      ]);
      if (!Array.isArray(raw)) {
        throw new DiscoveryError(CoreMessages.discoveryNotAnArray(strategy, typeof raw));
      }
      this.discoveryFailures = 0;
      return this.canonicalPeers(raw);
    } catch (thrown) {
      if (this.stopping.signal.aborted) return undefined;
      this.discoveryFailures++;
      const cause = toError(thrown);
      const error =
        cause instanceof DiscoveryError
          ? cause
          : new DiscoveryError(CoreMessages.discoveryFailed(strategy, cause), { cause });
      this.logger.warn(error.message);
      this.emit({ type: 'discoveryError', error, consecutive: this.discoveryFailures });
      return undefined;
    } finally {
      clearTimeout(timer);
      this.stopping.signal.removeEventListener('abort', onStop);
    }
  }

  private canonicalPeers(raw: readonly (Peer | string)[]): Peer[] {
    const byKey = new Map<string, Peer>();
    for (const entry of raw) {
      let peer: Peer;
      try {
        peer = toPeer(entry);
      } catch (error) {
        this.logger.warn(
          `Discovery "${this.discovery.name}" returned an unusable peer, skipped: ${toError(error).message}`,
        );
        continue;
      }
      if (peer.node === this.self) continue;
      const known = byKey.get(peer.node);
      if (!known || (known.port === undefined && peer.port !== undefined))
        byKey.set(peer.node, peer);
    }
    return [...byKey.values()];
  }

  private applyDiscovery(peers: Peer[]): void {
    const next = new Map(peers.map(peer => [peer.node, peer] as const));
    for (const [key, peer] of next) {
      if (!this.discovered.has(key)) this.emit({ type: 'discovered', node: key, peer });
    }
    const gone = [...this.discovered.keys()].filter(key => !next.has(key));
    this.discovered = next;
    for (const key of gone) {
      this.dropBackoff(key);
      this.emit({ type: 'lost', node: key });
      const member = this.members.get(key);
      if (member && this.options.removalPolicy === 'disconnect') {
        this.logger.log(`${key} left discovery; disconnecting it (removal policy "disconnect").`);
        call(() => this.dist.disconnect(member)).catch(error =>
          this.logger.warn(`Disconnecting ${key} failed: ${toError(error).message}`),
        );
      }
    }
  }

  /** Brings our view in line with `dist.members()`, for dists that do not push every change. */
  private syncMembers(): void {
    let reported: readonly Peer[];
    try {
      reported = this.dist.members();
    } catch (error) {
      this.logger.warn(`dist.members() failed: ${toError(error).message}`);
      return;
    }
    const keys = new Set<string>();
    for (const entry of reported) {
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

  private armRefreshTimer(): void {
    this.clearRefreshTimer();
    if (this.state !== 'running' || !Number.isFinite(this.interval)) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      void this.refresh();
    }, this.interval);
    this.refreshTimer.unref?.();
  }

  private clearRefreshTimer(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  // --- connections ---------------------------------------------------------------------------

  private connect(peer: Peer): Promise<void> {
    const key = peer.node;
    const running = this.connecting.get(key);
    if (running) return running;
    const attempt = this.limiter
      .run(() => this.attemptConnect(key))
      .finally(() => {
        if (this.connecting.get(key) === attempt) this.connecting.delete(key);
      });
    this.connecting.set(key, attempt);
    return attempt;
  }

  private async attemptConnect(key: string): Promise<void> {
    // Facts may have changed while this attempt waited for a slot.
    const peer = this.discovered.get(key);
    if (this.state !== 'running' || !peer || this.members.has(key)) return;
    const epoch = 0;
    this.epochs.set(key, epoch);
    const ms = this.options.connectTimeoutMs;
    const controller = new AbortController();
    const onStop = () => controller.abort(this.stopping.signal.reason);
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    let timer: ReturnType<typeof setTimeout> | undefined;
    let result: boolean | 'ignored' = false;
    let failure: Error | undefined;
    try {
      const aborted = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new ConnectError(CoreMessages.connectTimeout(key, ms), {
            code: 'ERR_CONNECT_TIMEOUT',
            node: key,
          });
          controller.abort(error);
          reject(error);
        }, ms);
        timer.unref?.();
        controller.signal.addEventListener(
          'abort',
          () => reject(toError(controller.signal.reason)),
          { once: true },
        );
      });
      result = await Promise.race([this.dist.connect(peer, controller.signal), aborted]);
    } catch (error) {
      failure = toError(error);
    } finally {
      clearTimeout(timer);
      this.stopping.signal.removeEventListener('abort', onStop);
    }
    const reportedMeanwhile = this.epochs.get(key) !== epoch;
    this.epochs.delete(key);
    if (this.state !== 'running') return;
    if (result === true) {
      this.dropBackoff(key);
      // A dist that pushes changes has already reported this node (or its loss since); only
      // when it said nothing during the attempt is the connect result itself the news.
      if (!reportedMeanwhile && !this.members.has(key)) this.onNodeUp(peer);
      return;
    }
    if (result === 'ignored') return;
    this.connectFailed(
      key,
      failure ?? new ConnectError(CoreMessages.connectRefused(key), { node: key }),
    );
  }

  private connectFailed(key: string, error: Error): void {
    const backoff = this.backoffs.get(key) ?? { attempt: 0, dueAt: 0 };
    backoff.attempt++;
    this.clearBackoffTimer(backoff);
    // A node that left discovery meanwhile is not retried, and keeps no state here.
    const stillWanted = this.discovered.has(key);
    const delay = backoffDelay(this.options.backoff, backoff.attempt, this.random);
    if (stillWanted) {
      this.backoffs.set(key, backoff);
      backoff.dueAt = performance.now() + delay;
      this.armRetry(key, backoff, delay);
    } else {
      this.backoffs.delete(key);
    }
    const message = `Could not connect to ${key} (attempt ${backoff.attempt}): ${error.message}${stillWanted ? `; retrying in ${delay} ms` : ''}.`;
    if (backoff.attempt === 1) this.logger.warn(message);
    else this.logger.debug?.(message);
    this.emit({
      type: 'connectFailed',
      node: key,
      error,
      attempt: backoff.attempt,
      retryInMs: stillWanted ? delay : undefined,
    });
  }

  private armRetry(key: string, backoff: Backoff, delay: number): void {
    backoff.timer = setTimeout(() => {
      backoff.timer = undefined;
      const peer = this.discovered.get(key);
      if (this.state === 'running' && peer && !this.members.has(key))
        this.connectInBackground(peer);
    }, delay);
    backoff.timer.unref?.();
  }

  /** A connection attempt nobody waits for; it cannot reject, but stay safe if that changes. */
  private connectInBackground(peer: Peer): void {
    this.connect(peer).catch(error =>
      this.logger.error(
        `Connecting to ${peer.node} failed unexpectedly: ${toError(error).message}`,
      ),
    );
  }

  private dropBackoff(key: string): void {
    const backoff = this.backoffs.get(key);
    if (!backoff) return;
    this.clearBackoffTimer(backoff);
    this.backoffs.delete(key);
  }

  private clearBackoffTimer(backoff: Backoff): void {
    if (backoff.timer) clearTimeout(backoff.timer);
    backoff.timer = undefined;
  }

  // --- reports from the dist ----------------------------------------------------------------

  private onNodeUp(reported: Peer): void {
    if (this.state === 'stopped') return;
    let peer: Peer;
    try {
      peer = toPeer(reported);
    } catch (error) {
      this.logger.warn(
        `Dist "${this.dist.name}" reported an invalid node: ${toError(error).message}`,
      );
      return;
    }
    const key = peer.node;
    if (key === this.self) return;
    this.bumpEpoch(key);
    if (this.members.has(key)) {
      this.members.set(key, peer);
      return;
    }
    this.members.set(key, peer);
    this.sortedMembers.splice(sortedIndex(this.sortedMembers, key), 0, key);
    this.dropBackoff(key);
    this.logger.log(`Node up: ${key}.`);
    this.emit({ type: 'nodeUp', node: key, peer });
    this.publishMembership();
  }

  private onNodeDown(node: string, reason: NodeDownReason): void {
    let key: string;
    try {
      key = nodeKey(node);
    } catch {
      return;
    }
    if (!this.members.delete(key)) return;
    this.sortedMembers.splice(sortedIndex(this.sortedMembers, key), 1);
    this.bumpEpoch(key);
    this.logger.log(`Node down: ${key} (${reason}).`);
    this.emit({ type: 'nodeDown', node: key, reason });
    this.publishMembership();
    // A lost node that is still discovered is retried at once, then on its backoff; one that is
    // no longer discovered, or that we dropped on purpose, is not.
    const peer = this.discovered.get(key);
    if (this.state === 'running' && peer && reason !== 'disconnected')
      this.connectInBackground(peer);
  }

  private bumpEpoch(key: string): void {
    const epoch = this.epochs.get(key);
    if (epoch !== undefined) this.epochs.set(key, epoch + 1);
  }

  // --- output --------------------------------------------------------------------------------

  private publishMembership(): void {
    this.outbox.push({ members: this.sortedMembers.slice() });
    this.drain();
  }

  private emit(event: ClusterEvent): void {
    this.outbox.push({ event });
    this.drain();
  }

  /** Delivers strictly in order, even when a subscriber reacts by causing another delivery. */
  private drain(): void {
    if (this.emitting) return;
    this.emitting = true;
    try {
      // RxJS reports an error thrown by a subscriber itself (asynchronously, as an uncaught
      // exception); subscribers must not throw, as the README says.
      for (let item = this.outbox.shift(); item; item = this.outbox.shift()) {
        if ('event' in item) this.eventsSubject.next(item.event);
        else this.membershipSubject.next({ self: this.self, members: item.members });
      }
    } finally {
      this.emitting = false;
    }
  }

  private complete(): void {
    this.drain();
    this.eventsSubject.complete();
    this.membershipSubject.complete();
  }
}

/** Where `key` is, or would go, in the sorted array `keys` (binary search). */
function sortedIndex(keys: readonly string[], key: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (keys[mid]! < key) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The longest delay a Node timer honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs a strategy method so that a synchronous throw becomes a rejection. */
function call<T>(method: () => T | Promise<T>): Promise<T> {
  return Promise.resolve().then(method);
}

/** Fills in defaults and validates the scheduler options; throws {@link InvalidConfigError}. */
export function resolveSchedulerOptions(
  options: Partial<Omit<SchedulerOptions, 'backoff'>> & { backoff?: Partial<BackoffOptions> },
): SchedulerOptions {
  const d = DEFAULT_GEN_CLUSTER_OPTIONS;
  const refreshIntervalMs = options.refreshIntervalMs ?? d.refreshIntervalMs;
  const resolved: SchedulerOptions = {
    refreshIntervalMs: refreshIntervalMs === Infinity ? 'infinity' : refreshIntervalMs,
    removalPolicy: options.removalPolicy ?? d.removalPolicy,
    connectConcurrency: options.connectConcurrency ?? d.connectConcurrency,
    connectTimeoutMs: options.connectTimeoutMs ?? d.connectTimeoutMs,
    discoveryTimeoutMs: options.discoveryTimeoutMs ?? d.discoveryTimeoutMs,
    backoff: { ...d.backoff, ...options.backoff },
  };
  const positive = (name: string, value: unknown, integer = false) => {
    if (typeof value !== 'number' || !(value > 0) || (integer && !Number.isInteger(value))) {
      throw new InvalidConfigError(
        CoreMessages.invalidOption(
          name,
          value,
          integer ? 'a positive integer' : 'a positive number',
        ),
      );
    }
  };
  // Node fires a timer set beyond 2^31-1 ms after 1 ms: such a value would be a storm, not a wait.
  const duration = (name: string, value: unknown) => {
    positive(name, value);
    if ((value as number) > MAX_TIMER_MS) {
      throw new InvalidConfigError(
        CoreMessages.invalidOption(name, value, `at most ${MAX_TIMER_MS} ms (about 24.8 days)`),
      );
    }
  };
  if (resolved.refreshIntervalMs !== 'infinity')
    duration('refreshIntervalMs', resolved.refreshIntervalMs);
  const policies: RemovalPolicy[] = ['keep', 'disconnect'];
  if (!policies.includes(resolved.removalPolicy)) {
    throw new InvalidConfigError(
      CoreMessages.invalidOption('removalPolicy', resolved.removalPolicy, '"keep" or "disconnect"'),
    );
  }
  positive('connectConcurrency', resolved.connectConcurrency, true);
  duration('connectTimeoutMs', resolved.connectTimeoutMs);
  duration('discoveryTimeoutMs', resolved.discoveryTimeoutMs);
  duration('backoff.initialMs', resolved.backoff.initialMs);
  duration('backoff.maxMs', resolved.backoff.maxMs);
  if (!(resolved.backoff.multiplier >= 1)) {
    throw new InvalidConfigError(
      CoreMessages.invalidOption(
        'backoff.multiplier',
        resolved.backoff.multiplier,
        'a number >= 1',
      ),
    );
  }
  if (!(resolved.backoff.jitter >= 0 && resolved.backoff.jitter < 1)) {
    throw new InvalidConfigError(
      CoreMessages.invalidOption(
        'backoff.jitter',
        resolved.backoff.jitter,
        'a number from 0 (inclusive) to 1 (exclusive)',
      ),
    );
  }
  return resolved;
}
