import { InvalidConfigError } from '../../core/index.js';
import { realm } from '../../../test/support/payload-harness.js';
import { until } from '../../../test/support/wait.js';
import {
  A,
  B,
  C,
  D,
  MemoryNetwork,
  countingCodec,
  rejection,
  settle,
  thrown,
} from '../../../test/support/messaging-harness.js';
import { TransportMessages } from '../transport.messages.js';
import {
  DuplicateHandlerError,
  InvalidTopicError,
  MessagingClosedError,
  NodeDownError,
  PayloadError,
  QueueFullError,
} from './messaging.errors.js';
import { type MessageTransport, Messaging, type MessagingOptions } from './messaging.js';

describe('Messaging', () => {
  let net: MemoryNetwork;
  beforeEach(() => {
    net = new MemoryNetwork();
  });
  afterEach(() => net.close());

  describe('requests', () => {
    it('round-trips Dates, Maps, Sets, Buffers and typed arrays with msgpack', async () => {
      const a = net.add(A);
      const b = net.add(B);
      const make = () => ({
        at: new Date('2024-01-02T03:04:05.678Z'),
        map: new Map<unknown, unknown>([
          [1, 'one'],
          ['two', new Set([2])],
        ]),
        set: new Set(['x', 'y']),
        buffer: Buffer.from('bytes'),
        bytes: new Uint8Array([1, 2]),
        floats: new realm.Float32Array([0.5, 1.5]),
        big: 12345678901234567890n,
      });
      type Value = ReturnType<typeof make>;
      const received: { payload: unknown; context: unknown }[] = [];
      b.on('echo', (payload, context) => {
        received.push({ payload, context });
        return make(); // built here: a received Float32Array is of Jest's sandbox realm
      });
      const check = (value: Value) => {
        expect(value.at).toEqual(new Date('2024-01-02T03:04:05.678Z'));
        expect(value.map).toEqual(make().map);
        expect(value.set).toEqual(new Set(['x', 'y']));
        expect(Buffer.isBuffer(value.buffer)).toBe(true);
        expect(value.buffer.toString()).toBe('bytes');
        expect(value.bytes).toBeInstanceOf(Uint8Array);
        expect([...value.bytes]).toEqual([1, 2]);
        expect(value.floats.constructor.name).toBe('Float32Array');
        expect([...value.floats]).toEqual([0.5, 1.5]);
        expect(value.big).toBe(12345678901234567890n);
      };
      check(await a.request<Value>(B, 'echo', make()));
      expect(received).toHaveLength(1);
      check(received[0].payload as Value);
      expect(received[0].context).toEqual({ from: A, topic: 'echo', kind: 'request' });
      expect(a.pendingRequests).toBe(0);
    });

    it('round-trips JSON values with the json codec', async () => {
      const a = net.add(A, { codec: 'json' });
      const b = net.add(B, { codec: 'json' });
      b.on('echo', payload => payload);
      const value = { n: 1, s: 'two', list: [true, null, { deep: [3] }] };
      await expect(a.request(B, 'echo', value)).resolves.toEqual(value);
      await expect(a.request(B, 'echo', { at: new Date(0) })).resolves.toEqual({
        at: '1970-01-01T00:00:00.000Z',
      });
      expect(a.codec.name).toBe('json');
    });

    it('rejects at once, and forgets the request, when the payload cannot be encoded', async () => {
      const a = net.add(A);
      net.add(B);
      const error = await rejection(a.request(B, 't', { f: () => 1 }));
      expect(error).toBeInstanceOf(PayloadError);
      expect(error).toMatchObject({ code: 'ERR_PAYLOAD_ENCODE' });
      expect(a.pendingRequests).toBe(0);
      expect(net.sent).toHaveLength(0);
    });

    it('rejects at once with the transport error (queue full) and forgets the request', async () => {
      const a = net.add(A);
      net.add(B);
      const full = new QueueFullError(TransportMessages.queueFull(B), { node: B });
      net.failure = { from: A, error: full };
      const error = await rejection(a.request(B, 't', 1, { timeoutMs: 60_000 }));
      // the same class, code and message, naming the topic too, with the transport's as cause
      expect(error).toBeInstanceOf(QueueFullError);
      expect(error.cause).toBe(full);
      expect(error.message).toBe(full.message);
      expect(error).toMatchObject({ code: 'ERR_QUEUE_FULL', node: B, topic: 't' });
      expect(a.pendingRequests).toBe(0);
    });

    it('rejects at once with NodeDownError for a node that is not connected', async () => {
      const a = net.add(A);
      const error = await rejection(a.request('ghost@10.0.0.9', 't', 1, { timeoutMs: 60_000 }));
      expect(error).toMatchObject({ code: 'ERR_NODE_DOWN', node: 'ghost@10.0.0.9' });
      expect(a.pendingRequests).toBe(0);
    });
  });

  describe('one-way messages', () => {
    it('throws the transport error synchronously (queue full, node down)', () => {
      const a = net.add(A);
      net.add(B);
      const full = new QueueFullError('queue full');
      net.failure = { from: A, to: B, error: full };
      const refused = thrown(() => a.send(B, 'note', 1));
      expect(refused).toBeInstanceOf(QueueFullError);
      expect(refused.cause).toBe(full);
      expect(refused).toMatchObject({ message: 'queue full', node: B, topic: 'note' });
      net.failure = undefined;
      net.down.add(B);
      const error = thrown(() => a.send(B, 'note', 1));
      expect(error).toBeInstanceOf(NodeDownError);
      expect(error).toMatchObject({ code: 'ERR_NODE_DOWN' });
    });

    it('throws PayloadError synchronously for a payload that cannot be encoded', () => {
      const a = net.add(A);
      net.add(B);
      const error = thrown(() => a.send(B, 'note', Symbol('nope')));
      expect(error).toBeInstanceOf(PayloadError);
      expect(error).toMatchObject({ code: 'ERR_PAYLOAD_ENCODE' });
    });
  });

  describe('broadcast', () => {
    it('encodes once and sends to every member but self, returning the count', async () => {
      const { codec: counting, counts } = countingCodec();
      const a = net.add(A, { codec: counting });
      const got = new Map<string, unknown>();
      for (const node of [B, C, D])
        net.add(node).on('news', payload => void got.set(node, payload));
      a.on('news', () => void got.set(A, 'self'));
      expect(a.broadcast('news', { headline: 'hi' })).toBe(3);
      expect(counts.encodes).toBe(1);
      await until(() => got.size === 3, 5_000, 'three deliveries');
      expect(got).toEqual(
        new Map([
          [B, { headline: 'hi' }],
          [C, { headline: 'hi' }],
          [D, { headline: 'hi' }],
        ]),
      );
      await settle();
      expect(got.has(A)).toBe(false);
    });

    it('logs per-node failures (rate-limited) instead of throwing', async () => {
      const a = net.add(A);
      const got: string[] = [];
      for (const node of [B, C, D]) net.add(node).on('news', () => void got.push(node));
      net.failure = { from: A, to: C, error: new QueueFullError('full') };
      expect(a.broadcast('news', 1)).toBe(2);
      expect(a.broadcast('news', 2)).toBe(2);
      await until(() => got.length === 4, 5_000, 'deliveries');
      expect(got.sort()).toEqual([B, B, D, D]);
      const warnings = net.logger(A).lines.filter(l => l.message.includes(C));
      expect(warnings).toHaveLength(1);
      expect(warnings[0].level).toBe('warn');
    });

    it('returns 0 with no members', () => {
      expect(net.add(A).broadcast('news', 1)).toBe(0);
    });
  });

  describe('messages to self', () => {
    it('delivers sends and requests to self locally and asynchronously, without the transport', async () => {
      const a = net.add(A);
      const seen: unknown[] = [];
      a.on('note', (payload, context) => void seen.push([payload, context]));
      a.on('echo', payload => payload);
      a.on('fail', () => {
        throw Object.assign(new Error('self failure'), { code: 'E_SELF' });
      });
      a.send(A, 'note', new Set([1]));
      expect(seen).toEqual([]);
      await until(() => seen.length === 1, 5_000, 'self delivery');
      expect(seen[0]).toEqual([
        new Set([1]),
        { from: A, topic: 'note', kind: 'oneWay', signal: undefined },
      ]);
      await expect(a.request(A, 'echo', { at: new Date(3) })).resolves.toEqual({
        at: new Date(3),
      });
      await expect(a.request(A, 'fail', 1)).rejects.toMatchObject({
        code: 'ERR_REMOTE_HANDLER',
        node: A,
        remoteCode: 'E_SELF',
      });
      await expect(a.request(A, 'nobody', 1)).rejects.toMatchObject({ code: 'ERR_NO_HANDLER' });
      expect(net.sent).toHaveLength(0);
    });

    it('gives the handler a copy, as a remote node would get', async () => {
      const a = net.add(A);
      a.on('mutate', payload => {
        (payload as { n: number }).n = 99;
        return payload;
      });
      const original = { n: 1 };
      await expect(a.request(A, 'mutate', original)).resolves.toEqual({ n: 99 });
      expect(original).toEqual({ n: 1 });
    });
  });

  describe('handlers', () => {
    it('allows one handler per topic and unregisters with the returned function', async () => {
      const a = net.add(A);
      const b = net.add(B);
      const off = b.on('t', () => 'first');
      const duplicate = thrown(() => b.on('t', () => 'second'));
      expect(duplicate).toBeInstanceOf(DuplicateHandlerError);
      expect(duplicate).toMatchObject({ code: 'ERR_DUPLICATE_HANDLER', topic: 't' });
      await expect(a.request(B, 't', 1)).resolves.toBe('first');
      off();
      await expect(a.request(B, 't', 1)).rejects.toMatchObject({ code: 'ERR_NO_HANDLER' });
      const offSecond = b.on('t', () => 'second');
      off(); // stale: must not remove the new handler
      await expect(a.request(B, 't', 1)).resolves.toBe('second');
      offSecond();
      offSecond();
    });

    it('refuses bad topics and handlers', () => {
      const a = net.add(A);
      net.add(B);
      expect(() => a.on('', () => 1)).toThrow(InvalidTopicError);
      expect(() => a.on('x'.repeat(1025), () => 1)).toThrow(InvalidTopicError);
      expect(() => a.on('é'.repeat(513), () => 1)).toThrow(InvalidTopicError);
      expect(() => a.on('t', 'nope' as never)).toThrow(InvalidConfigError);
      expect(() => a.send(B, '', 1)).toThrow(InvalidTopicError);
      expect(() => a.broadcast('x'.repeat(2000), 1)).toThrow(InvalidTopicError);
      expect(() => a.on('é'.repeat(512), () => 1)).not.toThrow();
    });
  });

  describe('close', () => {
    it('fails everything pending with ERR_CLUSTER_STOPPED and refuses new calls', async () => {
      const a = net.add(A);
      const b = net.add(B);
      b.on('wait', () => new Promise(() => undefined));
      const pending = [a.request(B, 'wait', 1), a.request(A, 'wait', 2)];
      a.close();
      for (const request of pending) {
        const error = await rejection(request);
        expect(error).toBeInstanceOf(MessagingClosedError);
        expect(error).toMatchObject({ code: 'ERR_CLUSTER_STOPPED' });
      }
      expect(a.pendingRequests).toBe(0);
      expect(() => a.send(B, 't', 1)).toThrow(MessagingClosedError);
      expect(() => a.broadcast('t', 1)).toThrow(MessagingClosedError);
      expect(() => a.on('t', () => 1)).toThrow(MessagingClosedError);
      await expect(a.request(B, 't', 1)).rejects.toBeInstanceOf(MessagingClosedError);
      expect(() => a.receive(B, Buffer.from([1, 2, 3]))).not.toThrow();
      a.close(); // idempotent
    });
  });

  describe('options', () => {
    it.each([
      ['self', { self: '' }],
      ['transport', { transport: {} as MessageTransport }],
      ['defaultRequestTimeoutMs', { defaultRequestTimeoutMs: 0 }],
      ['defaultRequestTimeoutMs', { defaultRequestTimeoutMs: Infinity }],
      ['maxPendingRequests', { maxPendingRequests: 0 }],
      ['codec', { codec: 'xml' as 'json' }],
    ])('refuses a bad %s with InvalidConfigError', (option, options) => {
      const create = () =>
        new Messaging({ self: A, transport: net.transport(A), ...options } as MessagingOptions);
      expect(create).toThrow(InvalidConfigError);
      if (option !== 'codec') expect(create).toThrow(option);
    });

    it('rejects a request whose timeoutMs is not usable', async () => {
      const a = net.add(A);
      net.add(B);
      for (const timeoutMs of [0, -1, Number.NaN, Infinity, 2 ** 31])
        await expect(a.request(B, 't', 1, { timeoutMs })).rejects.toBeInstanceOf(
          InvalidConfigError,
        );
      expect(a.pendingRequests).toBe(0);
    });
  });
});
