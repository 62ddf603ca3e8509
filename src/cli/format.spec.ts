import type { SystemInfo } from '../primitives/index.js';
import { describeFailure, CliError, answerFailure } from './cli.errors.js';
import {
  columns,
  formatInfo,
  formatMembers,
  formatNames,
  formatPing,
  formatWatchedEvent,
  pingResult,
} from './format.js';

const info: SystemInfo = {
  v: 1,
  node: 'b@127.0.0.1',
  version: '0.1.0',
  uptimeS: 42,
  dist: 'tcp',
  state: 'running',
  members: ['a@127.0.0.1', 'c@127.0.0.1'],
  discovered: ['a@127.0.0.1', 'c@127.0.0.1'],
  peers: [],
  served: [
    { topic: 'sample.announce', kind: 'subscriber' },
    { topic: 'sample.greet', kind: 'handler' },
  ],
  events: Array.from({ length: 12 }, (_, i) => ({
    seq: i + 1,
    at: `2026-01-01T00:00:${String(i).padStart(2, '0')}.000Z`,
    type: 'nodeUp' as const,
    node: `n${i}@h`,
  })),
  seq: 12,
};

describe('CLI output', () => {
  it('aligns columns without trailing spaces', () => {
    expect(
      columns([
        ['a', 'x'],
        ['long-name', 'y'],
        ['b', ''],
      ]),
    ).toBe('a          x\nlong-name  y\nb');
  });

  it('prints members, older and silent nodes one line each', () => {
    expect(
      formatMembers([
        { node: 'a@h', members: ['b@h', 'c@h'] },
        { node: 'b@h', older: true, error: 'no handler' },
        { node: 'c@h', members: [] },
        { node: 'd@h', older: false, error: 'timed out' },
      ]),
    ).toBe(
      [
        'a@h  members: b@h, c@h',
        'b@h  older version (no system topics)',
        'c@h  members: -',
        'd@h  no answer: timed out',
      ].join('\n'),
    );
  });

  it('prints each pong, then min, average and max', () => {
    const result = pingResult('b@h', [1, 2, 6]);
    expect(result).toEqual({ node: 'b@h', rttMs: [1, 2, 6], minMs: 1, avgMs: 3, maxMs: 6 });
    expect(formatPing(result)).toBe(
      [
        'pong from b@h in 1.00 ms',
        'pong from b@h in 2.00 ms',
        'pong from b@h in 6.00 ms',
        '3 pongs: min 1.00 / avg 3.00 / max 6.00 ms',
      ].join('\n'),
    );
  });

  it('prints info one fact a line, and the last 10 events', () => {
    const text = formatInfo(info);
    expect(text.split('\n').slice(0, 10)).toEqual([
      'node        b@127.0.0.1',
      'version     0.1.0',
      'uptime      42 s',
      'namespace   -',
      'dist        tcp',
      'state       running',
      'members     a@127.0.0.1, c@127.0.0.1',
      'discovered  a@127.0.0.1, c@127.0.0.1',
      'served      sample.announce (subscriber), sample.greet (handler)',
      'events (last 10):',
    ]);
    expect(text).not.toContain('n1@h');
    expect(text.split('\n').at(-1)).toBe('  2026-01-01T00:00:11.000Z nodeUp n11@h');
  });

  it('prints port mapper names, or says there are none', () => {
    expect(
      formatNames('127.0.0.1', [
        { name: 'a', port: 40001, namespace: 'default' },
        { name: 'bb', port: 40002, namespace: undefined },
      ]),
    ).toBe('a   40001  default\nbb  40002  ?');
    expect(formatNames('127.0.0.1', [])).toBe('no names registered on 127.0.0.1');
  });

  it('prints a watched event with the node that saw it and the reason', () => {
    expect(
      formatWatchedEvent('a@h', {
        seq: 9,
        at: '2026-01-01T00:00:00.000Z',
        type: 'nodeDown',
        node: 'c@h',
        reason: 'connectionClosed',
      }),
    ).toBe('2026-01-01T00:00:00.000Z a@h nodeDown c@h (connectionClosed)');
    expect(
      formatWatchedEvent('a@h', {
        seq: 10,
        at: '2026-01-01T00:00:01.000Z',
        type: 'discoveryError',
        message: 'dns timeout',
      }),
    ).toBe('2026-01-01T00:00:01.000Z a@h discoveryError (dns timeout)');
  });

  it('turns every failure into one line and an exit code, never a stack', () => {
    const timeout = Object.assign(new Error('timed out'), { code: 'ERR_REQUEST_TIMEOUT' });
    expect(describeFailure(answerFailure('b@h', timeout, 300))).toEqual({
      exitCode: 4,
      line: 'gen-cluster: b@h did not answer within 300 ms (ERR_REQUEST_TIMEOUT)',
    });
    const older = Object.assign(new Error('no handler'), { code: 'ERR_NO_HANDLER' });
    expect(describeFailure(answerFailure('b@h', older, 300))).toMatchObject({ exitCode: 5 });
    const down = Object.assign(new Error('down'), { code: 'ERR_NODE_DOWN' });
    expect(describeFailure(answerFailure('b@h', down, 300))).toMatchObject({ exitCode: 3 });
    const other = new Error('boom');
    expect(answerFailure('b@h', other, 300)).toBe(other);
    const line = describeFailure(other).line;
    expect(line).toBe('gen-cluster: unexpected failure: boom (ERR_UNEXPECTED)');
    expect(line).not.toContain('\n');
    expect(describeFailure(new CliError('x', { code: 'ERR_BAD_COOKIE', exitCode: 2 }))).toEqual({
      exitCode: 2,
      line: 'gen-cluster: x (ERR_BAD_COOKIE)',
    });
  });

  it('strips control characters from every peer-supplied string', () => {
    const evil = '\u001b[2J\u001b]0;x\u0007\r\n\u0085\u009b';
    const shown = formatInfo({
      ...info,
      node: `b${evil}@h`,
      version: `1${evil}`,
      dist: `tcp${evil}`,
      state: `running${evil}` as SystemInfo['state'],
      namespace: `ns${evil}`,
      members: [`a${evil}@h`],
      discovered: [`c${evil}@h`],
      served: [{ topic: `t${evil}`, kind: 'handler' }],
      events: [
        { seq: 1, at: `T${evil}`, type: 'nodeDown', node: `d${evil}@h`, reason: `r${evil}` },
        { seq: 2, at: 'T', type: 'discoveryError', message: `m${evil}` },
      ],
    });
    // eslint-disable-next-line no-control-regex -- none may be left (line breaks between facts aside)
    expect(shown).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(shown.split('\n')).toHaveLength(12);
    expect(shown).toContain('b[2J]0;x@h');
    expect(shown).toContain('T[2J]0;x nodeDown d[2J]0;x@h (r[2J]0;x)');
    expect(shown).toContain('t[2J]0;x (handler)');
    const line = formatWatchedEvent(`a${evil}@h`, {
      seq: 1,
      at: 'T',
      type: 'connectFailed',
      node: 'b@h',
      message: `refused${evil}`,
    });
    expect(line).toBe('T a[2J]0;x@h connectFailed b@h (refused[2J]0;x)');
    expect(formatMembers([{ node: `a${evil}@h`, error: `e${evil}` }])).toBe(
      'a[2J]0;x@h  no answer: e[2J]0;x',
    );
  });

  it('reads a malformed info (lists that are not lists, null entries) as empty', () => {
    const malformed = {
      ...info,
      members: 'a@h',
      discovered: null,
      served: { topic: 'x' },
      events: [null, 5, { seq: 1, at: 'T', type: 'nodeUp', node: 'b@h' }],
    } as unknown as SystemInfo;
    const shown = formatInfo(malformed);
    expect(shown).toContain('members     -');
    expect(shown).toContain('discovered  -');
    expect(shown).toContain('served      -');
    expect(shown).toContain('T nodeUp b@h');
    expect(() => formatInfo(null as unknown as SystemInfo)).not.toThrow();
  });
});
