import { FRAGMENT_HEADER_BYTES, readFragmentHeader } from './fragment-header.js';
import { FrameDecoder, FrameType, encodeFrame } from './frame-codec.js';
import {
  BATCH_BYTES,
  FLUSH_BUDGET_BYTES,
  MAX_CONTROL_BYTES,
  SendQueue,
  type SendQueueLimits,
  type SendQueueSocket,
} from './send-queue.js';

/** A socket that records what is written, with a switch for back-pressure. */
class FakeSocket {
  readonly writes: Buffer[] = [];
  writableNeedDrain = false;
  private readonly drainWaiters: (() => void)[] = [];

  write(chunk: Buffer): boolean {
    this.writes.push(Buffer.from(chunk));
    return !this.writableNeedDrain;
  }
  cork(): void {}
  uncork(): void {}
  once(event: string, listener: () => void): this {
    if (event === 'drain') this.drainWaiters.push(listener);
    return this;
  }
  drain(): void {
    this.writableNeedDrain = false;
    for (const listener of this.drainWaiters.splice(0)) listener();
  }
  /** Every frame written so far, decoded. */
  frames(): { type: number; payload: Buffer }[] {
    const frames: { type: number; payload: Buffer }[] = [];
    const decoder = new FrameDecoder({
      maxFrameBytes: 64 * 1024 * 1024,
      onFrame: (type, payload) => frames.push({ type, payload: Buffer.from(payload) }),
      onError: error => {
        throw error;
      },
    });
    decoder.push(Buffer.concat(this.writes));
    return frames;
  }
  /** The data messages written, fragments reassembled, in order of completion. */
  messages(): Buffer[] {
    const done: Buffer[] = [];
    const partial = new Map<number, Buffer[]>();
    for (const { type, payload } of this.frames()) {
      if (type === FrameType.Data) done.push(payload);
      if (type !== FrameType.DataFragment) continue;
      const { id, last } = readFragmentHeader(payload);
      const parts = partial.get(id) ?? [];
      parts.push(payload.subarray(FRAGMENT_HEADER_BYTES));
      partial.set(id, parts);
      if (last) {
        done.push(Buffer.concat(parts));
        partial.delete(id);
      }
    }
    return done;
  }
}

const LIMITS: SendQueueLimits = {
  maxFramePayloadBytes: 4_096,
  maxMessageBytes: 64 * 1024,
  maxQueueBytes: 1024 * 1024,
  maxQueueMessages: 100,
};

const nextTurn = () => new Promise<void>(resolve => setImmediate(resolve));

function setup(limits: Partial<SendQueueLimits> = {}) {
  const socket = new FakeSocket();
  const queue = new SendQueue(socket as unknown as SendQueueSocket, { ...LIMITS, ...limits });
  return { socket, queue };
}

describe('SendQueue', () => {
  it.each([
    ['fragmented', {}],
    ['whole', { maxFramePayloadBytes: 64 * 1024 }],
  ] as const)(
    'closes itself and reports, without throwing, a %s message whose memory was detached after it was queued',
    async (_shape, limits) => {
      const socket = new FakeSocket();
      const broken: Error[] = [];
      const queue = new SendQueue(
        socket as unknown as SendQueueSocket,
        { ...LIMITS, ...limits },
        error => broken.push(error),
      );
      queue.enqueue([Buffer.from('first')], 'b'); // written at once: the next ones wait a turn
      const memory = new ArrayBuffer(32 * 1024);
      queue.enqueue([Buffer.from('header'), Buffer.from(memory)], 'b');
      structuredClone(memory, { transfer: [memory] }); // detached, as by postMessage to a worker
      await nextTurn();
      expect(broken).toHaveLength(1);
      expect(broken[0]).toMatchObject({ code: 'ERR_PROTOCOL' });
      expect(broken[0]!.message).toMatch(/detached or resized/);
      expect(socket.messages().map(String)).toEqual(['first']);
      expect(queue.size).toEqual({ messages: 0, bytes: 0 });
    },
  );

  it('writes the first message of a turn at once and the rest of the turn together', async () => {
    const { socket, queue } = setup();
    queue.enqueue([Buffer.from('first')], 'b');
    expect(socket.messages().map(String)).toEqual(['first']);
    const writesBefore = socket.writes.length;
    for (const text of ['two', 'three', 'four']) queue.enqueue([Buffer.from(text)], 'b');
    expect(socket.writes.length).toBe(writesBefore);
    await nextTurn();
    expect(socket.messages().map(String)).toEqual(['first', 'two', 'three', 'four']);
    // the three small messages of the turn went out in one shared buffer
    expect(socket.writes.length).toBe(writesBefore + 1);
  });

  it('sends a message given in parts as one message, never concatenating it first', async () => {
    const { socket, queue } = setup();
    queue.enqueue([Buffer.from('ab'), Buffer.alloc(0), Buffer.from('cd')], 'b');
    await nextTurn();
    expect(socket.messages().map(String)).toEqual(['abcd']);
  });

  it('fills shared write buffers up to BATCH_BYTES with small messages', async () => {
    const { socket, queue } = setup({ maxQueueMessages: 1_000 });
    queue.enqueue([Buffer.from('x')], 'b');
    const writesBefore = socket.writes.length;
    for (let i = 0; i < 100; i++) queue.enqueue([Buffer.alloc(1_000, i)], 'b');
    await nextTurn();
    const batches = socket.writes.slice(writesBefore);
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(BATCH_BYTES);
    expect(
      socket
        .messages()
        .slice(1)
        .map(m => m[0]),
    ).toEqual([...Array(100).keys()]);
  });

  it('refuses a message over maxMessageBytes with ERR_MESSAGE_TOO_LARGE (not retryable) and queues nothing', () => {
    const { queue } = setup();
    expect(() => queue.enqueue([Buffer.alloc(64 * 1024 + 1)], 'b')).toThrow(
      expect.objectContaining({
        code: 'ERR_MESSAGE_TOO_LARGE',
        retryable: false,
        node: 'b',
        bytes: 64 * 1024 + 1,
        limit: 64 * 1024,
      }),
    );
    expect(queue.size).toEqual({ messages: 0, bytes: 0 });
  });

  it('checks a size before the message exists, as enqueue would refuse it', () => {
    const { socket, queue } = setup({ maxQueueMessages: 2, maxQueueBytes: 1_000 });
    expect(() => queue.check(64 * 1024 + 1, 'b')).toThrow(
      expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE', retryable: false }),
    );
    expect(() => queue.check(64 * 1024, 'b')).toThrow(
      expect.objectContaining({ code: 'ERR_QUEUE_FULL', retryable: true }),
    );
    expect(() => queue.check(1_000, 'b')).not.toThrow();
    socket.writableNeedDrain = true;
    queue.enqueue([Buffer.alloc(10)], 'b'); // written at once, then the queue waits for drain
    queue.enqueue([Buffer.alloc(10)], 'b');
    queue.enqueue([Buffer.alloc(10)], 'b');
    expect(() => queue.check(0, 'b')).toThrow(
      expect.objectContaining({ code: 'ERR_QUEUE_FULL', retryable: true, node: 'b' }),
    );
  });

  it('refuses past maxQueueMessages and maxQueueBytes while the socket does not drain', () => {
    const { socket, queue } = setup({ maxQueueMessages: 3, maxQueueBytes: 10_000 });
    socket.writableNeedDrain = true;
    queue.enqueue([Buffer.alloc(10)], 'b'); // written at once, then the queue waits for drain
    for (let i = 0; i < 3; i++) queue.enqueue([Buffer.alloc(10)], 'b');
    expect(() => queue.enqueue([Buffer.alloc(10)], 'b')).toThrow(
      expect.objectContaining({ code: 'ERR_QUEUE_FULL', retryable: true }),
    );
    const bytes = setup({ maxQueueBytes: 100 });
    bytes.socket.writableNeedDrain = true;
    bytes.queue.enqueue([Buffer.alloc(10)], 'b');
    bytes.queue.enqueue([Buffer.alloc(60)], 'b');
    expect(() => bytes.queue.enqueue([Buffer.alloc(41)], 'b')).toThrow(
      expect.objectContaining({ code: 'ERR_QUEUE_FULL' }),
    );
    expect(bytes.queue.size).toEqual({ messages: 1, bytes: 60 });
  });

  it('stops writing while the socket is backed up, and goes on at its drain', async () => {
    const big = { maxFramePayloadBytes: 1024 * 1024, maxMessageBytes: 1024 * 1024 };
    const { socket, queue } = setup({ ...big, maxQueueBytes: 8 * 1024 * 1024 });
    socket.writableNeedDrain = true;
    for (let i = 0; i < 8; i++) queue.enqueue([Buffer.alloc(100 * 1024, i)], 'b');
    // a flush writes its budget, then, with data left and the socket backed up, waits for drain
    await nextTurn();
    const written = socket.messages().length;
    expect(written).toBeLessThan(8);
    expect(queue.waitingDrain).toBe(true);
    await nextTurn();
    await nextTurn();
    expect(socket.messages().length).toBe(written);
    socket.drain();
    for (let i = 0; i < 10 && socket.messages().length < 8; i++) await nextTurn();
    expect(socket.messages().map(m => m[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('cuts a large message into fragments within maxFramePayloadBytes, the last one flagged', async () => {
    const { socket, queue } = setup();
    const large = Buffer.alloc(10_000);
    for (let i = 0; i < large.length; i++) large[i] = i % 251;
    queue.enqueue([large.subarray(0, 3_000), large.subarray(3_000)], 'b');
    await nextTurn();
    const fragments = socket.frames().filter(f => f.type === FrameType.DataFragment);
    expect(fragments.length).toBe(Math.ceil(10_000 / (4_096 - FRAGMENT_HEADER_BYTES)));
    for (const { payload } of fragments) expect(payload.length).toBeLessThanOrEqual(4_096);
    expect(fragments.map(f => readFragmentHeader(f.payload).last)).toEqual(
      fragments.map((_, i) => i === fragments.length - 1),
    );
    expect(socket.messages()).toEqual([large]);
  });

  it('lets small messages overtake a large one, fragment by fragment', async () => {
    const { socket, queue } = setup();
    queue.enqueue([Buffer.from('first')], 'b');
    queue.enqueue([Buffer.alloc(20_000, 1)], 'b');
    queue.enqueue([Buffer.from('small')], 'b');
    await nextTurn();
    expect(socket.messages().map(m => (m.length > 100 ? `large:${m.length}` : String(m)))).toEqual([
      'first',
      'small',
      'large:20000',
    ]);
  });

  it('never fragments more bytes at once than the peer reassembles (maxMessageBytes)', async () => {
    const { socket, queue } = setup({ maxMessageBytes: 64 * 1024 });
    for (const fill of [1, 2, 3]) queue.enqueue([Buffer.alloc(40 * 1024, fill)], 'b');
    for (let i = 0; i < 20 && socket.messages().length < 3; i++) await nextTurn();
    let inFlight = new Map<number, number>();
    let most = 0;
    for (const { type, payload } of socket.frames()) {
      if (type !== FrameType.DataFragment) continue;
      const { id, last } = readFragmentHeader(payload);
      inFlight.set(id, (inFlight.get(id) ?? 0) + payload.length - FRAGMENT_HEADER_BYTES);
      const total = [...inFlight.values()].reduce((a, b) => a + b, 0);
      most = Math.max(most, total);
      if (last) inFlight = new Map([...inFlight].filter(([other]) => other !== id));
    }
    expect(most).toBeLessThanOrEqual(64 * 1024);
    // and the large messages still start, and so arrive, in the order they were queued
    expect(socket.messages().map(m => m[0])).toEqual([1, 2, 3]);
  });

  it('writes at most a budget per turn, so other links get a turn', async () => {
    const { socket, queue } = setup({ maxMessageBytes: 4 * 1024 * 1024, maxQueueBytes: 8e6 });
    queue.enqueue([Buffer.from('first')], 'b');
    for (let i = 0; i < 3; i++) queue.enqueue([Buffer.alloc(1024 * 1024, i)], 'b');
    const before = Buffer.concat(socket.writes).length;
    await nextTurn();
    const written = Buffer.concat(socket.writes).length - before;
    expect(written).toBeLessThan(FLUSH_BUDGET_BYTES + 64 * 1024);
    for (let i = 0; i < 20 && socket.messages().length < 4; i++) await nextTurn();
    expect(socket.messages().length).toBe(4);
  });

  it('writes control frames ahead of queued data and bounds them', async () => {
    const { socket, queue } = setup();
    queue.enqueue([Buffer.from('first')], 'b'); // written at once
    queue.enqueue([Buffer.from('queued')], 'b');
    const frame = encodeFrame(FrameType.Control, Buffer.alloc(64 * 1024));
    let accepted = 0;
    while (queue.sendControl(frame)) accepted++;
    expect(accepted).toBe(Math.floor(MAX_CONTROL_BYTES / frame.length));
    expect(queue.controlBytes).toBe(accepted * frame.length);
    await nextTurn();
    const types = socket.frames().map(f => f.type);
    expect(types).toEqual([
      FrameType.Data,
      ...Array<number>(accepted).fill(FrameType.Control),
      FrameType.Data,
    ]);
    expect(socket.messages().map(String)).toEqual(['first', 'queued']);
    expect(queue.controlBytes).toBe(0);
  });

  it('answers any number of pings not yet written with one pong', async () => {
    const { socket, queue } = setup();
    for (let i = 0; i < 5; i++) queue.pong();
    await nextTurn();
    queue.pong();
    await nextTurn();
    expect(socket.frames().map(f => f.type)).toEqual([FrameType.Pong, FrameType.Pong]);
  });

  it('takes over the unsent messages of a replaced queue, ahead of its own', async () => {
    const old = setup();
    old.queue.freeze(); // nothing leaves the old link any more
    old.queue.enqueue([Buffer.from('one')], 'b');
    old.queue.enqueue([Buffer.alloc(10_000, 7)], 'b');
    const fresh = setup();
    fresh.queue.enqueue([Buffer.from('own-1')], 'b'); // written at once
    fresh.queue.enqueue([Buffer.from('own-2')], 'b'); // waits for the end of the turn
    fresh.queue.takeFrom(old.queue);
    await nextTurn();
    expect(old.queue.size).toEqual({ messages: 0, bytes: 0 });
    expect(old.socket.writes).toEqual([]);
    // the large one is fragmented, so the small one queued after it finishes first
    expect(fresh.socket.messages().map(m => (m.length > 100 ? m.length : String(m)))).toEqual([
      'own-1',
      'one',
      'own-2',
      10_000,
    ]);
  });

  it('on end writes everything queued, then the goodbye, and nothing after', async () => {
    const { socket, queue } = setup();
    socket.writableNeedDrain = true;
    queue.enqueue([Buffer.from('first')], 'b');
    queue.enqueue([Buffer.alloc(20_000, 2)], 'b');
    queue.end();
    expect(socket.frames().at(-1)?.type).toBe(FrameType.Leave);
    expect(socket.messages().length).toBe(2);
    const count = socket.writes.length;
    socket.drain();
    queue.sendControl(encodeFrame(FrameType.Tick));
    await nextTurn();
    expect(socket.writes.length).toBe(count);
  });

  it('writes nothing once frozen or closed', async () => {
    const frozen = setup();
    frozen.queue.freeze();
    frozen.queue.enqueue([Buffer.from('x')], 'b');
    frozen.queue.end();
    const closed = setup();
    closed.queue.close();
    closed.queue.tick();
    await nextTurn();
    expect(frozen.socket.writes).toEqual([]);
    expect(closed.socket.writes).toEqual([]);
    expect(frozen.queue.size.messages).toBe(1);
  });
});
