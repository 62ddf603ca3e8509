import { until } from '../../../test/support/wait.js';
import {
  A,
  B,
  C,
  D,
  MemoryNetwork,
  deferred,
  rejection,
} from '../../../test/support/messaging-harness.js';
import { EnvelopeKind, encodeEnvelope } from './envelope.js';
import {
  MessagingClosedError,
  NodeDownError,
  RequestAbortedError,
  RequestTimeoutError,
  TooManyRequestsError,
} from './messaging.errors.js';
import { createPayloadCodec } from './payload-codec.js';
import { PendingRequests, RequestIdAllocator } from './pending-requests.js';

describe('pending requests', () => {
  let net: MemoryNetwork;
  beforeEach(() => {
    net = new MemoryNetwork();
  });
  afterEach(() => net.close());

  describe('timeouts', () => {
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
  });

  describe('answers', () => {
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
  });

  describe('node down', () => {
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
  });

  describe('per node', () => {
    it('counts the requests awaiting each node (pendingTo), self included, through every way out', async () => {
      const a = net.add(A);
      const b = net.add(B);
      const c = net.add(C);
      const gate = deferred();
      for (const node of [a, b, c]) node.on('wait', () => gate.promise);
      const onB = [1, 2].map(n => a.request(B, 'wait', n, { timeoutMs: 60_000 }));
      const onC = a.request(C, 'wait', 3, { timeoutMs: 60_000 });
      const onSelf = a.request(A, 'wait', 4, { timeoutMs: 60_000 });
      const controller = new AbortController();
      const aborted = a.request(C, 'wait', 5, { signal: controller.signal, timeoutMs: 60_000 });
      const timedOut = a.request(C, 'wait', 6, { timeoutMs: 1 });
      expect([a.pendingTo(B), a.pendingTo(C), a.pendingTo(A), a.pendingTo(D)]).toEqual([
        2, 3, 1, 0,
      ]);
      controller.abort();
      await rejection(aborted);
      await rejection(timedOut);
      expect(a.pendingTo(C)).toBe(1);
      a.nodeDown(B);
      await Promise.all(onB.map(request => rejection(request)));
      expect(a.pendingTo(B)).toBe(0);
      gate.resolve('done');
      await expect(Promise.all([onC, onSelf])).resolves.toEqual(['done', 'done']);
      expect([a.pendingTo(C), a.pendingTo(A)]).toEqual([0, 0]);
    });
  });

  describe('limits and aborts', () => {
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
  });

  describe('request ids', () => {
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

describe('PendingRequests timeouts', () => {
  /** Timers counted and fired by hand, on a clock moved by hand. */
  function manualTimers() {
    const clock = { now: 0 };
    const armed = new Set<{ at: number; callback: () => void }>();
    const timers = {
      set: (callback: () => void, ms: number) => {
        const timer = { at: clock.now + ms, callback };
        armed.add(timer);
        return timer;
      },
      clear: (timer: unknown) => armed.delete(timer as { at: number; callback: () => void }),
    };
    const advance = (ms: number) => {
      clock.now += ms;
      for (const timer of [...armed])
        if (timer.at <= clock.now && armed.delete(timer)) timer.callback();
    };
    return { armed, advance, options: { now: () => clock.now, timers } };
  }

  it('shares one timer among the timeouts of every pending request, and stops it with failAll', () => {
    const time = manualTimers();
    const table = new PendingRequests(100, new RequestIdAllocator(), undefined, time.options);
    const rejected: Error[] = [];
    const ids = [1, 2, 3].map(() =>
      table.open(
        B,
        'wait',
        1_000,
        undefined,
        () => undefined,
        e => rejected.push(e),
        undefined,
      ),
    );
    expect(time.armed.size).toBe(1);
    // Answered: its timeout never fires; the others' still do.
    expect(table.take(ids[0], B)).toBeDefined();
    time.advance(999);
    expect(rejected).toEqual([]);
    time.advance(1);
    expect(rejected).toHaveLength(2);
    expect(rejected[0]).toBeInstanceOf(RequestTimeoutError);
    expect(rejected[0]).toMatchObject({ node: B, topic: 'wait', timeoutMs: 1_000 });
    expect(table.size).toBe(0);
    table.open(
      B,
      'wait',
      1_000,
      undefined,
      () => undefined,
      e => rejected.push(e),
      undefined,
    );
    expect(time.armed.size).toBe(1);
    table.failAll(() => new MessagingClosedError('closed'));
    expect(time.armed.size).toBe(0);
    expect(rejected[2]).toBeInstanceOf(MessagingClosedError);
  });
});
