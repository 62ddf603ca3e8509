/**
 * The presence codec under hostile input: whatever arrives on a presence subject or an inbox
 * (random bytes, cut or padded packets, one byte changed, another key) is refused without an
 * exception, and only the exact encoding of an announcement under the right key is accepted.
 */
import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { InvalidConfigError } from '../../core/index.js';
import { FrameWriter } from './frame-writer.js';
import {
  MAX_PRESENCE_BYTES,
  type PresenceAnnouncement,
  decodePresence,
  encodePresence,
  isPresencePayload,
} from './presence-codec.js';

const KEY = randomBytes(32);
const hex16 = fc
  .uint8Array({ minLength: 8, maxLength: 8 })
  .map(bytes => Buffer.from(bytes).toString('hex'));
const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const announcement: fc.Arbitrary<PresenceAnnouncement> = fc.record(
  {
    kind: fc.constantFrom('alive', 'hello', 'reply', 'leaving'),
    node: fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 60 })
      .filter(node => Buffer.byteLength(node) <= 255),
    incarnation: hex16,
    counter: safe,
    startedAt: safe,
    port: fc.integer({ min: 0, max: 65_535 }),
    // All zeros is "no destination" on the wire.
    to: hex16.filter(to => to !== '0000000000000000'),
  },
  { requiredKeys: ['kind', 'node', 'incarnation', 'counter', 'startedAt', 'port'] },
);
const SAMPLE: PresenceAnnouncement = {
  kind: 'hello',
  node: 'api@10.0.0.1',
  incarnation: '00112233445566ff',
  counter: 7,
  startedAt: 1_760_000_000_000,
  port: 4370,
};

/** Accepted only as the exact bytes the encoder makes of what was decoded. */
function expectExactWhenAccepted(packet: Buffer): void {
  const result = decodePresence(packet, KEY);
  if (result.ok) expect(encodePresence(result.announcement, KEY).equals(packet)).toBe(true);
  else expect(['malformed', 'badMac', 'version']).toContain(result.reason);
}

describe('encodePresence / decodePresence', () => {
  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(announcement, a => {
        expect(decodePresence(encodePresence(a, KEY), KEY)).toEqual({ ok: true, announcement: a });
      }),
      { seed: 18_101, numRuns: 500 },
    );
  });

  it('signs with HMAC-SHA256/16 over every byte before the MAC', () => {
    const packet = encodePresence(SAMPLE, KEY);
    const body = packet.subarray(0, packet.length - 16);
    const mac = createHmac('sha256', KEY).update(body).digest().subarray(0, 16);
    expect(packet.subarray(packet.length - 16).equals(mac)).toBe(true);
    expect(packet.subarray(0, 4).toString('latin1')).toBe('GCNP');
  });

  it('refuses every single byte changed', () => {
    const packet = encodePresence(SAMPLE, KEY);
    for (let at = 0; at < packet.length; at++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const changed = Buffer.from(packet);
        changed[at]! ^= flip;
        const result = decodePresence(changed, KEY);
        expect(result.ok).toBe(false);
      }
    }
  });

  it('refuses a packet signed with another key as badMac', () => {
    expect(decodePresence(encodePresence(SAMPLE, randomBytes(32)), KEY)).toEqual({
      ok: false,
      reason: 'badMac',
    });
  });

  it('binds a reply to the start it answers: its destination is under the MAC', () => {
    const reply = { ...SAMPLE, kind: 'reply' as const, to: '0123456789abcdef' };
    const packet = encodePresence(reply, createSecretKey(KEY));
    expect(packet.toString('hex', 32, 40)).toBe('0123456789abcdef');
    expect(decodePresence(packet, createSecretKey(KEY))).toEqual({ ok: true, announcement: reply });
    // Another start's incarnation written over it: refused as forged.
    packet.write('0123456789abcdee', 32, 8, 'hex');
    expect(decodePresence(packet, KEY)).toEqual({ ok: false, reason: 'badMac' });
    // A broadcast carries no destination (8 zero bytes), decoded as unset.
    const broadcast = encodePresence(SAMPLE, KEY);
    expect(broadcast.subarray(32, 40).equals(Buffer.alloc(8))).toBe(true);
    expect(decodePresence(broadcast, KEY)).toEqual({ ok: true, announcement: SAMPLE });
  });

  it('tells a later version apart from garbage', () => {
    const packet = encodePresence(SAMPLE, KEY);
    packet[4] = 2;
    expect(decodePresence(packet, KEY)).toEqual({ ok: false, reason: 'version' });
  });

  it('skips signed extensions a later release may add', () => {
    const extension = Buffer.from('capabilities');
    const plain = encodePresence(SAMPLE, KEY);
    const nameEnd = 41 + Buffer.byteLength(SAMPLE.node);
    const body = Buffer.concat([
      plain.subarray(0, nameEnd),
      Buffer.from([0, extension.length]),
      extension,
    ]);
    const mac = createHmac('sha256', KEY).update(body).digest().subarray(0, 16);
    expect(decodePresence(Buffer.concat([body, mac]), KEY)).toEqual({
      ok: true,
      announcement: SAMPLE,
    });
  });

  it('never throws on truncations, extensions and random bytes, and accepts only exact packets', () => {
    fc.assert(
      fc.property(announcement, fc.nat(), fc.uint8Array({ maxLength: 40 }), (a, cut, extra) => {
        const packet = encodePresence(a, KEY);
        expectExactWhenAccepted(packet.subarray(0, cut % packet.length));
        expectExactWhenAccepted(Buffer.concat([packet, extra]));
      }),
      { seed: 18_102, numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: MAX_PRESENCE_BYTES + 10 }), bytes => {
        expectExactWhenAccepted(Buffer.from(bytes));
        // With the magic and version of a real packet, so the length checks are reached.
        const framed = Buffer.concat([Buffer.from('GCNP\x01', 'latin1'), bytes]);
        expectExactWhenAccepted(framed);
      }),
      { seed: 18_103, numRuns: 1_000 },
    );
  });

  it('decodes from a Uint8Array view inside a larger buffer', () => {
    const packet = encodePresence(SAMPLE, KEY);
    const big = new Uint8Array(packet.length + 20);
    big.set(packet, 10);
    expect(decodePresence(big.subarray(10, 10 + packet.length), KEY).ok).toBe(true);
  });

  it.each<[string, Partial<PresenceAnnouncement>]>([
    ['an empty name', { node: '' }],
    ['a name over 255 bytes', { node: 'é'.repeat(128) }],
    ['a port over 65535', { port: 65_536 }],
    ['a negative counter', { counter: -1 }],
    ['an unsafe counter', { counter: 2 ** 53 }],
    ['a fractional start time', { startedAt: 1.5 }],
    ['an uppercase incarnation', { incarnation: '00112233445566FF' }],
    ['a destination that is not an incarnation', { to: 'abc' }],
    ['an unknown kind', { kind: 'bye' as never }],
  ])('refuses to encode %s', (_what, change) => {
    expect(() => encodePresence({ ...SAMPLE, ...change }, KEY)).toThrow(InvalidConfigError);
  });
});

describe('isPresencePayload', () => {
  it('tells a presence from a frame by its magic', () => {
    const frame = new FrameWriter({
      self: 'a@h',
      incarnation: SAMPLE.incarnation,
      key: KEY,
      maxPayloadBytes: 1024,
    }).encode(SAMPLE.incarnation, [Buffer.from('x')])[0]!;
    expect(isPresencePayload(encodePresence(SAMPLE, KEY))).toBe(true);
    expect(isPresencePayload(frame)).toBe(false);
    expect(isPresencePayload(new Uint8Array([0x47, 0x43, 0x4e]))).toBe(false);
  });
});
