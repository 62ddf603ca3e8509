import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { InvalidConfigError } from '../../core/index.js';
import {
  GOSSIP_KEY_LABEL,
  type GossipAnnouncement,
  MAX_PACKET,
  decodeAnnouncement,
  encodeAnnouncement,
} from './gossip-packet.js';

/** A fixed seed, so CI runs the same cases; fast-check prints it with any counterexample. */
const PROPERTY = { seed: 17, numRuns: 500 } as const;
const key = Buffer.alloc(32, 7);
const base: GossipAnnouncement = {
  incarnation: 0x0123456789abcdefn,
  counter: 42n,
  namespace: 'default',
  node: 'app@10.0.0.1',
  port: 4370,
  leaving: false,
};

const announcement = fc.record({
  incarnation: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  counter: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  namespace: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
  node: fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 60 })
    .filter(s => Buffer.byteLength(s) <= 255),
  port: fc.integer({ min: 1, max: 65_535 }),
  leaving: fc.boolean(),
});

describe('gossip packet', () => {
  it('names its key label', () => {
    expect(GOSSIP_KEY_LABEL).toBe('gen-cluster gossip v1');
  });

  it('round-trips every announcement', () => {
    fc.assert(
      fc.property(announcement, a => {
        const packet = encodeAnnouncement(a, key);
        expect(packet.length).toBeLessThanOrEqual(MAX_PACKET);
        expect(decodeAnnouncement(packet, key)).toEqual({ ok: true, announcement: a });
      }),
      PROPERTY,
    );
  });

  it('lays the fields out as documented, the MAC over every byte before it', () => {
    const packet = encodeAnnouncement({ ...base, leaving: true }, key);
    expect(packet.subarray(0, 4).toString('latin1')).toBe('GCG1');
    expect(packet[4]).toBe(1);
    expect(packet[5]).toBe(1);
    expect(packet.readUInt16BE(6)).toBe(4370);
    expect(packet.readBigUInt64BE(8)).toBe(base.incarnation);
    expect(packet.readBigUInt64BE(16)).toBe(42n);
    expect(packet[24]).toBe(7);
    expect(packet.subarray(25, 32).toString()).toBe('default');
    expect(packet[32]).toBe(12);
    expect(packet.subarray(33, 45).toString()).toBe('app@10.0.0.1');
    expect(packet.length).toBe(45 + 16);
    const mac = createHmac('sha256', key).update(packet.subarray(0, 45)).digest().subarray(0, 16);
    expect(packet.subarray(45)).toEqual(mac);
  });

  it('refuses a packet after a flip of any one of its bytes', () => {
    const packet = encodeAnnouncement(base, key);
    for (let i = 0; i < packet.length; i++) {
      for (const bit of [0x01, 0x80, 0xff]) {
        const tampered = Buffer.from(packet);
        tampered[i]! ^= bit;
        const decoded = decodeAnnouncement(tampered, key);
        expect({ i, bit, ok: decoded.ok }).toEqual({ i, bit, ok: false });
      }
    }
  });

  it('refuses any tampered byte of any announcement', () => {
    fc.assert(
      fc.property(announcement, fc.nat(), fc.integer({ min: 1, max: 255 }), (a, at, bits) => {
        const packet = encodeAnnouncement(a, key);
        packet[at % packet.length]! ^= bits;
        expect(decodeAnnouncement(packet, key).ok).toBe(false);
      }),
      PROPERTY,
    );
  });

  it('calls a packet signed with another key badMac', () => {
    const packet = encodeAnnouncement(base, Buffer.alloc(32, 8));
    expect(decodeAnnouncement(packet, key)).toEqual({ ok: false, reason: 'badMac' });
  });

  it('calls a short, long, truncated or extended packet malformed', () => {
    const packet = encodeAnnouncement(base, key);
    for (const bad of [
      Buffer.alloc(0),
      Buffer.alloc(43),
      Buffer.alloc(MAX_PACKET + 1),
      packet.subarray(0, packet.length - 1),
      Buffer.concat([packet, Buffer.alloc(1)]),
    ]) {
      expect(decodeAnnouncement(bad, key)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('calls another magic, version or unknown flag malformed before checking the MAC', () => {
    for (const [at, value] of [
      [0, 0x48],
      [4, 2],
      [5, 0x02],
    ] as const) {
      const packet = encodeAnnouncement(base, key);
      packet[at] = value;
      expect(decodeAnnouncement(packet, key)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('calls length bytes that do not match the size malformed', () => {
    for (const [at, value] of [
      [24, 0],
      [24, 65],
      [24, 200],
      [32, 0],
      [32, 11],
      [32, 13],
    ] as const) {
      const packet = encodeAnnouncement(base, key);
      packet[at] = value;
      expect(decodeAnnouncement(packet, key)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('calls a well-signed packet with port 0 or bytes that are not UTF-8 malformed', () => {
    const resign = (packet: Buffer) => {
      const macAt = packet.length - 16;
      createHmac('sha256', key)
        .update(packet.subarray(0, macAt))
        .digest()
        .subarray(0, 16)
        .copy(packet, macAt);
      return packet;
    };
    const zeroPort = encodeAnnouncement(base, key);
    zeroPort.writeUInt16BE(0, 6);
    expect(decodeAnnouncement(resign(zeroPort), key)).toEqual({ ok: false, reason: 'malformed' });
    const badUtf8 = encodeAnnouncement(base, key);
    badUtf8[33] = 0xff;
    expect(decodeAnnouncement(resign(badUtf8), key)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('never throws on random bytes', () => {
    for (let i = 0; i < 2_000; i++) {
      const bytes = randomBytes(i % (MAX_PACKET + 10));
      if (i % 2 === 0 && bytes.length >= 4) bytes.write('GCG1\x01\x00', 0, 'latin1');
      expect(decodeAnnouncement(bytes, key).ok).toBe(false);
    }
  });

  it.each([
    ['namespace', { namespace: 'n'.repeat(65) }],
    ['namespace', { namespace: '' }],
    ['node', { node: 'é'.repeat(128) }],
    ['node', { node: '' }],
    ['port', { port: 0 }],
    ['port', { port: 65_536 }],
    ['incarnation', { incarnation: -1n }],
    ['counter', { counter: 2n ** 64n }],
  ] as const)('refuses to encode a bad %s', (option, change) => {
    const error = (() => {
      try {
        encodeAnnouncement({ ...base, ...change }, key);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error).toMatchObject({ option, message: expect.stringContaining('Gossip') });
  });
});
