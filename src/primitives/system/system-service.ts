import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Observable, Subscription } from 'rxjs';
import {
  type ClusterEvent,
  type ClusterHealthSnapshot,
  type ClusterMessaging,
  type ClusterState,
  type DistStrategy,
  type Peer,
  VERSION,
} from '../../core/index.js';
import { EventRing, INFO_EVENTS } from './event-ring.js';
import { createSystemClient } from './system-client.js';
import {
  SYSTEM_INFO_VERSION,
  SYSTEM_TOPICS,
  type SystemClient,
  type SystemEventsPage,
  type SystemInfo,
} from './system.types.js';
import { onInternal } from '../internal-topics.js';

/**
 * What the system topics read of a cluster: a `GenCluster` has all of it; the optional members
 * are read when present (`health()` for the state, `strategies.dist` for the peers' addresses).
 */
export interface SystemCluster {
  readonly self: string;
  readonly events$: Observable<ClusterEvent>;
  nodes(): string[];
  discoveredPeers(): Peer[];
  health?(): ClusterHealthSnapshot;
  readonly status?: ClusterState;
  readonly strategies?: { readonly dist: DistStrategy };
}

/** Options of {@link SystemService.attach}. */
export interface SystemServiceOptions {
  /** The cluster namespace, shown by `info` (left out when unset). */
  readonly namespace?: string;
  /** The dist's name in `info` (default the cluster's dist's `name`, else `"unknown"`). */
  readonly distName?: string;
}

/**
 * Serves the system topics (`$gc.sys.ping`, `$gc.sys.info`, `$gc.sys.events`) of one node, which
 * `gen-cluster` and the live page ask, and records the node's events for them. Every node built by
 * `GenClusterModule` has one; an engine-only user adds it with one line:
 * `SystemService.attach(cluster, dist.messaging)`.
 */
export class SystemService {
  /** Asks nodes (this one included) about themselves. */
  readonly client: SystemClient;
  private readonly ring = new EventRing();
  private readonly subscription: Subscription;
  private readonly teardown: (() => void)[] = [];
  private readonly startedAt = performance.now();
  /** Tells this run's events from an earlier run's: see {@link SystemEventsPage.boot}. */
  private readonly boot = randomUUID();

  private constructor(
    private readonly cluster: SystemCluster,
    private readonly messaging: ClusterMessaging,
    private readonly options: SystemServiceOptions,
  ) {
    this.subscription = cluster.events$.subscribe(event => this.ring.record(event));
    this.teardown.push(
      onInternal(messaging, SYSTEM_TOPICS.ping, () => ({ t: Date.now() })),
      onInternal(messaging, SYSTEM_TOPICS.info, () => this.info()),
      onInternal(messaging, SYSTEM_TOPICS.events, payload => this.events(payload)),
    );
    this.client = createSystemClient(messaging, cluster.self, () => cluster.nodes());
  }

  /** Registers the system topics of `cluster` on `messaging`; `close()` removes them. */
  static attach(
    cluster: SystemCluster,
    messaging: ClusterMessaging,
    options: SystemServiceOptions = {},
  ): SystemService {
    return new SystemService(cluster, messaging, options);
  }

  /** What this node says of itself (the answer of `$gc.sys.info`). */
  info(): SystemInfo {
    const { cluster, options } = this;
    const dist = cluster.strategies?.dist;
    const members = cluster.nodes();
    const known = new Set(members);
    // Only what a tool needs to dial: a discovery source's meta may be long or private.
    const peers = (dist?.members() ?? [])
      .filter(p => known.has(p.node))
      .map(p => (p.port === undefined ? { node: p.node } : { node: p.node, port: p.port }));
    return {
      v: SYSTEM_INFO_VERSION,
      node: cluster.self,
      version: VERSION,
      uptimeS: Math.floor((performance.now() - this.startedAt) / 1000),
      ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
      dist: options.distName ?? dist?.name ?? 'unknown',
      state: cluster.health?.().state ?? cluster.status ?? 'running',
      members,
      discovered: cluster
        .discoveredPeers()
        .map(p => p.node)
        .filter(n => n !== cluster.self)
        .sort(),
      peers,
      served: [...(this.messaging.localTopics?.served() ?? [])],
      events: this.ring.recent(INFO_EVENTS),
      seq: this.ring.seq,
      boot: this.boot,
    };
  }

  /** The answer of `$gc.sys.events`: events after the asked `since` (0 when not a number). */
  events(payload: unknown): SystemEventsPage {
    const since = (payload as { since?: unknown } | null | undefined)?.since;
    return { ...this.ring.since(typeof since === 'number' ? since : 0), boot: this.boot };
  }

  /** Removes the topics and stops recording. */
  close(): void {
    this.subscription.unsubscribe();
    for (const remove of this.teardown.splice(0)) remove();
  }
}
