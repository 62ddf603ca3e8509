import {
  asStructuredLogger,
  createClusterLogger,
  isStructuredLogger,
  logsAt,
} from './cluster-logger.js';
import { InvalidConfigError } from './errors.js';
import { type ClusterLogger, LOG_LEVELS, type LogLevel } from './logger.js';

/** A text sink that keeps `<level> <message>` per line. */
function sink(): { lines: string[]; logger: Required<ClusterLogger> } {
  const lines: string[] = [];
  const at = (level: LogLevel) => (message: string) => void lines.push(`${level} ${message}`);
  return {
    lines,
    logger: {
      error: at('error'),
      warn: at('warn'),
      log: at('log'),
      debug: at('debug'),
      verbose: at('verbose'),
    },
  };
}

const writeEveryLevel = (logger: ClusterLogger) => {
  for (const level of LOG_LEVELS) logger[level]?.(`a ${level} line`);
};

describe('createClusterLogger: the level filter', () => {
  it.each([
    ['error', ['error']],
    ['warn', ['error', 'warn']],
    ['log', ['error', 'warn', 'log']],
    ['debug', ['error', 'warn', 'log', 'debug']],
    ['verbose', ['error', 'warn', 'log', 'debug', 'verbose']],
  ] as const)('at %s writes %j and nothing more verbose', (level, written) => {
    const { lines, logger: text } = sink();
    const logger = createClusterLogger({ level, sink: text });
    writeEveryLevel(logger);
    expect(lines).toEqual(written.map(l => `${l} a ${l} line`));
    for (const each of LOG_LEVELS)
      expect(logger.enabled(each)).toBe(written.includes(each as never));
  });

  it('is at log by default: membership changes, warnings and errors, no routine lines', () => {
    const { lines, logger: text } = sink();
    writeEveryLevel(createClusterLogger({ sink: text }));
    expect(lines).toEqual(['error a error line', 'warn a warn line', 'log a log line']);
  });

  it('filters a child like its parent and adds the child fields', () => {
    const json: string[] = [];
    const parent = createClusterLogger({ level: 'warn', format: 'json', write: l => json.push(l) });
    const child = parent.child({ node: 'a@127.0.0.1' });
    child.log('dropped');
    child.warn('kept', { peer: 'b@127.0.0.1' });
    expect(json).toHaveLength(1);
    expect(JSON.parse(json[0]!)).toMatchObject({ node: 'a@127.0.0.1', peer: 'b@127.0.0.1' });
  });

  it('refuses an unknown level or format, and a sink without the log methods, naming the option', () => {
    expect(() => createClusterLogger({ level: 'info' as LogLevel })).toThrow(InvalidConfigError);
    expect(() => createClusterLogger({ level: 'info' as LogLevel })).toThrow(/logLevel.*"info"/);
    expect(() => createClusterLogger({ format: 'xml' as 'json' })).toThrow(/logFormat.*"xml"/);
    expect(() => createClusterLogger({ sink: {} as ClusterLogger })).toThrow(/logger/);
  });
});

describe('createClusterLogger: text mode', () => {
  it('hands the message alone to the sink, and appends the stack to an error line', () => {
    const { lines, logger: text } = sink();
    const logger = createClusterLogger({ sink: text });
    const failure = new Error('boom');
    logger.warn('a warning', { event: 'x', error: failure });
    logger.error('a handler failed', { event: 'handlerFailed', error: failure });
    expect(lines[0]).toBe('warn a warning');
    expect(lines[1]).toBe(`error a handler failed\n${failure.stack}`);
    expect(lines[1]).toMatch(/\n\s+at /);
  });

  it('skips the levels a sink has no method for, and survives a sink that throws', () => {
    const lines: string[] = [];
    const logger = createClusterLogger({
      level: 'verbose',
      sink: {
        log: m => void lines.push(m),
        warn: () => {
          throw new Error('sink down');
        },
        error: m => void lines.push(m),
      },
    });
    expect(() => {
      logger.verbose('v');
      logger.debug('d');
      logger.warn('w');
      logger.log('l');
    }).not.toThrow();
    expect(lines).toEqual(['l']);
  });

  it('wraps a plain logger so that it receives every level, message only', () => {
    const received: unknown[][] = [];
    const plain: ClusterLogger = {
      debug: (...args: unknown[]) => void received.push(['debug', ...args]),
      log: (...args: unknown[]) => void received.push(['log', ...args]),
      warn: (...args: unknown[]) => void received.push(['warn', ...args]),
      error: (...args: unknown[]) => void received.push(['error', ...args]),
    };
    const wrapped = asStructuredLogger(plain);
    expect(isStructuredLogger(plain)).toBe(false);
    expect(isStructuredLogger(wrapped)).toBe(true);
    wrapped.debug('d', { event: 'refresh' });
    wrapped.warn('w', { peer: 'b@h' });
    expect(received).toEqual([
      ['debug', 'd'],
      ['warn', 'w'],
    ]);
    expect(asStructuredLogger(wrapped)).toBe(wrapped);
  });
});

describe('createClusterLogger: JSON mode', () => {
  const time = new Date('2026-12-01T10:00:00.000Z');
  const jsonLogger = (level: LogLevel = 'log') => {
    const lines: string[] = [];
    const logger = createClusterLogger({
      level,
      format: 'json',
      context: 'GenCluster:default',
      write: line => void lines.push(line),
      clock: () => time,
    });
    return { lines, logger };
  };

  it('writes one JSON object per line with time, level, context, event, node, peer, reason and message', () => {
    const { lines, logger } = jsonLogger();
    logger.child({ node: 'a@10.0.0.1' }).log('Node down: b@10.0.0.2 (left).', {
      event: 'nodeDown',
      peer: 'b@10.0.0.2',
      reason: 'left',
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    expect(JSON.parse(lines[0]!)).toEqual({
      time: '2026-12-01T10:00:00.000Z',
      level: 'log',
      context: 'GenCluster:default',
      event: 'nodeDown',
      node: 'a@10.0.0.1',
      peer: 'b@10.0.0.2',
      reason: 'left',
      message: 'Node down: b@10.0.0.2 (left).',
    });
  });

  it('always has the eight fields (null when unknown), then the others, in that order', () => {
    const { lines, logger } = jsonLogger();
    logger.warn('Still failing.', { attempts: 7, failingForMs: 61_000, skipped: undefined });
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(entry)).toEqual([
      'time',
      'level',
      'context',
      'event',
      'node',
      'peer',
      'reason',
      'message',
      'attempts',
      'failingForMs',
    ]);
    expect(entry).toMatchObject({ event: null, node: null, peer: null, reason: null });
  });

  it('renders the error as name, message and code, with the stack on error lines only', () => {
    const { lines, logger } = jsonLogger();
    const failure = Object.assign(new Error('bad cookie'), { code: 'ERR_BAD_COOKIE' });
    logger.warn('w', { error: failure });
    logger.error('e', { error: failure });
    const [warn, error] = lines.map(l => JSON.parse(l) as Record<string, unknown>);
    expect(warn!.error).toEqual({ name: 'Error', message: 'bad cookie', code: 'ERR_BAD_COOKIE' });
    expect(warn).not.toHaveProperty('stack');
    expect(error!.stack).toBe(failure.stack);
  });

  it('serialises BigInts and thrown non-errors, and still writes a line for a cyclic field', () => {
    const { lines, logger } = jsonLogger();
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    logger.log('big', { size: 10n, error: 'a string was thrown' });
    logger.log('cyclic', { event: 'x', cycle });
    expect(JSON.parse(lines[0]!)).toMatchObject({
      size: '10',
      error: { message: 'a string was thrown' },
    });
    expect(JSON.parse(lines[1]!)).toMatchObject({ event: 'x', message: 'cyclic' });
  });

  it('filters by level as text mode does', () => {
    const { lines, logger } = jsonLogger('warn');
    writeEveryLevel(logger);
    expect(lines.map(l => (JSON.parse(l) as { level: string }).level)).toEqual(['error', 'warn']);
  });
});

describe('logsAt', () => {
  it('says whether a level is written, so callers skip building filtered-out lines', () => {
    const sink = { log: () => undefined, warn: () => undefined, error: () => undefined };
    const logger = createClusterLogger({ level: 'log', sink });
    expect(logsAt(logger, 'debug')).toBe(false);
    expect(logsAt(logger, 'warn')).toBe(true);
    expect(logsAt(sink, 'debug')).toBe(false); // a plain logger without debug()
    expect(logsAt({ ...sink, debug: () => undefined }, 'debug')).toBe(true);
  });
});
