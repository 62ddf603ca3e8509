import { jest } from '@jest/globals';
import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';
import { createNestClusterLogger } from './cluster-logger.js';

/** Nest's logger replaced by one that keeps `<level> [<context>] <message>` per line. */
function captureNestLogger(): string[] {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) =>
      void lines.push(`${level} [${String(rest.at(-1))}] ${String(message)}`);
  const capture: LoggerService = {
    log: at('log'),
    warn: at('warn'),
    error: at('error'),
    debug: at('debug'),
    verbose: at('verbose'),
  };
  Logger.overrideLogger(capture);
  return lines;
}

describe('createNestClusterLogger', () => {
  afterEach(() => Logger.overrideLogger(new ConsoleLogger()));

  it("logs through Nest's Logger with the context GenCluster:<name>, at log level by default", () => {
    const lines = captureNestLogger();
    const logger = createNestClusterLogger('orders');
    logger.verbose('Refresh: 2 discovered, 2 connected, 0 to connect.');
    logger.debug('Could not connect to b@10.0.0.2 (attempt 1).');
    logger.log('Node up: b@10.0.0.2.', { event: 'nodeUp', peer: 'b@10.0.0.2' });
    logger.warn('Cannot connect to c@10.0.0.3: bad cookie.');
    expect(lines).toEqual([
      'log [GenCluster:orders] Node up: b@10.0.0.2.',
      'warn [GenCluster:orders] Cannot connect to c@10.0.0.3: bad cookie.',
    ]);
  });

  it('lets logLevel open the routine lines', () => {
    const lines = captureNestLogger();
    const logger = createNestClusterLogger('default', { logLevel: 'debug' });
    logger.verbose('a refresh');
    logger.debug('a failed dial');
    expect(lines).toEqual(['debug [GenCluster:default] a failed dial']);
  });

  it('writes one JSON object per line to stdout in json mode, bypassing Nest', () => {
    const lines = captureNestLogger();
    const written: string[] = [];
    const write = jest
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        written.push(String(chunk));
        return true;
      });
    try {
      createNestClusterLogger('default', { logFormat: 'json' })
        .child({ node: 'a@10.0.0.1' })
        .log('Node down: b@10.0.0.2 (left).', {
          event: 'nodeDown',
          peer: 'b@10.0.0.2',
          reason: 'left',
        });
    } finally {
      write.mockRestore();
    }
    expect(lines).toEqual([]);
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^\{.*\}\n$/);
    expect(JSON.parse(written[0]!)).toMatchObject({
      level: 'log',
      context: 'GenCluster:default',
      event: 'nodeDown',
      node: 'a@10.0.0.1',
      peer: 'b@10.0.0.2',
      reason: 'left',
      message: 'Node down: b@10.0.0.2 (left).',
    });
  });

  it('refuses an unknown level, naming the option', () => {
    expect(() => createNestClusterLogger('default', { logLevel: 'trace' as never })).toThrow(
      /logLevel.*"trace"/,
    );
  });
});
