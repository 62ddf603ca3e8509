/**
 * Checks shared by every layer's option validation, so that each strategy refuses bad options
 * the same way (an {@link InvalidConfigError} naming the option, the value and what is accepted)
 * and timer bounds are enforced everywhere.
 */
import { InvalidConfigError } from './errors.js';
import { CoreMessages } from './messages.js';

/**
 * The longest delay a Node timer honours. Node fires a timer set beyond it after 1 ms, so a
 * larger timeout would be a storm, not a wait.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The largest signed 32-bit integer: the ceiling of counts and sizes that are not durations. */
export const MAX_INT32 = 2 ** 31 - 1;

/** Whether `value` is a plain object (`{...}` or `Object.create(null)`), not an array or class. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === Object.prototype || proto === null;
}

/**
 * Refuses anything but a plain object whose keys are all in `known`.
 * @param what the option's name in messages, e.g. `"discovery (dns)"`
 */
export function checkKnownKeys(
  what: string,
  value: unknown,
  known: readonly string[],
): asserts value is Record<string, unknown> {
  if (!isPlainObject(value)) throw invalidOption(what, value, 'an object');
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw invalidOption(
        `${what}.${key}`,
        value[key],
        `no such option; known: ${known.join(', ')}`,
      );
    }
  }
}

/** Whether `value` is an integer from `min` to `max`, both included. */
export function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** Refuses anything but an integer from `min` to `max` (default: up to {@link MAX_INT32}). */
export function checkInteger(
  option: string,
  value: unknown,
  min: number,
  max = MAX_INT32,
): asserts value is number {
  if (!isIntegerIn(value, min, max)) {
    throw invalidOption(option, value, `an integer from ${min} to ${max}`);
  }
}

/**
 * Refuses anything but a duration a Node timer can wait: a number of milliseconds from `min`
 * (default 1) to {@link MAX_TIMER_MS}; integers only unless `integer` is false.
 */
export function checkMilliseconds(
  option: string,
  value: unknown,
  { min = 1, integer = true }: { min?: number; integer?: boolean } = {},
): asserts value is number {
  const ok =
    typeof value === 'number' &&
    (integer ? Number.isInteger(value) : Number.isFinite(value)) &&
    value >= min &&
    value <= MAX_TIMER_MS;
  if (!ok) {
    throw invalidOption(
      option,
      value,
      `${integer ? 'an integer' : 'a number'} of milliseconds from ${min} to ${MAX_TIMER_MS} (about 24.8 days)`,
    );
  }
}

/** Refuses anything but a TCP/UDP port; `allowZero` admits 0 (an ephemeral port). */
export function checkPort(
  option: string,
  value: unknown,
  { allowZero = false }: { allowZero?: boolean } = {},
): asserts value is number {
  const min = allowZero ? 0 : 1;
  if (!isIntegerIn(value, min, 65_535)) {
    throw invalidOption(option, value, `a port from ${min} to 65535`);
  }
}

/** Refuses anything but one of `accepted` (compared with `===`). */
export function checkOneOf<T>(
  option: string,
  value: unknown,
  accepted: readonly T[],
): asserts value is T {
  if (!accepted.includes(value as T)) {
    throw invalidOption(option, value, accepted.map(item => JSON.stringify(item)).join(' or '));
  }
}

/** The error for a bad option value, text from the core catalog. */
export function invalidOption(
  option: string,
  value: unknown,
  accepted: string,
): InvalidConfigError {
  return new InvalidConfigError(CoreMessages.invalidOption(option, value, accepted));
}
