import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { FragmentAssembler, MAX_PARTIAL_MESSAGES } from './fragment-assembler.js';
import { encodeFragmentHeader } from './fragment-header.js';
import { until } from '../../../test/support/wait.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const MiB = 1024 * 1024;

/** The payload of one fragment of message `id`. */
const fragment = (id: number, data: Buffer, last: boolean) =>
  Buffer.concat([encodeFragmentHeader(id, last), data]);

describe('FragmentAssembler', () => {
  it('returns a message when its last fragment arrives, interleaved with others', () => {
    const assembler = new FragmentAssembler(1024);
    expect(assembler.push(fragment(1, Buffer.from('he'), false))).toBeUndefined();
    expect(assembler.push(fragment(2, Buffer.from('wo'), false))).toBeUndefined();
    expect(assembler.push(fragment(1, Buffer.from('llo'), true))?.toString()).toBe('hello');
    expect(assembler.push(fragment(2, Buffer.from('rld'), true))?.toString()).toBe('world');
    expect(assembler.bytes).toBe(0);
  });

  it('returns a one-fragment message and keeps no view of a large socket chunk', () => {
    const assembler = new FragmentAssembler(1024);
    const chunk = Buffer.alloc(64 * 1024);
    const payload = fragment(9, Buffer.from('tiny'), true);
    payload.copy(chunk, 100);
    const message = assembler.push(chunk.subarray(100, 100 + payload.length));
    expect(message?.toString()).toBe('tiny');
    expect(message?.buffer.byteLength).toBeLessThan(chunk.length);
  });

  it('refuses a fragment shorter than its header', () => {
    expect(() => new FragmentAssembler(1024).push(Buffer.alloc(4))).toThrow(
      expect.objectContaining({ code: 'ERR_PROTOCOL' }),
    );
  });

  it(`refuses more than ${MAX_PARTIAL_MESSAGES} messages in progress at once`, () => {
    const assembler = new FragmentAssembler(1024 * 1024);
    for (let id = 1; id <= MAX_PARTIAL_MESSAGES; id++) {
      assembler.push(fragment(id, Buffer.from('x'), false));
    }
    expect(() =>
      assembler.push(fragment(MAX_PARTIAL_MESSAGES + 1, Buffer.from('x'), false)),
    ).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL' }));
    // a fragment of a message already in progress is still taken
    expect(assembler.push(fragment(1, Buffer.from('y'), true))?.toString()).toBe('xy');
  });

  it('bounds all reassemblies together by maxMessageBytes', () => {
    const assembler = new FragmentAssembler(100);
    assembler.push(fragment(1, Buffer.alloc(60), false));
    assembler.push(fragment(2, Buffer.alloc(40), false));
    expect(assembler.bytes).toBe(100);
    expect(() => assembler.push(fragment(3, Buffer.alloc(1), false))).toThrow(
      expect.objectContaining({ code: 'ERR_PROTOCOL' }),
    );
  });

  it('frees what a finished message held, and everything on clear', () => {
    const assembler = new FragmentAssembler(100);
    assembler.push(fragment(1, Buffer.alloc(60), false));
    assembler.push(fragment(1, Buffer.alloc(30), true));
    expect(assembler.bytes).toBe(0);
    assembler.push(fragment(2, Buffer.alloc(90), false));
    assembler.clear();
    expect(assembler.bytes).toBe(0);
    expect(assembler.push(fragment(3, Buffer.alloc(100), true))?.length).toBe(100);
  });

  /** Messages cut at the given points, as (id, data, last) fragments in a given interleaving. */
  const fragmentation = fc
    .array(
      fc.record({
        data: fc.uint8Array({ maxLength: 3_000 }),
        cuts: fc.array(fc.nat(3_000), { maxLength: 12 }),
      }),
      { minLength: 1, maxLength: 4 },
    )
    .chain(messages => {
      const pieces = messages.map(({ data, cuts }) => {
        const at = [...new Set(cuts.map(c => c % (data.length + 1)))].sort((a, b) => a - b);
        const bounds = [0, ...at, data.length];
        return bounds.slice(1).map((end, i) => Buffer.from(data.subarray(bounds[i], end)));
      });
      // each message's fragments stay in order; which message goes next is random
      const order = pieces.flatMap((parts, m) => parts.map(() => m));
      return fc
        .shuffledSubarray(order, { minLength: order.length, maxLength: order.length })
        .map(shuffled => ({
          messages: messages.map(m => Buffer.from(m.data)),
          pieces,
          order: shuffled,
        }));
    });

  it('returns exactly the bytes sent, however they were fragmented and interleaved', () => {
    fc.assert(
      fc.property(fragmentation, ({ messages, pieces, order }) => {
        const assembler = new FragmentAssembler(64 * 1024);
        const next = pieces.map(() => 0);
        const received = new Map<number, Buffer>();
        for (const m of order) {
          const part = next[m]++;
          const last = part === pieces[m]!.length - 1;
          const message = assembler.push(fragment(m + 1, pieces[m]![part]!, last));
          expect(message === undefined).toBe(!last);
          if (message) received.set(m, message);
        }
        messages.forEach((data, m) => expect(received.get(m)?.equals(data)).toBe(true));
        expect(assembler.bytes).toBe(0);
        expect(assembler.messages).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('copies each fragment once as it arrives, never more than one fragment in a push', () => {
    const FRAGMENT = 64 * 1024;
    const source = Buffer.alloc(4 * 1024 * 1024 + 123);
    for (let i = 0; i < source.length; i++) source[i] = (i * 7) & 0xff;
    const copies: number[] = [];
    const assembler = new FragmentAssembler(8 * 1024 * 1024, undefined, bytes =>
      copies.push(bytes),
    );
    let message: Buffer | undefined;
    for (let at = 0; at < source.length; at += FRAGMENT) {
      const data = source.subarray(at, at + FRAGMENT);
      copies.length = 0;
      message = assembler.push(fragment(1, data, at + FRAGMENT >= source.length));
      // what this push copied: this fragment's bytes, once
      expect(copies).toEqual([data.length]);
    }
    expect(message?.equals(source)).toBe(true);
  });

  it('returns a message in memory of exactly its size, so a view of it pins nothing more', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(70_000), { minLength: 2, maxLength: 6 }), sizes => {
        const assembler = new FragmentAssembler(1024 * 1024);
        let message: Buffer | undefined;
        sizes.forEach((size, i) => {
          message = assembler.push(fragment(1, Buffer.alloc(size, i), i === sizes.length - 1));
        });
        const total = sizes.reduce((a, b) => a + b, 0);
        expect(message?.length).toBe(total);
        expect(message?.byteOffset).toBe(0);
        expect(message?.buffer.byteLength).toBe(total);
      }),
      { numRuns: 50 },
    );
  });

  it('keeps all messages in progress within maxMessageBytes, whatever the peer sends', () => {
    const MAX = 10_000;
    fc.assert(
      fc.property(
        fc.array(fc.record({ id: fc.integer({ min: 1, max: 5 }), size: fc.nat(4_000) }), {
          maxLength: 40,
        }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        (sends, lasts) => {
          const assembler = new FragmentAssembler(MAX);
          for (const [i, { id, size }] of sends.entries()) {
            const held = assembler.bytes;
            const push = () => assembler.push(fragment(id, Buffer.alloc(size), lasts[i] ?? false));
            if (held + size > MAX) {
              expect(push).toThrow(expect.objectContaining({ code: 'ERR_PROTOCOL' }));
              return;
            }
            push();
            expect(assembler.bytes).toBeLessThanOrEqual(MAX);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('lets the memory of messages in progress be collected on clear', async () => {
    // Reassembly memory is outside V8's accounting (process.memoryUsage().arrayBuffers does not
    // see it), and the resident set of a shared test worker moves with other suites' garbage, so
    // this checks what clear() controls: that nothing keeps the messages' memory reachable.
    const data = Buffer.alloc(MiB, 0x5a);
    const assembler = new FragmentAssembler(64 * MiB);
    for (let i = 0; i < 8; i++) assembler.push(fragment(1 + (i % 2), data, false));
    const held = [
      ...(assembler as unknown as { partial: Map<number, { data: ArrayBuffer }> }).partial.values(),
    ].map(entry => new WeakRef(entry.data));
    expect(held).toHaveLength(2);
    expect(held.every(ref => ref.deref()!.byteLength === 4 * MiB)).toBe(true);
    assembler.clear();
    expect(assembler.bytes).toBe(0);
    await until(
      () => {
        gc();
        return held.every(ref => ref.deref() === undefined);
      },
      10_000,
      'the reassembly memory to be collected',
      50,
    );
  });

  describe('receive deadline', () => {
    const LIMITS = { failureTimeoutMs: 5_000, minReceiveBytesPerSecond: 1_000 };
    /** An assembler on a clock and a link byte counter the test sets. */
    function timed() {
      const clock = { t: 0, link: 0 };
      const assembler = new FragmentAssembler(1024 * 1024, {
        now: () => clock.t,
        received: () => clock.link,
      });
      return { clock, assembler };
    }

    it('finds nothing while no message is in progress', () => {
      const { assembler } = timed();
      expect(assembler.overdue(1e9, LIMITS)).toBeUndefined();
    });

    it('closes a message without a fragment for the failure timeout while the link idles', () => {
      const { clock, assembler } = timed();
      clock.link = 100;
      assembler.push(fragment(1, Buffer.alloc(100), false));
      clock.link += 50; // ticks meanwhile: 50 ms more at 1,000 B/s
      expect(assembler.overdue(5_050, LIMITS)).toBeUndefined();
      expect(assembler.overdue(5_051, LIMITS)).toEqual({
        unit: 'fragment',
        bytes: 50,
        elapsedMs: 5_051,
        allowedMs: 5_050,
      });
    });

    it('lets a message wait for its next fragment while the link carries other data', () => {
      const { clock, assembler } = timed();
      // Its own 20,000 bytes allow it 25 s in all (it keeps up with the minimum rate overall).
      assembler.push(fragment(1, Buffer.alloc(20_000), false));
      clock.link += 20_000; // other messages interleaved by the sender: 20 s more at 1,000 B/s
      expect(assembler.overdue(24_000, LIMITS)).toBeUndefined();
      expect(assembler.overdue(25_001, LIMITS)).toBeDefined();
    });

    it('does not cut a message that moves slowly because the link is busy with other messages', () => {
      const { clock, assembler } = timed();
      // The sender round-robins fragments with everything it has queued: on a busy link one
      // message gets a fraction of the rate. Its own 1,000 bytes per 5 s are far below the minimum.
      assembler.push(fragment(1, Buffer.alloc(1_000), false));
      for (clock.t = 5_000; clock.t <= 60_000; clock.t += 5_000) {
        clock.link += 10_000; // what the link carried meanwhile: twice the minimum rate
        assembler.push(fragment(1, Buffer.alloc(1_000), false));
        expect(assembler.overdue(clock.t, LIMITS)).toBeUndefined();
      }
    });

    it('closes a message whose own bytes come in below the minimum rate, even with fresh fragments', () => {
      const { clock, assembler } = timed();
      assembler.push(fragment(1, Buffer.alloc(1_000), false));
      for (clock.t = 500; clock.t <= 6_000; clock.t += 500) {
        assembler.push(fragment(1, Buffer.alloc(0), false));
        expect(assembler.overdue(clock.t, LIMITS)).toBeUndefined();
      }
      expect(assembler.overdue(6_001, LIMITS)).toEqual({
        unit: 'message',
        bytes: 1_000,
        elapsedMs: 6_001,
        allowedMs: 6_000,
      });
    });

    it('forgets a message once complete, and everything on clear', () => {
      const { clock, assembler } = timed();
      assembler.push(fragment(1, Buffer.alloc(10), false));
      assembler.push(fragment(2, Buffer.alloc(10), false));
      assembler.push(fragment(1, Buffer.alloc(10), true));
      expect(assembler.messages).toBe(1);
      assembler.clear();
      clock.t = 1e9;
      expect(assembler.messages).toBe(0);
      expect(assembler.overdue(clock.t, LIMITS)).toBeUndefined();
    });
  });
});
