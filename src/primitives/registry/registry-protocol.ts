/**
 * The registry's wire: its two internal topics, the shape of their bodies, the bounds, and the
 * defensive parsers of what peers send (a peer's message never throws here; what is malformed
 * gives `undefined`, what is over a bound is cut and counted).
 */
import { randomBytes } from 'node:crypto';
import { MAX_TOPIC_BYTES, RESERVED_TOPIC_PREFIX } from '../../distribution/index.js';

/** Request "send me your table"; answered with a {@link HelloAnswer}. */
export const REGISTRY_HELLO = '$gc.reg.hello';
/** A change of the sender's entries: one-way, or a request (answered `{ v }`) during a drain. */
export const REGISTRY_DELTA = '$gc.reg.delta';

/** The protocol version this build speaks; a peer speaking a higher one is answered in this one. */
export const REGISTRY_VERSION = 1;
/** Entries kept per peer; the rest of a larger table is dropped (and logged once per node). */
export const MAX_REGISTRY_ENTRIES = 10_000;
/** Deltas buffered per peer still syncing; past it the peer is asked again once synced. */
export const MAX_DELTA_BUFFER = 256;
/** Nodes that asked before they were members here, waiting for their `nodeUp`. */
export const MAX_ASKERS = 1_024;
/** How long such a node waits for its `nodeUp` before it is forgotten. */
export const ASKER_TTL_MS = 30_000;
/** The longest kind name accepted from a peer. */
const MAX_KIND_LENGTH = 8;
/** An epoch longer than this is refused (ours are 16 hex digits). */
const MAX_EPOCH_LENGTH = 64;

/** Request handler. */
export const KIND_HANDLER = 'h';
/** Subscriber. */
export const KIND_SUBSCRIBER = 's';
/** A process group this node joined (name = the group). Older registries ignore the kind. */
export const KIND_GROUP = 'g';
/** A leadership term this node announced (name = the term, decimal). Older registries ignore it. */
export const KIND_TERM = 't';

/** One entry on the wire: `[kind, name]`. */
export type WireEntry = readonly [kind: string, name: string];

/** The body of a hello. */
export interface HelloRequest {
  readonly v: number;
  readonly epoch: string;
  readonly hrw: number;
}

/** The answer to a hello: the sender's whole table at `seq`. */
export interface HelloAnswer {
  readonly v: number;
  readonly epoch: string;
  readonly seq: number;
  readonly hrw: number;
  readonly entries: readonly WireEntry[];
}

/** A change: entries added and removed, or `set` replacing every entry of the sender. */
export interface Delta {
  readonly v: number;
  readonly epoch: string;
  readonly seq: number;
  readonly add?: readonly WireEntry[];
  readonly del?: readonly WireEntry[];
  readonly set?: readonly WireEntry[];
}

/** What parsing a peer's entries dropped, for the logs. */
export interface ParseIssues {
  /** Entries past {@link MAX_REGISTRY_ENTRIES}. */
  tooMany: number;
  /** Names on the reserved `$gc.` prefix. */
  reserved: number;
}

/** The key of an entry in tables: its kind and name, separated by a character no kind has. */
export type EntryKey = string;

const SEPARATOR = '\u0000';

/** The table key of `[kind, name]`. */
export function entryKey(kind: string, name: string): EntryKey {
  return kind + SEPARATOR + name;
}

/** The `[kind, name]` of a table key. */
export function fromEntryKey(key: EntryKey): WireEntry {
  const at = key.indexOf(SEPARATOR);
  return [key.slice(0, at), key.slice(at + 1)];
}

/** Fresh issue counters. */
export function noIssues(): ParseIssues {
  return { tooMany: 0, reserved: 0 };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

const isEpoch = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_EPOCH_LENGTH;

/** A version 1 or above; a higher one is spoken down to ours. */
const isVersion = (value: unknown): value is number => isCount(value) && value >= 1;

/** Whether `name` is a topic a peer may announce: the form of a topic, never reserved. */
function isPublicName(name: string): boolean {
  return (
    name !== '' &&
    (name.length * 3 <= MAX_TOPIC_BYTES || Buffer.byteLength(name, 'utf8') <= MAX_TOPIC_BYTES)
  );
}

/**
 * The valid entries of a peer's list, in order: kinds outside `kinds` are ignored (a newer node's
 * kinds), malformed entries dropped, reserved names and entries past `limit` dropped and counted.
 * `undefined` when `value` is not an array.
 */
export function parseEntries(
  value: unknown,
  kinds: ReadonlySet<string>,
  issues: ParseIssues,
  limit = MAX_REGISTRY_ENTRIES,
): WireEntry[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const entries: WireEntry[] = [];
  for (const item of value as unknown[]) {
    if (!Array.isArray(item) || item.length < 2) continue;
    const [kind, name] = item as unknown[];
    if (typeof kind !== 'string' || kind.length === 0 || kind.length > MAX_KIND_LENGTH) continue;
    if (typeof name !== 'string' || !isPublicName(name)) continue;
    if (name.startsWith(RESERVED_TOPIC_PREFIX)) {
      issues.reserved++;
      continue;
    }
    if (!kinds.has(kind)) continue;
    if (entries.length >= limit) {
      issues.tooMany++;
      continue;
    }
    entries.push([kind, name]);
  }
  return entries;
}

/** A hello's body, or `undefined` when it is not one. */
export function parseHello(value: unknown): HelloRequest | undefined {
  if (!isRecord(value) || !isVersion(value.v) || !isEpoch(value.epoch)) return undefined;
  return { v: value.v, epoch: value.epoch, hrw: isCount(value.hrw) ? value.hrw : 0 };
}

/** A hello answer, or `undefined` when it is not one. */
export function parseHelloAnswer(
  value: unknown,
  kinds: ReadonlySet<string>,
  issues: ParseIssues,
): HelloAnswer | undefined {
  if (!isRecord(value) || !isVersion(value.v) || !isEpoch(value.epoch) || !isCount(value.seq))
    return undefined;
  const entries = parseEntries(value.entries, kinds, issues);
  if (entries === undefined) return undefined;
  return {
    v: value.v,
    epoch: value.epoch,
    seq: value.seq,
    hrw: isCount(value.hrw) ? value.hrw : 0,
    entries,
  };
}

/**
 * A delta, or `undefined` when it is not one. A `set` wins over `add`/`del`; each list is bounded
 * by {@link MAX_REGISTRY_ENTRIES}.
 */
export function parseDelta(
  value: unknown,
  kinds: ReadonlySet<string>,
  issues: ParseIssues,
): Delta | undefined {
  if (!isRecord(value) || !isVersion(value.v) || !isEpoch(value.epoch) || !isCount(value.seq))
    return undefined;
  const head = { v: value.v, epoch: value.epoch, seq: value.seq };
  if (value.set !== undefined) {
    const set = parseEntries(value.set, kinds, issues);
    return set === undefined ? undefined : { ...head, set };
  }
  const add = value.add === undefined ? [] : parseEntries(value.add, kinds, issues);
  const del = value.del === undefined ? [] : parseEntries(value.del, kinds, issues);
  if (add === undefined || del === undefined) return undefined;
  return { ...head, add, del };
}

/** A fresh random epoch: 16 hex digits, new at each registry start. */
export function newEpoch(): string {
  return randomBytes(8).toString('hex');
}
