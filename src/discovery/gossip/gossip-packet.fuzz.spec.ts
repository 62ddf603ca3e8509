/**
 * Hostile input for the gossip packet codec: whatever arrives on the multicast group (random
 * bytes, cut or padded packets, a valid packet with one byte changed, a forged MAC, lengths that
 * point past the end) is refused without an exception, and only the exact encoding of an
 * announcement under the right key is accepted. The MAC is the one decision D1 fixes:
 * HMAC-SHA256 truncated to 16 bytes over every byte before it, at the end of the packet.
 */
import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import {
  GOSSIP_KEY_LABEL,
  type GossipAnnouncement,
  decodeAnnouncement,
  encodeAnnouncement,
} from './gossip-packet.js';

const MAC_BYTES = 16;
/** Far above any announcement (the name is at most 255 bytes): the largest UDP payload. */
const MAX_UDP_PAYLOAD = 65_507;

const u64 = fc.bigInt({ min: 1n, max: 2n ** 64n - 1n });
const namePart = fc.stringMatching(/^[A-Za-z0-9_.+-]{1,40}$/);
const dnsHost = fc
  .array(fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/), {
    minLength: 1,
    maxLength: 4,
  })
  .map(labels => labels.join('.'));
const announcement: fc.Arbitrary<GossipAnnouncement> = fc.record({
  incarnation: u64,
  counter: u64,
  namespace: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
  node: fc.tuple(namePart, fc.oneof(fc.ipV4(), dnsHost)).map(([name, host]) => `${name}@${host}`),
  port: fc.integer({ min: 1, max: 65_535 }),
  leaving: fc.boolean(),
});
const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytes => Buffer.from(bytes));

/** `body` followed by its MAC under `secret`, as D1 defines it. */
function seal(body: Buffer, secret: Buffer): Buffer {
  const mac = createHmac('sha256', secret).update(body).digest().subarray(0, MAC_BYTES);
  return Buffer.concat([body, mac]);
}

/** The codec under test; an exception fails the property with the input that caused it. */
const decode = decodeAnnouncement;

/** Accepted only as the exact bytes the encoder makes of what was decoded. */
function expectExactWhenAccepted(packet: Buffer, secret: Buffer): void {
  const result = decode(packet, secret);
  if (result.ok) expect(encodeAnnouncement(result.announcement, secret).equals(packet)).toBe(true);
  else expect(['malformed', 'badMac']).toContain(result.reason);
}

describe('decodeAnnouncement under hostile input', () => {
  it('labels its key for gossip only', () => {
    expect(GOSSIP_KEY_LABEL).toBe('gen-cluster gossip v1');
  });

  it('decodes what it encodes, sealed with HMAC-SHA256/16 over the bytes before the MAC', () => {
    fc.assert(
      fc.property(announcement, key, (sent, secret) => {
        const packet = encodeAnnouncement(sent, secret);
        const body = packet.subarray(0, packet.length - MAC_BYTES);
        expect(seal(body, secret).equals(packet)).toBe(true);
        expect(decode(packet, secret)).toEqual({ ok: true, announcement: sent });
      }),
      { seed: 17_001, numRuns: 500 },
    );
  });

  it('refuses random bytes of any length without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1_200 }), key, (bytes, secret) => {
        expect(decode(Buffer.from(bytes), secret).ok).toBe(false);
      }),
      { seed: 17_002, numRuns: 1_000 },
    );
  });

  it('refuses random bytes behind a valid packet header', () => {
    fc.assert(
      fc.property(
        announcement,
        key,
        fc.integer({ min: 1, max: 40 }),
        fc.uint8Array({ maxLength: 600 }),
        (sent, secret, keep, tail) => {
          const packet = encodeAnnouncement(sent, secret);
          const forged = Buffer.concat([packet.subarray(0, keep), Buffer.from(tail)]);
          if (!forged.equals(packet)) expect(decode(forged, secret).ok).toBe(false);
        },
      ),
      { seed: 17_003, numRuns: 1_000 },
    );
  });

  it('refuses every truncation and every extension of a valid packet', () => {
    fc.assert(
      fc.property(
        announcement,
        key,
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        (sent, secret, extra) => {
          const packet = encodeAnnouncement(sent, secret);
          for (let length = 0; length < packet.length; length++)
            expect(decode(packet.subarray(0, length), secret).ok).toBe(false);
          expect(decode(Buffer.concat([packet, Buffer.from(extra)]), secret).ok).toBe(false);
        },
      ),
      { seed: 17_004, numRuns: 100 },
    );
  });

  it('refuses a valid packet with any single byte changed', () => {
    fc.assert(
      fc.property(
        announcement,
        key,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (sent, secret, at, flip) => {
          const packet = Buffer.from(encodeAnnouncement(sent, secret));
          packet[at % packet.length] ^= flip;
          expect(decode(packet, secret).ok).toBe(false);
        },
      ),
      { seed: 17_005, numRuns: 1_500 },
    );
  });

  it('refuses every byte of a valid packet set to 0x00 and to 0xff (lengths past the end)', () => {
    fc.assert(
      fc.property(announcement, key, (sent, secret) => {
        const packet = encodeAnnouncement(sent, secret);
        const accepted: string[] = [];
        for (let at = 0; at < packet.length; at++) {
          for (const value of [0x00, 0xff]) {
            if (packet[at] === value) continue;
            const changed = Buffer.from(packet);
            changed[at] = value;
            if (decodeAnnouncement(changed, secret).ok) accepted.push(`${at}=${value}`);
          }
        }
        expect(accepted).toEqual([]);
      }),
      { seed: 17_006, numRuns: 100 },
    );
  });

  it('refuses a valid packet under any other key, as a bad MAC', () => {
    fc.assert(
      fc.property(announcement, key, key, (sent, secret, other) => {
        fc.pre(!secret.equals(other));
        expect(decode(encodeAnnouncement(sent, other), secret)).toEqual({
          ok: false,
          reason: 'badMac',
        });
      }),
      { seed: 17_007, numRuns: 500 },
    );
  });

  it('accepts a re-sealed changed packet only as the exact encoding of what it decodes to', () => {
    // An attacker holding the key can write any bytes: the decoder still accepts only packets the
    // encoder could have written (no ignored bits, no slack), and never throws on the rest.
    fc.assert(
      fc.property(
        announcement,
        key,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (sent, secret, at, flip) => {
          const packet = encodeAnnouncement(sent, secret);
          const body = Buffer.from(packet.subarray(0, packet.length - MAC_BYTES));
          body[at % body.length] ^= flip;
          expectExactWhenAccepted(seal(body, secret), secret);
        },
      ),
      { seed: 17_008, numRuns: 1_500 },
    );
  });

  it('accepts re-sealed random bodies only as exact encodings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), key, (bytes, secret) => {
        expectExactWhenAccepted(seal(Buffer.from(bytes), secret), secret);
      }),
      { seed: 17_009, numRuns: 1_000 },
    );
  });

  it('checks the MAC before it reads the strings: bad text under a bad MAC is a bad MAC', () => {
    // Every byte of the namespace and the name set to 0xff (not UTF-8, not a name) with a forged
    // MAC: a decoder that read strings first would call it malformed.
    fc.assert(
      fc.property(announcement, key, (sent, secret) => {
        const valid = encodeAnnouncement(sent, secret);
        const withText = (namespace: string, node: string) =>
          encodeAnnouncement({ ...sent, namespace, node }, secret);
        // The text bytes are where two encodings with other text of the same lengths differ.
        const other = withText(
          sent.namespace.replace(/./g, c => (c === 'x' ? 'y' : 'x')),
          sent.node.replace(/[^@]/g, c => (c === 'a' ? 'b' : 'a')),
        );
        const forged = Buffer.from(valid);
        for (let at = 0; at < valid.length - MAC_BYTES; at++)
          if (valid[at] !== other[at]) forged[at] = 0xff;
        forged.fill(0, forged.length - MAC_BYTES);
        expect(decode(forged, secret)).toEqual({ ok: false, reason: 'badMac' });
        // The same bytes sealed with the right key pass the MAC and fail as text.
        const sealed = seal(forged.subarray(0, forged.length - MAC_BYTES), secret);
        expect(decode(sealed, secret)).toEqual({ ok: false, reason: 'malformed' });
      }),
      { seed: 17_010, numRuns: 300 },
    );
  });

  it('refuses oversized datagrams without hashing them (cost does not grow with size)', () => {
    const secret = randomBytes(32);
    const valid = encodeAnnouncement(
      {
        incarnation: 1n,
        counter: 1n,
        namespace: 'default',
        node: 'a@10.0.0.1',
        port: 4370,
        leaving: false,
      },
      secret,
    );
    // A valid header, then a full UDP payload of junk: hashing 64 KiB 20,000 times takes over a
    // second (1.3 GB through SHA-256); a length check takes microseconds. Best of three runs, so a
    // busy machine does not fail it.
    const huge = Buffer.alloc(MAX_UDP_PAYLOAD, 0x41);
    valid.copy(huge, 0, 0, valid.length - MAC_BYTES);
    let best = Infinity;
    let accepted = 0;
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      for (let i = 0; i < 20_000; i++) if (decodeAnnouncement(huge, secret).ok) accepted++;
      best = Math.min(best, performance.now() - started);
    }
    expect(accepted).toBe(0);
    expect(best).toBeLessThan(500);
  });
});
