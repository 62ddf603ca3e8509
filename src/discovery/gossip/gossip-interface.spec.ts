import { networkInterfaces } from 'node:os';
import { InvalidConfigError } from '../../core/index.js';
import { multicastInterfaceAddress } from './gossip-interface.js';

describe('multicastInterfaceAddress', () => {
  const interfaces = networkInterfaces();

  it('returns an IPv4 address of this host as given', () => {
    expect(multicastInterfaceAddress('127.0.0.1')).toBe('127.0.0.1');
  });

  it("refuses an IPv4 address that is not this host's, listing the interfaces", () => {
    expect(() => multicastInterfaceAddress('192.0.2.1')).toThrow(InvalidConfigError);
    expect(() => multicastInterfaceAddress('192.0.2.1')).toThrow(
      /"192\.0\.2\.1" is neither an IPv4 address of this host.*Interfaces: .*lo \(127\.0\.0\.1/,
    );
  });

  it("returns an interface's IPv4 address for its name", () => {
    const lo = interfaces.lo?.find(a => a.family === 'IPv4');
    expect(lo).toBeDefined();
    expect(multicastInterfaceAddress('lo')).toBe(lo!.address);
  });

  it('refuses an unknown name, listing the interfaces', () => {
    let error: unknown;
    try {
      multicastInterfaceAddress('no-such-if0');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    const message = (error as Error).message;
    expect(message).toContain('discovery (gossip).interface');
    expect(message).toContain('"no-such-if0"');
    expect(message).toMatch(/lo \(127\.0\.0\.1/);
  });

  it('refuses an IPv6 address (gossip is IPv4 only)', () => {
    expect(() => multicastInterfaceAddress('::1')).toThrow(InvalidConfigError);
  });

  it('picks the first non-internal IPv4 address when unset', () => {
    const expected = Object.values(interfaces)
      .flatMap(list => list ?? [])
      .find(a => a.family === 'IPv4' && !a.internal)?.address;
    expect(multicastInterfaceAddress()).toBe(expected);
  });
});
