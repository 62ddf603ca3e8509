import { createClusterLogger } from './cluster-logger.js';
import { DistConnectivity } from './dist-connectivity.js';
import type { ClusterEvent } from './events.js';
import { CoreMessages } from './messages.js';

/** A connectivity tracker on a clock the test moves, with its events and log lines kept. */
function tracker(options: { reporting?: () => boolean } = {}) {
  const events: ClusterEvent[] = [];
  const lines: string[] = [];
  const clock = { now: 1_000 };
  const logger = createClusterLogger({
    level: 'debug',
    sink: {
      log: message => lines.push(`log ${message}`),
      warn: message => lines.push(`warn ${message}`),
      error: message => lines.push(`error ${message}`),
    },
  });
  const connectivity = new DistConnectivity({
    logger,
    emit: event => events.push(event),
    reporting: options.reporting ?? (() => true),
    now: () => clock.now,
  });
  return { connectivity, events, lines, clock };
}

describe('DistConnectivity', () => {
  it('starts connected and says nothing', () => {
    const { connectivity, events, lines } = tracker();
    expect(connectivity.connected).toBe(true);
    connectivity.report(true);
    expect(events).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('emits one distDisconnected per outage and one distConnected with its length', () => {
    const { connectivity, events, lines, clock } = tracker();
    connectivity.report(false, 'connection to 127.0.0.1:4222 closed');
    expect(connectivity.connected).toBe(false);
    clock.now += 2_500.4;
    connectivity.report(true);
    expect(connectivity.connected).toBe(true);
    expect(events).toEqual([
      { type: 'distDisconnected', reason: 'connection to 127.0.0.1:4222 closed' },
      { type: 'distConnected', downForMs: 2_500 },
    ]);
    expect(lines).toEqual([
      `warn ${CoreMessages.distDisconnected('connection to 127.0.0.1:4222 closed')}`,
      `log ${CoreMessages.distConnected(2_500)}`,
    ]);
  });

  it('ignores repeated reports of the same state (a client reporting every status change)', () => {
    const { connectivity, events, clock } = tracker();
    connectivity.report(false, 'disconnected');
    clock.now += 1_000;
    connectivity.report(false, 'reconnecting');
    clock.now += 1_000;
    connectivity.report(false, 'stale connection');
    clock.now += 1_000;
    connectivity.report(true);
    connectivity.report(true);
    expect(events).toEqual([
      { type: 'distDisconnected', reason: 'disconnected' },
      // the outage counts from its first report, not the last repeat
      { type: 'distConnected', downForMs: 3_000 },
    ]);
  });

  it('counts each outage on its own', () => {
    const { connectivity, events, clock } = tracker();
    connectivity.report(false, 'first');
    clock.now += 100;
    connectivity.report(true);
    clock.now += 10_000;
    connectivity.report(false, 'second');
    clock.now += 40_000;
    connectivity.report(true);
    expect(events).toEqual([
      { type: 'distDisconnected', reason: 'first' },
      { type: 'distConnected', downForMs: 100 },
      { type: 'distDisconnected', reason: 'second' },
      { type: 'distConnected', downForMs: 40_000 },
    ]);
  });

  it('says so when the dist gives no reason', () => {
    const { connectivity, events, lines } = tracker();
    connectivity.report(false);
    expect(events).toEqual([{ type: 'distDisconnected', reason: 'no reason given' }]);
    expect(lines).toEqual([`warn ${CoreMessages.distDisconnected('no reason given')}`]);
  });

  it('reads the monotonic clock when none is injected', () => {
    const events: ClusterEvent[] = [];
    const connectivity = new DistConnectivity({
      logger: createClusterLogger({ sink: { log: () => {}, warn: () => {}, error: () => {} } }),
      emit: event => events.push(event),
      reporting: () => true,
    });
    connectivity.report(false, 'gone');
    connectivity.report(true);
    const connected = events[1];
    expect(connected?.type).toBe('distConnected');
    const downForMs = (connected as { downForMs: number }).downForMs;
    expect(Number.isInteger(downForMs) && downForMs >= 0).toBe(true);
  });

  it('reports nothing once the engine stopped reporting, and keeps its state unchanged', () => {
    let reporting = true;
    const { connectivity, events, lines } = tracker({ reporting: () => reporting });
    connectivity.report(false, 'closed');
    reporting = false;
    connectivity.report(true);
    connectivity.report(false, 'again');
    expect(events).toEqual([{ type: 'distDisconnected', reason: 'closed' }]);
    expect(lines).toHaveLength(1);
    expect(connectivity.connected).toBe(false);
  });

  it('reports nothing before the engine reports (a new engine)', () => {
    const { connectivity, events } = tracker({ reporting: () => false });
    connectivity.report(false, 'closed');
    expect(events).toEqual([]);
    expect(connectivity.connected).toBe(true);
  });
});
