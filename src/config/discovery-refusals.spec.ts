import { InvalidConfigError } from '../core/index.js';
import { createDiscovery } from './built-in-strategies.js';
import type { DiscoveryShortForm } from './cluster-options.js';
import { parseDiscoveryEnv, readEnvConfig } from './env.config.js';
import { type LayeredOptions, resolveClusterOptions } from './merge-options.js';

const PASSWORD = 's3cretPW';

/** The refusal `run` throws: an InvalidConfigError, whose message is returned. */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('discovery refusals never echo a password', () => {
  it.each([
    ['a bad port in a URL with credentials', `etcd:http://root:${PASSWORD}@h:99999/p`],
    ['an empty aggregate part', `etcd:http://root:${PASSWORD}@h:2379/p||gossip`],
    ['a query in another URL', `etcd:http://h0:2379/p?x,http://root:${PASSWORD}@h1:2379/p`],
    ['mixed prefixes', `etcd:http://h0:2379/a,http://root:${PASSWORD}@h1:2379/b`],
    ['credentials in the URL', `etcd:http://root:${PASSWORD}@h:2379/p`],
    ['a bad part of an aggregate', `gossip|etcd:http://root:${PASSWORD}@h:99999/p`],
    ['a stray part after "|"', `etcd:http://root:${PASSWORD}@h:2379/a|b`],
    ['a password holding "@"', `etcd:http://root:${PASSWORD}@x@h:99999/p`],
  ])('in the environment: %s', (_, value) => {
    const message = refusal(() => readEnvConfig({ GEN_CLUSTER_DISCOVERY: value }));
    expect(message).toContain('GEN_CLUSTER_DISCOVERY');
    expect(message).toContain('//***@');
    expect(message).not.toContain(PASSWORD);
    expect(message).not.toContain('root');
  });

  it.each([
    `etcd:http://root:${PASSWORD}@h:99999/p`,
    `etcd:http://root:${PASSWORD}@h:2379/p||gossip`,
    `etcd:http://root:${PASSWORD}@h:2379/a|b`,
    `etcd|http://root:${PASSWORD}@h:2379/p`,
  ])('in code (the discovery option): %p', value => {
    // resolveClusterOptions leaves a string that is no short form as it is (in Nest it may be a
    // provider token); building the strategy refuses it
    const message = refusal(() => createDiscovery(value as DiscoveryShortForm));
    expect(message).toContain('//***@');
    expect(message).not.toContain(PASSWORD);
  });

  it('in code, a string that is no short form at all', () => {
    const message = refusal(() => createDiscovery(`http://root:${PASSWORD}@h:2379` as never));
    expect(message).toContain('not a discovery short form');
    expect(message).not.toContain(PASSWORD);
  });

  it.each([
    `{"strategy":"etcd","password":"${PASSWORD}",`,
    `{"strategy":"etcd","password":"${PASSWORD}" "username":"root"}`,
    `{"strategy":"etcd","password":"${PASSWORD}x}`,
    `{"strategy":"etcd","endpoints":["http://root:${PASSWORD}@h:2379"]`,
    ` {"password":'${PASSWORD}'}`,
  ])('malformed JSON: %p is not quoted, a position is given when known', value => {
    const message = refusal(() => parseDiscoveryEnv(value));
    expect(message).toContain('GEN_CLUSTER_DISCOVERY: not valid JSON');
    expect(message).not.toContain(PASSWORD);
    expect(message).not.toContain('root');
  });

  it('malformed JSON: the position is where the parse stopped', () => {
    const value = `{"strategy":"etcd","password":"${PASSWORD}",`;
    expect(refusal(() => parseDiscoveryEnv(value))).toContain(`(at position ${value.length})`);
  });

  it('valid JSON without a strategy string: secret fields and URL credentials hidden', () => {
    const value = JSON.stringify({
      strategy: 5,
      password: PASSWORD,
      tls: { secret: PASSWORD },
      endpoints: [`http://root:${PASSWORD}@h:2379`],
    });
    const message = refusal(() => readEnvConfig({ GEN_CLUSTER_DISCOVERY: value }));
    expect(message).toContain('the JSON needs a "strategy" string');
    expect(message).toContain('(hidden)');
    expect(message).not.toContain(PASSWORD);
  });

  it('valid JSON etcd options with a password that fail another check', () => {
    const value = JSON.stringify({
      strategy: 'etcd',
      endpoints: ['http://127.0.0.1:2379'],
      username: 'root',
      password: PASSWORD,
      leaseTtlSeconds: -1,
    });
    const message = refusal(() => {
      const { options } = resolveClusterOptions<LayeredOptions>(
        {},
        { GEN_CLUSTER_DISCOVERY: value },
      );
      return createDiscovery(options.discovery as never);
    });
    expect(message).toContain('leaseTtlSeconds');
    expect(message).not.toContain(PASSWORD);
  });
});

describe('a "|" inside a value of a short form', () => {
  it.each(['hosts:/a|b/c', 'etcd:http://h:2379/a|b'])(
    '%p: says that "|" split it, quoting the whole value',
    value => {
      for (const run of [
        () => readEnvConfig({ GEN_CLUSTER_DISCOVERY: value }),
        () => createDiscovery(value as DiscoveryShortForm),
      ]) {
        const message = refusal(run);
        expect(message).toContain(
          '`|` separates aggregate parts; use the JSON form for a value containing `|`',
        );
        expect(message).toContain(JSON.stringify(value));
      }
    },
  );

  it('refuses a bad short form among the parts the same in code and in the environment', () => {
    const value = 'hosts:/x|gossip:1.2.3.4:1';
    const fromEnv = refusal(() => readEnvConfig({ GEN_CLUSTER_DISCOVERY: value }));
    const fromCode = refusal(() => createDiscovery(value as DiscoveryShortForm));
    expect(fromEnv).toContain('GEN_CLUSTER_DISCOVERY="gossip:1.2.3.4:1"');
    expect(fromCode).toBe(fromEnv.replace('GEN_CLUSTER_DISCOVERY', 'discovery'));
  });

  it('trims a single short form as isDiscoveryShortForm does', () => {
    expect(parseDiscoveryEnv(' gossip ')).toEqual({ strategy: 'gossip' });
    expect(parseDiscoveryEnv('\thosts:/etc/gc.hosts ')).toEqual({
      strategy: 'hosts',
      file: '/etc/gc.hosts',
    });
    expect(createDiscovery(' gossip' as DiscoveryShortForm)).toBeDefined();
  });
});
