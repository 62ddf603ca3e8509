import { jest } from '@jest/globals';
import type { ClusterEvent, ClusterLogger, GenClusterOptions } from '../../src/core/index.js';
import { GenCluster } from '../../src/core/index.js';
import { type InMemoryNetwork, TestDiscovery, TestDist } from '../../src/testing/index.js';
import { flushPromises } from './wait.js';

/** A logger that drops everything, for engine specs that do not look at logs. */
export const silent: ClusterLogger = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * A quiet engine named `name` on `network` (a dist of its own and the network's discovery), not
 * started; `dist.messaging` is its messaging layer.
 */
export function inMemoryEngine(network: InMemoryNetwork, name: string, refreshIntervalMs: number) {
  const dist = network.dist();
  const cluster = new GenCluster({
    node: name,
    discovery: network.discovery(),
    dist,
    logger: silent,
    refreshIntervalMs,
  });
  return { cluster, dist };
}

/** The node name of the engine under test. */
export const SELF = 'self@10.0.0.1';

/**
 * An engine on a scripted discovery (answering `peers`) and dist, without jitter unless a test
 * asks for it, with every event it emits collected in order.
 */
export function setupEngine(
  options: Partial<GenClusterOptions> = {},
  peers: string[] = ['a@10.0.0.2', 'b@10.0.0.3'],
) {
  const discovery = new TestDiscovery(peers);
  const dist = new TestDist();
  const cluster = new GenCluster({
    node: SELF,
    discovery,
    dist,
    logger: silent,
    random: () => 0.5,
    ...options,
  });
  const events: ClusterEvent[] = [];
  cluster.events$.subscribe(e => events.push(e));
  return { cluster, discovery, dist, events };
}

/** Advances fake time and lets the promise callbacks scheduled by timers run. */
export async function advance(ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
  await flushPromises();
}
