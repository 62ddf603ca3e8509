import { A, B, C, D, deferred, rejection } from '../../../test/support/messaging-harness.js';
import { RegistryNet } from '../../../test/support/registry-harness.js';
import { until } from '../../../test/support/wait.js';
import type { ServicesChange } from '../primitives.types.js';

describe('ServiceRegistry.drain', () => {
  let net: RegistryNet;
  beforeEach(() => (net = new RegistryNet()));
  afterEach(() => net.close());

  /** A serving `p`, and B and C listing it. */
  async function three() {
    const a = net.add(A);
    const b = net.add(B);
    const c = net.add(C);
    a.messaging.on('p', () => 'a');
    net.link(a, b);
    net.link(a, c);
    net.link(b, c);
    await until(
      () => b.registry!.servers('p').length === 1 && c.registry!.servers('p').length === 1,
      2_000,
      'A listed on B and C',
    );
    return { a, b, c };
  }

  it('withdraws the topics and resolves once every peer acknowledged it', async () => {
    const { a, b, c } = await three();
    const result = await a.registry!.drain();
    expect(result).toEqual({ acked: 2, unacked: [], servingLeft: 0 });
    // Acknowledged: the peers applied it before answering.
    expect(b.registry!.servers('p')).toEqual([]);
    expect(c.registry!.servers('p')).toEqual([]);
    // This node still serves its own calls.
    expect(a.registry!.servers('p')).toEqual([A]);
    expect(await a.registry!.drain()).toBe(result);
  });

  it('gives up on a peer that does not acknowledge within ackTimeoutMs', async () => {
    const { a } = await three();
    net.network.hold = sent => sent.to === C;
    const started = performance.now();
    const result = await a.registry!.drain({ ackTimeoutMs: 150, timeoutMs: 5_000 });
    expect(result).toEqual({ acked: 1, unacked: [C], servingLeft: 0 });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(a.logger.has('warn', 'did not acknowledge')).toBe(true);
  });

  it('waits for the requests being served, and no longer than timeoutMs', async () => {
    const { a, b } = await three();
    const gate = deferred<string>();
    a.messaging.on('slow', () => gate.promise);
    const answer = b.messaging.request(A, 'slow', null, { timeoutMs: 10_000 });
    await until(() => a.messaging.servingCount === 1, 2_000, 'A serving');
    let drained = false;
    const drain = a.registry!.drain({ timeoutMs: 5_000 }).then(result => {
      drained = true;
      return result;
    });
    await until(() => b.registry!.servers('p').length === 0, 2_000, 'withdrawn');
    expect(drained).toBe(false);
    gate.resolve('done');
    expect(await answer).toBe('done');
    expect(await drain).toMatchObject({ servingLeft: 0 });

    const stuck = net.add(D);
    stuck.messaging.on('never', () => new Promise(() => undefined));
    net.link(stuck, b);
    void b.messaging.request(D, 'never', null, { timeoutMs: 10_000 }).catch(() => undefined);
    await until(() => stuck.messaging.servingCount === 1, 2_000);
    const result = await stuck.registry!.drain({ timeoutMs: 200 });
    expect(result.servingLeft).toBe(1);
    expect(stuck.logger.has('warn', '1 request(s) still being served')).toBe(true);
  });

  it('serves a request a peer sent before it applied the withdrawal', async () => {
    const { a, b } = await three();
    const order: string[] = [];
    a.messaging.on(
      'work',
      () => new Promise(resolve => setTimeout(() => resolve(order.push('served')), 50)),
    );
    // Sent in the same turn as the drain starts: it precedes the acknowledgement on B's link.
    const answer = b.messaging.request(A, 'work', null);
    const result = await a.registry!.drain({ timeoutMs: 5_000 });
    order.push('drained');
    await answer;
    expect(order).toEqual(['served', 'drained']);
    expect(result).toEqual({ acked: 2, unacked: [], servingLeft: 0 });
  });

  it('answers a hello with an empty table while draining', async () => {
    const { a } = await three();
    await a.registry!.drain();
    const late = net.add(D);
    const synced: ServicesChange[] = [];
    late.registry!.services$.subscribe(change => synced.push(change));
    net.link(late, a);
    await until(() => synced.some(s => s.node === A && s.reason === 'sync'), 2_000);
    expect(late.registry!.servers('p')).toEqual([]);
    // A later registration is not announced either.
    a.messaging.on('q', () => 1);
    await until(() => a.registry!.servers('q').length === 1, 1_000);
    expect(late.registry!.servers('q')).toEqual([]);
  });

  it('refuses bad bounds before withdrawing anything', async () => {
    const { a, b } = await three();
    const error = await rejection(a.registry!.drain({ timeoutMs: -1 }));
    expect(error).toMatchObject({ code: 'ERR_INVALID_CONFIG' });
    expect(error.message).toContain('drain.timeoutMs');
    expect(b.registry!.servers('p')).toEqual([A]);
  });
});
