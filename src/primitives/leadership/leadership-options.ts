/**
 * What a `Leadership` runs on, its defaults, and the checks of its options and of a
 * singleton's registration (thrown at registration, never later).
 */
import {
  type ClusterControl,
  type ClusterLogger,
  type ClusterMessaging,
  checkMilliseconds,
  invalidOption,
} from '../../core/index.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import { LeadershipMessages } from './leadership.messages.js';
import type { LeadershipOptions, SingletonHooks } from './leadership.types.js';

/** Defaults of {@link LeadershipOptions} and of the dist facts a cluster may not have. */
export const LEADERSHIP_DEFAULTS = Object.freeze({
  settleMs: 500,
  stopTimeoutMs: 10_000,
  /** The failure timeout assumed for a dist that does not report one. */
  failureTimeoutMs: 5_000,
  /** The freeze tolerance for a dist that does not report its failure timeout. */
  freezeToleranceMs: 2_500,
  /** The smallest freeze tolerance accepted: below it timer jitter alone looks like a freeze. */
  minFreezeToleranceMs: 100,
});

/** The longest singleton name, in UTF-16 code units. */
export const MAX_SINGLETON_NAME_LENGTH = 200;

/** What a `Leadership` runs on. */
export interface LeadershipDeps {
  readonly cluster: Pick<
    ClusterControl,
    'self' | 'events$' | 'memberPeers' | 'discoveredPeers' | 'hasQuorum' | 'health'
  >;
  /** An IdleCluster (no discovery): settled at once, leads alone. */
  readonly idle: boolean;
  /**
   * This node's start time as its dist announces it to peers (`dist.startedAt`), read on use (the
   * dist learns it when it starts). `undefined`: the dist announces none, so peers never count
   * this node eligible and it never leads (an idle cluster apart, which leads alone).
   */
  readonly startedAt: number | undefined;
  /** A hidden node (a tool) is no member of its peers' clusters: it never leads. */
  readonly hidden?: boolean;
  /** The dist's failure timeout, when it has one. */
  readonly failureTimeoutMs?: number;
  /** Whether the cluster has a quorum rule: without quorum nobody leads on this side. */
  readonly quorumConfigured: boolean;
  /** For `$gc.lead.abdicate`; none: abdicating tells nobody (peers see the node leave). */
  readonly messaging?: ClusterMessaging;
  /** For terms; none: terms count locally. */
  readonly registry?: ServiceRegistry;
  readonly options?: LeadershipOptions;
  readonly logger?: ClusterLogger;
  /** @internal tests: the monotonic clock (`performance.now()` by default) */
  readonly now?: () => number;
  /** @internal tests: the wall clock (`Date.now()` by default), for the freeze guard */
  readonly wallNow?: () => number;
}

/** The timings a `Leadership` runs with, every default applied. */
export interface LeadershipTimings {
  readonly freezeToleranceMs: number;
  readonly settleMs: number;
  readonly stopTimeoutMs: number;
  /** The dist's, or {@link LEADERSHIP_DEFAULTS}' (settling's fallback). */
  readonly failureTimeoutMs: number;
}

/**
 * Applies the defaults: the freeze tolerance is half the dist's failure timeout, so any freeze
 * long enough for peers to declare this node down is seen here too.
 * @throws InvalidConfigError naming the option
 */
export function resolveLeadershipTimings(
  deps: Pick<LeadershipDeps, 'failureTimeoutMs' | 'options'>,
): LeadershipTimings {
  const options = deps.options ?? {};
  const failureTimeoutMs = deps.failureTimeoutMs ?? LEADERSHIP_DEFAULTS.failureTimeoutMs;
  const freezeToleranceMs =
    options.freezeToleranceMs ??
    (deps.failureTimeoutMs === undefined
      ? LEADERSHIP_DEFAULTS.freezeToleranceMs
      : Math.max(LEADERSHIP_DEFAULTS.minFreezeToleranceMs, Math.floor(failureTimeoutMs / 2)));
  checkMilliseconds('leadership.freezeToleranceMs', freezeToleranceMs, {
    min: LEADERSHIP_DEFAULTS.minFreezeToleranceMs,
  });
  // Peers declare this node down after the failure timeout: a tolerance as long lets a node
  // they took for dead keep leading without seeing its own freeze.
  if (deps.failureTimeoutMs !== undefined && freezeToleranceMs >= deps.failureTimeoutMs)
    throw invalidOption(
      'leadership.freezeToleranceMs',
      freezeToleranceMs,
      LeadershipMessages.toleranceBelowFailureTimeout(
        LEADERSHIP_DEFAULTS.minFreezeToleranceMs,
        deps.failureTimeoutMs,
      ),
    );
  const settleMs = options.settleMs ?? LEADERSHIP_DEFAULTS.settleMs;
  checkMilliseconds('leadership.settleMs', settleMs, { min: 0 });
  const stopTimeoutMs = options.stopTimeoutMs ?? LEADERSHIP_DEFAULTS.stopTimeoutMs;
  checkMilliseconds('leadership.stopTimeoutMs', stopTimeoutMs);
  return { freezeToleranceMs, settleMs, stopTimeoutMs, failureTimeoutMs };
}

/**
 * Refuses a singleton name that is not 1-200 characters and hooks without a `start` function.
 * @throws InvalidConfigError
 */
export function checkSingleton(name: unknown, hooks: unknown): asserts hooks is SingletonHooks {
  if (typeof name !== 'string' || name === '' || name.length > MAX_SINGLETON_NAME_LENGTH)
    throw invalidOption('singleton name', name, 'a string of 1 to 200 characters');
  const { start, stop } = (hooks ?? {}) as Partial<SingletonHooks>;
  if (typeof start !== 'function' || (stop !== undefined && typeof stop !== 'function'))
    throw invalidOption('singleton hooks', hooks, 'an object with start() and optionally stop()');
}
