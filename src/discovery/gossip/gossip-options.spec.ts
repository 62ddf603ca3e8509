import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidConfigError } from '../../core/index.js';
import {
  GOSSIP_DISCOVERY_DEFAULTS,
  gossipKeyOf,
  isIPv4Multicast,
  resolveGossipOptions,
} from './gossip-options.js';
import { GossipDiscovery } from './gossip.discovery.js';

function refusal(options: unknown): InvalidConfigError {
  try {
    resolveGossipOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    return error as InvalidConfigError;
  }
  throw new Error('accepted');
}

describe('gossip options', () => {
  it('fills in the defaults (D2)', () => {
    expect(resolveGossipOptions({ strategy: 'gossip' })).toEqual({
      group: '239.255.43.69',
      port: 45_892,
      interface: undefined,
      interfaceAddress: undefined,
      ttl: 1,
      intervalMs: 2_000,
      missedIntervals: 3,
      maxCandidates: 1_024,
      namespace: 'default',
      key: undefined,
    });
    expect(GOSSIP_DISCOVERY_DEFAULTS.jitter).toBe(0.1);
  });

  it('takes every option', () => {
    const settings = resolveGossipOptions({
      group: '224.1.2.3',
      port: 5000,
      interface: '127.0.0.1',
      ttl: 0,
      intervalMs: 300,
      missedIntervals: 5,
      maxCandidates: 10,
      namespace: 'blue',
      secret: 's3cret',
    });
    expect(settings).toMatchObject({
      group: '224.1.2.3',
      port: 5000,
      interface: '127.0.0.1',
      interfaceAddress: '127.0.0.1',
      ttl: 0,
      intervalMs: 300,
      missedIntervals: 5,
      maxCandidates: 10,
      namespace: 'blue',
    });
    expect(settings.key).toEqual(gossipKeyOf('s3cret'));
  });

  it('resolves an interface name to its IPv4 address', () => {
    expect(resolveGossipOptions({ interface: 'lo' }).interfaceAddress).toBe('127.0.0.1');
  });

  it.each([
    ['group', '10.0.0.1', 'IPv4 multicast'],
    ['group', '240.0.0.1', 'IPv4 multicast'],
    ['group', 'ff02::1', 'IPv4 multicast'],
    ['port', 0, 'a port from 1 to 65535'],
    ['port', 70_000, 'a port from 1 to 65535'],
    ['ttl', 256, 'an integer from 0 to 255'],
    ['ttl', 1.5, 'an integer from 0 to 255'],
    ['intervalMs', 5, 'milliseconds from 10'],
    ['intervalMs', 2 ** 31, 'milliseconds from 10'],
    ['missedIntervals', 0, 'an integer from 1 to 1000'],
    ['maxCandidates', 0, 'an integer from 1 to 1000000'],
    ['namespace', 'a b', '1 to 64 characters'],
    ['interface', '', 'an IPv4 address of this host or an interface name'],
    ['interface', 'no-such-if0', 'Interfaces: '],
    ['secretFile', 7, 'the path of a file'],
    ['strategy', 'dns', '"gossip"'],
    ['colour', 'red', 'no such option'],
  ])('refuses %s %j, naming it and what is accepted', (key, value, accepted) => {
    const error = refusal({ [key]: value });
    expect(error.message).toContain(`discovery (gossip).${key}`);
    expect(error.message).toContain(accepted);
  });

  it('refuses options that are not an object', () => {
    expect(refusal('gossip').message).toContain('{ strategy: "gossip" }');
  });

  it('refuses a secret and a secret file together, and an empty secret without quoting it', () => {
    expect(refusal({ secret: 'x', secretFile: '/f' }).message).toMatch(/"secret" and "secretFile"/);
    expect(refusal({ secret: '' }).message).toContain('an empty string');
    const number = refusal({ secret: 12345 });
    expect(number.message).toContain('a number');
    expect(number.message).not.toContain('12345');
  });

  describe('secretFile', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'gossip-secret-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('derives the key from the trimmed content', () => {
      const file = join(dir, 'secret');
      writeFileSync(file, 'from-file\n');
      expect(resolveGossipOptions({ secretFile: file }).key).toEqual(gossipKeyOf('from-file'));
    });

    it('refuses a missing or empty file, naming it', () => {
      const missing = join(dir, 'missing');
      expect(refusal({ secretFile: missing }).message).toContain(missing);
      const empty = join(dir, 'empty');
      writeFileSync(empty, ' \n');
      expect(refusal({ secretFile: empty }).message).toMatch(/is empty/);
    });
  });

  it('derives the key as the TCP dist does (HKDF-SHA256, label "gen-cluster gossip v1")', () => {
    expect(gossipKeyOf('cookie')).toHaveLength(32);
    expect(gossipKeyOf('cookie')).not.toEqual(gossipKeyOf('other'));
  });

  it('knows multicast addresses', () => {
    expect(isIPv4Multicast('224.0.0.0')).toBe(true);
    expect(isIPv4Multicast('239.255.255.255')).toBe(true);
    expect(isIPv4Multicast('223.255.255.255')).toBe(false);
    expect(isIPv4Multicast(5)).toBe(false);
  });

  it('are checked by the constructor', () => {
    expect(() => new GossipDiscovery({ ttl: -1 })).toThrow(InvalidConfigError);
    expect(new GossipDiscovery().settings.port).toBe(45_892);
  });
});
