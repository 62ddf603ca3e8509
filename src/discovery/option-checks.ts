/**
 * The checks every built-in strategy makes before reading its own options, so that all of them
 * refuse bad options the same way and name an option the same way (`discovery (dns).domain`). The
 * range logic itself is core's (`core/validate.ts`).
 */
import { checkKnownKeys, checkOneOf, invalidOption, isPlainObject } from '../core/index.js';

/**
 * How refusals name an option of `strategy`: `discovery (dns).domain`, or `discovery (dns)` for
 * the options as a whole.
 */
export function optionName(strategy: string, key?: string): string {
  return key === undefined ? `discovery (${strategy})` : `discovery (${strategy}).${key}`;
}

/**
 * Refuses options that are not a plain object, that hold a key not in `known`, or whose `strategy`
 * names another strategy (`strategy` may be absent: the constructors are also called without it).
 * @param accepted what to accept when `options` is not an object, e.g. `an object such as {...}`
 * @throws InvalidConfigError naming the option, the value and what is accepted.
 */
export function checkStrategyOptions(
  strategy: string,
  options: unknown,
  known: readonly string[],
  accepted: string,
): asserts options is Record<string, unknown> {
  const what = optionName(strategy);
  if (!isPlainObject(options)) throw invalidOption(what, options, accepted);
  checkKnownKeys(what, options, known);
  if (options.strategy !== undefined) {
    checkOneOf(optionName(strategy, 'strategy'), options.strategy, [strategy]);
  }
}
