import { jest } from '@jest/globals';
import { evaluateReadiness } from './cluster-health.js';
import { FormationTimeoutError } from './errors.js';
import { IdleCluster } from './idle-cluster.js';
import { advance, setupEngine as setup } from '../../test/support/engine-harness.js';
import { flushPromises, observe } from '../../test/support/wait.js';

describe('GenCluster formation gate', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('forms a margin after the first answer once enough peers are connected, and logs it', async () => {
    const logs: string[] = [];
    const { cluster } = setup({
      refreshIntervalMs: 10_000,
      formation: { minMembers: 2, stableMarginMs: 1_000 },
      logger: { log: m => logs.push(m), warn: () => undefined, error: () => undefined },
    });
    const seen: boolean[] = [];
    cluster.formed$.subscribe(v => seen.push(v));
    await cluster.start();
    await flushPromises();
    expect(cluster.nodes()).toHaveLength(2);
    expect(cluster.formed).toBe(false);
    await advance(999);
    expect(cluster.formed).toBe(false);
    // formed by its own timer, long before the next refresh (10 s)
    await advance(1);
    expect(cluster.formed).toBe(true);
    expect(seen).toEqual([false, true]);
    expect(logs).toContain(
      'Cluster formed: 2 peer(s) connected (2 required) and the discovered set unchanged for 1000 ms.',
    );
    await cluster.stop();
  });

  it('is not formed while peers are missing, and restarts the margin when the discovered set changes', async () => {
    const { cluster, discovery, dist } = setup(
      { refreshIntervalMs: 500, formation: { minMembers: 2, stableMarginMs: 1_000 } },
      ['a@10.0.0.2', 'b@10.0.0.3'],
    );
    dist.outcome = node => node === 'a@10.0.0.2';
    await cluster.start();
    await advance(3_000);
    expect(cluster.nodes()).toEqual(['a@10.0.0.2']);
    expect(cluster.formed).toBe(false);

    // the set changes every 500 ms (an unreachable ghost comes and goes): never formed, though b
    // connects
    dist.outcome = node => node !== 'ghost@10.0.0.9';
    for (let i = 0; i < 8; i++) {
      discovery.answer =
        i % 2 === 0 ? ['a@10.0.0.2', 'b@10.0.0.3', 'ghost@10.0.0.9'] : ['a@10.0.0.2', 'b@10.0.0.3'];
      await advance(500);
      expect(cluster.formed).toBe(false);
    }
    expect(cluster.nodes()).toEqual(['a@10.0.0.2', 'b@10.0.0.3']);
    // a last change, made now: the ghost comes and goes once more
    discovery.answer = ['a@10.0.0.2', 'b@10.0.0.3', 'ghost@10.0.0.9'];
    await cluster.refresh();
    discovery.answer = ['a@10.0.0.2', 'b@10.0.0.3'];
    await cluster.refresh();
    // then the same set in another order and with a port: no change
    discovery.answer = ['b@10.0.0.3', 'a@10.0.0.2:4370'];
    await advance(500);
    await cluster.refresh();
    await advance(499);
    expect(cluster.formed).toBe(false);
    await advance(1);
    expect(cluster.formed).toBe(true);
    await cluster.stop();
  });

  it('counts a failed lookup as no change: the last good answer stands', async () => {
    const { cluster, discovery } = setup({
      refreshIntervalMs: 200,
      formation: { minMembers: 0, stableMarginMs: 1_000 },
    });
    await cluster.start();
    await advance(100);
    discovery.answer = new Error('SERVFAIL');
    await advance(900);
    expect(cluster.health().consecutiveDiscoveryErrors).toBeGreaterThan(0);
    expect(cluster.formed).toBe(true);
    await cluster.stop();
  });

  it('is not formed before the first successful answer', async () => {
    const { cluster, discovery } = setup({
      refreshIntervalMs: 200,
      formation: { stableMarginMs: 0 },
    });
    discovery.answer = new Error('SERVFAIL');
    await cluster.start();
    await advance(5_000);
    expect(cluster.formed).toBe(false);
    discovery.answer = [];
    await advance(200);
    expect(cluster.formed).toBe(true);
    await cluster.stop();
  });

  it('puts formed in the health snapshot only when configured, and readiness says notFormed first', async () => {
    const plain = setup().cluster;
    expect('formed' in plain.health()).toBe(false);
    const { cluster } = setup({
      refreshIntervalMs: 10_000,
      formation: { minMembers: 2, stableMarginMs: 1_000 },
    });
    await cluster.start();
    await flushPromises();
    const before = cluster.health();
    expect(before.formed).toBe(false);
    expect(evaluateReadiness(before, { minMembers: 5 })).toMatchObject({
      up: false,
      reason: 'notFormed',
    });
    await advance(1_000);
    expect(cluster.health().formed).toBe(true);
    expect(evaluateReadiness(cluster.health(), { minMembers: 2 })).toEqual({ up: true });
    await cluster.stop();
  });

  it('stays formed when a member leaves (latched), and turns false and completes on stop', async () => {
    const { cluster, dist } = setup({ formation: { minMembers: 2, stableMarginMs: 0 } });
    await cluster.start();
    await flushPromises();
    expect(cluster.formed).toBe(true);
    dist.outcome = () => false;
    dist.down('a@10.0.0.2');
    await flushPromises();
    expect(cluster.formed).toBe(true);
    let completed = false;
    const seen: boolean[] = [];
    cluster.formed$.subscribe({ next: v => seen.push(v), complete: () => (completed = true) });
    await cluster.stop();
    expect(seen).toEqual([true, false]);
    expect(completed).toBe(true);
    expect(cluster.formed).toBe(false);
  });

  it('gives a subscriber after stop `false`, then complete', async () => {
    const { cluster } = setup({ formation: { minMembers: 0, stableMarginMs: 0 } });
    await cluster.start();
    await flushPromises();
    expect(cluster.formed).toBe(true);
    await cluster.stop();
    const seen: boolean[] = [];
    let completed = false;
    cluster.formed$.subscribe({ next: v => seen.push(v), complete: () => (completed = true) });
    expect(seen).toEqual([false]);
    expect(completed).toBe(true);
  });

  describe('waitForFormation()', () => {
    it('resolves with the configured numbers, or with its own', async () => {
      const { cluster } = setup({
        refreshIntervalMs: 10_000,
        formation: { minMembers: 2, stableMarginMs: 2_000 },
      });
      const configured = observe(cluster.waitForFormation());
      const ownNumbers = observe(cluster.waitForFormation({ minMembers: 1, stableMarginMs: 500 }));
      await cluster.start();
      await advance(500);
      expect(ownNumbers.value).toBe('ok');
      expect(configured.value).toBe('pending');
      await advance(1_500);
      expect(configured.value).toBe('ok');
      await expect(cluster.waitForFormation()).resolves.toBeUndefined();
      await cluster.stop();
    });

    it('uses the defaults (no members, 5 s) when no formation is configured', async () => {
      const { cluster } = setup({ refreshIntervalMs: 10_000 });
      const wait = observe(cluster.waitForFormation());
      await cluster.start();
      await advance(4_999);
      expect(wait.value).toBe('pending');
      await advance(1);
      expect(wait.value).toBe('ok');
      expect(cluster.formed).toBe(true);
      await cluster.stop();
    });

    it('rejects with ERR_FORMATION_TIMEOUT naming members, required and the time since the last change', async () => {
      const { cluster, dist } = setup({ refreshIntervalMs: 10_000 });
      dist.outcome = node => node === 'a@10.0.0.2';
      await cluster.start();
      await flushPromises();
      const wait = observe(
        cluster.waitForFormation({ minMembers: 2, stableMarginMs: 100, timeoutMs: 1_000 }),
      );
      await advance(1_000);
      expect(wait.value).toBeInstanceOf(FormationTimeoutError);
      expect(wait.value).toMatchObject({
        code: 'ERR_FORMATION_TIMEOUT',
        members: 1,
        required: 2,
        sinceLastChangeMs: 1_000,
      });
      await cluster.stop();
    });

    it('rejects with ERR_CLUSTER_STOPPED when the cluster stops first, and leaves no timer', async () => {
      const { cluster } = setup({ refreshIntervalMs: 'infinity' });
      await cluster.start();
      await flushPromises();
      const wait = observe(cluster.waitForFormation({ minMembers: 5, timeoutMs: 60_000 }));
      await cluster.stop();
      await flushPromises();
      expect(wait.value).toMatchObject({ code: 'ERR_CLUSTER_STOPPED' });
      expect(jest.getTimerCount()).toBe(0);
      await expect(cluster.waitForFormation()).rejects.toMatchObject({
        code: 'ERR_CLUSTER_STOPPED',
      });
    });

    it('refuses bad numbers with ERR_INVALID_CONFIG naming the option', async () => {
      const { cluster } = setup();
      await expect(cluster.waitForFormation({ minMembers: -1 })).rejects.toMatchObject({
        code: 'ERR_INVALID_CONFIG',
        message: expect.stringContaining('waitForFormation options.minMembers'),
      });
    });
  });

  it('refuses a bad formation option at construction', () => {
    expect(() => setup({ formation: { stableMarginMs: -5 } })).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_CONFIG',
        message: expect.stringContaining('formation.stableMarginMs'),
      }),
    );
  });
});

describe('IdleCluster formation', () => {
  it('is formed at once, and waiting resolves unless peers are required', async () => {
    const idle = new IdleCluster('app@127.0.0.1', 'no cluster configured');
    expect(idle.formed).toBe(true);
    const seen: boolean[] = [];
    let completed = false;
    idle.formed$.subscribe({ next: v => seen.push(v), complete: () => (completed = true) });
    await expect(idle.waitForFormation()).resolves.toBeUndefined();
    await expect(idle.waitForFormation({ minMembers: 1 })).rejects.toMatchObject({
      code: 'ERR_NOT_STARTED',
      message: 'no cluster configured',
    });
    await idle.close();
    expect(seen).toEqual([true]);
    expect(completed).toBe(true);
  });

  it('gives a subscriber after close `false`, then complete, and is not formed any more', async () => {
    const idle = new IdleCluster('app@127.0.0.1', 'no cluster configured');
    await idle.close();
    const seen: boolean[] = [];
    let completed = false;
    idle.formed$.subscribe({ next: v => seen.push(v), complete: () => (completed = true) });
    expect(seen).toEqual([false]);
    expect(completed).toBe(true);
    expect(idle.formed).toBe(false);
  });
});
