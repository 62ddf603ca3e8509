/**
 * Health of a cluster node for probes: the snapshot the engine gives, and the two pure verdicts
 * over it. Readiness may read the discovery timings in the snapshot; liveness reads no time at
 * all, so an event-loop stall or a GC pause can never fail it (that gets healthy pods killed).
 */
import { toError } from './errors.js';
import { HealthMessages } from './cluster-health.messages.js';
import type { ClusterState } from './gen-cluster.js';
import type { DistHealth } from './observability.types.js';
import type { DistStrategy } from './strategy.js';
import { MAX_INT32, checkInteger, checkMilliseconds } from './validate.js';

/** The least default discovery grace: 30 s. */
export const MIN_DEFAULT_DISCOVERY_GRACE_MS = 30_000;

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
  /**
   * The last discovery error's message, while discovery is failing. For programmatic use (logs,
   * an operator's own checks): it can name API-server URLs, DNS names or an HTTP response, so
   * the verdicts' `message` (which a probe may publish) never carries it.
   */
  readonly lastDiscoveryError: string | undefined;
  /**
   * Milliseconds since the current run of discovery failures began (monotonic clock); undefined
   * while discovery is not failing. Optional: a snapshot without it is judged by
   * `lastDiscoveryOkAgoMs`.
   */
  readonly discoveryFailingForMs?: number;
  /**
   * Whether the cluster has formed (the formation gate: enough peers and a discovered set that
   * stayed unchanged for the stable margin); undefined when no `formation` is configured, so
   * readiness does not wait for it.
   */
  readonly formed?: boolean;
  /**
   * `false` while the dist reports it is cut off from its broker (the NATS dist between a
   * disconnect and the reconnect); unset or `true` otherwise.
   */
  readonly distConnected?: boolean;
  /** How long the dist has been cut off, in ms (monotonic clock), while `distConnected` is false. */
  readonly distDisconnectedForMs?: number;
  /** The refresh interval, which sets the default discovery grace. */
  readonly refreshIntervalMs: number | 'infinity';
  readonly dist: DistHealth;
}

/** Readiness options. */
export interface ReadinessOptions {
  /** Peers that must be connected, this node not counted (default 0). */
  readonly minMembers?: number;
  /**
   * How long discovery may fail, or a broker dist stay cut off from its broker, before readiness
   * goes down (default the larger of 30 s and three refresh intervals).
   */
  readonly discoveryGraceMs?: number;
}

/** Why a check is down. */
export type HealthDownReason =
  | 'notStarted'
  | 'draining'
  | 'leaving'
  | 'stopped'
  | 'notFormed'
  | 'tooFewMembers'
  | 'discoveryFailing'
  | 'distNotListening'
  | 'distDisconnected';

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
 * The discovery grace when none is given: the larger of 30 s and three refresh intervals (30 s
 * when the interval is `'infinity'`), so that one or two slow rounds never flip readiness.
 */
export function defaultDiscoveryGraceMs(refreshIntervalMs: number | 'infinity'): number {
  if (refreshIntervalMs === 'infinity' || !Number.isFinite(refreshIntervalMs))
    return MIN_DEFAULT_DISCOVERY_GRACE_MS;
  return Math.max(MIN_DEFAULT_DISCOVERY_GRACE_MS, 3 * refreshIntervalMs);
}

/**
 * Readiness: running (or paused), not shutting down, formed (when a formation gate is
 * configured), at least `minMembers` peers, and discovery succeeded last or has been failing for
 * less than the grace.
 *
 * The checks, in order: state `new` → `notStarted`; phase `draining` → `draining` (the engine is
 * still `running` while requests drain); state `leaving` or phase `closing` → `leaving` (so a
 * shutdown reads draining, then leaving, to its end); state `stopped` → `stopped`; the dist
 * cut off from its broker (`distConnected: false`) for longer than the grace → `distDisconnected`; a configured formation
 * gate not formed yet (`formed: false`) → `notFormed`; fewer than `minMembers` peers →
 * `tooFewMembers`; discovery failing longer than the grace → `discoveryFailing`. `paused` counts
 * as running (pausing is an operator's choice, the links stay up).
 *
 * How long discovery has been failing is `discoveryFailingForMs` (the current run of failures,
 * which also covers a node whose discovery never succeeded: its first lookup runs at start, so the
 * grace then counts from start) or, in a snapshot without it, `lastDiscoveryOkAgoMs`. A snapshot
 * with failures and neither time is down at once: nothing says the grace still runs. The run is
 * measured from its first failure, not from the last success, so that with a refresh interval of
 * `'infinity'` a single failed lookup hours after the last good one does not turn readiness down
 * before the grace.
 *
 * The verdict's `message` gives the number of failures and how long they have lasted, never the
 * error's text: terminus puts it in the readiness body, which may be public.
 *
 * @throws InvalidConfigError when `minMembers` is not an integer from 0 to `MAX_INT32`, or
 * `discoveryGraceMs` not an integer from 0 to `MAX_TIMER_MS` (the bound the Nest options use).
 */
export function evaluateReadiness(
  snapshot: ClusterHealthSnapshot,
  options: ReadinessOptions = {},
  phase: ShutdownPhase = 'none',
): HealthVerdict {
  const { minMembers = 0, discoveryGraceMs } = options;
  checkInteger('minMembers', minMembers, 0, MAX_INT32);
  if (discoveryGraceMs !== undefined)
    checkMilliseconds('discoveryGraceMs', discoveryGraceMs, { min: 0 });
  const { state } = snapshot;
  if (state === 'new') return down('notStarted', HealthMessages.notStarted());
  if (phase === 'draining') return down('draining', HealthMessages.draining());
  if (state === 'leaving' || phase === 'closing') return down('leaving', HealthMessages.leaving());
  if (state === 'stopped') return down('stopped', HealthMessages.stopped());
  if (snapshot.distConnected === false) {
    // Every node of a broker dist loses the broker at once: failing readiness at the first
    // blip would take every pod out of its Service together, so the outage gets the same grace
    // as a failing discovery (the membership is frozen meanwhile, the node serves as before).
    const grace = discoveryGraceMs ?? defaultDiscoveryGraceMs(snapshot.refreshIntervalMs);
    const outage = snapshot.distDisconnectedForMs;
    if (outage === undefined || outage > grace)
      return down('distDisconnected', HealthMessages.distDisconnected(outage));
  }
  if (snapshot.formed === false)
    return down('notFormed', HealthMessages.notFormed(snapshot.members));
  if (snapshot.members < minMembers)
    return down('tooFewMembers', HealthMessages.tooFewMembers(snapshot.members, minMembers));
  const errors = snapshot.consecutiveDiscoveryErrors;
  if (errors > 0) {
    const grace = discoveryGraceMs ?? defaultDiscoveryGraceMs(snapshot.refreshIntervalMs);
    const failingFor = snapshot.discoveryFailingForMs ?? snapshot.lastDiscoveryOkAgoMs;
    if (failingFor === undefined || failingFor > grace) {
      return down('discoveryFailing', HealthMessages.discoveryFailing(errors, failingFor));
    }
  }
  return UP;
}

/**
 * Liveness: down only when the dist stopped listening or the engine stopped while the application
 * is not shutting down. Reads no clock, so an event-loop stall or a GC pause never fails it.
 * `new`, `running`, `paused` and `leaving` are alive.
 */
export function evaluateLiveness(
  snapshot: ClusterHealthSnapshot,
  phase: ShutdownPhase = 'none',
): HealthVerdict {
  if (!snapshot.dist.listening)
    return down('distNotListening', HealthMessages.distNotListening(snapshot.dist.reason));
  if (snapshot.state === 'stopped' && phase === 'none')
    return down('stopped', HealthMessages.crashed());
  return UP;
}

/**
 * The dist's own health: `{ listening: true }` for a dist without `health()` (it says nothing, so
 * nothing is wrong), and `listening: false` with the error when its `health()` throws.
 */
export function readDistHealth(dist: Pick<DistStrategy, 'health'>): DistHealth {
  try {
    return dist.health?.() ?? { listening: true };
  } catch (error) {
    return { listening: false, reason: HealthMessages.distHealthFailed(toError(error).message) };
  }
}

const UP: HealthVerdict = Object.freeze({ up: true });

function down(reason: HealthDownReason, message: string): HealthVerdict {
  return { up: false, reason, message };
}
