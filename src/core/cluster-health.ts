import type { ClusterState } from './gen-cluster.js';
import type { DistHealth } from './observability.types.js';

/** What the engine knows of its own health, read without timers. */
export interface ClusterHealthSnapshot {
  readonly state: ClusterState;
  /** Connected members, without this node (as `nodes()`). */
  readonly members: number;
  /** Nodes in the last good discovery answer, without this node. */
  readonly discovered: number;
  /** Milliseconds since discovery last succeeded (monotonic clock); undefined before the first. */
  readonly lastDiscoveryOkAgoMs: number | undefined;
  /** Discovery failures in a row (0 after a success). */
  readonly consecutiveDiscoveryErrors: number;
  /** The last discovery error's message, while discovery is failing. */
  readonly lastDiscoveryError: string | undefined;
  /** The refresh interval, which sets the default discovery grace. */
  readonly refreshIntervalMs: number | 'infinity';
  readonly dist: DistHealth;
}

/** Readiness options. */
export interface ReadinessOptions {
  /** Peers that must be connected, this node not counted (default 0). */
  readonly minMembers?: number;
  /**
   * How long discovery may fail before readiness goes down (default the larger of 30 s and three
   * refresh intervals).
   */
  readonly discoveryGraceMs?: number;
}

/** Why a check is down. */
export type HealthDownReason =
  | 'notStarted'
  | 'draining'
  | 'leaving'
  | 'stopped'
  | 'tooFewMembers'
  | 'discoveryFailing'
  | 'distNotListening';

/** One verdict, with the reason when down. */
export interface HealthVerdict {
  readonly up: boolean;
  readonly reason?: HealthDownReason;
  /** A sentence for people, when down. */
  readonly message?: string;
}

/**
 * Where the application is in its shutdown, which only the host (ClusterService) knows: the engine
 * is still `running` while requests drain.
 */
export type ShutdownPhase = 'none' | 'draining' | 'closing';

/**
 * Readiness: running (or paused), not shutting down, at least `minMembers` peers, and discovery
 * succeeded last or has been failing for less than the grace.
 */
export function evaluateReadiness(
  snapshot: ClusterHealthSnapshot,
  options: ReadinessOptions = {},
  phase: ShutdownPhase = 'none',
): HealthVerdict {
  void snapshot;
  void options;
  void phase;
  throw new Error('not implemented yet (issue 15, E1)');
}

/**
 * Liveness: down only when the dist stopped listening or the engine stopped while the application
 * is not shutting down. Reads no clock, so an event-loop stall or a GC pause never fails it.
 */
export function evaluateLiveness(
  snapshot: ClusterHealthSnapshot,
  phase: ShutdownPhase = 'none',
): HealthVerdict {
  void snapshot;
  void phase;
  throw new Error('not implemented yet (issue 15, E1)');
}
