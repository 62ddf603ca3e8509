/**
 * Resolution of the scheduler options of a {@link GenCluster}: defaults from `defaults.ts` filled
 * in, every value checked once, at construction, so that a bad value fails at startup.
 */
import {
  type BackoffOptions,
  DEFAULT_GEN_CLUSTER_OPTIONS,
  type RemovalPolicy,
  type SchedulerOptions,
} from './defaults.js';
import { CoreMessages } from './messages.js';
import { checkInteger, checkMilliseconds, checkOneOf, invalidOption } from './validate.js';

const REMOVAL_POLICIES: readonly RemovalPolicy[] = ['keep', 'disconnect'];

/** Fills in defaults and validates the scheduler options; throws {@link InvalidConfigError}. */
export function resolveSchedulerOptions(
  options: Partial<Omit<SchedulerOptions, 'backoff'>> & { backoff?: Partial<BackoffOptions> },
): SchedulerOptions {
  const d = DEFAULT_GEN_CLUSTER_OPTIONS;
  const refreshIntervalMs = options.refreshIntervalMs ?? d.refreshIntervalMs;
  const resolved: SchedulerOptions = {
    refreshIntervalMs: refreshIntervalMs === Infinity ? 'infinity' : refreshIntervalMs,
    removalPolicy: options.removalPolicy ?? d.removalPolicy,
    connectConcurrency: options.connectConcurrency ?? d.connectConcurrency,
    connectTimeoutMs: options.connectTimeoutMs ?? d.connectTimeoutMs,
    discoveryTimeoutMs: options.discoveryTimeoutMs ?? d.discoveryTimeoutMs,
    backoff: { ...d.backoff, ...options.backoff },
  };
  // Durations need not be whole milliseconds: these never had to be.
  const duration = { integer: false };
  if (resolved.refreshIntervalMs !== 'infinity')
    checkMilliseconds('refreshIntervalMs', resolved.refreshIntervalMs, duration);
  checkOneOf('removalPolicy', resolved.removalPolicy, REMOVAL_POLICIES);
  checkInteger('connectConcurrency', resolved.connectConcurrency, 1);
  checkMilliseconds('connectTimeoutMs', resolved.connectTimeoutMs, duration);
  checkMilliseconds('discoveryTimeoutMs', resolved.discoveryTimeoutMs, duration);
  checkMilliseconds('backoff.initialMs', resolved.backoff.initialMs, duration);
  checkMilliseconds('backoff.maxMs', resolved.backoff.maxMs, duration);
  const { multiplier, jitter } = resolved.backoff;
  if (!(multiplier >= 1))
    throw invalidOption('backoff.multiplier', multiplier, CoreMessages.backoffMultiplierRange());
  if (!(jitter >= 0 && jitter < 1))
    throw invalidOption('backoff.jitter', jitter, CoreMessages.backoffJitterRange());
  return resolved;
}
