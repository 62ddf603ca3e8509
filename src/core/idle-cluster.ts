import { BehaviorSubject, type Observable, Subject, defer, of } from 'rxjs';
import type { ClusterHealthSnapshot } from './cluster-health.js';
import { GenClusterError } from './errors.js';
import type { ClusterEvent, Membership } from './events.js';
import type { GenCluster } from './gen-cluster.js';
import type { WaitForFormationOptions } from './formation-options.js';
import type { Peer } from './peer.js';

/** What a cluster offers its host application: the engine's controls plus messaging. */
export type ClusterControl = Pick<
  GenCluster,
  | 'self'
  | 'membership$'
  | 'events$'
  | 'nodes'
  | 'discoveredPeers'
  | 'memberPeers'
  | 'hasQuorum'
  | 'refresh'
  | 'pause'
  | 'resume'
  | 'waitForMembers'
  | 'formed'
  | 'formed$'
  | 'waitForFormation'
  | 'start'
  | 'leave'
  | 'close'
  | 'health'
>;

/**
 * The cluster of an application that configured none (no discovery): a null object, so the
 * application's code runs unchanged with or without a cluster. Membership is this node alone and
 * never changes; waiting for members fails with `ERR_NOT_STARTED` and `notConfigured` as the
 * message, which says how to configure one. It is formed at once: there is no discovery to settle. Its messaging is the caller's (the Nest layer gives
 * it one that keeps handlers and refuses calls to peers).
 */
export class IdleCluster implements ClusterControl {
  private readonly membership: BehaviorSubject<Membership>;
  private readonly events = new Subject<ClusterEvent>();
  private readonly formation = new BehaviorSubject(true);
  private closed = false;

  constructor(
    readonly self: string,
    private readonly notConfigured: string,
  ) {
    this.membership = new BehaviorSubject<Membership>({ self, members: [] });
  }

  get membership$(): Observable<Membership> {
    return this.membership.asObservable();
  }

  get events$(): Observable<ClusterEvent> {
    return this.events.asObservable();
  }

  nodes(): string[] {
    return [];
  }

  discoveredPeers(): Peer[] {
    return [];
  }

  memberPeers(): Peer[] {
    return [];
  }

  /** A cluster of one with no quorum rule: always true. */
  hasQuorum(): boolean {
    return true;
  }

  async refresh(): Promise<void> {}

  pause(): void {}

  resume(): void {}

  /** Resolves at once for 0 members; any other count can never be reached. */
  async waitForMembers(count: number): Promise<Membership> {
    if (count <= 0) return this.membership.value;
    throw this.error();
  }

  /** Formed at once: a cluster of one has no discovered set to wait for; not after close. */
  get formed(): boolean {
    return !this.closed && this.formation.value;
  }

  /** `true` at once; completes on close. A subscriber after close gets `false`, then complete. */
  get formed$(): Observable<boolean> {
    // a completed BehaviorSubject replays nothing
    return defer(() => (this.closed ? of(false) : this.formation.asObservable()));
  }

  /** Resolves at once, unless peers are required: they can never come (`ERR_NOT_STARTED`). */
  async waitForFormation(options: WaitForFormationOptions = {}): Promise<void> {
    if ((options.minMembers ?? 0) > 0) throw this.error();
  }

  async start(): Promise<void> {}

  /**
   * Healthy: a node configured without a cluster is running as asked (no members, no discovery,
   * nothing to listen for).
   */
  health(): ClusterHealthSnapshot {
    return {
      state: 'running',
      members: 0,
      discovered: 0,
      lastDiscoveryOkAgoMs: undefined,
      consecutiveDiscoveryErrors: 0,
      lastDiscoveryError: undefined,
      refreshIntervalMs: 'infinity',
      dist: { listening: true },
    };
  }

  async leave(): Promise<void> {}

  /** Completes the streams, as a stopped cluster does. */
  async close(): Promise<void> {
    this.closed = true;
    this.membership.complete();
    this.events.complete();
    this.formation.complete();
  }

  private error(): GenClusterError {
    return new GenClusterError('ERR_NOT_STARTED', this.notConfigured);
  }
}
