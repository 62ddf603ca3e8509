/**
 * Whole-message frames: round trips, the MAC over every byte, hostile input, replays, the
 * destination and the auth mode. Fragments: frame-fragments.spec.ts.
 */
import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { InvalidConfigError } from '../../core/index.js';
import { FrameReader, type FrameResult } from './frame-reader.js';
import { FrameWriter } from './frame-writer.js';

const KEY = randomBytes(32);
const A_INC = 'aaaaaaaaaaaaaaa1';
const B_INC = 'bbbbbbbbbbbbbbb1';
const C_INC = 'ccccccccccccccc1';

function writer(
  self = 'a@h',
  incarnation = A_INC,
  key: Buffer | null = KEY,
  maxPayloadBytes = 1 << 20,
) {
  return new FrameWriter({ self, incarnation, key, maxPayloadBytes });
}
function reader(incarnation = B_INC, key: Buffer | null = KEY, maxMessageBytes = 1 << 20) {
  return new FrameReader({ incarnation, key, maxMessageBytes });
}
function one(w: FrameWriter, body: string | Buffer, to = B_INC): Buffer {
  const payloads = w.encode(to, [Buffer.from(body)]);
  expect(payloads).toHaveLength(1);
  return payloads[0]!;
}
const refused = (reason: string): FrameResult => ({ kind: 'refused', reason }) as FrameResult;

describe('FrameWriter / FrameReader', () => {
  it('delivers the concatenated parts, with the sender and its start', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }),
        fc.boolean(),
        (parts, signed) => {
          const key = signed ? KEY : null;
          const w = writer('a@h', A_INC, key);
          const r = reader(B_INC, key);
          const buffers = parts.map(p => Buffer.from(p));
          const [payload, ...rest] = w.encode(B_INC, buffers);
          expect(rest).toHaveLength(0);
          expect(payload!.length).toBe(w.overheadBytes + Buffer.concat(buffers).length);
          expect(r.accept(payload!)).toEqual({
            kind: 'message',
            from: 'a@h',
            fromIncarnation: A_INC,
            body: Buffer.concat(buffers),
          });
        },
      ),
      { seed: 18_201, numRuns: 300 },
    );
  });

  it('signs with HMAC-SHA256/16 over every byte before the MAC', () => {
    const payload = one(writer(), 'hello');
    const mac = createHmac('sha256', KEY)
      .update(payload.subarray(0, payload.length - 16))
      .digest()
      .subarray(0, 16);
    expect(payload.subarray(payload.length - 16).equals(mac)).toBe(true);
    expect(payload.subarray(0, 4).toString('latin1')).toBe('GCNF');
  });

  it('states its overhead: 32 header bytes, the name, 16 MAC bytes (none without a key)', () => {
    expect(writer('a@h').overheadBytes).toBe(32 + 3 + 16);
    expect(writer('a@h', A_INC, null).overheadBytes).toBe(32 + 3);
  });

  it('refuses every single byte changed (each with a fresh reader, so none is a replay)', () => {
    const payload = one(writer(), 'a message body');
    for (let at = 0; at < payload.length; at++) {
      const changed = Buffer.from(payload);
      changed[at]! ^= 0x01;
      expect(reader().accept(changed).kind).toBe('refused');
    }
  });

  it('never throws on truncations, extensions and random bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 40 }),
        fc.boolean(),
        (body, cut, extra, signed) => {
          const key = signed ? KEY : null;
          const payload = one(writer('a@h', A_INC, key), Buffer.from(body));
          const r = reader(B_INC, key);
          const truncated = r.accept(payload.subarray(0, cut % payload.length));
          if (signed) expect(truncated.kind).toBe('refused');
          const extended = reader(B_INC, key).accept(Buffer.concat([payload, extra]));
          if (signed && extra.length > 0) expect(extended.kind).toBe('refused');
        },
      ),
      { seed: 18_202, numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, signed) => {
        const r = reader(B_INC, signed ? KEY : null);
        const framed = Buffer.concat([Buffer.from('GCNF\x01', 'latin1'), bytes]);
        for (const payload of [Buffer.from(bytes), framed]) {
          const result = r.accept(payload);
          if (signed) expect(result.kind).toBe('refused');
        }
      }),
      { seed: 18_203, numRuns: 1_000 },
    );
  });

  it('refuses a frame signed with another key', () => {
    expect(reader().accept(one(writer('a@h', A_INC, randomBytes(32)), 'x'))).toEqual(
      refused('badMac'),
    );
  });

  it('refuses a replayed frame, and an older one', () => {
    const w = writer();
    const r = reader();
    const first = one(w, '1');
    const second = one(w, '2');
    expect(r.accept(first).kind).toBe('message');
    expect(r.accept(second).kind).toBe('message');
    expect(r.accept(second)).toEqual(refused('replayed'));
    expect(r.accept(first)).toEqual(refused('replayed'));
  });

  it('takes seq gaps (frames to other nodes share the sequence)', () => {
    const w = writer();
    const r = reader();
    one(w, 'to c', C_INC);
    expect(r.accept(one(w, 'to b')).kind).toBe('message');
  });

  it("refuses the frames of a sender's earlier start after it restarted", () => {
    const r = reader();
    const old = writer('a@h', 'aaaaaaaaaaaaaaa1');
    const early = one(old, 'early');
    const late = one(old, 'late');
    expect(r.accept(early).kind).toBe('message');
    expect(r.accept(late).kind).toBe('message');
    const restarted = writer('a@h', 'aaaaaaaaaaaaaaa2');
    expect(r.accept(one(restarted, 'new start')).kind).toBe('message');
    expect(r.accept(late)).toEqual(refused('replayed'));
    expect(r.accept(early)).toEqual(refused('replayed'));
  });

  it('refuses a frame replayed to another inbox', () => {
    const toB = one(writer(), 'for b only');
    expect(reader(C_INC).accept(toB)).toEqual(refused('wrongDestination'));
    // and to a later start of the same node
    expect(reader('bbbbbbbbbbbbbbb2').accept(toB)).toEqual(refused('wrongDestination'));
  });

  it('refuses an unsigned frame when it has a key, and a signed one when it has none', () => {
    expect(reader(B_INC, KEY).accept(one(writer('a@h', A_INC, null), 'x'))).toEqual(
      refused('authMismatch'),
    );
    expect(reader(B_INC, null).accept(one(writer('a@h', A_INC, KEY), 'x'))).toEqual(
      refused('authMismatch'),
    );
  });

  it('refuses a whole message over maxMessageBytes', () => {
    const r = reader(B_INC, KEY, 10);
    expect(r.accept(one(writer(), '0123456789')).kind).toBe('message');
    expect(r.accept(one(writer('b@h'), '0123456789a'))).toEqual(refused('tooLarge'));
  });

  it('stays within maxSenders, forgetting the least recently heard first', () => {
    const r = new FrameReader({
      incarnation: B_INC,
      key: KEY,
      maxMessageBytes: 100,
      maxSenders: 2,
    });
    const writers = ['x@h', 'y@h', 'z@h'].map(name => writer(name));
    const firstOfX = one(writers[0]!, 'x1');
    r.accept(firstOfX);
    r.accept(one(writers[1]!, 'y1'));
    r.accept(one(writers[0]!, 'x2')); // x is the most recent now
    r.accept(one(writers[2]!, 'z1')); // y goes
    expect(r.size).toBe(2);
    expect(r.accept(firstOfX)).toEqual(refused('replayed'));
  });

  it('forgets a sender on request', () => {
    const r = reader();
    r.accept(one(writer(), 'x'));
    r.forget('a@h');
    r.forget('unknown@h');
    expect(r.size).toBe(0);
  });

  it('reads a Uint8Array view and answers a view of it (no copy) for a whole message', () => {
    const payload = one(writer(), 'zero copy');
    const big = new Uint8Array(payload.length + 8);
    big.set(payload, 4);
    const result = reader().accept(big.subarray(4, 4 + payload.length));
    expect(result.kind).toBe('message');
    if (result.kind === 'message') {
      expect(result.body.toString()).toBe('zero copy');
      expect(result.body.buffer).toBe(big.buffer);
    }
  });

  it('refuses bad construction options', () => {
    expect(() => writer('', A_INC)).toThrow(InvalidConfigError);
    expect(() => writer('x'.repeat(256), A_INC)).toThrow(InvalidConfigError);
    expect(() => writer('a@h', 'nothex')).toThrow(InvalidConfigError);
    expect(() => writer('a@h', A_INC, KEY, 100)).toThrow(InvalidConfigError);
    expect(() => writer().encode('*', [])).toThrow(InvalidConfigError);
    expect(() => reader('nothex')).toThrow(InvalidConfigError);
    expect(() => reader(B_INC, KEY, 0)).toThrow(InvalidConfigError);
  });
});
