import { type ClusterLogger, backoffDelay, toError, withDeadline } from '../../core/index.js';
import type { LeaseApi } from './etcd-api.js';
import { etcdRequestError, isLeaseNotFound } from './etcd.errors.js';
import { EtcdMessages as M } from './etcd.messages.js';

/** Settings of a {@link LeaseKeeper}. */
export interface LeaseKeeperOptions {
  readonly api: LeaseApi;
  /** This node's key and value. */
  readonly key: string;
  readonly value: string;
  /** TTL asked of etcd; keepalives go every third of the TTL etcd granted. */
  readonly ttlSeconds: number;
  readonly logger: ClusterLogger | undefined;
  /** A request failed (`consecutive` in a row); the keeper retries on its own. */
  readonly onFailure: (error: Error, consecutive: number) => void;
  /** The key is registered again (first time, or after a loss or failures). */
  readonly onRegistered?: () => void;
  /** A request succeeded after failures (etcd is reachable again). */
  readonly onRecovered?: () => void;
}

/**
 * Shortest deadline given to a keepalive, in ms: when the lease seems to have (almost) run out by
 * our clock, one short try still lets a restarted etcd (which renews its leases) answer.
 */
const MIN_KEEPALIVE_MS = 250;

/** What the keeper is doing. */
export type LeaseKeeperState = 'idle' | 'granting' | 'putting' | 'keeping' | 'stopped';

/**
 * Keeps this node's key in etcd under a lease:
 *
 * - grant a lease (etcd may grant more than asked), put the key with it, then keep the lease
 *   alive every third of the granted TTL (chained timers);
 * - a keepalive answering no TTL, or a put answering "requested lease not found", means the lease
 *   is gone (etcd was unreachable longer than the TTL, or someone revoked it): grant and put again
 *   at once, logging the loss once;
 * - a keepalive is given at most the lease's time left (granted TTL minus the time since the
 *   request that last renewed it): past that the lease is gone anyway, and waiting longer on a
 *   black-holed endpoint would only delay the new grant;
 * - a failed request (etcd unreachable, timeout) is reported and retried with a backoff capped at
 *   the keepalive period, so the key is back within about one period after etcd returns;
 * - {@link reput} puts the key again under the same lease (someone deleted it);
 * - {@link stop} ends the loop and, when asked, revokes the lease so the key goes at once.
 */
export class LeaseKeeper {
  private lease: { id: string; ttl: number } | undefined;
  /** When (monotonic ms) the request that last granted or renewed the lease was sent. */
  private renewedAt = 0;
  private registered = false;
  private lost = false;
  private failures = 0;
  private current: LeaseKeeperState = 'idle';
  private readonly stopping = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private firstAttempt: Promise<void> | undefined;
  private settleFirst: (() => void) | undefined;

  constructor(private readonly options: LeaseKeeperOptions) {}

  /** What the keeper does now. */
  get state(): LeaseKeeperState {
    return this.current;
  }

  /** The lease in use, once granted. */
  get leaseId(): string | undefined {
    return this.lease?.id;
  }

  /** Whether the key is registered and the last request to etcd succeeded. */
  get healthy(): boolean {
    return this.registered && this.failures === 0 && !this.stopping.signal.aborted;
  }

  /** Starts the loop; resolves after the first registration attempt, whether it worked or not. */
  start(): Promise<void> {
    this.firstAttempt ??= new Promise<void>(resolve => (this.settleFirst = resolve));
    this.running ??= this.loop();
    return this.firstAttempt;
  }

  /** Puts the key again (it was deleted while the lease lives). */
  reput(): void {
    if (this.stopping.signal.aborted || !this.registered) return;
    this.registered = false;
    this.wakeUp();
  }

  /**
   * Ends the loop; with `revokeWithinMs`, revokes the lease, waiting at most that long.
   * @returns the revocation's error, if it failed.
   */
  async stop(revokeWithinMs?: number): Promise<Error | undefined> {
    this.stopping.abort();
    this.current = 'stopped';
    this.wakeUp();
    await this.running;
    const lease = this.lease;
    this.lease = undefined;
    this.registered = false;
    if (lease === undefined || revokeWithinMs === undefined) return undefined;
    try {
      await withDeadline(signal => this.options.api.revoke(lease.id, signal), {
        ms: revokeWithinMs,
        onTimeout: () =>
          etcdRequestError({ kind: 'timeout', ms: revokeWithinMs }, '/v3/lease/revoke', 'etcd'),
      });
      return undefined;
    } catch (error) {
      return toError(error);
    }
  }

  // --- internals -------------------------------------------------------------------------------

  private async loop(): Promise<void> {
    const { signal } = this.stopping;
    const { api, key, value, ttlSeconds, logger } = this.options;
    while (!signal.aborted) {
      let delay: number;
      let fresh = false;
      try {
        if (this.lease === undefined) {
          this.current = 'granting';
          const sent = performance.now();
          this.lease = await api.grant(ttlSeconds, signal);
          this.renewedAt = sent;
          fresh = true;
        }
        const lease = this.lease;
        if (!this.registered) {
          this.current = 'putting';
          await api.put(key, value, lease.id, signal);
          this.registered = true;
          this.succeeded();
          if (this.lost) logger?.log(M.reregistered(key, lease.id));
          else logger?.debug?.(M.registered(key, lease.id, lease.ttl));
          this.lost = false;
          this.options.onRegistered?.();
        } else {
          this.current = 'keeping';
          const sent = performance.now();
          const ttl = await this.keepAlive(lease, sent);
          this.renewedAt = sent;
          this.succeeded();
          if (ttl <= 0) {
            this.leaseGone(lease.id);
            continue;
          }
        }
        this.current = 'keeping';
        // reput() while a request was in flight: put the key back now, not a period later.
        delay = this.registered ? this.period() : 0;
      } catch (error) {
        if (signal.aborted) break;
        // A lease granted just now cannot be gone already: count that as a failure, not a loss.
        if (isLeaseNotFound(error) && this.lease !== undefined && !fresh) {
          this.succeeded();
          this.leaseGone(this.lease.id);
          continue;
        }
        this.failures++;
        this.options.onFailure(toError(error), this.failures);
        delay = Math.min(
          this.period(),
          backoffDelay(
            { initialMs: 200, maxMs: this.period(), multiplier: 2, jitter: 0.2 },
            this.failures,
          ),
        );
      } finally {
        this.settleFirst?.();
        this.settleFirst = undefined;
      }
      if (!signal.aborted) await this.sleep(delay);
    }
    this.settleFirst?.();
  }

  /** One keepalive, given at most the lease's time left (see the class comment). */
  private keepAlive(lease: { id: string; ttl: number }, sent: number): Promise<number> {
    const ms = Math.max(MIN_KEEPALIVE_MS, lease.ttl * 1_000 - (sent - this.renewedAt));
    return withDeadline(live => this.options.api.keepAlive(lease.id, live), {
      ms,
      signal: this.stopping.signal,
      onTimeout: () => etcdRequestError({ kind: 'timeout', ms }, '/v3/lease/keepalive', 'etcd'),
    });
  }

  /** The lease is gone: log once per loss, and start over with a new one. */
  private leaseGone(id: string): void {
    if (!this.lost) this.options.logger?.warn(M.leaseLost(this.options.key, id));
    this.lost = true;
    this.lease = undefined;
    this.registered = false;
  }

  private succeeded(): void {
    if (this.failures > 0) this.options.onRecovered?.();
    this.failures = 0;
  }

  /** Keepalive period: a third of the granted TTL (of the asked TTL before any grant). */
  private period(): number {
    return ((this.lease?.ttl ?? this.options.ttlSeconds) * 1_000) / 3;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise(resolve => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    });
  }

  private wakeUp(): void {
    clearTimeout(this.timer);
    this.wake?.();
    this.wake = undefined;
  }
}
