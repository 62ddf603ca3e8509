import type { BackoffOptions } from './defaults.js';

/**
 * Delay before retry number `attempt` (1 after the first failure): exponential, capped, with
 * symmetric jitter so that nodes that failed together do not retry together.
 * @param random a source of uniform numbers in [0, 1), `Math.random` by default.
 */
export function backoffDelay(
  options: BackoffOptions,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const base = Math.min(options.maxMs, options.initialMs * options.multiplier ** exponent);
  const spread = base * options.jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base + spread));
}
