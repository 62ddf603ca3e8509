import type { StructuredLogger } from './cluster-logger.js';
import type { ConnectFailureReport } from './connect-failure-report.js';
import { withDeadline } from './deadline.js';
import { ConnectError, toError } from './errors.js';
import type { ClusterEvent } from './events.js';
import type { Limiter } from './limiter.js';
import { CoreMessages } from './messages.js';
import type { Peer } from './peer.js';
import type { ReconnectBackoff } from './reconnect-backoff.js';
import type { DistStrategy } from './strategy.js';

/** What {@link ConnectionAttempts} needs from the engine: its parts and read-only views of its facts. */
export interface ConnectionAttemptPorts {
  readonly dist: DistStrategy;
  readonly limiter: Limiter;
  readonly backoff: ReconnectBackoff;
  readonly failures: ConnectFailureReport;
  readonly logger: StructuredLogger;
  readonly connectTimeoutMs: number;
  /** Aborted when the engine stops: every attempt in flight settles then. */
  readonly stopping: AbortSignal;
  /** Whether the engine is running (results that arrive otherwise are dropped). */
  running(): boolean;
  /** The discovered peer of `key`, read when the attempt starts (it may have left meanwhile). */
  discovered(key: string): Peer | undefined;
  isMember(key: string): boolean;
  /** The connect result is the news: the dist said nothing of this node during the attempt. */
  nodeUp(peer: Peer): void;
  emit(event: ClusterEvent): void;
}

/**
 * The engine's connection attempts: at most one per node in flight, through the concurrency
 * limiter, each under its deadline; failures go to the backoff and the failure report.
 */
export class ConnectionAttempts {
  private readonly connecting = new Map<string, Promise<void>>();
  /**
   * Per node with a connect in flight: bumped on every up/down report of it, to tell a stale
   * connect result from a fresh one. Entries live only as long as the attempt.
   */
  private readonly epochs = new Map<string, number>();

  constructor(private readonly ports: ConnectionAttemptPorts) {}

  /** Whether an attempt to `key` is in flight. */
  has(key: string): boolean {
    return this.connecting.has(key);
  }

  /** Resolves once every attempt in flight now has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled(this.connecting.values());
  }

  /** Dials `peer`, or joins the attempt already in flight to it. */
  connect(peer: Peer): Promise<void> {
    const key = peer.node;
    const running = this.connecting.get(key);
    if (running) return running;
    const attempt = this.ports.limiter
      .run(() => this.attemptConnect(key))
      .finally(() => {
        if (this.connecting.get(key) === attempt) this.connecting.delete(key);
      });
    this.connecting.set(key, attempt);
    return attempt;
  }

  /** The backoff timer of `key` fired: dial it if it is still wanted. */
  retryDue(key: string): void {
    const { ports } = this;
    const peer = ports.discovered(key);
    if (ports.running() && peer && !ports.isMember(key)) this.connectInBackground(peer);
  }

  /** A connection attempt nobody waits for; it cannot reject, but stay safe if that changes. */
  connectInBackground(peer: Peer): void {
    this.connect(peer).catch(error =>
      this.ports.logger.error(CoreMessages.connectCrashed(peer.node, toError(error)), {
        event: 'connectCrashed',
        peer: peer.node,
        error,
      }),
    );
  }

  /** The dist reported `key` up or down: an attempt in flight to it is stale news now. */
  bumpEpoch(key: string): void {
    const epoch = this.epochs.get(key);
    if (epoch !== undefined) this.epochs.set(key, epoch + 1);
  }

  private async attemptConnect(key: string): Promise<void> {
    const { ports } = this;
    // Facts may have changed while this attempt waited for a slot.
    const peer = ports.discovered(key);
    if (!ports.running() || !peer || ports.isMember(key)) return;
    const epoch = 0;
    this.epochs.set(key, epoch);
    const ms = ports.connectTimeoutMs;
    let result: boolean | 'ignored' = false;
    let failure: Error | undefined;
    try {
      // Settles on stop or at the deadline even if the dist ignores its signal.
      result = await withDeadline(signal => ports.dist.connect(peer, signal), {
        ms,
        signal: ports.stopping,
        onTimeout: () =>
          new ConnectError(CoreMessages.connectTimeout(key, ms), {
            code: 'ERR_CONNECT_TIMEOUT',
            node: key,
          }),
      });
    } catch (error) {
      failure = toError(error);
    }
    const reportedMeanwhile = this.epochs.get(key) !== epoch;
    this.epochs.delete(key);
    if (!ports.running()) return;
    if (result === true) {
      ports.backoff.drop(key);
      ports.failures.connected(key);
      // A dist that pushes changes has already reported this node (or its loss since); only
      // when it said nothing during the attempt is the connect result itself the news.
      if (!reportedMeanwhile && !ports.isMember(key)) ports.nodeUp(peer);
      return;
    }
    if (result === 'ignored') return;
    this.connectFailed(
      key,
      failure ?? new ConnectError(CoreMessages.connectRefused(key), { node: key }),
    );
  }

  private connectFailed(key: string, error: Error): void {
    const { ports } = this;
    // A node that left discovery meanwhile is not retried, and keeps no state here.
    const { attempt, retryInMs } = ports.backoff.failed(key, ports.discovered(key) !== undefined);
    ports.failures.failed(key, attempt, error, retryInMs);
    if (retryInMs === undefined) ports.failures.forget(key);
    ports.emit({ type: 'connectFailed', node: key, error, attempt, retryInMs });
  }
}
