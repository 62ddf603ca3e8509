/**
 * What a cluster of the Nest module coordinates across its nodes besides messaging: leadership
 * (the leader, its term and the singletons that follow it) and process groups, built by the
 * provider factory beside the registry, started after the cluster and taken down on shutdown.
 */
import type {
  ClusterControl,
  ClusterLogger,
  ClusterMessaging,
  DistStrategy,
} from '../core/index.js';
import { Leadership, type LeadershipOptions, ProcessGroups } from '../primitives/index.js';
import type { ClusterServices } from './cluster-services.js';

/** The module options this file reads (`quorum` is a cluster option, read by the engine). */
export const PRIMITIVES_OPTION_KEYS = ['leadership'] as const;

/** A cluster's leadership and groups, as `ClusterService` holds them. @internal */
export interface ClusterPrimitives {
  readonly leadership: Leadership;
  /** The groups; throws the registry's reason when the dist cannot carry a registry. */
  readonly groups: ProcessGroups;
  /** Starts leadership; call once the cluster runs (at once for an idle cluster). */
  start(): void;
  /** Hands leadership over (planned shutdown): stops this node's singletons, tells the members. */
  abdicate(): Promise<void>;
  /** Stops the singletons still running (bounded) and every timer; never throws. */
  close(): Promise<void>;
}

/** What the primitives are built on. @internal */
export interface PrimitivesTarget {
  readonly cluster: ClusterControl;
  /** An `IdleCluster` (no discovery): it leads alone at once. */
  readonly idle: boolean;
  /** The dist, for this node's start time and failure timeout; none when idle. */
  readonly dist?: DistStrategy;
  /** The cluster's messaging, even one that cannot send (groups refuse then, saying why). */
  readonly messaging: ClusterMessaging;
  /** Whether the dist really carries messages (the leader's abdicate message needs it). */
  readonly carriesMessages: boolean;
  readonly services: ClusterServices;
  readonly quorumConfigured: boolean;
  readonly leadership?: LeadershipOptions;
  readonly logger: ClusterLogger;
}

/** Builds the leadership and the groups of one cluster (nothing runs before `start()`). @internal */
export function createPrimitives(target: PrimitivesTarget): ClusterPrimitives {
  const { cluster, dist, services, logger } = target;
  const registry = services.kind === 'registry' ? services.registry : undefined;
  const leadership = new Leadership({
    cluster,
    idle: target.idle,
    // The dist learns its start time when it starts, after this is built: read on use. None
    // (a dist that announces no start time) means this node never leads, as its peers see it.
    get startedAt(): number | undefined {
      return dist?.startedAt;
    },
    hidden: isHidden(dist),
    failureTimeoutMs: dist?.failureTimeoutMs,
    quorumConfigured: target.quorumConfigured,
    messaging: target.carriesMessages ? target.messaging : undefined,
    registry,
    options: target.leadership,
    logger,
  });
  // idle: a cluster of one (registry undefined); without a registry, groups cannot be shared
  const groups =
    services.kind === 'unsupported'
      ? undefined
      : new ProcessGroups({ cluster, messaging: target.messaging, registry, logger });
  let started = false;
  return {
    leadership,
    get groups(): ProcessGroups {
      if (groups === undefined && services.kind !== 'registry') throw services.error();
      return groups as ProcessGroups;
    },
    start: () => {
      if (started) return;
      started = true;
      leadership.start();
    },
    abdicate: () => leadership.abdicate(),
    close: async () => {
      try {
        await leadership.close();
      } finally {
        groups?.close();
      }
    },
  };
}

/** Whether the dist connects as a hidden node (`TcpDist`'s `hidden` option): it never leads. */
function isHidden(dist: DistStrategy | undefined): boolean {
  return (dist as { readonly hidden?: unknown } | undefined)?.hidden === true;
}
