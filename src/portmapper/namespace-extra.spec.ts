import fc from 'fast-check';
import { encodeNamespaceExtra, namespaceOfExtra } from './namespace-extra.js';

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));

describe('the namespace in EPMD Extra', () => {
  it('writes gen-cluster:ns=<namespace> in ASCII', () => {
    expect(Buffer.from(encodeNamespaceExtra('payments')).toString('latin1')).toBe(
      'gen-cluster:ns=payments',
    );
  });

  it('reads back every namespace it writes', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), namespace => {
        expect(namespaceOfExtra(encodeNamespaceExtra(namespace))).toBe(namespace);
      }),
      { seed: 1, numRuns: 500 },
    );
  });

  it.each([
    ['an empty Extra (Erlang nodes, versions before namespaces)', new Uint8Array(0)],
    ['an Extra of another program', bytes('something else')],
    ['the prefix alone', bytes('gen-cluster:')],
    ['items without ns', bytes('gen-cluster:zone=eu;weight=3')],
    ['a prefix cut short', bytes('gen-cluster')],
    ['bytes with NULs', Uint8Array.from([0, 1, 2, 0])],
  ])('takes %s as "default"', (_what, extra) => {
    expect(namespaceOfExtra(extra)).toBe('default');
  });

  it('skips items it does not know, so a newer version may add some', () => {
    expect(namespaceOfExtra(bytes('gen-cluster:zone=eu;ns=prod;weight=3'))).toBe('prod');
    expect(namespaceOfExtra(bytes('gen-cluster:ns=prod;future'))).toBe('prod');
  });

  it.each([
    ['an empty namespace', 'gen-cluster:ns='],
    ['a namespace with a space', 'gen-cluster:ns=a b'],
    ['a namespace of 65 characters', `gen-cluster:ns=${'n'.repeat(65)}`],
    ['two namespaces', 'gen-cluster:ns=a;ns=b'],
  ])('reads no namespace from an Extra of ours with %s', (_what, text) => {
    expect(namespaceOfExtra(bytes(text))).toBeUndefined();
  });

  it('reads any Extra without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1020 }), extra => {
        const namespace = namespaceOfExtra(extra);
        expect(namespace === undefined || typeof namespace === 'string').toBe(true);
      }),
      { seed: 1, numRuns: 1_000 },
    );
  });

  it('reads an Extra that is a view into a larger buffer', () => {
    const whole = Buffer.from('xxxgen-cluster:ns=inner', 'latin1');
    expect(namespaceOfExtra(whole.subarray(3))).toBe('inner');
  });
});
