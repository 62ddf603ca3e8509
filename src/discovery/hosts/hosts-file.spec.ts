import fc from 'fast-check';
import { DiscoveryError } from '../../core/index.js';
import { HOSTS_FILE_LIMITS, parseHostsFile } from './hosts-file.js';
import { HostsMessages } from './hosts.messages.js';

/** A fixed seed, so CI runs the same cases; fast-check prints it with any counterexample. */
const PROPERTY = { seed: 1717, numRuns: 300 } as const;

describe('parseHostsFile', () => {
  it('reads nodes and hosts, skipping comments and blank lines', () => {
    const text = [
      '# the cluster',
      'app@10.0.0.1',
      '',
      'app@10.0.0.2:4370   # with its port',
      '   app@[::1]:4371',
      'worker@Box-1.Example.',
      '% an Erlang comment',
      'box-2.example',
      '10.0.0.7 % the third box',
      '[::1]',
      '\t',
    ].join('\n');
    expect(parseHostsFile(text)).toEqual({
      nodes: [
        { node: 'app@10.0.0.1' },
        { node: 'app@10.0.0.2', port: 4370 },
        { node: 'app@::1', port: 4371 },
        { node: 'worker@box-1.example' },
      ],
      hosts: ['box-2.example', '10.0.0.7', '::1'],
      errors: [],
    });
  });

  it("accepts Erlang's .hosts.erlang terms, several on a line", () => {
    const text = "'host1.example'.\n'host2'. 'host3' .  % two more\n'::1'.\n";
    expect(parseHostsFile(text)).toEqual({
      nodes: [],
      hosts: ['host1.example', 'host2', 'host3', '::1'],
      errors: [],
    });
  });

  it('tolerates CRLF line ends and a UTF-8 byte order mark', () => {
    const text = '\uFEFFapp@10.0.0.1\r\n# c\r\nbox\r\n\r\n';
    expect(parseHostsFile(text)).toEqual({
      nodes: [{ node: 'app@10.0.0.1' }],
      hosts: ['box'],
      errors: [],
    });
  });

  it('collapses duplicates, written alike or not', () => {
    const text = 'a@H\na@h\nbox\nBOX.\n[::1]\n::1\n0:0:0:0:0:0:0:1\na@h:4370\n';
    const parsed = parseHostsFile(text);
    expect(parsed.nodes).toEqual([{ node: 'a@h' }]);
    expect(parsed.hosts).toEqual(['box', '::1']);
    // the same node with another port is a bad line, and the first one stands
    expect(parsed.errors).toEqual([
      { line: 8, text: 'a@h:4370', reason: HostsMessages.conflictingNode('a@h', 1) },
    ]);
  });

  it('keeps the zone of a bracketed IPv6 address: "%" there is no comment', () => {
    expect(parseHostsFile('a@[fe80::1%eth0]:4370\n[fe80::2%eth1]\n')).toEqual({
      nodes: [{ node: 'a@fe80::1%eth0', port: 4370 }],
      hosts: ['fe80::2%eth1'],
      errors: [],
    });
  });

  it('reports each bad line with its number, its text and why, and keeps the good lines', () => {
    const text = [
      'a@10.0.0.1',
      'not a node', // 2
      '# comment',
      'bad!host', // 4
      'b@10.0.0.2:99999', // 5
      'box:4370', // 6
      "'unterminated'", // 7
      'c@10.0.0.3',
      '@nameless', // 9
      "'bad host!'.", // 10
      '[::1]:4370', // 11
    ].join('\n');
    const parsed = parseHostsFile(text);
    expect(parsed.nodes).toEqual([{ node: 'a@10.0.0.1' }, { node: 'c@10.0.0.3' }]);
    expect(parsed.hosts).toEqual([]);
    expect(parsed.errors.map(e => [e.line, e.text])).toEqual([
      [2, 'not a node'],
      [4, 'bad!host'],
      [5, 'b@10.0.0.2:99999'],
      [6, 'box:4370'],
      [7, "'unterminated'"],
      [9, '@nameless'],
      [10, "'bad host!'."],
      [11, '[::1]:4370'],
    ]);
    const reasons = parsed.errors.map(e => e.reason);
    expect(reasons[0]).toBe(HostsMessages.severalEntries());
    expect(reasons[1]).toBe(HostsMessages.notAHost());
    expect(reasons[2]).toMatch(/port 99999 is out of range/);
    expect(reasons[3]).toBe(HostsMessages.hostWithPort());
    expect(reasons[4]).toBe(HostsMessages.badErlangTerm());
    expect(reasons[5]).toMatch(/name before it/);
    expect(reasons[6]).toBe(HostsMessages.notAHost());
    expect(reasons[7]).toBe(HostsMessages.hostWithPort());
  });

  it('answers a real nothing for an empty file or one of comments only', () => {
    const none = { nodes: [], hosts: [], errors: [] };
    expect(parseHostsFile('')).toEqual(none);
    expect(parseHostsFile('\uFEFF# nobody yet\r\n\r\n% still nobody\n')).toEqual(none);
  });

  it('refuses a text over 1 MiB, naming the source', () => {
    const line = 'a@10.0.0.1 # ' + 'x'.repeat(1000) + '\n';
    const text = line.repeat(Math.ceil(HOSTS_FILE_LIMITS.maxBytes / line.length) + 1);
    expect(() => parseHostsFile(text, '/etc/big.hosts')).toThrow(DiscoveryError);
    expect(() => parseHostsFile(text, '/etc/big.hosts')).toThrow(
      HostsMessages.tooLarge('/etc/big.hosts', HOSTS_FILE_LIMITS.maxBytes),
    );
    // exactly at the bound is fine
    const atBound = '#'.repeat(HOSTS_FILE_LIMITS.maxBytes);
    expect(parseHostsFile(atBound).errors).toEqual([]);
  });

  it('takes 10,000 entry lines and refuses one more (bad lines count, comments do not)', () => {
    const max = HOSTS_FILE_LIMITS.maxEntries;
    expect(max).toBe(10_000);
    const entries = Array.from({ length: max }, (_, i) => `n${i}@10.0.${i >> 8}.${i & 255}`);
    const full = ['# header', ...entries, '', '# footer'].join('\n');
    expect(parseHostsFile(full).nodes).toHaveLength(max);
    expect(() => parseHostsFile(`${full}\nnot-a-host!`, 'f')).toThrow(
      HostsMessages.tooManyEntries('f', max),
    );
    expect(() => parseHostsFile(`${full}\nextra@10.9.9.9`)).toThrow(DiscoveryError);
  });

  describe('properties', () => {
    const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
    const goodNode = fc
      .tuple(label, label, fc.option(fc.integer({ min: 1, max: 65_535 }), { nil: undefined }))
      .map(([n, h, port]) => `${n}@${h}.example${port === undefined ? '' : `:${port}`}`);
    const goodHost = fc.oneof(
      label.map(h => `${h}.lan`),
      label.map(h => `'${h}.erl'.`),
      fc.ipV4(),
      fc.ipV6().map(a => `[${a}]`),
    );
    const filler = fc.constantFrom('', '   ', '# comment', '% erlang comment', '\t# indented');
    const badLine = fc.oneof(
      label.map(s => `${s}!`),
      label.map(s => `${s}@`),
      label.map(s => `@${s}`),
      label.map(s => `${s}@${s}@${s}`),
      label.map(s => `${s}.lan:4370`),
      label.map(s => `a@${s} b@${s}`),
      label.map(s => `'${s}'`),
      label.map(s => `a@${s}:0`),
      label.map(s => `a@[${s}]`),
    );
    type Line = { kind: 'good' | 'filler' | 'bad'; text: string };
    const line: fc.Arbitrary<Line> = fc.oneof(
      fc.oneof(goodNode, goodHost).map(text => ({ kind: 'good' as const, text })),
      filler.map(text => ({ kind: 'filler' as const, text })),
      badLine.map(text => ({ kind: 'bad' as const, text })),
    );
    const eol = fc.constantFrom('\n', '\r\n');

    it('keeps every good line whatever bad lines are interleaved, and numbers the bad ones', () => {
      fc.assert(
        fc.property(fc.array(line, { maxLength: 40 }), eol, (lines, end) => {
          const parsed = parseHostsFile(lines.map(l => l.text).join(end));
          const goodOnly = parseHostsFile(
            lines
              .filter(l => l.kind === 'good')
              .map(l => l.text)
              .join('\n'),
          );
          expect(parsed.nodes).toEqual(goodOnly.nodes);
          expect(parsed.hosts).toEqual(goodOnly.hosts);
          // a good node may repeat with another port: that is a bad line of its own
          const conflicts = goodOnly.errors.length;
          const badNumbers = lines.flatMap((l, i) => (l.kind === 'bad' ? [i + 1] : []));
          expect(parsed.errors.length).toBe(badNumbers.length + conflicts);
          expect(parsed.errors.map(e => e.line)).toEqual(expect.arrayContaining(badNumbers));
          for (const error of parsed.errors) {
            expect(lines[error.line - 1]!.text.trim()).toBe(error.text);
          }
        }),
        PROPERTY,
      );
    });

    it('never throws on any text within its bounds', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 400 }), text => {
          const parsed = parseHostsFile(text);
          for (const error of parsed.errors) {
            expect(error.line).toBeGreaterThanOrEqual(1);
            expect(typeof error.reason).toBe('string');
          }
        }),
        PROPERTY,
      );
    });
  });
});
