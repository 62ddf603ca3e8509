import fc from 'fast-check';
import { InvalidConfigError, NAMESPACE_PATTERN } from '../../core/index.js';
import { namespaceToken, natsSubjects, newIncarnation } from './subjects.js';

const PROPERTY = { seed: 18_001, numRuns: 300 } as const;
const INC = '0123456789abcdef';

describe('natsSubjects', () => {
  it('names the subjects of a readable namespace under the prefix', () => {
    const s = natsSubjects('gc', 'prod-eu');
    expect(s.presence).toBe('gc.prod-eu.p');
    expect(s.discoveryPresence).toBe('gc.prod-eu.dp');
    expect(s.inbox(INC)).toBe(`gc.prod-eu.n.${INC}`);
    expect(s.discoveryInbox(INC)).toBe(`gc.prod-eu.dn.${INC}`);
    expect(natsSubjects('acme.gc', 'default').presence).toBe('acme.gc.default.p');
  });

  it('hashes a namespace that is not one token, and one that looks like a hash', () => {
    expect(namespaceToken('acme.prod')).toMatch(/^_[0-9a-f]{32}$/);
    expect(namespaceToken('_x')).toMatch(/^_[0-9a-f]{32}$/);
    expect(natsSubjects('gc', 'acme.prod').presence).toBe(`gc.${namespaceToken('acme.prod')}.p`);
  });

  it('gives every namespace one token, and distinct namespaces distinct tokens', () => {
    const namespace = fc.stringMatching(NAMESPACE_PATTERN);
    fc.assert(
      fc.property(namespace, namespace, (a, b) => {
        const token = namespaceToken(a);
        expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
        if (a !== b) expect(namespaceToken(b)).not.toBe(token);
      }),
      PROPERTY,
    );
  });

  it.each(['', 'gc.', '.gc', 'a..b', 'g c', 'gc.*', 'gc.>', 'x'.repeat(65), 42])(
    'refuses the prefix %p, naming subjectPrefix',
    prefix => {
      expect(() => natsSubjects(prefix as string, 'default')).toThrow(InvalidConfigError);
      expect(() => natsSubjects(prefix as string, 'default')).toThrow(/subjectPrefix/);
    },
  );

  it('refuses an inbox of anything but an incarnation (no wildcard can slip in)', () => {
    const s = natsSubjects('gc', 'default');
    for (const bad of ['*', '>', 'ABCDEF0123456789', '0123456789abcde', `${INC}.x`])
      expect(() => s.inbox(bad)).toThrow(InvalidConfigError);
    expect(() => s.discoveryInbox('>')).toThrow(InvalidConfigError);
  });
});

describe('newIncarnation', () => {
  it('gives 16 lowercase hex characters, new each time', () => {
    const seen = new Set(Array.from({ length: 100 }, () => newIncarnation()));
    expect(seen.size).toBe(100);
    for (const inc of seen) expect(inc).toMatch(/^[0-9a-f]{16}$/);
  });
});
