import { jest } from '@jest/globals';
import type { Membership } from './events.js';
import { DEFAULT_GEN_CLUSTER_OPTIONS } from './defaults.js';
import type { GenClusterOptions } from './gen-cluster.js';
import { CoreMessages } from './messages.js';
import type { DiscoveryStrategy, DistStrategy } from './strategy.js';
import { SELF, advance, setupEngine as setup } from '../../test/support/engine-harness.js';
import { flushPromises } from '../../test/support/wait.js';

describe('GenCluster scheduler', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('refreshes at once on start and connects every discovered peer but itself', async () => {
    const { cluster, dist, discovery } = setup({}, ['a@10.0.0.2', SELF, 'b@10.0.0.3']);
    await cluster.start();
    await flushPromises();
    expect(discovery.calls).toBe(1);
    expect(dist.connectCalls.sort()).toEqual(['a@10.0.0.2', 'b@10.0.0.3']);
    expect(cluster.nodes()).toEqual(['a@10.0.0.2', 'b@10.0.0.3']);
    await cluster.stop();
  });

  it('refreshes on the interval and picks up new peers', async () => {
    const { cluster, dist, discovery } = setup({ refreshIntervalMs: 1_000 });
    await cluster.start();
    await flushPromises();
    discovery.answer = ['a@10.0.0.2', 'b@10.0.0.3', 'c@10.0.0.4'];
    await advance(999);
    expect(discovery.calls).toBe(1);
    await advance(1);
    expect(discovery.calls).toBe(2);
    expect(dist.connectCalls).toContain('c@10.0.0.4');
    await advance(3_000);
    expect(discovery.calls).toBe(5);
    await cluster.stop();
  });

  it.each([Infinity, 'infinity' as const])(
    'runs only the first refresh with interval %p',
    async interval => {
      const { cluster, discovery } = setup({ refreshIntervalMs: interval });
      await cluster.start();
      await advance(60_000);
      expect(discovery.calls).toBe(1);
      expect(cluster.options.refreshIntervalMs).toBe('infinity');
      await cluster.stop();
    },
  );

  it('keeps the last good peers when discovery fails, and says so', async () => {
    const { cluster, dist, discovery, events } = setup({ refreshIntervalMs: 1_000 });
    await cluster.start();
    await flushPromises();
    discovery.answer = new Error('SERVFAIL');
    await advance(1_000);
    await advance(1_000);
    const errors = events.filter(e => e.type === 'discoveryError');
    expect(errors.map(e => e.type === 'discoveryError' && e.consecutive)).toEqual([1, 2]);
    expect(events.some(e => e.type === 'lost')).toBe(false);
    expect(
      cluster
        .discoveredPeers()
        .map(p => p.node)
        .sort(),
    ).toEqual(['a@10.0.0.2', 'b@10.0.0.3']);
    // a connection lost while discovery is failing is still retried: the last answer stands
    dist.down('a@10.0.0.2');
    await flushPromises();
    expect(dist.connectCalls.filter(n => n === 'a@10.0.0.2')).toHaveLength(2);
    discovery.answer = [];
    await advance(1_000);
    expect(events.filter(e => e.type === 'lost').length).toBe(2);
    await cluster.stop();
  });

  it('treats an empty successful answer as a real "nobody"', async () => {
    const { cluster, discovery, events } = setup({ refreshIntervalMs: 1_000 });
    await cluster.start();
    await flushPromises();
    discovery.answer = [];
    await advance(1_000);
    expect(cluster.discoveredPeers()).toEqual([]);
    expect(
      events
        .filter(e => e.type === 'lost')
        .map(e => e.type === 'lost' && e.node)
        .sort(),
    ).toEqual(['a@10.0.0.2', 'b@10.0.0.3']);
    await cluster.stop();
  });

  it('gives up on a discovery that hangs past its timeout and keeps refreshing', async () => {
    const { cluster, discovery, events } = setup({
      refreshIntervalMs: 1_000,
      discoveryTimeoutMs: 300,
    });
    discovery.answer = 'hang';
    await cluster.start();
    await advance(300);
    expect(discovery.lastSignal?.aborted).toBe(true);
    const error = events.find(e => e.type === 'discoveryError');
    expect(error?.type === 'discoveryError' && (error.error as { code?: string }).code).toBe(
      'ERR_DISCOVERY_TIMEOUT',
    );
    expect(error?.type === 'discoveryError' && error.error.message).toBe(
      CoreMessages.discoveryTimeout('test', 300),
    );
    discovery.answer = ['a@10.0.0.2'];
    await advance(1_000);
    expect(cluster.nodes()).toEqual(['a@10.0.0.2']);
    await cluster.stop();
  });

  it('never lets the timer die when discovery throws synchronously', async () => {
    const { cluster, discovery } = setup({ refreshIntervalMs: 1_000 });
    discovery.peers = () => {
      discovery.calls++;
      throw new Error('boom');
    };
    await cluster.start();
    await advance(5_000);
    expect(discovery.calls).toBe(6);
    await cluster.stop();
  });

  it('coalesces refresh() calls made while one runs into a single follow-up', async () => {
    const { cluster, discovery } = setup({ refreshIntervalMs: 60_000 });
    let release: (() => void) | undefined;
    const original = discovery.peers.bind(discovery);
    discovery.peers = signal => {
      const answer = original(signal);
      return new Promise(resolve => (release = () => resolve(answer)));
    };
    await cluster.start();
    const calls = [cluster.refresh(), cluster.refresh(), cluster.refresh()];
    expect(discovery.calls).toBe(1);
    release!();
    await advance(0);
    expect(discovery.calls).toBe(2);
    release!();
    await Promise.all(calls);
    expect(discovery.calls).toBe(2);
    await cluster.stop();
  });

  it('stops refreshing while paused and refreshes at once on resume', async () => {
    const { cluster, discovery } = setup({ refreshIntervalMs: 1_000 });
    await cluster.start();
    await flushPromises();
    cluster.pause();
    await advance(10_000);
    expect(discovery.calls).toBe(1);
    await cluster.refresh();
    expect(discovery.calls).toBe(1);
    cluster.resume();
    await flushPromises();
    expect(discovery.calls).toBe(2);
    await advance(1_000);
    expect(discovery.calls).toBe(3);
    await cluster.stop();
  });

  it('replays the current membership to late subscribers and emits only changes', async () => {
    const { cluster, dist } = setup({ refreshIntervalMs: 1_000 });
    await cluster.start();
    await flushPromises();
    const seen: Membership[] = [];
    cluster.membership$.subscribe(m => seen.push(m));
    expect(seen).toEqual([{ self: SELF, members: ['a@10.0.0.2', 'b@10.0.0.3'] }]);
    dist.up({ node: 'a@10.0.0.2' });
    await advance(3_000);
    expect(seen).toHaveLength(1);
    dist.outcome = () => false; // b is retried at once: let that fail, or the burst hides the change
    dist.down('b@10.0.0.3');
    await flushPromises(); // one snapshot per burst, a microtask after its events
    expect(seen.at(-1)).toEqual({ self: SELF, members: ['a@10.0.0.2'] });
    await cluster.stop();
  });

  it('delivers events for one node in order, even when a subscriber reacts synchronously', async () => {
    const { cluster, dist, events } = setup({}, ['a@10.0.0.2']);
    cluster.events$.subscribe(e => {
      if (e.type === 'nodeUp') dist.down('a@10.0.0.2', 'heartbeatTimeout');
    });
    dist.outcome = () => false;
    await cluster.start();
    await flushPromises();
    dist.outcome = () => true;
    dist.up({ node: 'a@10.0.0.2' });
    const forA = events.filter(e => 'node' in e && e.node === 'a@10.0.0.2').map(e => e.type);
    expect(forA.slice(0, 4)).toEqual(['discovered', 'connectFailed', 'nodeUp', 'nodeDown']);
    await cluster.stop();
  });

  it('leaves gracefully on stop and completes both streams', async () => {
    const { cluster, dist, discovery, events } = setup();
    await cluster.start();
    await flushPromises();
    let membershipDone = false;
    let eventsDone = false;
    cluster.membership$.subscribe({ complete: () => (membershipDone = true) });
    cluster.events$.subscribe({ complete: () => (eventsDone = true) });
    await cluster.stop();
    expect(dist.left).toBe(true);
    expect(dist.closed).toBe(true);
    expect(discovery.closed).toBe(true);
    expect(membershipDone && eventsDone).toBe(true);
    expect(events.filter(e => e.type === 'nodeDown').length).toBe(2);
    expect(cluster.status).toBe('stopped');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('waits for members with a deadline', async () => {
    const { cluster, dist } = setup({}, ['a@10.0.0.2']);
    dist.outcome = () => false;
    await cluster.start();
    const waiting = cluster.waitForMembers(1, { timeoutMs: 5_000 });
    dist.up({ node: 'a@10.0.0.2' });
    await expect(waiting).resolves.toEqual({ self: SELF, members: ['a@10.0.0.2'] });
    const tooMany = cluster.waitForMembers(3, { timeoutMs: 1_000 });
    const assertion = expect(tooMany).rejects.toMatchObject({ code: 'ERR_WAIT_TIMEOUT' });
    await advance(1_000);
    await assertion;
    await cluster.stop();
  });

  it('does not let a slow peer hold up the refresh timer', async () => {
    const { cluster, dist, discovery } = setup(
      { refreshIntervalMs: 500, connectTimeoutMs: 3_000 },
      ['a@10.0.0.2'],
    );
    dist.outcome = () => 'hang';
    await cluster.start();
    await advance(500);
    expect(discovery.calls).toBe(2);
    await advance(500);
    expect(discovery.calls).toBe(3);
    await cluster.stop();
  });

  it('closes what a start in progress opens when stopped meanwhile', async () => {
    const { cluster, dist } = setup();
    let release: (() => void) | undefined;
    dist.init = context => {
      dist.context = context;
      return new Promise<void>(resolve => (release = resolve));
    };
    const started = cluster.start();
    const stopped = cluster.stop();
    release!();
    await started;
    await stopped;
    expect(dist.closed).toBe(true);
    expect(cluster.status).toBe('stopped');
    expect(dist.connectCalls).toEqual([]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('stops at once even when discovery ignores its abort signal', async () => {
    const { cluster, discovery } = setup({ discoveryTimeoutMs: 10_000 });
    discovery.answer = 'hang';
    await cluster.start();
    await flushPromises();
    await cluster.stop(); // would wait for the 10 s discovery timeout otherwise (fake time stands still)
    expect(cluster.status).toBe('stopped');
  });

  it('waits for members without a deadline when timeoutMs is Infinity', async () => {
    const { cluster, dist } = setup({}, ['a@10.0.0.2']);
    dist.outcome = () => false;
    await cluster.start();
    const waiting = cluster.waitForMembers(1, { timeoutMs: Infinity });
    await advance(60_000);
    dist.up({ node: 'a@10.0.0.2' });
    await expect(waiting).resolves.toMatchObject({ members: ['a@10.0.0.2'] });
    await cluster.stop();
  });

  it('fills unset options from DEFAULT_GEN_CLUSTER_OPTIONS', () => {
    const { cluster } = setup({ random: undefined });
    expect(cluster.options).toEqual(DEFAULT_GEN_CLUSTER_OPTIONS);
    expect(DEFAULT_GEN_CLUSTER_OPTIONS).toEqual({
      refreshIntervalMs: 5_000,
      removalPolicy: 'keep',
      connectConcurrency: 16,
      connectTimeoutMs: 5_000,
      discoveryTimeoutMs: 10_000,
      backoff: { initialMs: 1_000, maxMs: 15_000, multiplier: 2, jitter: 0.2 },
    });
    expect(Object.isFrozen(DEFAULT_GEN_CLUSTER_OPTIONS)).toBe(true);
  });

  // The scheduler option rows are in scheduler-options.spec.ts; these check the engine uses them.
  it.each([
    [{ node: 'no-at-sign' }, 'Invalid node name'],
    [{ connectTimeoutMs: Number.NaN }, 'connectTimeoutMs'],
    [{ discovery: {} as DiscoveryStrategy }, 'discovery'],
    [{ dist: { name: 'x' } as DistStrategy }, 'dist'],
  ])('refuses bad options %j, naming the option', (options, name) => {
    expect(() => setup(options as Partial<GenClusterOptions>)).toThrow(name);
  });
});
