import { InvalidConfigError } from '../../core/errors.js';
import type { ClusterLogger } from '../../core/logger.js';
import { until } from '../../../test/support/wait.js';
import { type Envelope, EnvelopeKind, decodeEnvelope, encodeEnvelope } from './envelope.js';
import {
  DuplicateHandlerError,
  InvalidTopicError,
  MessagingClosedError,
  NodeDownError,
  PayloadError,
  QueueFullError,
  RemoteError,
  RequestAbortedError,
  RequestTimeoutError,
  TooManyRequestsError,
} from './messaging.errors.js';
import { type MessageTransport, Messaging, type MessagingOptions } from './messaging.js';
import { RequestIdAllocator } from './pending-requests.js';
import { TransportMessages } from '../transport.messages.js';
import { type PayloadCodec, createPayloadCodec } from './payload-codec.js';

const A = 'a@10.0.0.1';
const B = 'b@10.0.0.2';
const C = 'c@10.0.0.3';
const D = 'd@10.0.0.4';

/** Jest's sandbox `process` does not see unhandled rejections; the main realm's does. */
const mainProcess = (setImmediate.constructor as FunctionConstructor)(
  'return process',
)() as NodeJS.Process;

/**
 * Jest runs a spec in a vm context whose `Uint8Array` is the main realm's but whose other typed
 * arrays are the context's own; msgpackr recognises typed arrays through the main realm's.
 */
const realm = (setImmediate.constructor as FunctionConstructor)(
  'return globalThis',
)() as typeof globalThis;

class TestLogger implements ClusterLogger {
  readonly lines: { level: string; message: string }[] = [];
  debug(message: string): void {
    this.lines.push({ level: 'debug', message });
  }
  log(message: string): void {
    this.lines.push({ level: 'log', message });
  }
  warn(message: string): void {
    this.lines.push({ level: 'warn', message });
  }
  error(message: string): void {
    this.lines.push({ level: 'error', message });
  }
  has(level: string, text: string): boolean {
    return this.lines.some(line => line.level === level && line.message.includes(text));
  }
  count(level: string): number {
    return this.lines.filter(line => line.level === level).length;
  }
}

interface Sent {
  readonly from: string;
  readonly to: string;
  readonly envelope: Envelope;
}

/**
 * Messaging instances wired together in memory: each message is copied into one buffer and
 * delivered in a microtask, like a transport handing over whole received messages.
 */
class MemoryNetwork {
  readonly nodes = new Map<string, Messaging>();
  readonly loggers = new Map<string, TestLogger>();
  /** Nodes treated as not connected. */
  readonly down = new Set<string>();
  /** Every message handed to a transport, decoded. */
  readonly sent: Sent[] = [];
  /** Makes the transport of `from` throw this for messages to `to` (any `to` when unset). */
  failure: { from: string; to?: string; error: Error } | undefined;
  /** Messages for which this returns true are held in `held` instead of being delivered. */
  hold: ((sent: Sent) => boolean) | undefined;
  readonly held: (() => void)[] = [];

  add(self: string, options: Partial<MessagingOptions> = {}): Messaging {
    const logger = new TestLogger();
    const messaging = new Messaging({ self, transport: this.transport(self), logger, ...options });
    this.nodes.set(self, messaging);
    this.loggers.set(self, logger);
    return messaging;
  }

  logger(node: string): TestLogger {
    return this.loggers.get(node)!;
  }

  transport(self: string): MessageTransport {
    return {
      send: (node, parts) => {
        if (this.failure?.from === self && (this.failure.to ?? node) === node)
          throw this.failure.error;
        const target = this.nodes.get(node);
        if (target === undefined || this.down.has(node) || this.down.has(self))
          throw new NodeDownError(TransportMessages.nodeDown(node), { node });
        const bytes = Buffer.concat(parts);
        const sent = { from: self, to: node, envelope: decodeEnvelope(bytes) };
        this.sent.push(sent);
        const deliver = () => target.receive(self, bytes);
        if (this.hold?.(sent)) this.held.push(deliver);
        else queueMicrotask(deliver);
      },
      members: () => [...this.nodes.keys()].filter(n => n !== self && !this.down.has(n)),
    };
  }

  release(): void {
    for (const deliver of this.held.splice(0)) deliver();
  }

  close(): void {
    for (const node of this.nodes.values()) node.close();
  }
}

function deferred<T = unknown>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

/** Lets every queued microtask and I/O callback run (not a sleep: no fixed delay). */
async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise(resolve => setImmediate(resolve));
}

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
      expect(received[0].context).toEqual({ from: A, topic: 'echo' });
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

    it('awaits an async handler and answers undefined for a void one', async () => {
      const a = net.add(A);
      const b = net.add(B);
      b.on('later', async (payload: unknown) => {
        await Promise.resolve();
        return (payload as number) * 2;
      });
      b.on('void', () => undefined);
      await expect(a.request(B, 'later', 21)).resolves.toBe(42);
      await expect(a.request(B, 'void', null)).resolves.toBeUndefined();
    });

    it('times out with RequestTimeoutError naming node, topic and ms, and forgets the request', async () => {
      const a = net.add(A);
      const b = net.add(B);
      b.on('never', () => new Promise(() => undefined));
      const error = await rejection(a.request(B, 'never', 1, { timeoutMs: 50 }));
      expect(error).toBeInstanceOf(RequestTimeoutError);
      expect(error).toMatchObject({
        code: 'ERR_REQUEST_TIMEOUT',
        node: B,
        topic: 'never',
        timeoutMs: 50,
      });
      expect(error.message).toContain(B);
      expect(error.message).toContain('"never"');
      expect(error.message).toContain('50 ms');
      expect(a.pendingRequests).toBe(0);
    });

    it('applies defaultRequestTimeoutMs when the request names no timeout', async () => {
      const a = net.add(A, { defaultRequestTimeoutMs: 30 });
      net.add(B);
      net.hold = () => true; // the request never arrives
      const error = await rejection(a.request(B, 'lost', 1));
      expect(error).toMatchObject({ code: 'ERR_REQUEST_TIMEOUT', timeoutMs: 30 });
    });

    it('drops a response that arrives after the timeout, with a debug log', async () => {
      const a = net.add(A);
      const b = net.add(B);
      const gate = deferred<string>();
      b.on('slow', () => gate.promise);
      const error = await rejection(a.request(B, 'slow', 1, { timeoutMs: 50 }));
      expect(error).toBeInstanceOf(RequestTimeoutError);
      gate.resolve('too late');
      await until(() => net.logger(A).has('debug', 'no longer pending'), 5_000, 'late drop log');
      expect(net.sent.some(s => s.envelope.kind === EnvelopeKind.Response)).toBe(true);
      expect(a.pendingRequests).toBe(0);
      expect(net.logger(A).count('warn')).toBe(0);
    });

    it('ignores a response from a node other than the one asked', async () => {
      const a = net.add(A);
      const b = net.add(B);
      net.add(C);
      const gate = deferred();
      b.on('wait', () => gate.promise);
      const pending = a.request(B, 'wait', 1, { timeoutMs: 5_000 });
      await until(() => net.sent.length === 1, 5_000);
      const id = net.sent[0].envelope.requestId;
      const forged = Buffer.concat(
        encodeEnvelope(EnvelopeKind.Response, id, '', createPayloadCodec().encode('forged')),
      );
      a.receive(C, forged);
      expect(a.pendingRequests).toBe(1);
      gate.resolve('genuine');
      await expect(pending).resolves.toBe('genuine');
    });

    it('gives RemoteError with the remote name, message and code when the handler throws', async () => {
      const a = net.add(A);
      const b = net.add(B);
      b.on('sync', () => {
        throw Object.assign(new TypeError('bad input'), { code: 'E_BAD_INPUT' });
      });
      b.on('async', async () => {
        throw new RangeError('out of range');
      });
      b.on('string', () => {
        throw 'plain string';
      });
      const sync = await rejection(a.request(B, 'sync', 1));
      expect(sync).toBeInstanceOf(RemoteError);
      expect(sync).toMatchObject({
        code: 'ERR_REMOTE_HANDLER',
        node: B,
        topic: 'sync',
        remoteName: 'TypeError',
        remoteMessage: 'bad input',
        remoteCode: 'E_BAD_INPUT',
      });
      expect(sync.message).toContain('bad input');
      expect(sync.message).toContain('E_BAD_INPUT');
      expect(sync).not.toHaveProperty('remoteStack');
      // Only name, message and code cross the wire, never the remote stack.
      const wire = net.sent.find(s => s.envelope.kind === EnvelopeKind.ErrorResponse)!;
      expect(JSON.parse(wire.envelope.body.toString())).toEqual({
        code: 'ERR_REMOTE_HANDLER',
        name: 'TypeError',
        message: 'bad input',
        remoteCode: 'E_BAD_INPUT',
      });
      const async = await rejection(a.request(B, 'async', 1));
      expect(async).toMatchObject({
        code: 'ERR_REMOTE_HANDLER',
        remoteName: 'RangeError',
        remoteMessage: 'out of range',
        remoteCode: undefined,
      });
      const text = await rejection(a.request(B, 'string', 1));
      expect(text).toMatchObject({ code: 'ERR_REMOTE_HANDLER', remoteMessage: 'plain string' });
    });

    it('gives RemoteError ERR_NO_HANDLER for a topic without handler', async () => {
      const a = net.add(A);
      net.add(B);
      const error = await rejection(a.request(B, 'nobody', 1));
      expect(error).toBeInstanceOf(RemoteError);
      expect(error).toMatchObject({ code: 'ERR_NO_HANDLER', node: B, topic: 'nobody' });
      expect(error.message).toContain('"nobody"');
    });

    it('answers with an error when the request cannot be decoded or the answer encoded', async () => {
      const garbage: PayloadCodec = {
        name: 'garbage',
        encode: () => Buffer.from([0xc1]),
        decode: bytes => createPayloadCodec().decode(bytes),
      };
      const a = net.add(A, { codec: garbage });
      const b = net.add(B);
      b.on('echo', payload => payload);
      b.on('fn', () => () => 1);
      const undecodable = await rejection(a.request(B, 'echo', 1));
      expect(undecodable).toMatchObject({
        code: 'ERR_REMOTE_HANDLER',
        remoteName: 'PayloadError',
        remoteCode: 'ERR_PAYLOAD_DECODE',
      });
      const a2 = net.add(C);
      const unencodable = await rejection(a2.request(B, 'fn', 1));
      expect(unencodable).toMatchObject({
        code: 'ERR_REMOTE_HANDLER',
        remoteName: 'PayloadError',
        remoteCode: 'ERR_PAYLOAD_ENCODE',
      });
    });

    it('rejects with PayloadError when the answer cannot be decoded', async () => {
      const a = net.add(A);
      const b = net.add(B, {
        codec: { name: 'bad', encode: () => Buffer.from([0xc1]), decode: () => 1 },
      });
      b.on('x', () => 'answer');
      const error = await rejection(a.request(B, 'x', 1));
      expect(error).toBeInstanceOf(PayloadError);
      expect(error).toMatchObject({ code: 'ERR_PAYLOAD_DECODE' });
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

    it('fails every request pending on a node at once when it goes down', async () => {
      const a = net.add(A);
      const b = net.add(B);
      const c = net.add(C);
      b.on('wait', () => new Promise(() => undefined));
      c.on('wait', () => new Promise(() => undefined));
      const onB = [1, 2, 3].map(n => a.request(B, 'wait', n, { timeoutMs: 60_000 }));
      const onC = a.request(C, 'wait', 4, { timeoutMs: 60_000 });
      expect(a.pendingRequests).toBe(4);
      a.nodeDown(B);
      expect(a.pendingRequests).toBe(1);
      for (const request of onB) {
        const error = await rejection(request);
        expect(error).toBeInstanceOf(NodeDownError);
        expect(error).toMatchObject({ code: 'ERR_NODE_DOWN', node: B, topic: 'wait' });
      }
      a.nodeDown(D); // nothing pending there: no effect
      expect(a.pendingRequests).toBe(1);
      a.close();
      await expect(onC).rejects.toBeInstanceOf(MessagingClosedError);
    });

    it('rejects at once with the transport error (queue full) and forgets the request', async () => {
      const a = net.add(A);
      net.add(B);
      const full = new QueueFullError(TransportMessages.queueFull(B), { node: B });
      net.failure = { from: A, error: full };
      const error = await rejection(a.request(B, 't', 1, { timeoutMs: 60_000 }));
      expect(error).toBe(full);
      expect(error).toMatchObject({ code: 'ERR_QUEUE_FULL', node: B });
      expect(a.pendingRequests).toBe(0);
    });

    it('rejects at once with NodeDownError for a node that is not connected', async () => {
      const a = net.add(A);
      const error = await rejection(a.request('ghost@10.0.0.9', 't', 1, { timeoutMs: 60_000 }));
      expect(error).toMatchObject({ code: 'ERR_NODE_DOWN', node: 'ghost@10.0.0.9' });
      expect(a.pendingRequests).toBe(0);
    });

    it('refuses more than maxPendingRequests with ERR_TOO_MANY_REQUESTS', async () => {
      const a = net.add(A, { maxPendingRequests: 2 });
      const b = net.add(B);
      const gate = deferred();
      b.on('wait', () => gate.promise);
      const first = a.request(B, 'wait', 1);
      const second = a.request(B, 'wait', 2);
      const error = await rejection(a.request(B, 'wait', 3));
      expect(error).toBeInstanceOf(TooManyRequestsError);
      expect(error).toMatchObject({ code: 'ERR_TOO_MANY_REQUESTS', limit: 2 });
      gate.resolve('done');
      await expect(Promise.all([first, second])).resolves.toEqual(['done', 'done']);
      await expect(a.request(B, 'wait', 4)).resolves.toBe('done');
    });

    it('abandons a request when its signal aborts, or at once when already aborted', async () => {
      const a = net.add(A);
      const b = net.add(B);
      b.on('wait', () => new Promise(() => undefined));
      const controller = new AbortController();
      const pending = a.request(B, 'wait', 1, { signal: controller.signal, timeoutMs: 60_000 });
      controller.abort(new Error('user gave up'));
      const error = await rejection(pending);
      expect(error).toBeInstanceOf(RequestAbortedError);
      expect(error).toMatchObject({ code: 'ERR_REQUEST_ABORTED', node: B, topic: 'wait' });
      expect((error.cause as Error).message).toBe('user gave up');
      expect(a.pendingRequests).toBe(0);
      const before = net.sent.length;
      const early = await rejection(a.request(B, 'wait', 2, { signal: controller.signal }));
      expect(early).toBeInstanceOf(RequestAbortedError);
      expect(net.sent.length).toBe(before);
    });

    it('wraps request ids around 2^32 and keeps routing answers', async () => {
      const ids = new RequestIdAllocator(0xffff_fffe);
      const a = net.add(A, { requestIds: ids });
      const b = net.add(B);
      b.on('echo', payload => payload);
      const answers = await Promise.all([1, 2, 3].map(n => a.request(B, 'echo', n)));
      expect(answers).toEqual([1, 2, 3]);
      const requestIds = net.sent
        .filter(s => s.envelope.kind === EnvelopeKind.Request)
        .map(s => s.envelope.requestId);
      expect(requestIds).toEqual([0xffff_fffe, 0xffff_ffff, 0]);
    });

    it('skips request ids that are still pending', async () => {
      const ids = new RequestIdAllocator(7);
      const a = net.add(A, { requestIds: ids });
      const b = net.add(B);
      const gate = deferred();
      b.on('wait', () => gate.promise);
      b.on('echo', payload => payload);
      const waiting = a.request(B, 'wait', 0); // id 7 stays pending
      ids.next = 7; // as if the ids had come all the way around
      await expect(a.request(B, 'echo', 'x')).resolves.toBe('x'); // must not take id 7
      const requestIds = net.sent
        .filter(s => s.envelope.kind === EnvelopeKind.Request)
        .map(s => s.envelope.requestId);
      expect(requestIds).toEqual([7, 8]);
      gate.resolve('done');
      await expect(waiting).resolves.toBe('done');
    });
  });

  describe('one-way messages', () => {
    it('delivers a send to the handler with its context, synchronously returning nothing', async () => {
      const a = net.add(A);
      const b = net.add(B);
      const seen: unknown[] = [];
      b.on('note', (payload, context) => {
        seen.push([payload, context]);
      });
      expect(a.send(B, 'note', { n: 1 })).toBeUndefined();
      await until(() => seen.length === 1, 5_000, 'delivery');
      expect(seen[0]).toEqual([{ n: 1 }, { from: A, topic: 'note' }]);
      expect(net.sent[0].envelope).toMatchObject({ kind: EnvelopeKind.Send, requestId: 0 });
    });

    it('throws the transport error synchronously (queue full, node down)', () => {
      const a = net.add(A);
      net.add(B);
      const full = new QueueFullError('queue full');
      net.failure = { from: A, to: B, error: full };
      expect(() => a.send(B, 'note', 1)).toThrow(full);
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

    it('drops a send to a topic without handler with a rate-limited warning', async () => {
      const a = net.add(A);
      const b = net.add(B);
      const seen: unknown[] = [];
      b.on('other', payload => void seen.push(payload));
      for (let i = 0; i < 50; i++) a.send(B, 'nobody', i);
      a.send(B, 'other', 'after');
      await until(() => seen.length === 1, 5_000, 'delivery');
      const warnings = net.logger(B).lines.filter(l => l.message.includes('"nobody"'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0].level).toBe('warn');
    });

    it('catches and logs handler failures without unhandled rejections', async () => {
      const unhandled: unknown[] = [];
      const listener = (reason: unknown) => void unhandled.push(reason);
      mainProcess.on('unhandledRejection', listener);
      try {
        const a = net.add(A);
        const b = net.add(B);
        b.on('sync', () => {
          throw new Error('sync failure');
        });
        b.on('async', async () => {
          throw new Error('async failure');
        });
        b.on('thenable', () => ({
          then: (_ok: unknown, fail: (error: unknown) => void) =>
            fail(new Error('thenable failure')),
        }));
        a.send(B, 'sync', 1);
        a.send(B, 'async', 2);
        a.send(B, 'thenable', 3);
        await until(
          () =>
            ['sync failure', 'async failure', 'thenable failure'].every(text =>
              net.logger(B).has('warn', text),
            ),
          5_000,
          'failure logs',
        );
        await settle();
        expect(unhandled).toEqual([]);
      } finally {
        mainProcess.off('unhandledRejection', listener);
      }
    });

    it('logs, never throws, for an undecodable payload or malformed bytes', async () => {
      const b = net.add(B);
      const seen: unknown[] = [];
      b.on('note', payload => void seen.push(payload));
      const bad = Buffer.concat(encodeEnvelope(EnvelopeKind.Send, 0, 'note', Buffer.from([0xc1])));
      expect(() => b.receive(A, bad)).not.toThrow();
      expect(net.logger(B).has('warn', 'Dropped a message from')).toBe(true);
      for (let i = 0; i < 20; i++) expect(() => b.receive(C, Buffer.from([9, 9, 9]))).not.toThrow();
      expect(net.logger(B).lines.filter(l => l.message.includes(`from ${C}`))).toHaveLength(1);
      expect(() => b.receive(C, Buffer.alloc(0))).not.toThrow();
      expect(seen).toEqual([]);
    });
  });

  describe('broadcast', () => {
    it('encodes once and sends to every member but self, returning the count', async () => {
      let encodes = 0;
      const msgpack = createPayloadCodec();
      const counting: PayloadCodec = {
        name: 'counting',
        encode: value => {
          encodes++;
          return msgpack.encode(value);
        },
        decode: bytes => msgpack.decode(bytes),
      };
      const a = net.add(A, { codec: counting });
      const got = new Map<string, unknown>();
      for (const node of [B, C, D])
        net.add(node).on('news', payload => void got.set(node, payload));
      a.on('news', () => void got.set(A, 'self'));
      expect(a.broadcast('news', { headline: 'hi' })).toBe(3);
      expect(encodes).toBe(1);
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
      expect(seen[0]).toEqual([new Set([1]), { from: A, topic: 'note' }]);
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

    it('drops the answers of handlers still running when closed', async () => {
      const a = net.add(A);
      const b = net.add(B);
      const gate = deferred();
      let started = false;
      b.on('slow', () => {
        started = true;
        return gate.promise;
      });
      const pending = a.request(B, 'slow', 1, { timeoutMs: 100 });
      await until(() => started, 5_000, 'handler start');
      b.close();
      gate.resolve('answer');
      await expect(pending).rejects.toBeInstanceOf(RequestTimeoutError);
      expect(net.sent.filter(s => s.from === B)).toHaveLength(0);
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

describe('RequestIdAllocator', () => {
  it('counts up, wraps after 2^32 - 1 and skips ids in use', () => {
    const ids = new RequestIdAllocator(0xffff_fffe);
    const inUse = new Set([0xffff_ffff, 0, 2]);
    const taken = [1, 2, 3].map(() => ids.take(id => inUse.has(id)));
    expect(taken).toEqual([0xffff_fffe, 1, 3]);
    expect(ids.next).toBe(4);
  });
});
