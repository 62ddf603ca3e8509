/**
 * The replicated table: which node has which entry (`[kind, name]`), this node's own and its
 * peers', with an index from entry to the sorted nodes that have it. It knows entries, never
 * topics, so other kinds (process groups) share it. No I/O: the sync feeds it.
 */
import type { EntryKey } from './registry-protocol.js';

/** What one change did to a node's entries. */
export interface TableChange {
  readonly added: readonly EntryKey[];
  readonly removed: readonly EntryKey[];
}

const NO_CHANGE: TableChange = Object.freeze({ added: [], removed: [] });
const EMPTY: readonly string[] = Object.freeze([]);

/** Inserts `node` into the sorted array `nodes` (a new array; the old one may be held by callers). */
function withNode(nodes: readonly string[], node: string): readonly string[] {
  let low = 0;
  let high = nodes.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (nodes[mid]! < node) low = mid + 1;
    else high = mid;
  }
  if (nodes[low] === node) return nodes;
  return [...nodes.slice(0, low), node, ...nodes.slice(low)];
}

/**
 * Entries by node, and nodes by entry. Arrays handed out by {@link nodesOf} are never changed
 * afterwards (a change builds a new one), so callers may keep them until {@link version} moves.
 */
export class ReplicatedTable {
  private readonly entries = new Map<string, Set<EntryKey>>();
  /** Entries of a node left out of the index until news of them arrives. */
  private readonly suppressed = new Map<string, Set<EntryKey>>();
  private readonly index = new Map<EntryKey, readonly string[]>();
  private counter = 0;

  /** Bumped on every change of the index; caches of {@link nodesOf} are keyed by it. */
  get version(): number {
    return this.counter;
  }

  /** The nodes with `key` (suppressed ones left out), sorted; the same array until it changes. */
  nodesOf(key: EntryKey): readonly string[] {
    return this.index.get(key) ?? EMPTY;
  }

  /** Every entry some node has (suppressed ones included when another node has them). */
  keys(): IterableIterator<EntryKey> {
    return this.index.keys();
  }

  /** The entries of `node` (suppressed ones included). */
  entriesOf(node: string): ReadonlySet<EntryKey> {
    return this.entries.get(node) ?? new Set();
  }

  /** The nodes that have entries. */
  nodes(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** Adds and removes entries of `node`; returns what actually changed. */
  apply(node: string, add: Iterable<EntryKey>, del: Iterable<EntryKey>): TableChange {
    let set = this.entries.get(node);
    const added: EntryKey[] = [];
    const removed: EntryKey[] = [];
    for (const key of del) {
      if (set?.delete(key) !== true) continue;
      removed.push(key);
      this.suppressed.get(node)?.delete(key);
      this.unindex(key, node);
    }
    for (const key of add) {
      set ??= this.entries.set(node, new Set()).get(node)!;
      if (set.has(key)) continue;
      set.add(key);
      added.push(key);
      this.reindex(key, node);
    }
    if (set?.size === 0) this.entries.delete(node);
    return added.length === 0 && removed.length === 0 ? NO_CHANGE : { added, removed };
  }

  /** Replaces every entry of `node` with `keys`; returns what changed. */
  replace(node: string, keys: Iterable<EntryKey>): TableChange {
    const next = new Set(keys);
    const current = this.entries.get(node) ?? new Set<EntryKey>();
    return this.apply(
      node,
      [...next].filter(key => !current.has(key)),
      [...current].filter(key => !next.has(key)),
    );
  }

  /** Removes `node` and all its entries; returns them. */
  removeNode(node: string): readonly EntryKey[] {
    const removed = this.replace(node, []).removed;
    this.suppressed.delete(node);
    return removed;
  }

  /** Leaves `node` out of `key`'s nodes until {@link unsuppress}; `false` when it was not there. */
  suppress(node: string, key: EntryKey): boolean {
    if (this.entries.get(node)?.has(key) !== true) return false;
    let keys = this.suppressed.get(node);
    if (keys?.has(key) === true) return false;
    keys ??= this.suppressed.set(node, new Set()).get(node)!;
    keys.add(key);
    this.unindex(key, node);
    return true;
  }

  /** Whether `node` has suppressed entries. */
  hasSuppressed(node: string): boolean {
    return (this.suppressed.get(node)?.size ?? 0) > 0;
  }

  /** Puts `node` back among `key`'s nodes when it was suppressed and still has it. */
  unsuppress(node: string, key: EntryKey): boolean {
    const keys = this.suppressed.get(node);
    if (keys?.delete(key) !== true) return false;
    if (keys.size === 0) this.suppressed.delete(node);
    if (this.entries.get(node)?.has(key) === true) this.reindex(key, node);
    return true;
  }

  /** Puts every suppressed entry of `node` back. */
  unsuppressAll(node: string): void {
    for (const key of [...(this.suppressed.get(node) ?? [])]) this.unsuppress(node, key);
  }

  private reindex(key: EntryKey, node: string): void {
    if (this.suppressed.get(node)?.has(key) === true) return;
    const nodes = this.index.get(key) ?? EMPTY;
    const next = withNode(nodes, node);
    if (next === nodes) return;
    this.index.set(key, next);
    this.counter++;
  }

  private unindex(key: EntryKey, node: string): void {
    const nodes = this.index.get(key);
    if (nodes === undefined || !nodes.includes(node)) return;
    const next = nodes.filter(n => n !== node);
    if (next.length === 0) this.index.delete(key);
    else this.index.set(key, next);
    this.counter++;
  }
}
