import { BehaviorSubject, type Observable, Subject } from 'rxjs';
import { GenClusterError } from './errors.js';
import type { ClusterEvent, Membership } from './events.js';
import type { GenCluster } from './gen-cluster.js';
import type { Peer } from './peer.js';
import type { ClusterMessaging, MessageHandler } from './strategy.js';

/** What a cluster offers its host application: the engine's controls plus messaging. */
export type ClusterControl = Pick<
  GenCluster,
  | 'self'
  | 'membership$'
  | 'events$'
  | 'nodes'
  | 'discoveredPeers'
  | 'refresh'
  | 'pause'
  | 'resume'
  | 'waitForMembers'
  | 'start'
  | 'leave'
  | 'close'
>;

/**
 * The cluster of an application that configured none (no discovery): a null object, so the
 * application's code runs unchanged with or without a cluster. Membership is this node alone and
 * never changes; handlers can be registered (nothing calls them); calls that need a peer fail
 * with `ERR_NOT_STARTED` and `notConfigured` as the message, which says how to configure one.
 */
export class IdleCluster implements ClusterControl {
  private readonly membership: BehaviorSubject<Membership>;
  private readonly events = new Subject<ClusterEvent>();
  /** Messaging that keeps handlers and refuses sends: there is nobody to send to. */
  readonly messaging: ClusterMessaging;

  constructor(
    readonly self: string,
    private readonly notConfigured: string,
  ) {
    this.membership = new BehaviorSubject<Membership>({ self, members: [] });
    this.messaging = new IdleMessaging(() => this.error());
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

  async refresh(): Promise<void> {}

  pause(): void {}

  resume(): void {}

  /** Resolves at once for 0 members; any other count can never be reached. */
  async waitForMembers(count: number): Promise<Membership> {
    if (count <= 0) return this.membership.value;
    throw this.error();
  }

  async start(): Promise<void> {}

  async leave(): Promise<void> {}

  /** Completes the streams, as a stopped cluster does. */
  async close(): Promise<void> {
    this.membership.complete();
    this.events.complete();
  }

  private error(): GenClusterError {
    return new GenClusterError('ERR_NOT_STARTED', this.notConfigured);
  }
}

/**
 * Messaging of a node without a cluster: handlers are kept (so registration in a constructor
 * works the same with and without a cluster), a broadcast reaches nobody (0), and a message to a
 * named node fails, since no node can be connected.
 */
class IdleMessaging implements ClusterMessaging {
  private readonly handlers = new Map<string, MessageHandler<never>>();

  constructor(private readonly notConfigured: () => Error) {}

  send(): void {
    throw this.notConfigured();
  }

  broadcast(): number {
    return 0;
  }

  request<T>(): Promise<T> {
    return Promise.reject(this.notConfigured());
  }

  on<T>(topic: string, handler: MessageHandler<T>): () => void {
    this.handlers.set(topic, handler as MessageHandler<never>);
    return () => {
      if (this.handlers.get(topic) === handler) this.handlers.delete(topic);
    };
  }
}
