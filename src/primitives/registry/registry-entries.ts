/**
 * Generic registry entries beside the topics: process groups and leadership terms. Their public
 * shapes, the checks of what this node announces, and the mapping between their kinds and the
 * wire's, so the topic and the entry views of one table change stay apart.
 */
import { RESERVED_TOPIC_PREFIX } from '../../distribution/index.js';
import { RegistryEntryError } from '../primitives.errors.js';
import { PrimitivesMessages } from '../primitives.messages.js';
import type { ServicesChangeReason } from '../primitives.types.js';
import { type EntryKey, KIND_GROUP, KIND_TERM, fromEntryKey } from './registry-protocol.js';

/** The kinds of generic registry entries: a process group joined, a leadership term announced. */
export type RegistryEntryKind = 'group' | 'term';

/** One generic entry of a node. */
export interface RegistryEntry {
  /** Its kind. */
  readonly kind: RegistryEntryKind;
  /** Its name (the group, or the term in decimal). */
  readonly name: string;
}

/** One change of a node's generic entries (topics change on `services$`, never here). */
export interface RegistryEntryChange {
  /** The node whose entries changed (this node for `'local'`). */
  readonly node: string;
  /**
   * `'sync'`: the node's table arrived (after it came up, after a partition healed, after it
   * restarted); `'announced'` / `'withdrawn'`: it changed its entries; `'nodeDown'`: it went down
   * (delivered with the `nodeDown` event); `'local'`: this node's own entries changed.
   */
  readonly reason: ServicesChangeReason;
  /** Entries the node now has that it did not. */
  readonly added: readonly RegistryEntry[];
  /** Entries the node no longer has. */
  readonly removed: readonly RegistryEntry[];
}

/** The longest name of a generic entry, in UTF-16 code units (at most 600 UTF-8 bytes). */
export const MAX_ENTRY_NAME_LENGTH = 200;

/** The wire kind of each generic kind. */
export const ENTRY_WIRE_KIND: Readonly<Record<RegistryEntryKind, string>> = {
  group: KIND_GROUP,
  term: KIND_TERM,
};

const ENTRY_KIND: Readonly<Record<string, RegistryEntryKind>> = {
  [KIND_GROUP]: 'group',
  [KIND_TERM]: 'term',
};

/**
 * A UTF-16 surrogate without its pair (`!name.isWellFormed()`, which the ES2023 lib does not
 * type): such a name cannot be encoded in UTF-8, so peers would see another name.
 */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Refuses a kind other than `group`/`term`, and a name that is not a non-empty, well-formed
 * string of at most {@link MAX_ENTRY_NAME_LENGTH} characters or starts with the reserved `$gc.`
 * prefix.
 * @throws RegistryEntryError `ERR_INVALID_ENTRY`
 */
export function checkEntry(kind: unknown, name: unknown): asserts name is string {
  checkEntryKind(kind);
  if (
    typeof name !== 'string' ||
    name === '' ||
    name.length > MAX_ENTRY_NAME_LENGTH ||
    LONE_SURROGATE.test(name)
  )
    throw new RegistryEntryError(
      PrimitivesMessages.entryNameInvalid(kind, name, MAX_ENTRY_NAME_LENGTH),
      {
        code: 'ERR_INVALID_ENTRY',
        problem:
          typeof name === 'string' && name !== '' && !LONE_SURROGATE.test(name) ? 'length' : 'form',
        kind,
        ...(typeof name === 'string' ? { name } : {}),
      },
    );
  if (name.startsWith(RESERVED_TOPIC_PREFIX))
    throw new RegistryEntryError(
      PrimitivesMessages.entryNameReserved(kind, name, RESERVED_TOPIC_PREFIX),
      { code: 'ERR_INVALID_ENTRY', problem: 'reserved', kind, name },
    );
}

/**
 * Refuses a kind other than `group`/`term` (a caller without the types).
 * @throws RegistryEntryError `ERR_INVALID_ENTRY`
 */
export function checkEntryKind(kind: unknown): asserts kind is RegistryEntryKind {
  if (typeof kind !== 'string' || !Object.hasOwn(ENTRY_WIRE_KIND, kind))
    throw new RegistryEntryError(PrimitivesMessages.entryKindInvalid(kind), {
      code: 'ERR_INVALID_ENTRY',
      problem: 'kind',
      ...(typeof kind === 'string' ? { kind } : {}),
    });
}

/** The error of one entry too many for this node. */
export function entriesFull(
  kind: RegistryEntryKind,
  name: string,
  max: number,
): RegistryEntryError {
  return new RegistryEntryError(PrimitivesMessages.entriesFull(kind, name, max), {
    code: 'ERR_TOO_MANY_ENTRIES',
    problem: 'full',
    kind,
    name,
  });
}

/** Whether a table key is a generic entry (not a topic). */
export function isEntryKey(key: EntryKey): boolean {
  return Object.hasOwn(ENTRY_KIND, fromEntryKey(key)[0]);
}

/** The generic entries among table keys (topics and unknown kinds left out). */
export function registryEntries(keys: readonly EntryKey[]): RegistryEntry[] {
  const entries: RegistryEntry[] = [];
  for (const key of keys) {
    const [wire, name] = fromEntryKey(key);
    const kind = ENTRY_KIND[wire];
    if (kind !== undefined) entries.push({ kind, name });
  }
  return entries;
}
