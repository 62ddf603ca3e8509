import { AsyncLocalStorage } from 'node:async_hooks';
import type {
  IncomingMessageInfo,
  IncomingScope,
  MessageHeaders,
  MessagingInstrumentation,
  OutgoingMessageInfo,
  OutgoingScope,
} from '../../core/index.js';
import {
  A,
  B,
  C,
  MemoryNetwork,
  rejection,
  settle,
} from '../../../test/support/messaging-harness.js';
import { until } from '../../../test/support/wait.js';
import { QueueFullError } from '../transport.errors.js';
import type { Messaging } from './messaging.js';

/** What a recording hook set saw: each outgoing info with its ends, each incoming one. */
class Recorder implements MessagingInstrumentation {
  readonly out: { info: OutgoingMessageInfo; ends: unknown[][] }[] = [];
  readonly in: {
    info: IncomingMessageInfo;
    headers: MessageHeaders | undefined;
    ends: unknown[][];
  }[] = [];

  constructor(
    private readonly headers?: MessageHeaders,
    private readonly store?: AsyncLocalStorage<string>,
  ) {}

  outgoing(info: OutgoingMessageInfo): OutgoingScope {
    const entry = { info, ends: [] as unknown[][] };
    this.out.push(entry);
    return { headers: this.headers, end: (...args) => void entry.ends.push(args) };
  }

  incoming(info: IncomingMessageInfo, headers: MessageHeaders | undefined): IncomingScope {
    const entry = { info, headers, ends: [] as unknown[][] };
    this.in.push(entry);
    const store = this.store;
    return {
      run: fn => (store === undefined ? fn() : store.run(`${info.topic} from ${info.from}`, fn)),
      end: (...args) => void entry.ends.push(args),
    };
  }

  outcomes(): unknown[] {
    return this.out.map(entry => entry.ends.map(end => end[0]).join(','));
  }
}

describe('Messaging instrumentation', () => {
  let network: MemoryNetwork;
  let a: Messaging;
  let b: Messaging;
  let c: Messaging;

  beforeEach(() => {
    network = new MemoryNetwork();
    a = network.add(A);
    b = network.add(B);
    c = network.add(C);
  });

  afterEach(() => network.close());

  describe('stats', () => {
    it('counts messages and bytes through the transport on both sides, not those to self', async () => {
      b.on('echo', value => value);
      a.on('echo', value => value);
      await a.request(B, 'echo', 'hello');
      await a.request(A, 'echo', 'self');
      const sent = network.sent.filter(m => m.from === A);
      expect(sent).toHaveLength(1);
      expect(a.stats.messagesSent).toBe(1);
      expect(a.stats.messagesReceived).toBe(1);
      expect(b.stats.messagesSent).toBe(1);
      expect(b.stats.messagesReceived).toBe(1);
      // the envelope's bytes: 7 + topic + body, counted the same by sender and receiver
      expect(a.stats.bytesSent).toBe(b.stats.bytesReceived);
      expect(b.stats.bytesSent).toBe(a.stats.bytesReceived);
      expect(a.stats.bytesSent).toBeGreaterThan(7 + 'echo'.length);
    });

    it("counts this node's requests by outcome, with in flight and serving", async () => {
      const releases: (() => void)[] = [];
      b.on('ok', () => 1);
      b.on('fail', () => {
        throw new Error('no');
      });
      b.on('slow', () => new Promise<void>(resolve => releases.push(resolve)));
      await a.request(B, 'ok', null);
      await rejection(a.request(B, 'fail', null));
      await rejection(a.request(B, 'none', null));
      await rejection(a.request(B, 'slow', null, { timeoutMs: 20 }));
      const pending = a.request(B, 'slow', null);
      await until(() => b.stats.serving === 2, 2_000);
      expect(a.stats.inFlight).toBe(1);
      a.nodeDown(B);
      await rejection(pending);
      const aborted = new AbortController();
      const abortedRequest = a.request(B, 'slow', null, { signal: aborted.signal });
      aborted.abort();
      await rejection(abortedRequest);
      network.down.add(C);
      await rejection(a.request(C, 'ok', null));
      expect(a.stats.requests).toEqual({
        ok: 1,
        remoteError: 2,
        timeout: 1,
        nodeDown: 1,
        other: 2,
      });
      expect(a.stats.inFlight).toBe(0);
      await until(() => releases.length === 3, 2_000);
      for (const release of releases) release();
      await until(() => b.stats.serving === 0, 2_000);
    });

    it('counts a request failed by close as other', async () => {
      b.on('slow', () => new Promise(() => undefined));
      const pending = a.request(B, 'slow', null);
      await until(() => b.stats.serving === 1, 2_000);
      a.close();
      await rejection(pending);
      expect(a.stats.requests.other).toBe(1);
    });
  });

  describe('outgoing', () => {
    it("ends each request once with its outcome, and tells the request's node, topic and kind", async () => {
      const hooks = new Recorder();
      a.instrument(hooks);
      let release!: () => void;
      b.on('ok', () => 1);
      b.on('fail', () => {
        throw new Error('no');
      });
      b.on('slow', () => new Promise<void>(resolve => (release = resolve)));
      await a.request(B, 'ok', null);
      await rejection(a.request(B, 'fail', null));
      await rejection(a.request(B, 'slow', null, { timeoutMs: 20 }));
      release();
      const down = a.request(B, 'slow', null);
      await until(() => b.stats.serving === 1, 2_000);
      a.nodeDown(B);
      await rejection(down);
      release();
      const controller = new AbortController();
      const aborted = a.request(B, 'slow', null, { signal: controller.signal });
      controller.abort();
      await rejection(aborted);
      const before = new AbortController();
      before.abort();
      await rejection(a.request(B, 'ok', null, { signal: before.signal }));
      network.down.add(C);
      await rejection(a.request(C, 'ok', null));
      const closing = a.request(B, 'slow', null);
      await until(() => b.stats.serving === 1, 2_000);
      a.close();
      await rejection(closing);
      await settle();
      expect(hooks.outcomes()).toEqual([
        'ok',
        'remoteError',
        'timeout',
        'nodeDown',
        'aborted',
        'aborted',
        'refused',
        'closed',
      ]);
      expect(hooks.out[0].info).toEqual({
        node: B,
        topic: 'ok',
        kind: 'request',
        operation: 'request',
        internal: false,
      });
      // the error the caller saw, for every outcome but ok
      expect(hooks.out[1].ends[0][1]).toBeInstanceOf(Error);
      expect(hooks.out[0].ends[0]).toEqual(['ok', undefined]);
    });

    it('ends a send and a broadcast with sent once queued, refused when the transport refuses', async () => {
      const hooks = new Recorder();
      a.instrument(hooks);
      b.on('note', () => undefined);
      a.send(B, 'note', 1);
      expect(a.broadcast('note', 2)).toBe(2);
      network.failure = { from: A, to: B, error: new QueueFullError('full', { node: B }) };
      expect(() => a.send(B, 'note', 3)).toThrow(QueueFullError);
      expect(hooks.out.map(entry => entry.info)).toEqual([
        { node: B, topic: 'note', kind: 'oneWay', operation: 'send', internal: false },
        { node: '*', topic: 'note', kind: 'oneWay', operation: 'broadcast', internal: false },
        { node: B, topic: 'note', kind: 'oneWay', operation: 'send', internal: false },
      ]);
      expect(hooks.outcomes()).toEqual(['sent', 'sent', 'refused']);
      expect(hooks.out[2].ends[0][1]).toBeInstanceOf(QueueFullError);
    });

    it("marks the library's own topics internal", () => {
      const hooks = new Recorder();
      a.instrument(hooks);
      a.send(B, '$gc.registry', 1);
      expect(hooks.out[0].info.internal).toBe(true);
    });

    it('opens one scope per node asked by requestAll', async () => {
      const hooks = new Recorder();
      a.instrument(hooks);
      b.on('who', () => 'b');
      c.on('who', () => 'c');
      const results = await a.requestAll('who', null, { nodes: [B, C, 'x@10.0.0.9'] });
      expect(results.map(r => r.ok)).toEqual([true, true, false]);
      expect(hooks.out.map(entry => entry.info.node)).toEqual([B, C]);
      expect(hooks.outcomes()).toEqual(['ok', 'ok']);
    });

    it('ends every request of an aborted requestAll as aborted', async () => {
      const hooks = new Recorder();
      a.instrument(hooks);
      b.on('slow', () => new Promise(() => undefined));
      c.on('slow', () => new Promise(() => undefined));
      const controller = new AbortController();
      const call = a.requestAll('slow', null, { signal: controller.signal });
      await until(() => b.stats.serving === 1 && c.stats.serving === 1, 2_000);
      controller.abort();
      await call;
      expect(hooks.outcomes()).toEqual(['aborted', 'aborted']);
      expect(a.stats.requests.other).toBe(2);
    });

    it('is no longer called once removed', async () => {
      const hooks = new Recorder();
      const remove = a.instrument(hooks);
      b.on('ok', () => 1);
      await a.request(B, 'ok', null);
      remove();
      remove();
      await a.request(B, 'ok', null);
      a.send(B, 'ok', 1);
      expect(hooks.out).toHaveLength(1);
    });
  });

  describe('incoming', () => {
    it('runs the request handler inside the scope, its promises included, and ends it with the answer', async () => {
      const store = new AsyncLocalStorage<string>();
      const hooks = new Recorder(undefined, store);
      b.instrument(hooks);
      b.on('ctx', async () => {
        await new Promise(resolve => setImmediate(resolve));
        return store.getStore();
      });
      b.on('fail', async () => {
        await Promise.resolve();
        throw new Error('no');
      });
      await expect(a.request(B, 'ctx', null)).resolves.toBe(`ctx from ${A}`);
      await rejection(a.request(B, 'fail', null));
      await settle();
      expect(hooks.in.map(entry => entry.info)).toEqual([
        { from: A, topic: 'ctx', kind: 'request', internal: false },
        { from: A, topic: 'fail', kind: 'request', internal: false },
      ]);
      expect(hooks.in[0].ends).toEqual([['ok']]);
      expect(hooks.in[1].ends.map(end => end[0])).toEqual(['error']);
      expect((hooks.in[1].ends[0][1] as Error).message).toBe('no');
    });

    it('runs every receiver of a one-way message inside one scope, ended when all settled', async () => {
      const store = new AsyncLocalStorage<string>();
      const hooks = new Recorder(undefined, store);
      b.instrument(hooks);
      const seen: (string | undefined)[] = [];
      let release!: () => void;
      b.on('note', () => void seen.push(store.getStore()));
      b.subscribe('note', async () => {
        await new Promise<void>(resolve => (release = resolve));
        seen.push(store.getStore());
      });
      a.send(B, 'note', 1);
      await until(() => seen.length === 1, 2_000);
      expect(hooks.in[0].ends).toEqual([]);
      release();
      await until(() => hooks.in[0].ends.length === 1, 2_000);
      expect(seen).toEqual([`note from ${A}`, `note from ${A}`]);
      expect(hooks.in[0].ends).toEqual([['ok']]);
    });

    it('ends the scope with error when the answer cannot be encoded and an error goes back', async () => {
      const hooks = new Recorder();
      b.instrument(hooks);
      b.on('bad', () => () => undefined);
      const error = await rejection(a.request(B, 'bad', null));
      expect(error).toMatchObject({ code: 'ERR_REMOTE_HANDLER' });
      await settle();
      expect(hooks.in[0].ends.map(end => end[0])).toEqual(['error']);
      expect(hooks.in[0].ends[0][1]).toMatchObject({ code: 'ERR_PAYLOAD_ENCODE' });
    });

    it("carries the outgoing scope's headers to this node's own handlers, later sets winning", async () => {
      a.instrument(new Recorder({ traceparent: 'first', one: '1' }));
      a.instrument(new Recorder({ traceparent: 'second' }));
      const hooks = new Recorder();
      a.instrument(hooks);
      a.on('self', () => 'ok');
      await a.request(A, 'self', null);
      const received = hooks.in.find(entry => entry.info.topic === 'self');
      expect(received?.info.from).toBe(A);
      expect(received?.headers).toEqual({ traceparent: 'second', one: '1' });
      expect(received?.ends).toEqual([['ok']]);
    });
  });

  describe('a failing hook', () => {
    it('is skipped for that message and logged; the message goes on and other hooks still run', async () => {
      const good = new Recorder();
      a.instrument({
        outgoing: () => {
          throw new Error('outgoing broke');
        },
      });
      a.instrument(good);
      a.instrument({
        outgoing: () => ({
          end: () => {
            throw new Error('end broke');
          },
        }),
      });
      b.instrument({
        incoming: () => {
          throw new Error('incoming broke');
        },
      });
      b.instrument({
        incoming: () => ({
          run: () => {
            throw new Error('run broke');
          },
          end: () => undefined,
        }),
      });
      b.on('ok', () => 'answer');
      await expect(a.request(B, 'ok', null)).resolves.toBe('answer');
      expect(good.outcomes()).toEqual(['ok']);
      expect(network.logger(A).has('warn', 'outgoing broke')).toBe(true);
      expect(network.logger(A).has('warn', 'end broke')).toBe(true);
      expect(network.logger(B).has('warn', 'incoming broke')).toBe(true);
      expect(network.logger(B).has('warn', 'run broke')).toBe(true);
    });

    it('is skipped when its run returns without calling the handler, which runs exactly once', async () => {
      const outer = new Recorder();
      b.instrument(outer);
      b.instrument({
        incoming: () => ({ run: () => undefined as never, end: () => undefined }),
      });
      // Calls the handler only later, once the scope was skipped: it must not run again.
      const late: (() => unknown)[] = [];
      b.instrument({
        incoming: () => ({
          run: fn => void late.push(fn) as never,
          end: () => undefined,
        }),
      });
      let requests = 0;
      let notes = 0;
      b.on('ok', () => {
        requests++;
        return 'answer';
      });
      b.on('note', () => void notes++);
      await expect(a.request(B, 'ok', null, { timeoutMs: 5_000 })).resolves.toBe('answer');
      a.send(B, 'note', 1);
      await until(() => notes === 1 && late.length === 2, 2_000);
      for (const fn of late) fn();
      await settle();
      expect([requests, notes]).toEqual([1, 1]);
      expect(b.stats.serving).toBe(0);
      expect(outer.in.map(entry => entry.ends)).toEqual([[['ok']], [['ok']]]);
      const skipped = network
        .logger(B)
        .lines.filter(l => l.message.includes('returned without calling the handler'));
      expect(skipped).toHaveLength(1);
      expect(skipped[0].level).toBe('warn');
      await b.whenIdle(AbortSignal.timeout(2_000));
    });

    it('is logged once per window however many messages it fails on', async () => {
      a.instrument({
        outgoing: () => {
          throw new Error('outgoing broke');
        },
      });
      b.on('ok', () => 1);
      for (let i = 0; i < 20; i++) await a.request(B, 'ok', null);
      expect(
        network.logger(A).lines.filter(l => l.message.includes('outgoing broke')),
      ).toHaveLength(1);
    });

    it('refuses what is not a set of hooks', () => {
      expect(() => a.instrument(null as never)).toThrow(/Invalid instrumentation hooks/);
      expect(() => a.instrument({ outgoing: 1 } as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }),
      );
    });
  });
});
