/**
 * The engine's connections, with fake timers: attempts and their deadline, the per-node backoff,
 * the concurrency cap, the removal policy and what the dist reports. Lifecycle, refresh and the
 * streams are in gen-cluster.spec.ts.
 */
import { jest } from '@jest/globals';
import { CoreMessages } from './messages.js';
import { advance, setupEngine as setup } from '../../test/support/engine-harness.js';
import { flushPromises } from '../../test/support/wait.js';

describe('GenCluster connections', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('times out a hanging connect, aborts it, and retries on the backoff', async () => {
    const { cluster, dist, events } = setup(
      { connectTimeoutMs: 2_000, refreshIntervalMs: 60_000 },
      ['a@10.0.0.2'],
    );
    dist.outcome = () => 'hang';
    await cluster.start();
    await advance(2_000);
    const failed = events.find(e => e.type === 'connectFailed');
    expect(failed).toMatchObject({
      type: 'connectFailed',
      node: 'a@10.0.0.2',
      attempt: 1,
      retryInMs: 1_000,
    });
    expect(failed?.type === 'connectFailed' && (failed.error as { code?: string }).code).toBe(
      'ERR_CONNECT_TIMEOUT',
    );
    expect(failed?.type === 'connectFailed' && failed.error.message).toBe(
      CoreMessages.connectTimeout('a@10.0.0.2', 2_000),
    );
    dist.outcome = () => true;
    await advance(1_000);
    expect(cluster.nodes()).toEqual(['a@10.0.0.2']);
    await cluster.stop();
  });

  it('backs off per node: 1 s doubling to 15 s, reset on success', async () => {
    const { cluster, dist, events } = setup({ refreshIntervalMs: 60_000 }, ['a@10.0.0.2']);
    dist.outcome = () => false;
    await cluster.start();
    await flushPromises();
    for (const delay of [1_000, 2_000, 4_000, 8_000, 15_000]) await advance(delay);
    const retries = events.flatMap(e => (e.type === 'connectFailed' ? [e.retryInMs] : []));
    expect(retries).toEqual([1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
    dist.outcome = () => true;
    await advance(15_000);
    expect(cluster.nodes()).toEqual(['a@10.0.0.2']);
    dist.outcome = () => false;
    dist.down('a@10.0.0.2');
    await flushPromises();
    const after = events.flatMap(e => (e.type === 'connectFailed' ? [e.retryInMs] : [])).slice(6);
    expect(after).toEqual([1_000]);
    await cluster.stop();
  });

  it('spreads the backoff by ±20 %', async () => {
    for (const [random, expected] of [
      [0, 800],
      [0.999999, 1_200],
    ] as const) {
      const { cluster, dist, events } = setup({ random: () => random }, ['a@10.0.0.2']);
      dist.outcome = () => false;
      await cluster.start();
      await flushPromises();
      expect(events.find(e => e.type === 'connectFailed')).toMatchObject({ retryInMs: expected });
      await cluster.stop();
    }
  });

  it('does not dial a node on backoff at a refresh before its retry is due', async () => {
    const { cluster, dist } = setup({ refreshIntervalMs: 500 }, ['a@10.0.0.2']);
    dist.outcome = () => false;
    await cluster.start();
    await flushPromises();
    await advance(500);
    expect(dist.connectCalls).toHaveLength(1);
    await advance(500);
    expect(dist.connectCalls).toHaveLength(2);
    await cluster.stop();
  });

  it('retries a lost peer that is still discovered at once, and a lost undiscovered one never', async () => {
    const { cluster, dist, discovery } = setup({ refreshIntervalMs: 60_000 });
    await cluster.start();
    await flushPromises(30); // the first lookup and connects, each through a deadline race
    dist.down('a@10.0.0.2');
    await flushPromises();
    expect(dist.connectCalls.filter(n => n === 'a@10.0.0.2')).toHaveLength(2);
    discovery.answer = ['a@10.0.0.2'];
    await cluster.refresh();
    dist.down('b@10.0.0.3');
    await advance(120_000);
    expect(dist.connectCalls.filter(n => n === 'b@10.0.0.3')).toHaveLength(1);
    await cluster.stop();
  });

  it('keeps a member that left discovery under removal policy "keep"', async () => {
    const { cluster, dist, discovery, events } = setup();
    await cluster.start();
    await flushPromises();
    discovery.answer = ['a@10.0.0.2'];
    await cluster.refresh();
    expect(dist.disconnectCalls).toEqual([]);
    expect(cluster.nodes()).toEqual(['a@10.0.0.2', 'b@10.0.0.3']);
    expect(events).toContainEqual({ type: 'lost', node: 'b@10.0.0.3' });
    await cluster.stop();
  });

  it('disconnects a member that left discovery under removal policy "disconnect", without retrying it', async () => {
    const { cluster, dist, discovery } = setup({ removalPolicy: 'disconnect' });
    await cluster.start();
    await flushPromises();
    discovery.answer = ['a@10.0.0.2'];
    await cluster.refresh();
    await flushPromises();
    expect(dist.disconnectCalls).toEqual(['b@10.0.0.3']);
    expect(cluster.nodes()).toEqual(['a@10.0.0.2']);
    expect(dist.connectCalls.filter(n => n === 'b@10.0.0.3')).toHaveLength(1);
    await cluster.stop();
  });

  it('caps the number of concurrent connects', async () => {
    const peers = Array.from({ length: 40 }, (_, i) => `n${i}@10.0.1.${i + 1}`);
    const { cluster, dist } = setup({ connectConcurrency: 4, connectTimeoutMs: 1_000 }, peers);
    dist.outcome = () => 'hang';
    await cluster.start();
    await flushPromises();
    expect(dist.inFlight).toBe(4);
    await advance(1_000);
    expect(dist.maxInFlight).toBe(4);
    expect(dist.connectCalls.length).toBe(8);
    await cluster.stop();
  });

  it('treats "ignored" as neither success nor failure', async () => {
    const { cluster, dist, events } = setup({ refreshIntervalMs: 1_000 }, ['a@10.0.0.2']);
    dist.outcome = () => 'ignored';
    await cluster.start();
    await advance(1_000);
    expect(events.some(e => e.type === 'connectFailed')).toBe(false);
    expect(dist.connectCalls).toHaveLength(2);
    await cluster.stop();
  });

  it('treats a rejected connect as a failure with its error', async () => {
    const { cluster, dist, events } = setup({}, ['a@10.0.0.2']);
    dist.outcome = () => new Error('ECONNREFUSED');
    await cluster.start();
    await flushPromises();
    const failed = events.find(e => e.type === 'connectFailed');
    expect(failed?.type === 'connectFailed' && failed.error.message).toBe('ECONNREFUSED');
    await cluster.stop();
  });

  it('sees a peer with a port and the same member without one as one node', async () => {
    const { cluster, dist } = setup({ refreshIntervalMs: 1_000 }, ['a@[0:0:0:0:0:0:0:1]:4000']);
    dist.outcome = () => false;
    await cluster.start();
    await flushPromises();
    dist.up({ node: 'a@::1' });
    await advance(5_000);
    expect(cluster.nodes()).toEqual(['a@::1']);
    expect(dist.connectCalls).toEqual(['a@::1']);
    await cluster.stop();
  });

  it('follows a dist that never pushes changes through members()', async () => {
    const { cluster, dist } = setup({ refreshIntervalMs: 1_000 });
    dist.push = false;
    await cluster.start();
    await flushPromises();
    expect(cluster.nodes()).toEqual(['a@10.0.0.2', 'b@10.0.0.3']);
    dist.down('a@10.0.0.2');
    dist.outcome = () => false;
    await advance(1_000);
    expect(cluster.nodes()).toEqual(['b@10.0.0.3']);
    await cluster.stop();
  });

  it('aborts connects in flight when stopped', async () => {
    const { cluster, dist } = setup({}, ['a@10.0.0.2']);
    dist.outcome = () => 'hang';
    await cluster.start();
    await flushPromises();
    expect(dist.inFlight).toBe(1);
    await cluster.stop();
    expect(dist.inFlight).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('re-arms a pending retry after pause() and resume(), even with no periodic refresh', async () => {
    const { cluster, dist } = setup({ refreshIntervalMs: 'infinity' }, ['a@10.0.0.2']);
    dist.outcome = () => false;
    await cluster.start();
    await flushPromises();
    cluster.pause();
    cluster.resume();
    await flushPromises();
    expect(dist.connectCalls).toHaveLength(1);
    dist.outcome = () => true;
    await advance(1_000);
    expect(cluster.nodes()).toEqual(['a@10.0.0.2']);
    await cluster.stop();
  });

  it('stops at once even when a connect ignores its abort signal', async () => {
    const { cluster, dist } = setup({ connectTimeoutMs: 10_000 }, ['a@10.0.0.2']);
    dist.connect = peer => {
      dist.connectCalls.push(peer.node);
      return new Promise<never>(() => undefined);
    };
    await cluster.start();
    await flushPromises(30);
    expect(dist.connectCalls).toEqual(['a@10.0.0.2']);
    await cluster.stop(); // would wait for the 10 s connect timeout otherwise (fake time stands still)
    expect(cluster.status).toBe('stopped');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('survives a dist that rejects with a circular object or throws synchronously', async () => {
    const { cluster, dist, discovery, events } = setup({ removalPolicy: 'disconnect' }, [
      'a@10.0.0.2',
    ]);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    dist.outcome = () => circular as unknown as Error;
    dist.connect = async () => {
      throw circular;
    };
    await cluster.start();
    await flushPromises();
    expect(events.find(e => e.type === 'connectFailed')).toBeDefined();
    dist.disconnect = () => {
      throw new Error('sync');
    };
    dist.up({ node: 'a@10.0.0.2' });
    discovery.answer = [];
    await cluster.refresh();
    await flushPromises();
    expect(cluster.discoveredPeers()).toEqual([]);
    await cluster.stop();
  });

  it('keeps no retry state for a node that left discovery while its connect failed', async () => {
    const { cluster, dist, discovery, events } = setup({ refreshIntervalMs: 1_000 }, [
      'a@10.0.0.2',
    ]);
    let fail: (() => void) | undefined;
    dist.connect = () => new Promise(resolve => (fail = () => resolve(false)));
    await cluster.start();
    await flushPromises();
    discovery.answer = [];
    await advance(1_000);
    fail!();
    await flushPromises();
    expect(events.find(e => e.type === 'connectFailed')).toMatchObject({ retryInMs: undefined });
    expect(jest.getTimerCount()).toBe(1); // the refresh timer only
    await cluster.stop();
  });
});
