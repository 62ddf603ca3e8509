import { jest } from '@jest/globals';
import {
  type ClusterMessaging,
  ConnectError,
  GenClusterError,
  InvalidConfigError,
  type RequestOptions,
} from '../../core/index.js';
import {
  InvalidTopicError,
  MessagingClosedError,
  NodeDownError,
  PayloadError,
  QueueFullError,
  RemoteError,
  RequestAbortedError,
  RequestTimeoutError,
  TooManyRequestsError,
  defineTopic,
} from '../../distribution/index.js';
import { NoServerError } from '../primitives.errors.js';
import { PrimitivesMessages } from '../primitives.messages.js';
import type { CallOptions } from '../primitives.types.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import { rank } from './rendezvous.js';
import { type CallAttempt, ServiceCaller } from './service-caller.js';

const A = 'a@h';
const B = 'b@h';
const C = 'c@h';
const TOPIC = 'prices';

/** How a fake server answers one request. */
type Answer = (options: RequestOptions | undefined) => unknown;

/** A registry whose servers the test sets, and a messaging layer whose answers it scripts. */
class Fixture {
  readonly servers = new Map<string, string[]>([[TOPIC, [A, B, C]]]);
  readonly suppressed: [string, string][] = [];
  readonly sent: { node: string; topic: string; options: RequestOptions | undefined }[] = [];
  /** Answers by node; a node without one answers `{ from: node }`. */
  readonly answers = new Map<string, Answer>();
  readonly pending = new Map<string, number>();

  readonly registry = {
    self: B,
    servers: (topic: string) => [...(this.servers.get(topic) ?? [])],
    serversView: (topic: string) => this.servers.get(topic) ?? [],
    suppress: (node: string, topic: string) => {
      this.suppressed.push([node, topic]);
      this.servers.set(
        topic,
        (this.servers.get(topic) ?? []).filter(n => n !== node),
      );
    },
  } as unknown as ServiceRegistry;

  readonly messaging: ClusterMessaging = {
    send: () => undefined,
    broadcast: () => 0,
    on: () => () => undefined,
    pendingTo: node => this.pending.get(node) ?? 0,
    request: <T>(node: string, topic: string, _payload: unknown, options?: RequestOptions) => {
      this.sent.push({ node, topic, options });
      const answer = this.answers.get(node);
      return new Promise<T>(resolve => {
        resolve((answer === undefined ? { from: node } : answer(options)) as T);
      });
    },
  };

  caller(options: ConstructorParameters<typeof ServiceCaller>[2] = {}): ServiceCaller {
    return new ServiceCaller(this.registry, this.messaging, options);
  }

  failWith(node: string, error: () => Error): void {
    this.answers.set(node, () => {
      throw error();
    });
  }

  nodesAsked(): string[] {
    return this.sent.map(s => s.node);
  }
}

const remote = (code: 'ERR_NO_HANDLER' | 'ERR_REMOTE_HANDLER', node: string, status?: number) =>
  new RemoteError(`${code} from ${node}`, {
    code,
    node,
    topic: TOPIC,
    remoteName: 'Error',
    remoteMessage: 'boom',
    ...(status === undefined ? {} : { status }),
  });

/** The failures a call may meet, by how `retries`/`retryOn` treat them. */
const TRANSPORT_FAILURES: readonly [string, (node: string) => Error][] = [
  ['ERR_NODE_DOWN', node => new NodeDownError('down', { node, topic: TOPIC })],
  ['ERR_QUEUE_FULL', node => new QueueFullError('full', { node, topic: TOPIC })],
  ['ERR_CONNECT_FAILED', node => new ConnectError('refused', { node })],
  ['ERR_CONNECT_TIMEOUT', node => new ConnectError('slow', { node, code: 'ERR_CONNECT_TIMEOUT' })],
];
const NEVER_RETRIED: readonly [string, (node: string) => Error][] = [
  ['ERR_REQUEST_ABORTED', node => new RequestAbortedError('aborted', { node, topic: TOPIC })],
  ['ERR_TOO_MANY_REQUESTS', node => new TooManyRequestsError('many', { limit: 1, node })],
  ['ERR_PAYLOAD_ENCODE', () => new PayloadError('bad', { code: 'ERR_PAYLOAD_ENCODE' })],
  ['ERR_CLUSTER_STOPPED', () => new MessagingClosedError('closed')],
  ['ERR_REMOTE_HANDLER with status 404', node => remote('ERR_REMOTE_HANDLER', node, 404)],
];

function attemptsOf(error: unknown): readonly CallAttempt[] {
  return (error as { attempts: readonly CallAttempt[] }).attempts;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('ServiceCaller', () => {
  let f: Fixture;
  beforeEach(() => {
    f = new Fixture();
  });

  it('sends the request in the same turn as call() (no async wrapper) and resolves its answer', async () => {
    const promise = f.caller().call(TOPIC, { n: 1 });
    expect(f.sent).toHaveLength(1);
    await expect(promise).resolves.toEqual({ from: A });
  });

  it('settles as soon as the answer does: no async wrapper adds microtask turns', async () => {
    const answered = Promise.resolve('pong');
    f.messaging.request = (() => answered) as ClusterMessaging['request'];
    let settled = false;
    void f
      .caller()
      .call(TOPIC, 1)
      .then(() => (settled = true));
    // The answer's promise is settled already: one turn for call's rejection handler to pass
    // the value on, one for the `then` above. An `async` wrapper would need more.
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(true);
  });

  it('spreads calls round-robin over the servers', async () => {
    const caller = f.caller();
    const answers = await Promise.all(Array.from({ length: 9 }, () => caller.call(TOPIC, 0)));
    expect(answers.map(a => (a as { from: string }).from)).toEqual([A, B, C, A, B, C, A, B, C]);
  });

  it('accepts a Topic and passes timeoutMs and signal to the request', async () => {
    const signal = new AbortController().signal;
    await f.caller().call(defineTopic<number, unknown>(TOPIC), 1, { timeoutMs: 1_234, signal });
    expect(f.sent[0]!.options).toMatchObject({ timeoutMs: 1_234, signal });
  });

  it('bounds the first attempt by attemptTimeoutMs', async () => {
    await f.caller().call(TOPIC, 1, { timeoutMs: 3_000, attemptTimeoutMs: 500 });
    expect(f.sent[0]!.options).toMatchObject({ timeoutMs: 500 });
  });

  it('uses local-first, least-pending, random and key selections', async () => {
    await f.caller().call(TOPIC, 0, { select: 'local-first' });
    f.pending.set(A, 2).set(B, 1);
    await f.caller().call(TOPIC, 0, { select: 'least-pending' });
    await f.caller({ random: () => 0.1 }).call(TOPIC, 0, { select: 'random' });
    await f.caller().call(TOPIC, 0, { select: { key: 'user:1' } });
    expect(f.nodesAsked()).toEqual([B, C, A, rank('user:1', [A, B, C])[0]]);
  });

  it('rejects with ERR_NO_SERVER naming the topic when nobody serves it', async () => {
    const error = await rejection(f.caller().call('nothing', 1));
    expect(error).toBeInstanceOf(NoServerError);
    expect(error).toMatchObject({ code: 'ERR_NO_SERVER', topic: 'nothing', tried: [] });
    expect(error.message).toBe(PrimitivesMessages.noServer('nothing', []));
    expect(error.message).toContain('"nothing"');
    expect(f.sent).toHaveLength(0);
  });

  it('refuses reserved and malformed topics before asking anyone', async () => {
    const reserved = await rejection(f.caller().call('$gc.reg.hello', 1));
    expect(reserved).toBeInstanceOf(InvalidTopicError);
    expect(reserved).toMatchObject({ reason: 'reserved' });
    await expect(f.caller().call('', 1)).rejects.toMatchObject({ code: 'ERR_INVALID_TOPIC' });
    await expect(f.caller().call(42 as unknown as string, 1)).rejects.toBeInstanceOf(
      InvalidTopicError,
    );
    expect(f.sent).toHaveLength(0);
  });

  it.each<[string, CallOptions, string]>([
    ['an unknown selection', { select: 'nearest' as never }, 'select'],
    ['a selection object without key', { select: { node: A } as never }, 'select'],
    ['an empty key', { select: { key: '' } }, 'select.key'],
    ['a non-finite key', { select: { key: Number.NaN } }, 'select.key'],
    ['an object key', { select: { key: {} as never } }, 'select.key'],
    ['an empty byte key', { select: { key: new Uint8Array(0) } }, 'select.key'],
    ['retries over 16', { retries: 17 }, 'retries'],
    ['negative retries', { retries: -1 }, 'retries'],
    ['fractional retries', { retries: 1.5 }, 'retries'],
    ['retryOn not an array', { retryOn: 'timeout' as never }, 'retryOn'],
    ['an unknown retryOn', { retryOn: ['timeout', 'later' as never] }, 'retryOn[1]'],
    ['a zero timeoutMs', { timeoutMs: 0 }, 'timeoutMs'],
    [
      'attemptTimeoutMs over timeoutMs',
      { timeoutMs: 100, attemptTimeoutMs: 200 },
      'attemptTimeoutMs',
    ],
    ['attemptTimeoutMs over the default', { attemptTimeoutMs: 6_000 }, 'attemptTimeoutMs'],
  ])('refuses %s with InvalidConfigError naming the option', async (_what, options, option) => {
    const error = await rejection(f.caller().call(TOPIC, 1, options));
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toContain(`Invalid option ${option}: `);
    expect(f.sent).toHaveLength(0);
  });

  describe.each(TRANSPORT_FAILURES)('after %s', (code, failure) => {
    it('fails at once without retries', async () => {
      f.failWith(A, () => failure(A));
      const error = await rejection(f.caller().call(TOPIC, 1));
      expect(error).toMatchObject({ code });
      expect(attemptsOf(error)).toEqual([{ node: A, code }]);
      expect(Object.keys(error)).not.toContain('attempts');
      expect(f.nodesAsked()).toEqual([A]);
    });

    it('tries the next server with retries', async () => {
      f.failWith(A, () => failure(A));
      await expect(f.caller().call(TOPIC, 1, { retries: 1 })).resolves.toEqual({ from: B });
      expect(f.nodesAsked()).toEqual([A, B]);
      expect(f.suppressed).toEqual([]);
    });
  });

  it('retries a timeout only with retryOn timeout', async () => {
    f.failWith(A, () => new RequestTimeoutError('slow', { node: A, topic: TOPIC, timeoutMs: 10 }));
    await expect(f.caller().call(TOPIC, 1, { retries: 2 })).rejects.toBeInstanceOf(
      RequestTimeoutError,
    );
    await expect(f.caller().call(TOPIC, 1, { retries: 2, retryOn: ['timeout'] })).resolves.toEqual({
      from: B,
    });
  });

  it('retries a remote handler error only with retryOn remote, and not a 4xx', async () => {
    f.failWith(A, () => remote('ERR_REMOTE_HANDLER', A));
    await expect(
      f.caller().call(TOPIC, 1, { retries: 2, retryOn: ['timeout'] }),
    ).rejects.toMatchObject({
      code: 'ERR_REMOTE_HANDLER',
    });
    await expect(f.caller().call(TOPIC, 1, { retries: 2, retryOn: ['remote'] })).resolves.toEqual({
      from: B,
    });
    f.failWith(A, () => remote('ERR_REMOTE_HANDLER', A, 503));
    await expect(f.caller().call(TOPIC, 1, { retries: 1, retryOn: ['remote'] })).resolves.toEqual({
      from: B,
    });
  });

  it.each(NEVER_RETRIED)('never retries %s', async (code, failure) => {
    f.failWith(A, () => failure(A));
    const error = await rejection(
      f.caller().call(TOPIC, 1, { retries: 3, retryOn: ['timeout', 'remote'] }),
    );
    expect(error).toBeInstanceOf(GenClusterError);
    expect(f.nodesAsked()).toEqual([A]);
    expect(code.startsWith(String((error as GenClusterError).code))).toBe(true);
  });

  it('always retries ERR_NO_HANDLER on another server, and suppresses the stale entry', async () => {
    f.failWith(A, () => remote('ERR_NO_HANDLER', A));
    await expect(f.caller().call(TOPIC, 1)).resolves.toEqual({ from: B });
    expect(f.suppressed).toEqual([[A, TOPIC]]);
    expect(f.nodesAsked()).toEqual([A, B]);
  });

  it('does not count ERR_NO_HANDLER against retries', async () => {
    f.failWith(A, () => remote('ERR_NO_HANDLER', A));
    f.failWith(B, () => new NodeDownError('down', { node: B, topic: TOPIC }));
    await expect(f.caller().call(TOPIC, 1, { retries: 1 })).resolves.toEqual({ from: C });
    expect(f.nodesAsked()).toEqual([A, B, C]);
  });

  it('ends with ERR_NO_SERVER, the last ERR_NO_HANDLER as cause, when every server is stale', async () => {
    for (const node of [A, B, C]) f.failWith(node, () => remote('ERR_NO_HANDLER', node));
    const error = await rejection(f.caller().call(TOPIC, 1));
    expect(error).toBeInstanceOf(NoServerError);
    expect((error as NoServerError).tried).toEqual([A, B, C]);
    expect(error.message).toBe(PrimitivesMessages.noServer(TOPIC, [A, B, C]));
    expect(error.cause).toBeInstanceOf(RemoteError);
    expect((error.cause as RemoteError).node).toBe(C);
    expect(attemptsOf(error).map(a => a.code)).toEqual([
      'ERR_NO_HANDLER',
      'ERR_NO_HANDLER',
      'ERR_NO_HANDLER',
    ]);
  });

  it('stops after `retries` further attempts with the last error, listing every attempt', async () => {
    for (const node of [A, B, C]) f.failWith(node, () => new NodeDownError('down', { node }));
    const error = await rejection(f.caller().call(TOPIC, 1, { retries: 1 }));
    expect(error).toBeInstanceOf(NodeDownError);
    expect((error as NodeDownError).node).toBe(B);
    expect(attemptsOf(error)).toEqual([
      { node: A, code: 'ERR_NODE_DOWN' },
      { node: B, code: 'ERR_NODE_DOWN' },
    ]);
  });

  it('fails with the last error when no other server is left', async () => {
    f.servers.set(TOPIC, [A, B]);
    for (const node of [A, B]) f.failWith(node, () => new QueueFullError('full', { node }));
    const error = await rejection(f.caller().call(TOPIC, 1, { retries: 5 }));
    expect(error).toBeInstanceOf(QueueFullError);
    expect(f.nodesAsked()).toEqual([A, B]);
  });

  it('sends a key down its rank on retry, as every caller would', async () => {
    const ranked = rank('tenant-7', [A, B, C]);
    f.failWith(ranked[0]!, () => new NodeDownError('down', { node: ranked[0]! }));
    const answer = await f.caller().call(TOPIC, 1, { select: { key: 'tenant-7' }, retries: 1 });
    expect(answer).toEqual({ from: ranked[1] });
  });

  it('never retries an aborted call', async () => {
    const controller = new AbortController();
    f.failWith(A, () => {
      controller.abort();
      return new NodeDownError('down', { node: A });
    });
    f.failWith(B, () => new RequestAbortedError('aborted', { node: B, topic: TOPIC }));
    const error = await rejection(
      f.caller().call(TOPIC, 1, { retries: 3, signal: controller.signal }),
    );
    expect(error).toBeInstanceOf(RequestAbortedError);
    expect(f.sent[1]!.options?.signal).toBe(controller.signal);
    expect(f.nodesAsked()).toEqual([A, B]);
  });

  describe('one overall deadline', () => {
    beforeEach(() => {
      jest.useFakeTimers({ now: 0 });
    });
    afterEach(() => {
      jest.useRealTimers();
    });

    it('gives each retry what is left of timeoutMs, bounded by attemptTimeoutMs', async () => {
      f.answers.set(A, () => {
        jest.advanceTimersByTime(4_000);
        throw new NodeDownError('down', { node: A });
      });
      f.answers.set(B, () => {
        jest.advanceTimersByTime(700);
        throw new NodeDownError('down', { node: B });
      });
      await f.caller().call(TOPIC, 1, { timeoutMs: 5_000, attemptTimeoutMs: 4_500, retries: 2 });
      expect(f.sent.map(s => s.options?.timeoutMs)).toEqual([4_500, 1_000, 300]);
    });

    it('uses the default timeout as the bound of a call without timeoutMs', async () => {
      f.failWith(A, () => {
        jest.advanceTimersByTime(1_000);
        return new NodeDownError('down', { node: A });
      });
      await f.caller({ defaultTimeoutMs: 3_000 }).call(TOPIC, 1, { retries: 1 });
      // the first attempt is given the bound too, so the messaging layer's default cannot differ
      expect(f.sent[0]!.options?.timeoutMs).toBe(3_000);
      expect(f.sent[1]!.options?.timeoutMs).toBe(2_000);
    });

    it("bounds a call without timeoutMs by the messaging layer's default request timeout", async () => {
      const messaging = f.messaging as { defaultRequestTimeoutMs?: number };
      messaging.defaultRequestTimeoutMs = 30_000;
      f.failWith(A, () => {
        jest.advanceTimersByTime(6_000);
        return new NodeDownError('down', { node: A });
      });
      const caller = f.caller();
      await caller.call(TOPIC, 1, { retries: 1 });
      expect(f.sent.map(s => s.options?.timeoutMs)).toEqual([30_000, 24_000]);
      f.answers.delete(A);
      // read at each call: a deferred layer knows it only once started
      messaging.defaultRequestTimeoutMs = 200;
      await caller.call(TOPIC, 1);
      expect(f.sent[2]!.options?.timeoutMs).toBe(200);
      // the caller's own option overrides it
      await f.caller({ defaultTimeoutMs: 3_000 }).call(TOPIC, 1);
      expect(f.sent[3]!.options?.timeoutMs).toBe(3_000);
    });

    it('falls back to 5 s when the messaging layer gives no usable default', async () => {
      const messaging = f.messaging as { defaultRequestTimeoutMs?: number };
      for (const value of [undefined, 0, -1, Number.NaN, 2 ** 40]) {
        messaging.defaultRequestTimeoutMs = value;
        await f.caller().call(TOPIC, 1);
      }
      expect(f.sent.map(s => s.options?.timeoutMs)).toEqual([5_000, 5_000, 5_000, 5_000, 5_000]);
    });

    it('gives a retry whole milliseconds (rounded up) of what is left', async () => {
      f.failWith(A, () => {
        jest.advanceTimersByTime(1_000);
        return new NodeDownError('down', { node: A });
      });
      await f.caller().call(TOPIC, 1, { timeoutMs: 2_000.4, retries: 1 });
      expect(f.sent.map(s => s.options?.timeoutMs)).toEqual([2_000.4, 1_001]);
    });

    it('rejects with ERR_REQUEST_TIMEOUT naming the last node once the deadline passed', async () => {
      f.failWith(A, () => {
        jest.advanceTimersByTime(2_000);
        return new NodeDownError('down', { node: A });
      });
      const error = await rejection(f.caller().call(TOPIC, 1, { timeoutMs: 2_000, retries: 2 }));
      expect(error).toBeInstanceOf(RequestTimeoutError);
      expect(error).toMatchObject({ node: A, topic: TOPIC, timeoutMs: 2_000 });
      expect(error.message).toBe(PrimitivesMessages.callTimeout(TOPIC, 2_000, [A]));
      expect(error.cause).toBeInstanceOf(NodeDownError);
      expect(f.nodesAsked()).toEqual([A]);
    });

    it('keeps the last attempt’s own timeout when it timed out at the deadline', async () => {
      const slow = new RequestTimeoutError('slow', { node: A, topic: TOPIC, timeoutMs: 900 });
      f.failWith(A, () => {
        jest.advanceTimersByTime(900);
        return slow;
      });
      const error = await rejection(
        f.caller().call(TOPIC, 1, { timeoutMs: 900, retries: 1, retryOn: ['timeout'] }),
      );
      expect(error).toBe(slow);
    });
  });
});
