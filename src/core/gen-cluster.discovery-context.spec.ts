import { jest } from '@jest/globals';
import type { ClusterEvent } from './events.js';
import type { DiscoveryContext } from './strategy.js';
import { advance, setupEngine as setup } from '../../test/support/engine-harness.js';
import { flushPromises } from '../../test/support/wait.js';

/** An engine whose discovery keeps the context it gets at init. */
function withContext(dist: { port?: number | null; deriveKey?: (label: string) => Buffer } = {}) {
  const harness = setup({ refreshIntervalMs: 1_000 });
  let context: DiscoveryContext | undefined;
  Object.assign(harness.discovery, { init: (c: DiscoveryContext) => void (context = c) });
  Object.assign(harness.dist, dist);
  return { ...harness, context: () => context! };
}

describe('the discovery context the engine passes', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it("carries the dist's port, read after the dist started", async () => {
    const harness = withContext({ port: null });
    Object.assign(harness.dist, {
      init: () => Object.assign(harness.dist, { port: 4370 }),
    });
    await harness.cluster.start();
    expect(harness.context().port).toBe(4370);
    await harness.cluster.stop();
  });

  it('has no port when the dist has none', async () => {
    const harness = withContext({ port: null });
    await harness.cluster.start();
    expect('port' in harness.context()).toBe(false);
    await harness.cluster.stop();
  });

  it('carries deriveKey bound to the dist, and none when the dist offers none', async () => {
    const dist = {
      secret: 'the-dist-secret',
      deriveKey(this: { secret: string }, label: string) {
        return Buffer.from(`${this.secret}/${label}`);
      },
    };
    const harness = withContext(dist);
    await harness.cluster.start();
    const { deriveKey } = harness.context();
    // called detached, as a strategy keeps it: `this` is still the dist
    expect(deriveKey?.('gossip v1').toString()).toBe('the-dist-secret/gossip v1');
    await harness.cluster.stop();

    const plain = withContext();
    await plain.cluster.start();
    expect(plain.context().deriveKey).toBeUndefined();
    await plain.cluster.stop();
  });

  it('reportError emits discoveryError with its source, without counting a failed lookup', async () => {
    const { cluster, context, events } = withContext();
    await cluster.start();
    await flushPromises();
    const error = new Error('etcd unreachable');
    context().reportError!(error, 'aggregate[1] etcd', 3);
    context().reportError!(new Error('gone'), 'hosts /etc/gc.hosts');
    const reported = events.filter(
      (e): e is Extract<ClusterEvent, { type: 'discoveryError' }> => e.type === 'discoveryError',
    );
    expect(reported).toEqual([
      { type: 'discoveryError', error, consecutive: 3, source: 'aggregate[1] etcd' },
      expect.objectContaining({ consecutive: 1, source: 'hosts /etc/gc.hosts' }),
    ]);
    expect(cluster.health()).toMatchObject({
      consecutiveDiscoveryErrors: 0,
      lastDiscoveryError: undefined,
      discoveryFailingForMs: undefined,
    });
    await advance(1_000);
    expect(cluster.health().consecutiveDiscoveryErrors).toBe(0);
    // once stopped, a late report is dropped
    await cluster.stop();
    context().reportError!(error, 'late');
    expect(events.filter(e => e.type === 'discoveryError')).toHaveLength(2);
  });

  it('reportError still emits while the engine is paused, and drops reports after stop', async () => {
    const { cluster, context, events } = withContext();
    await cluster.start();
    await flushPromises();
    cluster.pause();
    const error = new Error('etcd registration refused');
    context().reportError!(error, 'etcd', 2);
    expect(events.filter(e => e.type === 'discoveryError')).toEqual([
      { type: 'discoveryError', error, consecutive: 2, source: 'etcd' },
    ]);
    await cluster.stop();
    context().reportError!(error, 'etcd', 3);
    expect(events.filter(e => e.type === 'discoveryError')).toHaveLength(1);
  });
});
