import { jest } from '@jest/globals';
import { evaluateLiveness, evaluateReadiness } from './cluster-health.js';
import { IdleCluster } from './idle-cluster.js';
import { CoreMessages } from './messages.js';
import { advance, setupEngine as setup } from '../../test/support/engine-harness.js';
import { flushPromises } from '../../test/support/wait.js';

describe('GenCluster.health()', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('follows the lifecycle, members and discovery', async () => {
    const { cluster, discovery } = setup({ refreshIntervalMs: 1_000 });
    expect(cluster.health()).toEqual({
      state: 'new',
      members: 0,
      discovered: 0,
      lastDiscoveryOkAgoMs: undefined,
      consecutiveDiscoveryErrors: 0,
      lastDiscoveryError: undefined,
      discoveryFailingForMs: undefined,
      refreshIntervalMs: 1_000,
      dist: { listening: true },
    });
    await cluster.start();
    await flushPromises();
    await advance(250);
    expect(cluster.health()).toMatchObject({
      state: 'running',
      members: 2,
      discovered: 2,
      lastDiscoveryOkAgoMs: 250,
      consecutiveDiscoveryErrors: 0,
    });
    expect(evaluateReadiness(cluster.health(), { minMembers: 2 })).toEqual({ up: true });

    discovery.answer = new Error('SERVFAIL');
    await advance(750); // the next round fails
    await advance(1_000); // and the one after
    const failing = cluster.health();
    expect(failing).toMatchObject({
      members: 2,
      discovered: 2, // the last good answer is kept
      lastDiscoveryOkAgoMs: 2_000,
      consecutiveDiscoveryErrors: 2,
      lastDiscoveryError: CoreMessages.discoveryFailed('test', new Error('SERVFAIL')),
      discoveryFailingForMs: 1_000,
    });
    expect(evaluateReadiness(failing, { discoveryGraceMs: 999 }).reason).toBe('discoveryFailing');
    expect(evaluateReadiness(failing).up).toBe(true);

    cluster.pause();
    expect(cluster.health().state).toBe('paused');
    await cluster.stop();
    expect(cluster.health()).toMatchObject({ state: 'stopped', members: 0 });
    expect(evaluateLiveness(cluster.health()).reason).toBe('stopped');
    expect(evaluateLiveness(cluster.health(), 'closing').up).toBe(true);
  });

  it("reports the dist's health, listening when the dist has no health()", async () => {
    const { cluster, dist } = setup();
    expect(cluster.health().dist).toEqual({ listening: true });
    Object.assign(dist, { health: () => ({ listening: false, reason: 'listener closed' }) });
    expect(cluster.health().dist).toEqual({ listening: false, reason: 'listener closed' });
    expect(evaluateLiveness(cluster.health())).toMatchObject({
      up: false,
      reason: 'distNotListening',
    });
  });

  it("reports 'infinity' as the refresh interval", () => {
    const { cluster } = setup({ refreshIntervalMs: 'infinity' });
    expect(cluster.health().refreshIntervalMs).toBe('infinity');
  });
});

describe('IdleCluster.health()', () => {
  it('is running and healthy, with nothing to count', () => {
    const idle = new IdleCluster('app@127.0.0.1', 'no cluster configured');
    const snapshot = idle.health();
    expect(snapshot).toEqual({
      state: 'running',
      members: 0,
      discovered: 0,
      lastDiscoveryOkAgoMs: undefined,
      consecutiveDiscoveryErrors: 0,
      lastDiscoveryError: undefined,
      refreshIntervalMs: 'infinity',
      dist: { listening: true },
    });
    expect(evaluateReadiness(snapshot)).toEqual({ up: true });
    expect(evaluateLiveness(snapshot)).toEqual({ up: true });
    expect(evaluateReadiness(snapshot, { minMembers: 1 }).reason).toBe('tooFewMembers');
  });
});
