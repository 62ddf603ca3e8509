// Over 450 lines: the decoder's property tests and its edge cases belong together, beside one codec.
import { jest } from '@jest/globals';
import fc from 'fast-check';
import { GenClusterError, InvalidConfigError, MAX_INT32 } from '../../core/index.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameType,
  encodeFrame,
  encodeFrameHeader,
} from './frame-codec.js';
import { FrameError } from './tcp.errors.js';

interface Frame {
  type: number;
  payload: Buffer;
}

/** A decoder that records what it delivers. */
function recorder(maxFrameBytes?: number) {
  const frames: Frame[] = [];
  const errors: GenClusterError[] = [];
  const decoder = new FrameDecoder({
    ...(maxFrameBytes === undefined ? {} : { maxFrameBytes }),
    onFrame: (type, payload) => frames.push({ type, payload: Buffer.from(payload) }),
    onError: error => errors.push(error),
  });
  return { decoder, frames, errors };
}

/** Splits `bytes` at the given cut points (any order, duplicates and out-of-range ones ignored). */
function split(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map(c => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) chunks.push(bytes.subarray(start, point));
    start = Math.max(start, point);
  }
  return chunks;
}

function lengthField(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length, 0);
  return b;
}

const PROPERTY = { seed: 1, numRuns: 200 } as const;

/** Payload bytes from a seed, so large payloads cost no per-byte generation. */
function pattern(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (seed + i * 131) & 0xff;
  return b;
}

const frameArb: fc.Arbitrary<Frame> = fc.record({
  type: fc.integer({ min: 0, max: 255 }),
  payload: fc.oneof(
    { weight: 8, arbitrary: fc.uint8Array({ maxLength: 64 }).map(a => Buffer.from(a)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 16_000, max: 40_000 }), fc.nat(255))
        .map(([length, seed]) => pattern(length, seed)),
    },
  ),
});

/** Frames as comparable text (jest's deep equality on large buffers is slow). */
function digest(frames: readonly Frame[]): string[] {
  return frames.map(f => `${f.type}:${f.payload.toString('base64')}`);
}

describe('encodeFrame', () => {
  it('writes L = payload length + 1, big-endian, then the type and the payload', () => {
    const frame = encodeFrame(FrameType.Data, Buffer.from('hello'));
    expect(frame.subarray(0, 4)).toEqual(Buffer.from([0, 0, 0, 6]));
    expect(frame[4]).toBe(FrameType.Data);
    expect(frame.subarray(FRAME_HEADER_BYTES).toString()).toBe('hello');
  });

  it('encodes an empty-payload frame (a tick) as L = 1 and the type', () => {
    expect(encodeFrame(FrameType.Tick)).toEqual(Buffer.from([0, 0, 0, 1, FrameType.Tick]));
    expect(encodeFrame(FrameType.Tick, new Uint8Array(0))).toEqual(
      Buffer.from([0, 0, 0, 1, FrameType.Tick]),
    );
  });

  it('accepts any Uint8Array payload', () => {
    const frame = encodeFrame(7, new Uint8Array([1, 2, 3]));
    expect([...frame]).toEqual([0, 0, 0, 4, 7, 1, 2, 3]);
  });

  it('writes a header equal to the first 5 bytes of the whole frame', () => {
    const payload = Buffer.alloc(70_000, 9);
    const header = encodeFrameHeader(FrameType.DataFragment, payload.length);
    expect(header).toHaveLength(FRAME_HEADER_BYTES);
    expect(
      Buffer.concat([header, payload]).equals(encodeFrame(FrameType.DataFragment, payload)),
    ).toBe(true);
  });

  it.each([-1, 256, 1.5, Number.NaN])('rejects frame type %p with ERR_BAD_FRAME', type => {
    expect(() => encodeFrame(type)).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_FRAME', name: 'FrameError' }),
    );
    expect(() => encodeFrameHeader(type, 0)).toThrow(FrameError);
  });

  it.each([-1, 0xffff_ffff, 2 ** 40, 0.5])(
    'rejects a payload length of %p with ERR_FRAME_TOO_LARGE',
    length => {
      expect(() => encodeFrameHeader(FrameType.Data, length)).toThrow(
        expect.objectContaining({ code: 'ERR_FRAME_TOO_LARGE' }),
      );
    },
  );

  it('accepts the largest payload the length field can describe (header only)', () => {
    expect(encodeFrameHeader(FrameType.Data, 0xffff_fffe)).toEqual(
      Buffer.from([0xff, 0xff, 0xff, 0xff, FrameType.Data]),
    );
  });

  it('exposes stable frame type numbers', () => {
    expect(FrameType).toEqual({
      Handshake: 1,
      Tick: 2,
      Data: 3,
      DataFragment: 4,
      Control: 5,
      Leave: 6,
      Ping: 7,
      Pong: 8,
    });
    expect(DEFAULT_MAX_FRAME_BYTES).toBe(1024 * 1024 + 64);
  });
});

describe('FrameDecoder', () => {
  it('delivers a frame lying inside one chunk as a view of that chunk', () => {
    const chunk = Buffer.concat([encodeFrame(3, Buffer.from('abc')), encodeFrame(2)]);
    const seen: { type: number; payload: Buffer }[] = [];
    const decoder = new FrameDecoder({
      onFrame: (type, payload) => seen.push({ type, payload }),
      onError: () => {
        throw new Error('unexpected');
      },
    });
    decoder.push(chunk);
    expect(seen.map(f => [f.type, f.payload.toString()])).toEqual([
      [3, 'abc'],
      [2, ''],
    ]);
    expect(seen[0]!.payload.buffer).toBe(chunk.buffer);
    expect(seen[0]!.payload.byteOffset).toBe(chunk.byteOffset + FRAME_HEADER_BYTES);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('copies a frame that spans chunks, and reports what it holds meanwhile', () => {
    const frame = encodeFrame(5, Buffer.from('0123456789'));
    const seen: Buffer[] = [];
    const decoder = new FrameDecoder({
      onFrame: (_type, payload) => seen.push(payload),
      onError: () => undefined,
    });
    decoder.push(frame.subarray(0, 2));
    expect(decoder.bufferedBytes).toBe(2);
    decoder.push(frame.subarray(2, 9));
    expect(decoder.bufferedBytes).toBe(5);
    decoder.push(frame.subarray(9));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.toString()).toBe('0123456789');
    frame.fill(0);
    expect(seen[0]!.toString()).toBe('0123456789');
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('decodes several frames and a partial one from a single chunk', () => {
    const { decoder, frames, errors } = recorder();
    const stream = Buffer.concat([
      encodeFrame(1, Buffer.from('a')),
      encodeFrame(2),
      encodeFrame(3, Buffer.from('bcd')),
    ]);
    decoder.push(stream.subarray(0, stream.length - 2));
    expect(frames.map(f => f.type)).toEqual([1, 2]);
    decoder.push(stream.subarray(stream.length - 2));
    expect(frames.map(f => [f.type, f.payload.toString()])).toEqual([
      [1, 'a'],
      [2, ''],
      [3, 'bcd'],
    ]);
    expect(errors).toEqual([]);
  });

  it('ignores empty chunks', () => {
    const { decoder, frames } = recorder();
    decoder.push(Buffer.alloc(0));
    decoder.push(encodeFrame(2));
    decoder.push(Buffer.alloc(0));
    expect(frames).toHaveLength(1);
  });

  describe('length field edges', () => {
    const max = 1000;

    it('refuses L = 0 with ERR_BAD_FRAME once, and ignores everything after', () => {
      const { decoder, frames, errors } = recorder(max);
      decoder.push(Buffer.concat([encodeFrame(2), lengthField(0), encodeFrame(2)]));
      decoder.push(encodeFrame(2));
      expect(frames).toHaveLength(1);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(FrameError);
      expect(errors[0]!.code).toBe('ERR_BAD_FRAME');
      expect(decoder.closed).toBe(true);
      expect(decoder.bufferedBytes).toBe(0);
    });

    it('accepts L = maxFrameBytes', () => {
      const { decoder, frames, errors } = recorder(max);
      decoder.push(encodeFrame(3, Buffer.alloc(max - 1, 7)));
      expect(errors).toEqual([]);
      expect(frames[0]!.payload).toEqual(Buffer.alloc(max - 1, 7));
    });

    it.each([max + 1, MAX_INT32, 2 ** 31, 2 ** 32 - 1])(
      'refuses L = %p with ERR_FRAME_TOO_LARGE as soon as the 4 length bytes are in',
      length => {
        const { decoder, frames, errors } = recorder(max);
        const header = lengthField(length);
        for (const byte of header.subarray(0, 3)) decoder.push(Buffer.of(byte));
        expect(errors).toEqual([]);
        decoder.push(header.subarray(3));
        expect(errors).toHaveLength(1);
        expect(errors[0]!.code).toBe('ERR_FRAME_TOO_LARGE');
        expect(errors[0]!.message).toContain(String(length));
        expect(decoder.bufferedBytes).toBe(0);
        decoder.push(Buffer.alloc(5000, 1));
        decoder.push(encodeFrame(2));
        expect(frames).toEqual([]);
        expect(errors).toHaveLength(1);
      },
    );

    it('checks each length field against the limit in force when it arrives', () => {
      const { decoder, frames, errors } = recorder(10);
      decoder.push(encodeFrame(1, Buffer.alloc(9)));
      decoder.maxFrameBytes = 100;
      decoder.push(encodeFrame(3, Buffer.alloc(99)));
      expect(frames.map(f => f.payload.length)).toEqual([9, 99]);
      decoder.maxFrameBytes = 5;
      decoder.push(encodeFrame(3, Buffer.alloc(5)));
      expect(errors.map(e => e.code)).toEqual(['ERR_FRAME_TOO_LARGE']);
    });

    it('does not allocate the declared size before the body arrives', () => {
      const spy = jest.spyOn(Buffer, 'allocUnsafe');
      try {
        const { decoder, errors } = recorder(DEFAULT_MAX_FRAME_BYTES);
        decoder.push(lengthField(DEFAULT_MAX_FRAME_BYTES));
        decoder.push(Buffer.alloc(10));
        expect(errors).toEqual([]);
        expect(decoder.bufferedBytes).toBe(10);
        const largest = Math.max(0, ...spy.mock.calls.map(call => Number(call[0])));
        expect(largest).toBeLessThan(64 * 1024);
      } finally {
        spy.mockRestore();
      }
    });
  });

  describe('a throwing onFrame', () => {
    it('is reported through onError as ERR_BAD_FRAME with the throw as cause, once', () => {
      const thrown = new Error('handler bug');
      const errors: GenClusterError[] = [];
      let calls = 0;
      const decoder = new FrameDecoder({
        onFrame: () => {
          calls++;
          throw thrown;
        },
        onError: error => errors.push(error),
      });
      expect(() =>
        decoder.push(Buffer.concat([encodeFrame(2), encodeFrame(2), encodeFrame(2)])),
      ).not.toThrow();
      decoder.push(encodeFrame(2));
      expect(calls).toBe(1);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(FrameError);
      expect(errors[0]!.code).toBe('ERR_BAD_FRAME');
      expect(errors[0]!.cause).toBe(thrown);
      expect(decoder.bufferedBytes).toBe(0);
    });

    it('passes a GenClusterError through unchanged', () => {
      const thrown = new GenClusterError('ERR_PROTOCOL', 'bad control message');
      const errors: GenClusterError[] = [];
      const decoder = new FrameDecoder({
        onFrame: () => {
          throw thrown;
        },
        onError: error => errors.push(error),
      });
      decoder.push(encodeFrame(5, Buffer.from('x')).subarray(0, 3));
      decoder.push(encodeFrame(5, Buffer.from('x')).subarray(3));
      expect(errors).toEqual([thrown]);
    });

    it('wraps a thrown non-Error value', () => {
      const errors: GenClusterError[] = [];
      const decoder = new FrameDecoder({
        onFrame: () => {
          throw 'boom';
        },
        onError: error => errors.push(error),
      });
      decoder.push(encodeFrame(2));
      expect(errors[0]!.message).toContain('boom');
    });
  });

  it('decodes chunks pushed from inside onFrame after the current chunk, in order', () => {
    const order: string[] = [];
    const decoder: FrameDecoder = new FrameDecoder({
      onFrame: (_type, payload) => {
        const text = payload.toString();
        order.push(text);
        if (text === 'a') decoder.push(encodeFrame(3, Buffer.from('c')));
      },
      onError: () => undefined,
    });
    decoder.push(
      Buffer.concat([encodeFrame(3, Buffer.from('a')), encodeFrame(3, Buffer.from('b'))]),
    );
    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('stops delivering when onFrame destroys the decoder', () => {
    const seen: number[] = [];
    const decoder: FrameDecoder = new FrameDecoder({
      onFrame: type => {
        seen.push(type);
        decoder.destroy();
      },
      onError: () => {
        throw new Error('destroy must not report an error');
      },
    });
    decoder.push(Buffer.concat([encodeFrame(1), encodeFrame(2)]));
    decoder.push(encodeFrame(3));
    expect(seen).toEqual([1]);
    expect(decoder.closed).toBe(true);
  });

  it('drops what it holds on destroy()', () => {
    const { decoder, frames, errors } = recorder();
    decoder.push(encodeFrame(3, Buffer.alloc(100)).subarray(0, 50));
    expect(decoder.bufferedBytes).toBe(46);
    decoder.destroy();
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(encodeFrame(3, Buffer.alloc(100)).subarray(50));
    expect(frames).toEqual([]);
    expect(errors).toEqual([]);
  });

  it.each([0, -1, 1.5, 2 ** 32, Number.NaN])(
    'rejects maxFrameBytes %p at construction and on change',
    value => {
      const options = { maxFrameBytes: value, onFrame: () => undefined, onError: () => undefined };
      expect(() => new FrameDecoder(options)).toThrow(InvalidConfigError);
      const { decoder } = recorder();
      expect(() => {
        decoder.maxFrameBytes = value;
      }).toThrow(/maxFrameBytes/);
      expect(decoder.maxFrameBytes).toBe(DEFAULT_MAX_FRAME_BYTES);
    },
  );

  describe('properties', () => {
    it('decodes any list of valid frames, split at any points, to exactly the input', () => {
      fc.assert(
        fc.property(
          fc.array(frameArb, { maxLength: 12 }),
          fc.array(fc.nat(), { maxLength: 40 }),
          (input, cuts) => {
            const stream = Buffer.concat(input.map(f => encodeFrame(f.type, f.payload)));
            const { decoder, frames, errors } = recorder();
            for (const chunk of split(stream, cuts)) decoder.push(chunk);
            expect(errors).toEqual([]);
            expect(digest(frames)).toEqual(digest(input));
            expect(decoder.bufferedBytes).toBe(0);
          },
        ),
        PROPERTY,
      );
    });

    it('decodes any list of small frames fed one byte at a time to exactly the input', () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.record({ type: fc.integer({ min: 0, max: 255 }), payload: fc.uint8Array() }),
            { maxLength: 10 },
          ),
          input => {
            const expected = input.map(f => ({ type: f.type, payload: Buffer.from(f.payload) }));
            const stream = Buffer.concat(expected.map(f => encodeFrame(f.type, f.payload)));
            const { decoder, frames, errors } = recorder();
            for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1));
            expect(errors).toEqual([]);
            expect(frames).toEqual(expected);
          },
        ),
        PROPERTY,
      );
    });

    it('never throws on random bytes and ends in frames plus at most one error, whatever the chunking', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 2048 }),
          fc.array(fc.nat(), { maxLength: 30 }),
          fc.integer({ min: 1, max: 300 }),
          (bytes, cuts, max) => {
            const stream = Buffer.from(bytes);
            const whole = recorder(max);
            const chunked = recorder(max);
            expect(() => whole.decoder.push(stream)).not.toThrow();
            for (const chunk of split(stream, cuts))
              expect(() => chunked.decoder.push(chunk)).not.toThrow();
            for (const run of [whole, chunked]) {
              expect(run.errors.length).toBeLessThanOrEqual(1);
              for (const error of run.errors) {
                expect(error).toBeInstanceOf(FrameError);
                expect(['ERR_BAD_FRAME', 'ERR_FRAME_TOO_LARGE']).toContain(error.code);
              }
              // Without an error, the frames re-encode to a prefix and the rest is buffered.
              if (run.errors.length === 0) {
                const decoded = run.frames.reduce(
                  (n, f) => n + FRAME_HEADER_BYTES + f.payload.length,
                  0,
                );
                expect(decoded + run.decoder.bufferedBytes).toBe(stream.length);
                const prefix = Buffer.concat(run.frames.map(f => encodeFrame(f.type, f.payload)));
                expect(prefix).toEqual(stream.subarray(0, prefix.length));
              }
            }
            expect(chunked.frames).toEqual(whole.frames);
            expect(chunked.errors.map(e => e.code)).toEqual(whole.errors.map(e => e.code));
          },
        ),
        { seed: 1, numRuns: 500 },
      );
    });

    it('reports a bad length field wherever it falls, and nothing after it', () => {
      fc.assert(
        fc.property(
          fc.array(frameArb, { maxLength: 5 }),
          fc.constantFrom(0, 301, 2 ** 31, 2 ** 32 - 1),
          fc.uint8Array({ maxLength: 100 }),
          fc.array(fc.nat(), { maxLength: 20 }),
          (before, badLength, after, cuts) => {
            const good = before.filter(f => f.payload.length < 300);
            const stream = Buffer.concat([
              ...good.map(f => encodeFrame(f.type, f.payload)),
              lengthField(badLength),
              Buffer.from(after),
            ]);
            const { decoder, frames, errors } = recorder(300);
            for (const chunk of split(stream, cuts)) decoder.push(chunk);
            expect(digest(frames)).toEqual(digest(good));
            expect(errors.map(e => e.code)).toEqual([
              badLength === 0 ? 'ERR_BAD_FRAME' : 'ERR_FRAME_TOO_LARGE',
            ]);
          },
        ),
        PROPERTY,
      );
    });
  });

  it('decodes a 1 MiB frame fed one byte at a time in linear time', () => {
    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const frame = encodeFrame(FrameType.Data, payload);
    const { decoder, frames, errors } = recorder();
    // One reused 1-byte chunk: also proves the decoder keeps no view of a chunk it copied from.
    const one = Buffer.alloc(1);
    // CPU time, not wall time: other processes on a loaded machine must not fail a complexity
    // check (quadratic copying of 1 MiB would take minutes either way).
    const started = process.cpuUsage();
    for (let i = 0; i < frame.length; i++) {
      one[0] = frame[i]!;
      decoder.push(one);
    }
    const { user, system } = process.cpuUsage(started);
    const elapsed = (user + system) / 1_000;
    expect(errors).toEqual([]);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.payload.equals(payload)).toBe(true);
    expect(elapsed).toBeLessThan(2_000);
  });
});
