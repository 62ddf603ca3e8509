/**
 * A broker dist's connectivity as the engine reports it: `DistContext.reportConnectivity` gives
 * one `distDisconnected` / `distConnected` pair per outage on `events$`, `health().distConnected`
 * and the readiness reason `distDisconnected` meanwhile. Fake timers; a scripted dist.
 */
import { jest } from '@jest/globals';
import { evaluateLiveness, evaluateReadiness } from './cluster-health.js';
import { createClusterLogger } from './cluster-logger.js';
import type { ClusterEvent } from './events.js';
import { GenCluster } from './gen-cluster.js';
import { CoreMessages } from './messages.js';
import type { DistContext } from './strategy.js';
import { TestDiscovery, TestDist } from '../testing/index.js';
import { advance, setupEngine } from '../../test/support/engine-harness.js';
import { flushPromises } from '../../test/support/wait.js';

/** The connectivity port the engine handed the dist at init. */
function report(dist: TestDist): NonNullable<DistContext['reportConnectivity']> {
  const port = dist.context?.reportConnectivity;
  if (!port) throw new Error('the engine passed no reportConnectivity');
  return port;
}

const connectivityEvents = (events: ClusterEvent[]) =>
  events.filter(e => e.type === 'distDisconnected' || e.type === 'distConnected');

describe('GenCluster: a dist reporting its connectivity', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('emits distDisconnected and distConnected, and health says cut off meanwhile', async () => {
    const { cluster, dist, events } = setupEngine({ refreshIntervalMs: 1_000 });
    await cluster.start();
    await advance(10);
    expect(cluster.health().distConnected).toBeUndefined();
    expect(evaluateReadiness(cluster.health())).toEqual({ up: true });

    report(dist)(false, 'connection to 127.0.0.1:4222 closed');
    expect(cluster.health()).toMatchObject({ distConnected: false, distDisconnectedForMs: 0 });
    // within the grace (30 s by default) readiness stays up: every pod loses the broker at once
    expect(evaluateReadiness(cluster.health())).toEqual({ up: true });
    await advance(30_001);
    expect(cluster.health().distDisconnectedForMs).toBe(30_001);
    expect(evaluateReadiness(cluster.health())).toMatchObject({
      up: false,
      reason: 'distDisconnected',
    });
    expect(evaluateReadiness(cluster.health(), { discoveryGraceMs: 60_000 })).toEqual({
      up: true,
    });
    // cut off is not dead: restarting the process would not bring the broker back
    expect(evaluateLiveness(cluster.health())).toEqual({ up: true });

    report(dist)(true);
    expect(cluster.health().distConnected).toBeUndefined();
    expect(evaluateReadiness(cluster.health())).toEqual({ up: true });
    expect(connectivityEvents(events)).toEqual([
      { type: 'distDisconnected', reason: 'connection to 127.0.0.1:4222 closed' },
      { type: 'distConnected', downForMs: 30_001 },
    ]);
    await cluster.stop();
  });

  it('emits once per outage however often the dist repeats itself', async () => {
    const { cluster, dist, events } = setupEngine();
    await cluster.start();
    const reportConnectivity = report(dist);
    reportConnectivity(true);
    reportConnectivity(false, 'disconnected');
    reportConnectivity(false, 'reconnecting');
    await advance(500);
    reportConnectivity(true);
    reportConnectivity(true);
    reportConnectivity(false, 'stale connection');
    reportConnectivity(true);
    expect(connectivityEvents(events)).toEqual([
      { type: 'distDisconnected', reason: 'disconnected' },
      { type: 'distConnected', downForMs: 500 },
      { type: 'distDisconnected', reason: 'stale connection' },
      { type: 'distConnected', downForMs: 0 },
    ]);
    await cluster.stop();
  });

  it('counts a dist that starts without its broker as cut off from the start', async () => {
    const dist = new TestDist();
    const init = dist.init.bind(dist);
    dist.init = (context: DistContext) => {
      init(context);
      context.reportConnectivity?.(false, 'no server answered at 127.0.0.1:4222');
    };
    const cluster = new GenCluster({
      node: 'self@10.0.0.1',
      discovery: new TestDiscovery([]),
      dist,
      logger: createClusterLogger({ sink: { log: () => {}, warn: () => {}, error: () => {} } }),
    });
    const events: ClusterEvent[] = [];
    cluster.events$.subscribe(e => events.push(e));
    await cluster.start();
    expect(cluster.health()).toMatchObject({ state: 'running', distConnected: false });
    expect(evaluateReadiness(cluster.health(), { discoveryGraceMs: 1_000 }).up).toBe(true);
    await advance(1_001);
    expect(evaluateReadiness(cluster.health(), { discoveryGraceMs: 1_000 }).reason).toBe(
      'distDisconnected',
    );
    expect(connectivityEvents(events)).toEqual([
      { type: 'distDisconnected', reason: 'no server answered at 127.0.0.1:4222' },
    ]);
    await cluster.stop();
  });

  it('ignores reports once stopped (a dist closing reports its own close)', async () => {
    const { cluster, dist, events } = setupEngine();
    await cluster.start();
    const reportConnectivity = report(dist);
    await cluster.stop();
    reportConnectivity(false, 'closed by close()');
    await flushPromises();
    expect(connectivityEvents(events)).toEqual([]);
    expect(cluster.health().distConnected).toBeUndefined();
    expect(evaluateReadiness(cluster.health()).reason).toBe('stopped');
  });

  it('logs a warning when cut off and a line when back, with structured fields', async () => {
    const lines: Record<string, unknown>[] = [];
    const dist = new TestDist();
    const cluster = new GenCluster({
      node: 'self@10.0.0.1',
      discovery: new TestDiscovery([]),
      dist,
      logger: createClusterLogger({
        format: 'json',
        write: line => void lines.push(JSON.parse(line) as Record<string, unknown>),
      }),
    });
    await cluster.start();
    report(dist)(false, 'connection refused');
    await advance(1_200);
    report(dist)(true);
    const connectivity = lines.filter(l => String(l.event).startsWith('dist'));
    expect(connectivity).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'distDisconnected',
        reason: 'connection refused',
        message: CoreMessages.distDisconnected('connection refused'),
      }),
      expect.objectContaining({
        level: 'log',
        event: 'distConnected',
        downForMs: 1_200,
        message: CoreMessages.distConnected(1_200),
      }),
    ]);
    await cluster.stop();
  });
});
