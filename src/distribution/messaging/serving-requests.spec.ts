import { until } from '../../../test/support/wait.js';
import {
  A,
  B,
  C,
  MemoryNetwork,
  deferred,
  rejection,
  settle,
} from '../../../test/support/messaging-harness.js';
import type { MessageContext } from '../../core/index.js';
import { NodeDownError } from '../transport.errors.js';
import { MessagingClosedError } from './messaging.errors.js';
import { ServingRequests } from './serving-requests.js';

describe('serving requests: the handler abort signal', () => {
  let net: MemoryNetwork;
  beforeEach(() => {
    net = new MemoryNetwork();
  });
  afterEach(() => net.close());

  /** B serves "work": the handler keeps its context and waits until released. */
  function servingB() {
    const b = net.add(B);
    const contexts: MessageContext[] = [];
    const release = deferred<string>();
    b.on('work', (_payload, context) => {
      contexts.push(context);
      return release.promise;
    });
    return { b, contexts, release };
  }

  it('aborts the signal of a request whose requester goes down, with NodeDownError, not for another node', async () => {
    const a = net.add(A);
    const c = net.add(C);
    const { b, contexts } = servingB();
    const fromA = rejection(a.request(B, 'work', 1, { timeoutMs: 60_000 }));
    void c.request(B, 'work', 2, { timeoutMs: 60_000 }).catch(() => undefined);
    await until(() => contexts.length === 2, 5_000, 'two requests served');
    const [ofA, ofC] = contexts[0].from === A ? contexts : [contexts[1], contexts[0]];
    expect(ofA).toMatchObject({ from: A, topic: 'work', kind: 'request' });
    const signalA = ofA.signal!;
    const signalC = ofC.signal!;
    expect(signalA.aborted).toBe(false);
    const reasons: unknown[] = [];
    signalA.addEventListener('abort', () => reasons.push(signalA.reason));

    b.nodeDown(A);
    expect(signalA.aborted).toBe(true);
    expect(reasons).toHaveLength(1);
    expect(signalA.reason).toBeInstanceOf(NodeDownError);
    expect(signalA.reason).toMatchObject({ code: 'ERR_NODE_DOWN', node: A, topic: 'work' });
    expect(signalC.aborted).toBe(false);
    // the requester's own side fails its pending request the same way
    a.nodeDown(B);
    expect(await fromA).toMatchObject({ code: 'ERR_NODE_DOWN', node: B });
  });

  it('gives a handler that reads signal only after its requester went down an aborted signal', async () => {
    const a = net.add(A);
    const { b, contexts } = servingB();
    void a.request(B, 'work', 1, { timeoutMs: 60_000 }).catch(() => undefined);
    await until(() => contexts.length === 1, 5_000, 'request served');
    b.nodeDown(A); // before the handler ever read its signal
    const signal = contexts[0].signal!;
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ code: 'ERR_NODE_DOWN', node: A, topic: 'work' });
    // a new request from A (a new incarnation) gets a signal of its own, not aborted
    void a.request(B, 'work', 2, { timeoutMs: 60_000 }).catch(() => undefined);
    await until(() => contexts.length === 2, 5_000, 'second request served');
    expect(contexts[1].signal!.aborted).toBe(false);
  });

  it('aborts every served signal with MessagingClosedError at close, also when read later', async () => {
    const a = net.add(A);
    const { b, contexts } = servingB();
    void a.request(B, 'work', 1, { timeoutMs: 60_000 }).catch(() => undefined);
    void a.request(B, 'work', 2, { timeoutMs: 60_000 }).catch(() => undefined);
    await until(() => contexts.length === 2, 5_000, 'two requests served');
    const early = contexts[0].signal!;
    b.close();
    expect(early.aborted).toBe(true);
    expect(early.reason).toBeInstanceOf(MessagingClosedError);
    const late = contexts[1].signal!;
    expect(late.aborted).toBe(true);
    expect(late.reason).toBeInstanceOf(MessagingClosedError);
  });

  it('releases a request when its handler settles: a later nodeDown aborts nothing', async () => {
    const a = net.add(A);
    const b = net.add(B);
    let kept: AbortSignal | undefined;
    b.on('quick', (_payload, context) => {
      kept = context.signal;
      return 'done';
    });
    let keptByFailure: AbortSignal | undefined;
    b.on('fails', async (_payload, context) => {
      keptByFailure = context.signal;
      throw new Error('no');
    });
    await expect(a.request(B, 'quick', 1)).resolves.toBe('done');
    await rejection(a.request(B, 'fails', 1));
    b.nodeDown(A);
    expect(kept!.aborted).toBe(false);
    expect(keptByFailure!.aborted).toBe(false);
  });

  it('gives one-way messages no signal', async () => {
    const a = net.add(A);
    const b = net.add(B);
    const contexts: MessageContext[] = [];
    b.on('note', (_payload, context) => void contexts.push(context));
    b.subscribe('note', (_payload, context) => void contexts.push(context));
    a.send(B, 'note', 1);
    await until(() => contexts.length === 2, 5_000, 'delivery');
    for (const context of contexts) {
      expect(context.kind).toBe('oneWay');
      expect(context.signal).toBeUndefined();
    }
  });
});

describe('serving requests: the count and whenIdle, for the drain', () => {
  let net: MemoryNetwork;
  beforeEach(() => {
    net = new MemoryNetwork();
  });
  afterEach(() => net.close());

  it('counts requests from peers and from self until their handler settles, then whenIdle resolves', async () => {
    const a = net.add(A);
    const b = net.add(B);
    const release = deferred<string>();
    b.on('work', () => release.promise);
    b.on('fails', () => Promise.reject(new Error('no')));
    b.on('quick', () => 'q');
    await expect(b.whenIdle()).resolves.toBeUndefined(); // nothing served: at once
    const fromA = a.request(B, 'work', 1, { timeoutMs: 60_000 });
    const fromSelf = b.request(B, 'work', 2, { timeoutMs: 60_000 });
    await until(() => b.servingCount === 2, 5_000, 'two requests served');
    expect(a.servingCount).toBe(0);
    await rejection(a.request(B, 'fails', 0));
    await expect(a.request(B, 'quick', 0)).resolves.toBe('q');
    expect(b.servingCount).toBe(2); // failed and answered requests are not left counted
    let idle = false;
    const whenIdle = b.whenIdle().then(() => (idle = true));
    const whenIdleToo = b.whenIdle();
    await settle();
    expect(idle).toBe(false);
    release.resolve('done');
    await expect(Promise.all([fromA, fromSelf])).resolves.toEqual(['done', 'done']);
    await Promise.all([whenIdle, whenIdleToo]);
    expect(idle).toBe(true);
    expect(b.servingCount).toBe(0);
  });

  it('keeps counting a request whose requester went down until its handler settles', async () => {
    const a = net.add(A);
    const b = net.add(B);
    const release = deferred<string>();
    b.on('work', () => release.promise);
    void a.request(B, 'work', 1, { timeoutMs: 60_000 }).catch(() => undefined);
    await until(() => b.servingCount === 1, 5_000, 'request served');
    b.nodeDown(A);
    expect(b.servingCount).toBe(1);
    const whenIdle = b.whenIdle();
    release.resolve('late');
    await whenIdle;
    expect(b.servingCount).toBe(0);
  });

  it('rejects whenIdle with the signal reason when it aborts first, or is already aborted', async () => {
    const a = net.add(A);
    const b = net.add(B);
    const release = deferred<string>();
    b.on('work', () => release.promise);
    const pending = a.request(B, 'work', 1, { timeoutMs: 60_000 });
    await until(() => b.servingCount === 1, 5_000, 'request served');
    const controller = new AbortController();
    const waiting = b.whenIdle(controller.signal);
    controller.abort(new Error('drain timed out'));
    expect((await rejection(waiting)).message).toBe('drain timed out');
    const early = await rejection(b.whenIdle(AbortSignal.abort(new Error('already'))));
    expect(early.message).toBe('already');
    release.resolve('done');
    await pending;
    // an aborted waiter was removed: the zero that follows resolves the others only
    await expect(b.whenIdle(controller.signal)).rejects.toThrow('drain timed out');
    await expect(b.whenIdle()).resolves.toBeUndefined();
  });
});

describe('ServingRequests', () => {
  it('keeps a total across requesters, released once per request', async () => {
    const serving = new ServingRequests();
    const first = serving.request(A, 't');
    const second = serving.request(B, 't');
    expect(serving.total).toBe(2);
    first.settled();
    first.settled(); // idempotent
    expect(serving.total).toBe(1);
    const signal = new AbortController();
    const idle = serving.whenIdle(signal.signal);
    serving.close(() => new Error('closed')); // close aborts signals; the handler still runs
    expect(serving.total).toBe(1);
    second.settled();
    expect(serving.total).toBe(0);
    await expect(idle).resolves.toBeUndefined();
  });

  it('keeps nothing for a request whose signal is never read, once its handler settled', () => {
    const serving = new ServingRequests();
    const first = serving.request(A, 't');
    const second = serving.request(A, 't');
    expect(serving.requesters).toBe(1);
    first.settled();
    first.settled(); // idempotent: the second request still counts
    expect(serving.requesters).toBe(1);
    second.settled();
    expect(serving.requesters).toBe(0);
    expect(serving.signals).toBe(0);
  });

  it('registers a signal only when read, and forgets it when the handler settles', () => {
    const serving = new ServingRequests();
    const message = serving.request(A, 't');
    expect(serving.signals).toBe(0);
    const signal = message.signal!;
    expect(message.signal).toBe(signal); // created once
    expect(serving.signals).toBe(1);
    message.settled();
    expect(serving.signals).toBe(0);
    expect(serving.requesters).toBe(0);
    serving.nodeDown(A, topic => new Error(topic));
    expect(signal.aborted).toBe(false);
  });

  it('gives a signal read after the handler settled that never aborts, and registers nothing', () => {
    const serving = new ServingRequests();
    const message = serving.request(A, 't');
    message.settled();
    const signal = message.signal!;
    expect(serving.requesters).toBe(0);
    expect(serving.signals).toBe(0);
    serving.close(() => new Error('closed'));
    expect(signal.aborted).toBe(false);
  });

  it('keeps a request released after its node went down out of the new group', async () => {
    const serving = new ServingRequests();
    const old = serving.request(A, 't');
    serving.nodeDown(A, topic => new Error(topic));
    const fresh = serving.request(A, 't');
    old.settled(); // must not drop the new incarnation's group
    expect(serving.requesters).toBe(1);
    const signal = fresh.signal!;
    serving.nodeDown(A, topic => new Error(`down ${topic}`));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('down t');
    fresh.settled();
    expect(serving.requesters).toBe(0);
    await settle(1);
  });

  it('serves one request at a time from several nodes without mixing their signals', () => {
    const serving = new ServingRequests();
    for (let round = 0; round < 3; round++) {
      const fromA = serving.request(A, 'a');
      const signalA = fromA.signal!;
      fromA.settled();
      const fromB = serving.request(B, 'b');
      const signalB = fromB.signal!;
      serving.nodeDown(A, topic => new Error(topic)); // A has nothing in flight now
      expect(signalA.aborted).toBe(false);
      expect(signalB.aborted).toBe(false);
      expect(serving.signals).toBe(1);
      serving.nodeDown(B, topic => new Error(`down ${topic}`));
      expect(signalB.aborted).toBe(true);
      fromB.settled();
      // a later request from B is a new incarnation's: not born aborted
      const again = serving.request(B, 'b');
      expect(again.signal!.aborted).toBe(false);
      again.settled();
      expect(serving.requesters).toBe(0);
    }
  });
});
