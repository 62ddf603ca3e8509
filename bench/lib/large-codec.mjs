// Structured payloads for the `large` section (bench/sections/large-messages.mjs), in the child
// (bench/lib/large-node.mjs): an array of small objects of a given encoded size, and the time the
// library's msgpack codec (from the build) takes to encode and decode it.
import { distUrl, summarize } from './common.mjs';

const MiB = 1024 * 1024;

/** An array of small objects whose msgpack encoding is about `bytes` long. */
export function structuredPayload(codec, bytes) {
  const item = i => ({
    id: i,
    name: `item-${i}`,
    price: (i % 1000) / 10 + 0.5,
    qty: i % 7,
    active: i % 2 === 0,
    tags: ['red', 'large'],
  });
  // bytes per object, from a sample in the middle of the ids (their length varies with the count)
  const perItem = from =>
    codec.encode(Array.from({ length: 1000 }, (_, i) => item(from + i))).length / 1000;
  const guess = Math.max(1, Math.round(bytes / perItem(0)));
  const count = Math.max(1, Math.round(bytes / perItem(Math.floor(guess / 2))));
  return Array.from({ length: count }, (_, i) => item(i));
}

/**
 * The library's default payload codec (msgpack, from the build), its structured-payload limit
 * (where the library has one) raised so that the sizes measured are encoded.
 */
export async function structuredCodec() {
  const { createPayloadCodec } = await import(distUrl('distribution', 'messaging', 'index.js'));
  return createPayloadCodec('msgpack', { maxStructuredPayloadBytes: 256 * MiB });
}

/**
 * Encode and decode time of structured payloads of about `sizesMiB` MiB each (median of
 * `reps`), measured before this process hosts any node (a long encode would starve them).
 */
export async function codecTimings({ sizesMiB, reps }) {
  const codec = await structuredCodec();
  const out = [];
  // warm up the codec (JIT) on a small payload first
  const warm = structuredPayload(codec, 256 * 1024);
  for (let i = 0; i < 5; i++) codec.decode(codec.encode(warm));
  for (const mib of sizesMiB) {
    const payload = structuredPayload(codec, mib * MiB);
    const encode = [];
    const decode = [];
    let bytes;
    let refused;
    // a codec limit (a decoding budget, say) that refuses a size leaves its figure empty
    const timed = (list, work) => {
      global.gc?.();
      const t = performance.now();
      try {
        const result = work();
        list.push(performance.now() - t);
        return result;
      } catch (error) {
        refused ??= `${error?.code ?? error} after ${(performance.now() - t).toFixed(1)} ms`;
        return undefined;
      }
    };
    for (let i = 0; i < reps && !refused; i++) {
      bytes = timed(encode, () => codec.encode(payload));
      if (bytes) timed(decode, () => codec.decode(bytes));
    }
    out.push({
      mib,
      objects: payload.length,
      encodedBytes: bytes?.length ?? null,
      encodeMs: summarize(encode).median,
      decodeMs: summarize(decode).median,
      refused,
    });
  }
  return out;
}
