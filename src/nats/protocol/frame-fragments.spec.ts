/** Messages over the payload limit: fragments, reassembly, and what a reader refuses of them. */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { FrameReader, type FrameResult } from './frame-reader.js';
import { FrameWriter } from './frame-writer.js';

const KEY = randomBytes(32);
const A_INC = 'aaaaaaaaaaaaaaa1';
const B_INC = 'bbbbbbbbbbbbbbb1';
const MAX_PAYLOAD = 200;

function writer(self = 'a@h', key: Buffer | null = KEY, maxPayloadBytes = MAX_PAYLOAD) {
  return new FrameWriter({ self, incarnation: A_INC, key, maxPayloadBytes });
}
function reader(maxMessageBytes = 10_000, key: Buffer | null = KEY) {
  return new FrameReader({ incarnation: B_INC, key, maxMessageBytes });
}
const refused = (reason: string): FrameResult => ({ kind: 'refused', reason }) as FrameResult;

/** Feeds every payload; the last answer, all before it must be `partial`. */
function feed(r: FrameReader, payloads: readonly Buffer[]): FrameResult {
  for (const p of payloads.slice(0, -1)) expect(r.accept(p)).toEqual({ kind: 'partial' });
  return r.accept(payloads[payloads.length - 1]!);
}

describe('fragmented messages', () => {
  it('fragments exactly at the limit: a body that fits is one payload, one byte more is two', () => {
    for (const key of [KEY, null]) {
      const w = writer('a@h', key);
      const fits = MAX_PAYLOAD - w.overheadBytes;
      const single = w.encode(B_INC, [Buffer.alloc(fits, 1)]);
      expect(single.map(p => p.length)).toEqual([MAX_PAYLOAD]);
      const split = w.encode(B_INC, [Buffer.alloc(fits + 1, 2)]);
      expect(split).toHaveLength(2);
      expect(split[0]!.length).toBe(MAX_PAYLOAD);
      for (const p of split) expect(p.length).toBeLessThanOrEqual(MAX_PAYLOAD);
      const r = reader(10_000, key);
      expect(r.accept(single[0]!).kind).toBe('message');
      const result = feed(r, split);
      expect(result.kind === 'message' && result.body.equals(Buffer.alloc(fits + 1, 2))).toBe(true);
    }
  });

  it('fills every fragment to the limit, the last with the rest', () => {
    const w = writer();
    const room = MAX_PAYLOAD - w.overheadBytes - 8;
    for (const size of [2 * room, 2 * room + 1, 3 * room - 1]) {
      const payloads = w.encode(B_INC, [randomBytes(size)]);
      expect(payloads).toHaveLength(Math.ceil(size / room));
      for (const p of payloads.slice(0, -1)) expect(p.length).toBe(MAX_PAYLOAD);
    }
  });

  it('reassembles any message cut across any parts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 700 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 123, max: 400 }),
        (parts, maxPayloadBytes) => {
          const w = writer('a@h', KEY, maxPayloadBytes);
          const buffers = parts.map(p => Buffer.from(p));
          const payloads = w.encode(B_INC, buffers);
          for (const p of payloads) expect(p.length).toBeLessThanOrEqual(maxPayloadBytes);
          const result = feed(reader(), payloads);
          expect(result).toEqual({
            kind: 'message',
            from: 'a@h',
            fromIncarnation: A_INC,
            body: Buffer.concat(buffers),
          });
        },
      ),
      { seed: 18_301, numRuns: 300 },
    );
  });

  it('refuses a fragment that does not follow (one lost) and drops the message under way', () => {
    const w = writer();
    const r = reader();
    const payloads = w.encode(B_INC, [randomBytes(600)]);
    expect(payloads.length).toBeGreaterThanOrEqual(4);
    expect(r.accept(payloads[0]!)).toEqual({ kind: 'partial' });
    expect(r.accept(payloads[2]!)).toEqual(refused('fragmentOrder'));
    expect(r.droppedPartials).toBe(1);
    expect(r.accept(payloads[3]!)).toEqual(refused('fragmentOrder'));
    // the next message arrives whole
    const next = feed(r, w.encode(B_INC, [Buffer.from('after')]));
    expect(next.kind).toBe('message');
  });

  it('refuses fragments of two messages interleaved', () => {
    const w = writer();
    const r = reader();
    const first = w.encode(B_INC, [randomBytes(400)]);
    const second = w.encode(B_INC, [randomBytes(400)]);
    expect(r.accept(first[0]!)).toEqual({ kind: 'partial' });
    expect(r.accept(second[0]!)).toEqual({ kind: 'partial' }); // replaces the first
    expect(r.accept(first[1]!)).toEqual(refused('replayed')); // its seq is behind
    expect(r.droppedPartials).toBe(1);
    expect(feed(r, second.slice(1)).kind).toBe('message');
  });

  it('drops a message under way when a whole message of the same sender overtakes it', () => {
    const w = writer();
    const r = reader();
    const big = w.encode(B_INC, [randomBytes(400)]);
    const small = w.encode(B_INC, [Buffer.from('small')]);
    r.accept(big[0]!);
    expect(r.accept(small[0]!).kind).toBe('message');
    expect(r.droppedPartials).toBe(1);
    expect(r.accept(big[1]!)).toEqual(refused('replayed'));
  });

  it('keeps the fragments of different senders apart', () => {
    const r = reader();
    const fromA = writer('a@h').encode(B_INC, [Buffer.alloc(250, 'a')]);
    const fromC = writer('c@h').encode(B_INC, [Buffer.alloc(250, 'c')]);
    const results = [fromA[0], fromC[0], fromA[1], fromC[1]].map(p => r.accept(p!));
    expect(results.map(x => x.kind)).toEqual(['partial', 'partial', 'message', 'message']);
  });

  it('refuses a message over maxMessageBytes on its first fragment without buffering it', () => {
    const w = writer();
    const r = reader(500);
    const payloads = w.encode(B_INC, [randomBytes(501)]);
    for (const p of payloads) expect(r.accept(p)).toEqual(refused('tooLarge'));
    expect(r.droppedPartials).toBe(0);
    const fits = w.encode(B_INC, [randomBytes(500)]);
    expect(feed(r, fits).kind).toBe('message');
  });

  it('refuses a fragment signed with another key, leaving the message under way intact', () => {
    const r = reader();
    const payloads = writer().encode(B_INC, [randomBytes(250)]);
    const forged = writer('a@h', randomBytes(32)).encode(B_INC, [randomBytes(250)]);
    r.accept(payloads[0]!);
    expect(r.accept(forged[1]!)).toEqual(refused('badMac'));
    expect(r.accept(payloads[1]!).kind).toBe('message');
  });

  it('reassembles without a key too', () => {
    const payloads = writer('a@h', null).encode(B_INC, [Buffer.alloc(1000, 7)]);
    const result = feed(reader(10_000, null), payloads);
    expect(result.kind === 'message' && result.body.equals(Buffer.alloc(1000, 7))).toBe(true);
  });

  it('forgets a message under way with its sender', () => {
    const r = reader();
    const payloads = writer().encode(B_INC, [randomBytes(250)]);
    r.accept(payloads[0]!);
    r.forget('a@h');
    expect(r.droppedPartials).toBe(1);
    expect(r.accept(payloads[1]!)).toEqual(refused('fragmentOrder'));
  });
});

describe('partial messages held by a reader', () => {
  const senderWriter = (self: string, incarnation: string) =>
    new FrameWriter({ self, incarnation, key: KEY, maxPayloadBytes: MAX_PAYLOAD });

  it('drops a dead sender’s message under way without forgetting its seqs (dropPartial)', () => {
    const r = reader();
    const payloads = writer().encode(B_INC, [randomBytes(500)]);
    expect(r.accept(payloads[0]!)).toEqual({ kind: 'partial' });
    expect(r.bufferedPartialBytes).toBeGreaterThan(0);
    r.dropPartial('a@h');
    expect(r.bufferedPartialBytes).toBe(0);
    expect(r.droppedPartials).toBe(1);
    expect(r.accept(payloads[1]!)).toEqual(refused('fragmentOrder'));
    // Still remembered: the first fragment again is a replay.
    expect(r.accept(payloads[0]!)).toEqual(refused('replayed'));
  });

  it('caps the bytes buffered across senders: the oldest message under way goes first', () => {
    const r = new FrameReader({
      incarnation: B_INC,
      key: KEY,
      maxMessageBytes: 1_000,
      maxPartialBytes: 300,
    });
    const first = senderWriter('a@h', A_INC).encode(B_INC, [randomBytes(900)]);
    const second = senderWriter('c@h', 'ccccccccccccccc1').encode(B_INC, [randomBytes(900)]);
    expect(r.accept(first[0]!)).toEqual({ kind: 'partial' });
    expect(r.accept(second[0]!)).toEqual({ kind: 'partial' });
    expect(r.accept(second[1]!)).toEqual({ kind: 'partial' });
    expect(r.bufferedPartialBytes).toBeLessThanOrEqual(300);
    expect(r.accept(first[1]!)).toEqual(refused('fragmentOrder'));
  });

  it('sweeps a message under way with no fragment for partialTimeoutMs', () => {
    let now = 0;
    const r = new FrameReader({
      incarnation: B_INC,
      key: KEY,
      maxMessageBytes: 10_000,
      partialTimeoutMs: 100,
      clock: () => now,
    });
    const payloads = writer().encode(B_INC, [randomBytes(500)]);
    r.accept(payloads[0]!);
    now = 100;
    r.sweep();
    expect(r.bufferedPartialBytes).toBeGreaterThan(0);
    now = 101;
    r.sweep();
    expect(r.bufferedPartialBytes).toBe(0);
    expect(r.accept(payloads[1]!)).toEqual(refused('fragmentOrder'));
  });
});

describe('a writer whose payload limit is read at each message', () => {
  it('fragments to the limit known now, with one seq counter', () => {
    let limit = 1_000;
    const w = new FrameWriter({
      self: 'a@h',
      incarnation: A_INC,
      key: KEY,
      maxPayloadBytes: () => limit,
    });
    const r = reader();
    const body = randomBytes(500);
    expect(w.encode(B_INC, [body])).toHaveLength(1);
    limit = MAX_PAYLOAD;
    const split = w.encode(B_INC, [body]);
    expect(split.length).toBeGreaterThan(1);
    expect(r.accept(w.encode(B_INC, [Buffer.from('x')])[0]!).kind).toBe('message');
    // Earlier seqs than the last taken are refused: one counter across limits.
    expect(r.accept(split[0]!)).toEqual(refused('replayed'));
  });
});
