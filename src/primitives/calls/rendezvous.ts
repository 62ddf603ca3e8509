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
const nodeDigests = new Map<string, readonly [number, number]>();

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

/** One murmur3 block (or tail) mixed into `k`. */
function mixK(k: number): number {
  return Math.imul(((Math.imul(k, C1) << 15) | (Math.imul(k, C1) >>> 17)) >>> 0, C2);
}

/** murmur3 x86_32 of `length` bytes read through `byteAt`. */
function murmur3(byteAt: (index: number) => number, length: number, seed: number): number {
  let h = seed >>> 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    const k = byteAt(i) | (byteAt(i + 1) << 8) | (byteAt(i + 2) << 16) | (byteAt(i + 3) << 24);
    h ^= mixK(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = length & 3;
  if (rest > 0) {
    let tail = byteAt(blocks);
    if (rest > 1) tail |= byteAt(blocks + 1) << 8;
    if (rest > 2) tail |= byteAt(blocks + 2) << 16;
    h ^= mixK(tail);
  }
  h ^= length;
  return fmix32(h);
}

/** The two digests of some bytes, with the two seeds. */
function digestBytes(bytes: Uint8Array): readonly [number, number] {
  const byteAt = (index: number): number => bytes[index]!;
  return [murmur3(byteAt, bytes.length, SEED_1), murmur3(byteAt, bytes.length, SEED_2)];
}

/** Whether every UTF-16 unit of `text` is ASCII, so its UTF-8 bytes are its char codes. */
function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The two digests of a string's UTF-8 bytes (ASCII read in place, without encoding). */
function digestString(text: string): readonly [number, number] {
  if (!isAscii(text)) return digestBytes(encoder.encode(text));
  const byteAt = (index: number): number => text.charCodeAt(index);
  return [murmur3(byteAt, text.length, SEED_1), murmur3(byteAt, text.length, SEED_2)];
}

/**
 * The two murmur3 x86_32 digests of a key (seeds `0x9747b28c`, `0x5bd1e995`): a number counts as
 * its decimal string, a string as its UTF-8 bytes.
 * @internal exported for the spec, which checks it against murmur3's published vectors
 */
export function keyDigest(key: ServiceKey): readonly [number, number] {
  if (typeof key === 'string') return digestString(key);
  if (typeof key === 'number') return digestString(String(key));
  return digestBytes(key);
}

/** A node name's digests, cached. */
function nodeDigest(node: string): readonly [number, number] {
  let digest = nodeDigests.get(node);
  if (digest === undefined) {
    if (nodeDigests.size >= NODE_CACHE_MAX) nodeDigests.clear();
    digest = digestString(node);
    nodeDigests.set(node, digest);
  }
  return digest;
}

/** The 53-bit weight of a node for a key digest, exact in a double. */
function weight(k1: number, k2: number, node: string): number {
  const [n1, n2] = nodeDigest(node);
  return fmix32(k1 ^ n1) * HIGH_SCALE + (fmix32(k2 ^ n2) >>> 11);
}

/**
 * The node that owns `key` among `nodes`: the greatest weight, ties to the greater name.
 * The order of `nodes` does not matter; duplicates are harmless. `undefined` when empty. O(N).
 */
export function owner(key: ServiceKey, nodes: readonly string[]): string | undefined {
  if (nodes.length === 0) return undefined;
  if (nodes.length === 1) return nodes[0];
  const [k1, k2] = keyDigest(key);
  let best: string | undefined;
  let bestWeight = -1;
  for (const node of nodes) {
    const w = weight(k1, k2, node);
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
  const [k1, k2] = keyDigest(key);
  return nodes
    .map(node => ({ node, w: weight(k1, k2, node) }))
    .sort((a, b) => b.w - a.w || (a.node < b.node ? 1 : a.node > b.node ? -1 : 0))
    .map(entry => entry.node);
}
