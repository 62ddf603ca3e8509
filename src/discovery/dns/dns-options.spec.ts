import { InvalidConfigError, MAX_TIMER_MS } from '../../core/index.js';
import { type DnsDiscoveryOptions, resolveDnsDiscoveryOptions } from './dns-options.js';
import { DnsDiscovery } from './dns.discovery.js';

const build = (options: Record<string, unknown>) =>
  new DnsDiscovery(options as unknown as DnsDiscoveryOptions);

/** The InvalidConfigError that building with `options` throws. */
function configError(options: Record<string, unknown>): InvalidConfigError {
  try {
    build(options);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).code).toBe('ERR_INVALID_CONFIG');
    return error as InvalidConfigError;
  }
  throw new Error(`expected ${JSON.stringify(options)} to be refused`);
}

describe('DnsDiscovery options', () => {
  it('fills in the defaults: A records, IPv4, the address as host, 5000 ms, 2 attempts, system resolvers', () => {
    expect(build({ strategy: 'dns', domain: 'My-Svc.My-NS' }).settings).toEqual({
      domain: 'my-svc.my-ns',
      recordType: 'a',
      ipv6: false,
      hostType: 'ip',
      nodeName: undefined,
      lookupTimeoutMs: 5000,
      attempts: 2,
      servers: undefined,
      search: undefined,
      ndots: undefined,
    });
  });

  it('defaults hostType to "hostname" for SRV, and keeps an explicit one', () => {
    expect(build({ domain: '_dist._tcp.svc.ns', recordType: 'srv' }).settings.hostType).toBe(
      'hostname',
    );
    expect(
      build({ domain: '_dist._tcp.svc.ns', recordType: 'srv', hostType: 'ip' }).settings.hostType,
    ).toBe('ip');
  });

  it('keeps a trailing dot (an absolute name), and accepts every documented option', () => {
    const d = build({
      strategy: 'dns',
      domain: 'svc.ns.svc.cluster.local.',
      recordType: 'a',
      ipv6: 'auto',
      hostType: 'hostname',
      nodeName: 'app_1.x-y',
      lookupTimeoutMs: 250,
      attempts: 3,
      servers: [{ host: '10.96.0.10' }, { host: '::1', port: 5353 }],
      search: ['Svc.Cluster.Local.'],
      ndots: 5,
    });
    expect(d.settings).toEqual({
      domain: 'svc.ns.svc.cluster.local.',
      recordType: 'a',
      ipv6: 'auto',
      hostType: 'hostname',
      nodeName: 'app_1.x-y',
      lookupTimeoutMs: 250,
      attempts: 3,
      servers: [
        { host: '10.96.0.10', port: 53 },
        { host: '::1', port: 5353 },
      ],
      search: ['svc.cluster.local'],
      ndots: 5,
    });
  });

  it.each([
    [{ domain: undefined }, 'domain', 'a DNS name'],
    [{ domain: '' }, 'domain', 'a DNS name'],
    [{ domain: 'has space.ns' }, 'domain', 'a DNS name'],
    [{ domain: '10.0.0.1' }, 'domain', 'a DNS name'],
    [{ domain: '[::1]' }, 'domain', 'a DNS name'],
    [{ domain: 'svc.ns', strategy: 'static' }, 'strategy', '"dns"'],
    [{ domain: 'svc.ns', recordType: 'SRV' }, 'recordType', '"a" (A/AAAA records) or "srv"'],
    [{ domain: 'svc.ns', recordType: 'aaaa' }, 'recordType', '"srv"'],
    [{ domain: 'svc.ns', ipv6: 'yes' }, 'ipv6', 'false (A records), true (AAAA records) or "auto"'],
    [{ domain: 'svc.ns', hostType: 'name' }, 'hostType', '"ip" or "hostname"'],
    [{ domain: 'svc.ns', nodeName: 'a@b' }, 'nodeName', 'without "@"'],
    [{ domain: 'svc.ns', nodeName: 'a b' }, 'nodeName', 'letters, digits'],
    [{ domain: 'svc.ns', nodeName: 7 }, 'nodeName', 'the name part'],
    [{ domain: 'svc.ns', lookupTimeoutMs: 0 }, 'lookupTimeoutMs', 'an integer of milliseconds'],
    [{ domain: 'svc.ns', lookupTimeoutMs: 1.5 }, 'lookupTimeoutMs', 'an integer of milliseconds'],
    [
      { domain: 'svc.ns', lookupTimeoutMs: '5000' },
      'lookupTimeoutMs',
      'an integer of milliseconds',
    ],
    [
      { domain: 'svc.ns', lookupTimeoutMs: MAX_TIMER_MS + 1 },
      'lookupTimeoutMs',
      `from 1 to ${MAX_TIMER_MS}`,
    ],
    [{ domain: 'svc.ns', attempts: 0 }, 'attempts', 'an integer from 1 to 100'],
    [{ domain: 'svc.ns', servers: [] }, 'servers', 'a non-empty array'],
    [{ domain: 'svc.ns', servers: '10.0.0.1' }, 'servers', 'a non-empty array'],
    [
      { domain: 'svc.ns', servers: [{ host: 'dns.local' }] },
      'servers[0]',
      '{ host, port? } with an IPv4 or IPv6',
    ],
    [{ domain: 'svc.ns', servers: [{ host: '[::1]' }] }, 'servers[0]', 'no brackets'],
    [
      { domain: 'svc.ns', servers: [{ host: '10.0.0.1' }, { host: '10.0.0.2', port: 70000 }] },
      'servers[1]',
      'a port from 1 to 65535',
    ],
    [{ domain: 'svc.ns', search: 'cluster.local' }, 'search', '[] for no search'],
    [{ domain: 'svc.ns', search: ['ok.local', '1.2.3.4'] }, 'search[1]', 'DNS names'],
    [{ domain: 'svc.ns', ndots: 16 }, 'ndots', 'an integer from 0 to 15'],
  ])(
    'refuses %j at construction, naming "%s", the value and the accepted forms',
    (options, option, accepted) => {
      const error = configError(options);
      expect(error.message).toContain(`discovery (dns).${option}: received `);
      expect(error.message).toContain(accepted);
      const value = (options as Record<string, unknown>)[option.replace(/\[\d+\]$/, '')];
      if (typeof value === 'string') expect(error.message).toContain(JSON.stringify(value));
    },
  );

  it('refuses an unknown option (a typo), listing the known ones', () => {
    const error = configError({ domain: 'svc.ns', recordtype: 'srv' });
    expect(error.message).toContain('discovery (dns).recordtype: received "srv"');
    expect(error.message).toContain('known: strategy, domain, recordType,');
  });

  it('takes the longest duration a Node timer can wait, and no longer', () => {
    expect(
      build({ domain: 'svc.ns', lookupTimeoutMs: MAX_TIMER_MS }).settings.lookupTimeoutMs,
    ).toBe(MAX_TIMER_MS);
    expect(() =>
      resolveDnsDiscoveryOptions({ domain: 'svc.ns', lookupTimeoutMs: MAX_TIMER_MS + 1 }),
    ).toThrow(InvalidConfigError);
  });

  it('refuses options that are not an object', () => {
    expect(configError(null as unknown as Record<string, unknown>).message).toContain(
      'an object such as',
    );
  });
});
