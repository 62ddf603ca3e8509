/**
 * What the engine logs, with fake timers: routine work (refreshes, the first failed dials of a
 * starting peer) stays below the default level, a persistent failure is a warning and a summary,
 * and the lines carry their structured fields.
 */
import { jest } from '@jest/globals';
import { createClusterLogger } from './cluster-logger.js';
import { GenClusterError } from './errors.js';
import { GenCluster, type GenClusterOptions } from './gen-cluster.js';
import type { ClusterLogger, LogLevel } from './logger.js';
import { TestDiscovery, TestDist } from '../testing/index.js';
import { flushPromises } from '../../test/support/wait.js';

const SELF = 'self@10.0.0.1';
const PEER = 'a@10.0.0.2';

type Line = Record<string, unknown> & { level: string; event: string | null; message: string };

function setup(level: LogLevel, options: Partial<GenClusterOptions> = {}) {
  const lines: Line[] = [];
  const logger = createClusterLogger({
    level,
    format: 'json',
    context: 'GenCluster:test',
    write: line => void lines.push(JSON.parse(line) as Line),
  });
  const discovery = new TestDiscovery([PEER]);
  const dist = new TestDist();
  const cluster = new GenCluster({
    node: SELF,
    discovery,
    dist,
    logger,
    refreshIntervalMs: 5_000,
    random: () => 0.5,
    ...options,
  });
  return { cluster, dist, lines, seen: () => lines.map(l => `${l.level} ${l.event}`) };
}

async function advance(ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
  await flushPromises();
}

describe('GenCluster logging', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('at the default level, logs neither refreshes nor the failed dials of a peer that starts late', async () => {
    const { cluster, dist, seen } = setup('log');
    let attempts = 0;
    dist.outcome = () => ++attempts > 3;
    await cluster.start();
    await advance(60_000);
    expect(cluster.nodes()).toEqual([PEER]);
    expect(seen()).toEqual(['log nodeStarted', 'log nodeUp']);
    await cluster.stop();
  });

  it('writes each refresh at verbose and each failed dial at debug, with their fields', async () => {
    const { cluster, dist, lines, seen } = setup('verbose');
    let attempts = 0;
    dist.outcome = () => ++attempts > 1;
    await cluster.start();
    await advance(11_000);
    expect(seen().filter(s => s === 'verbose refresh').length).toBeGreaterThanOrEqual(3);
    const failed = lines.find(l => l.event === 'connectFailed')!;
    expect(failed).toMatchObject({
      level: 'debug',
      node: SELF,
      peer: PEER,
      reason: 'ERR_CONNECT_FAILED',
      attempts: 1,
      retryInMs: 1_000,
    });
    expect(lines.find(l => l.event === 'nodeUp')).toMatchObject({ node: SELF, peer: PEER });
    await cluster.stop();
    expect(lines.find(l => l.event === 'nodeDown')).toMatchObject({
      peer: PEER,
      reason: 'stopped',
    });
  });

  it('warns at once for a refused handshake, summarises while it lasts, and logs the recovery', async () => {
    const { cluster, dist, lines, seen } = setup('log', {
      connectFailureReport: { summaryIntervalMs: 10_000 },
    });
    const refusal = new GenClusterError('ERR_BAD_COOKIE', `Node ${PEER} refused: bad cookie.`);
    dist.outcome = () => refusal;
    await cluster.start();
    await advance(0);
    expect(seen()).toEqual(['log nodeStarted', 'warn connectFailing']);
    expect(lines[1]).toMatchObject({
      node: SELF,
      peer: PEER,
      reason: 'ERR_BAD_COOKIE',
      attempts: 1,
    });
    await advance(12_000); // attempts at 1, 3, 7 and 15 s: the summary comes with the one at 15 s
    expect(seen()).toEqual(['log nodeStarted', 'warn connectFailing']);
    await advance(4_000);
    expect(seen()).toEqual(['log nodeStarted', 'warn connectFailing', 'warn connectStillFailing']);
    expect(lines[2]!.message).toMatch(
      /^Still failing to connect to a@10\.0\.0\.2: 5 attempts over 15 s, last error: Node a@10\.0\.0\.2 refused: bad cookie\.$/,
    );
    dist.outcome = () => true;
    await advance(16_000);
    expect(seen().slice(3)).toEqual(['log connectRecovered', 'log nodeUp']);
    await cluster.stop();
  });

  it('hands a plain logger every line, message only, as before', async () => {
    const received: unknown[][] = [];
    const plain: ClusterLogger = {
      debug: (...args: unknown[]) => void received.push(['debug', ...args]),
      log: (...args: unknown[]) => void received.push(['log', ...args]),
      warn: (...args: unknown[]) => void received.push(['warn', ...args]),
      error: (...args: unknown[]) => void received.push(['error', ...args]),
    };
    const dist = new TestDist();
    dist.outcome = () => false;
    const cluster = new GenCluster({
      node: SELF,
      discovery: new TestDiscovery([PEER]),
      dist,
      logger: plain,
      random: () => 0.5,
    });
    await cluster.start();
    await advance(0);
    expect(received.every(args => args.length === 2 && typeof args[1] === 'string')).toBe(true);
    expect(received.map(args => args[0])).toEqual(['log', 'debug']);
    expect(received[1]![1]).toBe(
      `Could not connect to ${PEER} (attempt 1): The dist could not connect to ${PEER}; retrying in 1000 ms.`,
    );
    await cluster.stop();
  });
});
