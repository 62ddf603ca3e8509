import fc from 'fast-check';
import { canonicalHost, canonicalIPv6, nodeKey, parseNodeName, toPeer } from './peer.js';
import { InvalidNodeNameError } from './errors.js';

describe('peer names', () => {
  it.each([
    ['a@10.0.0.1', { name: 'a', host: '10.0.0.1' }],
    ['a@10.0.0.1:4370', { name: 'a', host: '10.0.0.1', port: 4370 }],
    ['a@My-Host.Example.', { name: 'a', host: 'my-host.example' }],
    ['a@host:1', { name: 'a', host: 'host', port: 1 }],
    ['a@::1', { name: 'a', host: '::1' }],
    ['a@[::1]', { name: 'a', host: '::1' }],
    ['a@[::1]:4370', { name: 'a', host: '::1', port: 4370 }],
    ['a@2001:DB8:0:0:0:0:2:1', { name: 'a', host: '2001:db8::2:1' }],
    ['a@2001:0db8:0000:0000:0001:0000:0000:0001', { name: 'a', host: '2001:db8::1:0:0:1' }],
    [
      'app_1.x-y@[2001:db8:0:1:1:1:1:1]:65535',
      { name: 'app_1.x-y', host: '2001:db8:0:1:1:1:1:1', port: 65535 },
    ],
  ])('parses %s', (text, expected) => {
    expect(parseNodeName(text)).toEqual(expected);
  });

  it.each([
    ['', 'one "@"'],
    ['noat', 'one "@"'],
    ['@host', 'one "@"'],
    ['a@b@c', 'one "@"'],
    ['a b@host', 'name part'],
    ['a@', 'not an IP address or a DNS name'],
    ['a@host:0', 'out of range'],
    ['a@host:65536', 'out of range'],
    ['a@host:x', 'is not a port'],
    ['a@[10.0.0.1]:1', 'IPv6'],
    ['a@[::1', 'unclosed'],
    ['a@-bad-.host', 'not an IP address or a DNS name'],
  ])('refuses %j, saying what is wrong', (text, why) => {
    expect(() => parseNodeName(text)).toThrow(InvalidNodeNameError);
    expect(() => parseNodeName(text)).toThrow(why);
  });

  it('writes IPv6 per RFC 5952', () => {
    expect(canonicalIPv6('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIPv6('2001:db8::0:1')).toBe('2001:db8::1');
    expect(canonicalIPv6('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(canonicalIPv6('0:0:0:0:0:0:0:0')).toBe('::');
    expect(canonicalIPv6('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalIPv6('::ffff:c000:0280')).toBe('::ffff:192.0.2.128');
    expect(canonicalIPv6('::FFFF:192.0.2.128')).toBe('::ffff:192.0.2.128');
    expect(canonicalIPv6('1:0:0:2:0:0:0:3')).toBe('1:0:0:2::3');
    expect(canonicalIPv6('1:0:0:2:0:0:3:4')).toBe('1::2:0:0:3:4');
  });

  it('agrees with the WHATWG URL serializer on every non-mapped IPv6 address', () => {
    const group = fc.integer({ min: 0, max: 0xffff }).chain(v => fc.constantFrom(v, 0));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), groups => {
        fc.pre(!(groups.slice(0, 5).every(g => g === 0) && groups[5] === 0xffff));
        const text = groups.map(g => g.toString(16).padStart(4, '0')).join(':');
        const viaUrl = new URL(`http://[${text}]/`).hostname.slice(1, -1);
        expect(canonicalIPv6(text)).toBe(viaUrl);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('keys a peer by its canonical name whatever the port or IPv6 spelling', () => {
    expect(nodeKey('a@[0:0:0:0:0:0:0:1]:4000')).toBe('a@::1');
    expect(nodeKey('a@::1')).toBe(nodeKey('a@[::1]:5000'));
    expect(nodeKey('a@HOST')).toBe('a@host');
    expect(canonicalHost('[::1]')).toBe('::1');
  });

  it('gives the same key for a name asked again, and refuses a bad name every time', () => {
    for (let round = 0; round < 2; round++) {
      expect(nodeKey('k@HOST.example.:4000')).toBe('k@host.example');
      expect(nodeKey('k@host.example')).toBe('k@host.example');
      expect(() => nodeKey('no-at-sign')).toThrow(InvalidNodeNameError);
    }
    // More names than the cache keeps: the oldest are parsed again, with the same result.
    for (let i = 0; i < 5_000; i++)
      expect(nodeKey(`n${i}@10.0.0.1:${1 + (i % 9)}`)).toBe(`n${i}@10.0.0.1`);
    expect(nodeKey('n0@10.0.0.1:1')).toBe('n0@10.0.0.1');
  });

  it('moves a port written into the node string to the port field', () => {
    expect(toPeer('b@host:4000')).toEqual({ node: 'b@host', port: 4000 });
    expect(toPeer({ node: 'b@host', port: 4000 })).toEqual({ node: 'b@host', port: 4000 });
    expect(toPeer({ node: 'b@host:4000', port: 4000 })).toEqual({ node: 'b@host', port: 4000 });
    expect(() => toPeer({ node: 'b@host:4000', port: 4001 })).toThrow('port 4000');
    expect(() => toPeer({ node: 'b@host', port: 0 })).toThrow('Invalid port 0');
  });
});
