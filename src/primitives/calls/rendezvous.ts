/**
 * Rendezvous (highest random weight) hashing: every node that ranks the same candidates with the
 * same key picks the same owner, and when a node joins or leaves only the keys it gains or loses
 * move. The function is a wire contract (nodes compare owners), versioned by {@link HRW_VERSION};
 * the pinned vectors in `rendezvous.spec.ts` fail on any change of it.
 */
import type { ServiceKey } from '../primitives.types.js';

/**
 * The version of the hash function below. Nodes send it in their registry hello; a change of the
 * function (digest, seeds, mixing, tie-break) must bump it, since owners would disagree.
 */
export const HRW_VERSION = 1;

const SEED_1 = 0x9747b28c;
const SEED_2 = 0x5bd1e995;
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;
/** 2 ** 21: the high digest fills bits 21..52 of the weight, the low one bits 0..20. */
const HIGH_SCALE = 2 ** 21;
/** Node digests cached; the cache is cleared at this size (node names churn slowly). */
const NODE_CACHE_MAX = 4_096;

const encoder = new TextEncoder();
const nodeDigests = new Map<string, Digest>();

/** murmur3's final avalanche of a 32-bit value, unsigned. */
function fmix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One murmur3 block (or tail) mixed, before it is folded into the hash. */
function mixK(k: number): number {
  const m = Math.imul(k, C1);
  return Math.imul((m << 15) | (m >>> 17), C2);
}

/** One murmur3 body round: a mixed block folded into `h`. */
function round(h: number, mixed: number): number {
  const x = h ^ mixed;
  return (Math.imul((x << 13) | (x >>> 19), 5) + 0xe6546b64) | 0;
}

/** Two digests; a class rather than a tuple so the hot loop reads fields, not an iterator. */
class Digest {
  constructor(
    readonly d1: number,
    readonly d2: number,
  ) {}
}

/** The end of murmur3: the tail block (`tail`, `rest` bytes), the length, the avalanche. */
function finish(h1: number, h2: number, tail: number, rest: number, length: number): Digest {
  if (rest > 0) {
    const mixed = mixK(tail);
    h1 ^= mixed;
    h2 ^= mixed;
  }
  return new Digest(fmix32(h1 ^ length), fmix32(h2 ^ length));
}

/** murmur3 x86_32 of some bytes with both seeds, in one pass (the blocks are mixed once). */
function digestBytes(bytes: Uint8Array): Digest {
  const length = bytes.length;
  const blocks = length & ~3;
  let h1 = SEED_1 | 0;
  let h2 = SEED_2 | 0;
  for (let i = 0; i < blocks; i += 4) {
    const mixed = mixK(
      bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24),
    );
    h1 = round(h1, mixed);
    h2 = round(h2, mixed);
  }
  const rest = length & 3;
  let tail = 0;
  for (let i = rest - 1; i >= 0; i--) tail = (tail << 8) | bytes[blocks + i]!;
  return finish(h1, h2, tail, rest, length);
}

/** murmur3 x86_32 of an ASCII string's bytes (its char codes), without encoding it. */
function digestAscii(text: string): Digest {
  const length = text.length;
  const blocks = length & ~3;
  let h1 = SEED_1 | 0;
  let h2 = SEED_2 | 0;
  for (let i = 0; i < blocks; i += 4) {
    const mixed = mixK(
      text.charCodeAt(i) |
        (text.charCodeAt(i + 1) << 8) |
        (text.charCodeAt(i + 2) << 16) |
        (text.charCodeAt(i + 3) << 24),
    );
    h1 = round(h1, mixed);
    h2 = round(h2, mixed);
  }
  const rest = length & 3;
  let tail = 0;
  for (let i = rest - 1; i >= 0; i--) tail = (tail << 8) | text.charCodeAt(blocks + i);
  return finish(h1, h2, tail, rest, length);
}

/** Whether every UTF-16 unit of `text` is ASCII, so its UTF-8 bytes are its char codes. */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The digests of a string's UTF-8 bytes (ASCII read in place). */
function digestString(text: string): Digest {
  return isAscii(text) ? digestAscii(text) : digestBytes(encoder.encode(text));
}

/**
 * The two murmur3 x86_32 digests of a key (seeds `0x9747b28c`, `0x5bd1e995`): a number counts as
 * its decimal string, a string as its UTF-8 bytes.
 * @internal exported for the spec, which checks it against murmur3's published vectors
 */
export function keyDigest(key: ServiceKey): readonly [number, number] {
  const digest = digestKey(key);
  return [digest.d1, digest.d2];
}

/** The digests of a key, as {@link keyDigest} describes. */
function digestKey(key: ServiceKey): Digest {
  if (typeof key === 'string') return digestString(key);
  if (typeof key === 'number') return digestString(String(key));
  return digestBytes(key);
}

/** A node name's digests, cached. */
function nodeDigest(node: string): Digest {
  let digest = nodeDigests.get(node);
  if (digest === undefined) {
    if (nodeDigests.size >= NODE_CACHE_MAX) nodeDigests.clear();
    digest = digestString(node);
    nodeDigests.set(node, digest);
  }
  return digest;
}

/** The 53-bit weight of a node for a key digest, exact in a double. */
function weight(key: Digest, node: string): number {
  const n = nodeDigest(node);
  return fmix32(key.d1 ^ n.d1) * HIGH_SCALE + (fmix32(key.d2 ^ n.d2) >>> 11);
}

/**
 * The node that owns `key` among `nodes`: the greatest weight, ties to the greater name.
 * The order of `nodes` does not matter; duplicates are harmless. `undefined` when empty. O(N).
 */
export function owner(key: ServiceKey, nodes: readonly string[]): string | undefined {
  if (nodes.length === 0) return undefined;
  if (nodes.length === 1) return nodes[0];
  const digest = digestKey(key);
  let best: string | undefined;
  let bestWeight = -1;
  for (const node of nodes) {
    const w = weight(digest, node);
    if (w > bestWeight || (w === bestWeight && best !== undefined && node > best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}

/**
 * `nodes` ranked for `key`, owner first: the order in which every node falls back when the ones
 * before are gone. A new array; the order of `nodes` does not matter.
 */
export function rank(key: ServiceKey, nodes: readonly string[]): string[] {
  const digest = digestKey(key);
  return nodes
    .map(node => ({ node, w: weight(digest, node) }))
    .sort((a, b) => b.w - a.w || (a.node < b.node ? 1 : a.node > b.node ? -1 : 0))
    .map(entry => entry.node);
}
