import { until } from '../../../test/support/wait.js';
import {
  A,
  B,
  C,
  D,
  MemoryNetwork,
  countingCodec,
  deferred,
  rejection,
} from '../../../test/support/messaging-harness.js';
import type { RequestAllResult } from '../../core/index.js';
import { NodeDownError, QueueFullError } from '../transport.errors.js';
import { EnvelopeKind } from './envelope.js';
import {
  MessagingClosedError,
  PayloadError,
  RemoteError,
  RequestAbortedError,
  RequestTimeoutError,
  TooManyRequestsError,
} from './messaging.errors.js';

const GHOST = 'ghost@10.0.0.9';
const HIDDEN = 'hidden@10.0.0.8';

/** The failed entry of a result, for assertions. */
function failure(result: RequestAllResult<unknown>): Error {
  if (result.ok) throw new Error(`expected ${result.node} to fail`);
  return result.error;
}

describe('Messaging.requestAll', () => {
  let net: MemoryNetwork;
  beforeEach(() => {
    net = new MemoryNetwork();
  });
  afterEach(() => net.close());

  /** A, plus B, C and D answering "who" with their name (C's handler throws). */
  function cluster() {
    const a = net.add(A);
    for (const node of [B, D]) net.add(node).on('who', () => node);
    net.add(C).on('who', () => {
      throw new TypeError('c is broken');
    });
    return a;
  }

  it('asks every member but self, in name order, with one result per node', async () => {
    const a = cluster();
    const results = await a.requestAll<string>('who', null);
    expect(results.map(r => r.node)).toEqual([B, C, D]);
    expect(results[0]).toEqual({ node: B, ok: true, value: B });
    expect(results[2]).toEqual({ node: D, ok: true, value: D });
    const error = failure(results[1]);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: 'ERR_REMOTE_HANDLER', node: C, remoteName: 'TypeError' });
    expect(a.pendingRequests).toBe(0);
  });

  it('asks this node too, first, with includeSelf, and the listed nodes in their order, once each', async () => {
    const a = cluster();
    a.on('who', () => 'me');
    const all = await a.requestAll<string>('who', null, { includeSelf: true });
    expect(all.map(r => r.node)).toEqual([A, B, C, D]);
    expect(all[0]).toEqual({ node: A, ok: true, value: 'me' });
    const listed = await a.requestAll<string>('who', null, { nodes: [D, B, D, A] });
    expect(listed.map(r => r.node)).toEqual([D, B, A]);
    expect(listed.every(r => r.ok)).toBe(true);
    expect(net.sent.filter(s => s.envelope.kind === EnvelopeKind.Request)).toHaveLength(3 + 2);
  });

  it('encodes the payload once for every node', async () => {
    const { codec: counting, counts } = countingCodec();
    const a = net.add(A, { codec: counting });
    for (const node of [B, C, D]) net.add(node, { codec: counting }).on('echo', () => 1);
    a.on('echo', () => 1);
    counts.encodes = 0;
    const results = await a.requestAll('echo', { big: 'x'.repeat(1000) }, { includeSelf: true });
    expect(results).toHaveLength(4);
    // one encode of the request; each answer is encoded once by its node
    expect(counts.encodes).toBe(1 + 4);
  });

  it('gives a listed node that is not a connected member NodeDownError without sending to it', async () => {
    const a = cluster();
    net.down.add(D);
    const results = await a.requestAll<string>('who', null, { nodes: [B, GHOST, D] });
    expect(results.map(r => [r.node, r.ok])).toEqual([
      [B, true],
      [GHOST, false],
      [D, false],
    ]);
    for (const result of results.slice(1)) {
      const error = failure(result);
      expect(error).toBeInstanceOf(NodeDownError);
      expect(error).toMatchObject({ code: 'ERR_NODE_DOWN', node: result.node, topic: 'who' });
    }
    expect(net.sent.map(s => s.to)).not.toContain(GHOST);
    expect(net.sent.map(s => s.to)).not.toContain(D);
  });

  it('leaves out nodes the transport does not list as members (hidden nodes), even when they are reachable', async () => {
    const transportOfA = net.transport(A);
    const a = net.add(A, {
      transport: { ...transportOfA, members: () => [B] }, // HIDDEN is linked but not a member
    });
    net.add(B).on('who', () => B);
    let asked = false;
    net.add(HIDDEN).on('who', () => {
      asked = true;
      return HIDDEN;
    });
    expect((await a.requestAll('who', null)).map(r => r.node)).toEqual([B]);
    const [hidden] = await a.requestAll('who', null, { nodes: [HIDDEN] });
    expect(failure(hidden)).toMatchObject({ code: 'ERR_NODE_DOWN', node: HIDDEN });
    expect(asked).toBe(false);
    expect(net.sent.map(s => s.to)).not.toContain(HIDDEN);
  });

  it('gives a node that goes down mid-call its NodeDownError at once, while the others answer', async () => {
    const a = net.add(A);
    const slow = deferred<string>();
    net.add(B).on('who', () => slow.promise);
    net.add(C).on('who', () => C);
    let served = 0;
    net.add(D).on('who', () => {
      served++;
      return new Promise(() => undefined); // never answers
    });
    const call = a.requestAll<string>('who', null, { timeoutMs: 60_000 });
    await until(() => served === 1, 5_000, 'D serving');
    const started = performance.now();
    a.nodeDown(D); // the transport saw D go down
    slow.resolve(B);
    const results = await call;
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(results.slice(0, 2)).toEqual([
      { node: B, ok: true, value: B },
      { node: C, ok: true, value: C },
    ]);
    expect(failure(results[2])).toMatchObject({ code: 'ERR_NODE_DOWN', node: D, topic: 'who' });
    expect(a.pendingRequests).toBe(0);
  });

  it('times every node out with the one timeout', async () => {
    const a = net.add(A);
    for (const node of [B, C]) net.add(node).on('who', () => new Promise(() => undefined));
    const results = await a.requestAll('who', null, { timeoutMs: 40 });
    expect(results).toHaveLength(2);
    for (const result of results) {
      const error = failure(result);
      expect(error).toBeInstanceOf(RequestTimeoutError);
      expect(error).toMatchObject({ node: result.node, topic: 'who', timeoutMs: 40 });
    }
    expect(a.pendingRequests).toBe(0);
  });

  it('puts a transport refusal and the maxPendingRequests refusal into the node results, never rejecting', async () => {
    const a = net.add(A, { maxPendingRequests: 2 });
    for (const node of [B, C, D]) net.add(node).on('who', () => node);
    const full = new QueueFullError('queue full', { node: B });
    net.failure = { from: A, to: B, error: full };
    const results = await a.requestAll<string>('who', null);
    const queue = failure(results[0]);
    expect(queue).toBeInstanceOf(QueueFullError);
    expect(queue).toMatchObject({ node: B, topic: 'who', cause: full });
    expect(results[1]).toEqual({ node: C, ok: true, value: C });
    // B's refused request was dropped: C and D fit within the limit of 2
    expect(results[2]).toEqual({ node: D, ok: true, value: D });
    net.failure = undefined;
    const limited = await a.requestAll<string>('who', null, { nodes: [B, C, D] });
    expect(limited.slice(0, 2).every(r => r.ok)).toBe(true);
    const tooMany = failure(limited[2]);
    expect(tooMany).toBeInstanceOf(TooManyRequestsError);
    expect(tooMany).toMatchObject({ code: 'ERR_TOO_MANY_REQUESTS', node: D, topic: 'who' });
  });

  it('aborts pending nodes through the signal, resolving with their RequestAbortedError', async () => {
    const a = net.add(A);
    net.add(B).on('who', () => B);
    let served = 0;
    net.add(C).on('who', () => {
      served++;
      return new Promise(() => undefined);
    });
    const controller = new AbortController();
    const call = a.requestAll('who', null, { signal: controller.signal, timeoutMs: 60_000 });
    await until(() => served === 1, 5_000, 'C serving');
    controller.abort(new Error('enough'));
    const results = await call;
    expect(results[0]).toEqual({ node: B, ok: true, value: B });
    expect(failure(results[1])).toBeInstanceOf(RequestAbortedError);
    expect(failure(results[1])).toMatchObject({ node: C, topic: 'who' });
    expect(a.pendingRequests).toBe(0);
  });

  it('adds one abort listener per call, however many nodes it asks, and removes it once settled', async () => {
    const a = net.add(A);
    const others = Array.from({ length: 12 }, (_, i) => `n${i}@10.0.1.${i}`);
    for (const node of others) net.add(node).on('who', () => node);
    const signal = new AbortController().signal;
    let listeners = 0;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = (...args: Parameters<AbortSignal['addEventListener']>) => {
      listeners++;
      add(...args);
    };
    signal.removeEventListener = (...args: Parameters<AbortSignal['removeEventListener']>) => {
      listeners--;
      remove(...args);
    };
    const call = a.requestAll<string>('who', null, { signal });
    expect(listeners).toBe(1);
    const results = await call;
    expect(results.every(r => r.ok)).toBe(true);
    expect(listeners).toBe(0);
  });

  it('counts each listed node that is not a connected member as refused, as request() counts it', async () => {
    const a = cluster();
    net.down.add(D);
    await rejection(a.request(GHOST, 'who', null));
    expect(a.stats.requests.other).toBe(1);
    await a.requestAll<string>('who', null, { nodes: [B, GHOST, D] });
    expect(a.stats.requests).toEqual({ ok: 1, remoteError: 0, timeout: 0, nodeDown: 0, other: 3 });
    await a.requestAll('who', () => undefined, { nodes: [GHOST] });
    expect(a.stats.requests.other).toBe(4);
    // A call refused as a whole (the payload) asks nobody and counts nobody.
    await rejection(a.requestAll('who', () => undefined, { nodes: [B, GHOST] }));
    expect(a.stats.requests.other).toBe(4);
  });

  it('resolves [] without members, and does not encode a payload nobody gets', async () => {
    const a = net.add(A);
    await expect(a.requestAll('who', null)).resolves.toEqual([]);
    const unencodable = () => undefined;
    const [ghost] = await a.requestAll('who', unencodable, { nodes: [GHOST] });
    expect(failure(ghost)).toMatchObject({ code: 'ERR_NODE_DOWN' });
  });

  it('rejects, asking nobody, for a bad topic, options, an aborted signal, an unencodable payload or closed messaging', async () => {
    const a = cluster();
    expect(await rejection(a.requestAll('', null))).toMatchObject({ code: 'ERR_INVALID_TOPIC' });
    expect(await rejection(a.requestAll('who', null, { timeoutMs: -1 }))).toMatchObject({
      code: 'ERR_INVALID_CONFIG',
    });
    expect(await rejection(a.requestAll('who', null, { nodes: B as never }))).toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      option: 'nodes',
    });
    expect(await rejection(a.requestAll('who', null, { nodes: [B, ''] }))).toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      option: 'nodes',
    });
    expect(
      await rejection(a.requestAll('who', null, { includeSelf: 'yes' as never })),
    ).toMatchObject({ code: 'ERR_INVALID_CONFIG', option: 'includeSelf' });
    const aborted = await rejection(
      a.requestAll('who', null, { signal: AbortSignal.abort(new Error('before')) }),
    );
    expect(aborted).toBeInstanceOf(RequestAbortedError);
    expect(aborted).toMatchObject({ node: '*', topic: 'who' });
    const payload = await rejection(a.requestAll('who', () => undefined));
    expect(payload).toBeInstanceOf(PayloadError);
    expect(payload).toMatchObject({ code: 'ERR_PAYLOAD_ENCODE', node: '*', topic: 'who' });
    expect(net.sent).toHaveLength(0);
    expect(a.pendingRequests).toBe(0);
    a.close();
    expect(await rejection(a.requestAll('who', null))).toBeInstanceOf(MessagingClosedError);
  });

  it('fails the pending nodes with MessagingClosedError when messaging closes mid-call', async () => {
    const a = net.add(A);
    let served = 0;
    net.add(B).on('who', () => {
      served++;
      return new Promise(() => undefined);
    });
    const call = a.requestAll('who', null, { timeoutMs: 60_000 });
    await until(() => served === 1, 5_000, 'B serving');
    a.close();
    const [result] = await call;
    expect(failure(result)).toBeInstanceOf(MessagingClosedError);
  });
});
