import { FragmentAssembler, MAX_PARTIAL_MESSAGES } from './fragment-assembler.js';
import { encodeFragmentHeader } from './fragment-header.js';

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
