import { jest } from '@jest/globals';
import type { ClusterLogger } from '../core/index.js';
import { createCluster } from './create-cluster.js';

/** A cluster of one on loopback (no port mapper), logging to `logger`. */
const single = (options: Parameters<typeof createCluster>[0]) =>
  createCluster({
    node: 'solo@127.0.0.1',
    discovery: { strategy: 'static', nodes: [] },
    dist: { strategy: 'tcp', cookie: 'x'.repeat(32), port: 0, portMapper: false },
    refreshIntervalMs: 'infinity',
    useEnv: false,
    ...options,
  });

function capture(): { lines: string[]; logger: ClusterLogger } {
  const lines: string[] = [];
  const at = (level: string) => (message: string) => void lines.push(`${level} ${message}`);
  return {
    lines,
    logger: { debug: at('debug'), log: at('log'), warn: at('warn'), error: at('error') },
  };
}

describe('createCluster logging', () => {
  it('filters the logger it is given by logLevel, log by default', async () => {
    const quiet = capture();
    const cluster = single({ logger: quiet.logger, logLevel: 'warn' });
    await cluster.start();
    await cluster.stop();
    expect(quiet.lines).toEqual([]);

    const normal = capture();
    const other = single({ logger: normal.logger });
    await other.start();
    await other.stop();
    expect(normal.lines).toContain(
      'log Node solo@127.0.0.1 started (discovery "static", dist "tcp").',
    );
    expect(normal.lines.every(line => line.startsWith('log '))).toBe(true);
  });

  it('writes one JSON object per line to stdout with logFormat json', async () => {
    const written: string[] = [];
    const write = jest
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    try {
      const cluster = single({ logFormat: 'json' });
      await cluster.start();
      await cluster.stop();
    } finally {
      write.mockRestore();
    }
    const entries = written.map(line => JSON.parse(line) as Record<string, unknown>);
    expect(entries.find(e => e.event === 'nodeStarted')).toMatchObject({
      level: 'log',
      context: 'GenCluster:solo@127.0.0.1',
      node: 'solo@127.0.0.1',
    });
  });
});
