/**
 * What `ClusterService` answers about the cluster's health, its counters and its system topics,
 * kept here so the service stays a thin front.
 */
import {
  type ClusterHealthSnapshot,
  GenClusterError,
  type HealthVerdict,
  type ReadinessOptions,
  type ShutdownPhase,
  checkInteger,
  checkKnownKeys,
  checkMilliseconds,
  evaluateLiveness,
  evaluateReadiness,
} from '../core/index.js';
import type { SystemClient } from '../primitives/index.js';
import type { ClusterServices } from './cluster-services.js';
import { NestMessages } from './gen-cluster.messages.js';

/** A cluster's health: readiness, liveness, and the snapshot both were read from. */
export interface ClusterHealth {
  /** Whether this node should get traffic (a Kubernetes readiness probe). */
  readonly ready: HealthVerdict;
  /** Whether this node should be restarted when down (a Kubernetes liveness probe). */
  readonly live: HealthVerdict;
  readonly snapshot: ClusterHealthSnapshot;
  /** The `minMembers` readiness was evaluated with (the option, `GEN_CLUSTER_MIN_MEMBERS`, or 0). */
  readonly minMembers: number;
}

/**
 * Readiness and liveness of `cluster` now. `options.minMembers` falls back to `defaultMinMembers`
 * (`GEN_CLUSTER_MIN_MEMBERS`), then 0.
 * @internal
 */
export function clusterHealth(
  cluster: { health(): ClusterHealthSnapshot },
  options: ReadinessOptions | undefined,
  defaultMinMembers: number | undefined,
  phase: ShutdownPhase,
): ClusterHealth {
  const given = checkReadinessOptions(options);
  const minMembers = given.minMembers ?? defaultMinMembers ?? 0;
  const snapshot = cluster.health();
  return {
    ready: evaluateReadiness(snapshot, { ...given, minMembers }, phase),
    live: evaluateLiveness(snapshot, phase),
    snapshot,
    minMembers,
  };
}

/**
 * Refuses unknown keys, a negative or fractional `minMembers`, a bad `discoveryGraceMs`.
 * @internal
 */
export function checkReadinessOptions(options: unknown): ReadinessOptions {
  if (options === undefined) return {};
  checkKnownKeys('health options', options, ['minMembers', 'discoveryGraceMs']);
  if (options.minMembers !== undefined) checkInteger('minMembers', options.minMembers, 0);
  if (options.discoveryGraceMs !== undefined)
    checkMilliseconds('discoveryGraceMs', options.discoveryGraceMs, { min: 0 });
  const { minMembers, discoveryGraceMs } = options as ReadinessOptions;
  return {
    ...(minMembers === undefined ? {} : { minMembers }),
    ...(discoveryGraceMs === undefined ? {} : { discoveryGraceMs }),
  };
}

/**
 * The system client of a cluster that serves no system topics: every call rejects saying why
 * (no cluster configured, or a dist without messaging).
 * @internal
 */
export function unavailableSystemClient(services: ClusterServices, name: string): SystemClient {
  const reject = () =>
    Promise.reject(
      services.kind === 'registry'
        ? new GenClusterError('ERR_MESSAGING_UNSUPPORTED', NestMessages.noSystem(name))
        : services.error(),
    );
  return { ping: reject, info: reject, events: reject, overview: reject };
}
