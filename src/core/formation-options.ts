/**
 * The options of the formation gate (Akka Bootstrap's `required-contact-point-nr` and
 * `stable-margin`): their defaults and their checks, run once at construction or per wait.
 */
import { FormationMessages } from './formation.messages.js';
import {
  MAX_INT32,
  MAX_TIMER_MS,
  checkInteger,
  checkKnownKeys,
  checkMilliseconds,
  invalidOption,
} from './validate.js';

/** Peers a cluster needs to count as formed when `minMembers` is unset: 0. */
export const DEFAULT_FORMATION_MIN_MEMBERS = 0;
/** How long the discovered set must stay unchanged when `stableMarginMs` is unset: 5 s. */
export const DEFAULT_FORMATION_STABLE_MARGIN_MS = 5_000;
/** How long `waitForFormation` waits beyond the stable margin when `timeoutMs` is unset: 30 s. */
export const DEFAULT_FORMATION_WAIT_MS = 30_000;

/**
 * When a cluster counts as formed: at least `minMembers` connected peers (this node and hidden
 * nodes not counted, as `nodes()`) and a discovered set unchanged for `stableMarginMs`.
 */
export interface FormationOptions {
  /** Connected peers needed, this node not counted (default 0). */
  readonly minMembers?: number;
  /** How long the last good discovery answer's set of nodes must stay unchanged (default 5 s). */
  readonly stableMarginMs?: number;
}

/** Options of `waitForFormation`: the numbers to check (the configured ones when unset). */
export interface WaitForFormationOptions extends FormationOptions {
  /** How long to wait before rejecting with `ERR_FORMATION_TIMEOUT` (stable margin + 30 s). */
  readonly timeoutMs?: number;
}

/** The formation options checked, defaults filled in. */
export interface ResolvedFormationOptions {
  readonly minMembers: number;
  readonly stableMarginMs: number;
}

const FORMATION_KEYS = ['minMembers', 'stableMarginMs'];

/**
 * Checks the `formation` option of a `GenCluster` and fills in its defaults (`undefined` gives
 * the defaults too). Throws `InvalidConfigError` naming the field, the value and what is accepted.
 * @param what the option's name in messages (`'formation'`, or `'waitForFormation options'`)
 */
export function resolveFormationOptions(
  value: unknown,
  what = 'formation',
  keys: readonly string[] = FORMATION_KEYS,
): ResolvedFormationOptions {
  if (value === undefined) return DEFAULT_FORMATION;
  checkKnownKeys(what, value, keys);
  const {
    minMembers = DEFAULT_FORMATION_MIN_MEMBERS,
    stableMarginMs = DEFAULT_FORMATION_STABLE_MARGIN_MS,
  } = value;
  checkInteger(`${what}.minMembers`, minMembers, 0, MAX_INT32);
  // 0 forms on the first answer; fractions are fine, as for the engine's other durations.
  checkMilliseconds(`${what}.stableMarginMs`, stableMarginMs, { min: 0, integer: false });
  return { minMembers, stableMarginMs };
}

/**
 * The numbers and the timeout of one `waitForFormation` call, unset ones taken from `configured`.
 * Throws `InvalidConfigError` as {@link resolveFormationOptions} does.
 */
export function resolveWaitOptions(
  value: unknown,
  configured: ResolvedFormationOptions,
): ResolvedFormationOptions & { readonly timeoutMs: number } {
  const what = 'waitForFormation options';
  if (value !== undefined) checkKnownKeys(what, value, [...FORMATION_KEYS, 'timeoutMs']);
  const { timeoutMs, ...numbers } = (value ?? {}) as WaitForFormationOptions;
  // field by field: an own `undefined` (`{ minMembers: opts.min }`) means unset, not the default
  const resolved = resolveFormationOptions(
    {
      minMembers: numbers.minMembers ?? configured.minMembers,
      stableMarginMs: numbers.stableMarginMs ?? configured.stableMarginMs,
    },
    what,
  );
  const wait = timeoutMs ?? resolved.stableMarginMs + DEFAULT_FORMATION_WAIT_MS;
  // Infinity waits for ever; a finite wait must be one a Node timer honours
  if (wait !== Infinity && !isMilliseconds(wait))
    throw invalidOption(`${what}.timeoutMs`, wait, FormationMessages.timeoutForms());
  return { ...resolved, timeoutMs: wait };
}

function isMilliseconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= MAX_TIMER_MS;
}

const DEFAULT_FORMATION: ResolvedFormationOptions = Object.freeze({
  minMembers: DEFAULT_FORMATION_MIN_MEMBERS,
  stableMarginMs: DEFAULT_FORMATION_STABLE_MARGIN_MS,
});
