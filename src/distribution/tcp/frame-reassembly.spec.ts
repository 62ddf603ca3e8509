/**
 * How the frame decoder reassembles a frame split across chunks: pieces kept as views until the
 * frame is complete, then one buffer of the exact size (one allocation, each byte copied once);
 * small pieces copied at once; a frame trickled in many pieces copied into a growing buffer, with
 * the memory held bounded by the bytes received. Correctness under any chunking is in the
 * property tests of frame-codec.spec.ts.
 */
import { once } from 'node:events';
import net from 'node:net';
import { jest } from '@jest/globals';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, FrameType, encodeFrame } from './frame-codec.js';
import { SendQueue } from './send-queue.js';

/** Payload bytes from a seed. */
function pattern(length: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = (seed + i * 131) & 0xff;
  return b;
}

/** Fresh copies of `bytes` cut every `size` bytes, as a socket hands them over. */
function chunks(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size)
    out.push(Buffer.from(bytes.subarray(at, at + size)));
  return out;
}

function decoder() {
  const payloads: Buffer[] = [];
  const types: number[] = [];
  const errors: Error[] = [];
  const d = new FrameDecoder({
    maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
    onFrame: (type, payload) => {
      types.push(type);
      payloads.push(payload);
    },
    onError: error => errors.push(error),
  });
  return { d, payloads, types, errors };
}

/** Sizes of the `Buffer.allocUnsafe` calls made by `run` of at least `min` bytes. */
function allocations(run: () => void, min = 4096): number[] {
  const spy = jest.spyOn(Buffer, 'allocUnsafe');
  try {
    run();
    return spy.mock.calls.map(call => Number(call[0])).filter(size => size >= min);
  } finally {
    spy.mockRestore();
  }
}

describe('FrameDecoder reassembly', () => {
  it('copies a frame split across chunks once, into one buffer of its exact size', () => {
    const payload = pattern(64 * 1024 + 37, 7);
    const frame = encodeFrame(FrameType.Data, payload);
    const { d, payloads, types, errors } = decoder();
    // Cut where a 64 KiB socket read would, and also with the length field split.
    const pieces = [frame.subarray(0, 2), ...chunks(frame.subarray(2), 16 * 1024)];
    const sizes = allocations(() => {
      for (const piece of pieces) d.push(piece);
    });
    expect(errors).toEqual([]);
    expect(types).toEqual([FrameType.Data]);
    expect(payloads[0]!.equals(payload)).toBe(true);
    expect(sizes).toEqual([payload.length + 1]);
    expect(d.bufferedBytes).toBe(0);
  });

  it('holds large pieces as views and counts them as buffered until the frame completes', () => {
    const payload = pattern(100_000, 3);
    const frame = Buffer.concat([
      encodeFrame(FrameType.Tick),
      encodeFrame(FrameType.Data, payload),
    ]);
    const { d, payloads, types } = decoder();
    const [first, second, third] = chunks(frame, 40_000);
    const sizes = allocations(() => {
      d.push(first!);
      d.push(second!);
      expect(d.bufferedBytes).toBe(80_000 - 5 - 4);
    });
    expect(sizes).toEqual([]);
    d.push(third!);
    expect(types).toEqual([FrameType.Tick, FrameType.Data]);
    expect(payloads[1]!.equals(payload)).toBe(true);
  });

  it('copies small pieces at once, so the caller may reuse a small chunk', () => {
    const payload = pattern(3_000, 11);
    const frame = encodeFrame(FrameType.Data, payload);
    const { d, payloads } = decoder();
    const reused = Buffer.alloc(500);
    for (let at = 0; at < frame.length; at += reused.length) {
      const piece = frame.subarray(at, at + reused.length);
      piece.copy(reused);
      d.push(reused.subarray(0, piece.length));
      reused.fill(0);
    }
    expect(payloads).toHaveLength(1);
    expect(payloads[0]!.equals(payload)).toBe(true);
  });

  it('copies a frame trickled in many pieces into a buffer grown with the bytes received', () => {
    const payload = pattern(1024 * 1024, 5);
    const frame = encodeFrame(FrameType.DataFragment, payload);
    const { d, payloads, errors } = decoder();
    const original = Buffer.allocUnsafe.bind(Buffer);
    // Each large allocation, with what the decoder held when it was made.
    const grown: { size: number; held: number }[] = [];
    const spy = jest.spyOn(Buffer, 'allocUnsafe').mockImplementation(size => {
      if (size >= 16 * 1024) grown.push({ size, held: d.bufferedBytes });
      return original(size);
    });
    try {
      for (const piece of chunks(frame, 2_000)) d.push(piece);
    } finally {
      spy.mockRestore();
    }
    expect(errors).toEqual([]);
    expect(payloads[0]!.equals(payload)).toBe(true);
    // Geometric growth: a handful of buffers, each at most twice what had arrived with its piece.
    expect(grown.length).toBeLessThanOrEqual(8);
    for (const { size, held } of grown) {
      expect(size).toBeLessThanOrEqual(frame.length - 4);
      expect(size).toBeLessThanOrEqual(Math.max(2 * (held + 2_000), 16 * 1024));
    }
  });

  it('never allocates the declared length of a frame announced and then trickled', () => {
    const { d, errors } = decoder();
    const header = Buffer.alloc(5);
    header.writeUInt32BE(DEFAULT_MAX_FRAME_BYTES, 0);
    header[4] = FrameType.Data;
    const sizes = allocations(() => {
      d.push(header);
      for (let i = 0; i < 100; i++) d.push(Buffer.alloc(100, i));
    }, 1);
    expect(errors).toEqual([]);
    expect(d.bufferedBytes).toBe(1 + 100 * 100);
    expect(Math.max(0, ...sizes)).toBeLessThanOrEqual(64 * 1024);
  });

  it('decodes large and small messages written by a send queue to a real socket, in order', async () => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    const accepted = once(server, 'connection');
    const client = net.connect({ port, host: '127.0.0.1', noDelay: true });
    const [socket] = (await accepted) as [net.Socket];
    try {
      const sent = Array.from({ length: 200 }, (_, i) =>
        pattern(i % 3 === 0 ? 40 : 64 * 1024 + (i % 7) * 1_000, i),
      );
      const { d, payloads, errors } = decoder();
      socket.on('data', (chunk: Buffer) => d.push(chunk));
      const queue = new SendQueue(client, {
        maxFramePayloadBytes: 1024 * 1024,
        maxMessageBytes: 16 * 1024 * 1024,
        maxQueueBytes: 64 * 1024 * 1024,
        maxQueueMessages: 1_000,
      });
      // Each message in two parts, as messaging gives them (envelope header, payload).
      for (const message of sent)
        queue.enqueue([message.subarray(0, 11), message.subarray(11)], 'b');
      const deadline = Date.now() + 10_000;
      while (payloads.length < sent.length && errors.length === 0 && Date.now() < deadline) {
        await new Promise(resolve => setImmediate(resolve));
      }
      expect(errors).toEqual([]);
      expect(payloads).toHaveLength(sent.length);
      payloads.forEach((payload, i) => expect(payload.equals(sent[i]!)).toBe(true));
    } finally {
      client.destroy();
      socket.destroy();
      server.close();
    }
  });
});
