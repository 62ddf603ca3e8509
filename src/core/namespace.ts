/**
 * The cluster namespace as every layer below the configuration sees it: the handshake carries it,
 * the port mapper registration carries it, and `local` discovery filters on it. One form for all,
 * so a namespace accepted by one layer fits the others' fields.
 */
import { invalidOption } from './validate.js';

/** The namespace of a node that names none, and of a peer or registration that carries none. */
export const DEFAULT_NAMESPACE = 'default';

/** What a namespace may be, as refusals state it. */
export const NAMESPACE_FORMS = '1 to 64 characters: letters, digits, ".", "_" and "-"';

/** The form of {@link NAMESPACE_FORMS}, anchored; ASCII only, so one byte per character. */
export const NAMESPACE_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Whether `value` is a namespace of the form {@link NAMESPACE_FORMS}. */
export function isClusterNamespace(value: unknown): value is string {
  return typeof value === 'string' && NAMESPACE_PATTERN.test(value);
}

/**
 * Refuses anything but a namespace of the form {@link NAMESPACE_FORMS}.
 * @throws InvalidConfigError naming `option`, the value and the accepted form.
 */
export function checkNamespace(option: string, value: unknown): asserts value is string {
  if (!isClusterNamespace(value)) throw invalidOption(option, value, NAMESPACE_FORMS);
}
