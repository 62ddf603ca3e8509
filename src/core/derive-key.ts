import { hkdfSync } from 'node:crypto';

/**
 * A 32-byte key for one purpose, HKDF-SHA256 of a shared secret (the cookie) with `label` as its
 * info: two labels never give the same key, and no key reveals the secret or another key. Every
 * layer that signs with the cluster's secret (the dists, gossip, NATS discovery) derives its keys
 * here, so a secret given to a discovery gives the key the dist would derive.
 */
export function deriveLabelledKey(secret: string | Buffer, label: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), label, 32));
}
