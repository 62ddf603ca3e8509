import { InvalidConfigError } from '../core/index.js';
import { envToOptions, readEnvConfig } from './env.config.js';

describe('the GEN_CLUSTER_* environment', () => {
  it('reads the namespace, log level and log format', () => {
    const env = readEnvConfig({
      GEN_CLUSTER_NAMESPACE: 'orders',
      GEN_CLUSTER_LOG_LEVEL: 'debug',
      GEN_CLUSTER_LOG_FORMAT: 'json',
    });
    expect(envToOptions(env)).toEqual({
      namespace: 'orders',
      logLevel: 'debug',
      logFormat: 'json',
    });
  });

  it.each(['keep', 'disconnect'] as const)(
    'reads GEN_CLUSTER_REMOVAL_POLICY=%s as the removalPolicy option',
    policy => {
      const env = readEnvConfig({ GEN_CLUSTER_REMOVAL_POLICY: ` ${policy} ` });
      expect(env.removalPolicy).toBe(policy);
      expect(envToOptions(env)).toEqual({ removalPolicy: policy });
    },
  );

  it('leaves removalPolicy unset when GEN_CLUSTER_REMOVAL_POLICY is unset or blank', () => {
    expect(envToOptions(readEnvConfig({}))).toEqual({});
    expect(envToOptions(readEnvConfig({ GEN_CLUSTER_REMOVAL_POLICY: '  ' }))).toEqual({});
  });

  it("reads GEN_CLUSTER_PORTMAPPER_BIND as the TCP dist's portMapperBind", () => {
    const env = readEnvConfig({ GEN_CLUSTER_PORTMAPPER_BIND: '0.0.0.0' });
    expect(env.portMapperBind).toBe('0.0.0.0');
    expect(envToOptions(env)).toEqual({ dist: { strategy: 'tcp', portMapperBind: '0.0.0.0' } });
  });

  it('reads GEN_CLUSTER_MIN_MEMBERS as minMembers, which is no cluster option', () => {
    expect(readEnvConfig({ GEN_CLUSTER_MIN_MEMBERS: ' 2 ' }).minMembers).toBe(2);
    expect(readEnvConfig({ GEN_CLUSTER_MIN_MEMBERS: '0' }).minMembers).toBe(0);
    expect(readEnvConfig({}).minMembers).toBeUndefined();
    expect(envToOptions(readEnvConfig({ GEN_CLUSTER_MIN_MEMBERS: '2' }))).toEqual({});
  });

  it('reads GEN_CLUSTER_EXPECTED_SIZE and GEN_CLUSTER_QUORUM_STABLE_MS as the quorum option', () => {
    const env = readEnvConfig({
      GEN_CLUSTER_EXPECTED_SIZE: ' 5 ',
      GEN_CLUSTER_QUORUM_STABLE_MS: '1500',
    });
    expect(env).toEqual({ expectedSize: 5, quorumStableMs: 1_500 });
    expect(envToOptions(env)).toEqual({ quorum: { expectedSize: 5, stableMs: 1_500 } });
    expect(envToOptions(readEnvConfig({ GEN_CLUSTER_EXPECTED_SIZE: '1' }))).toEqual({
      quorum: { expectedSize: 1 },
    });
    expect(readEnvConfig({ GEN_CLUSTER_QUORUM_STABLE_MS: '0' }).quorumStableMs).toBe(0);
    expect(envToOptions(readEnvConfig({}))).toEqual({});
    expect(envToOptions(readEnvConfig({ GEN_CLUSTER_EXPECTED_SIZE: ' ' }))).toEqual({});
  });

  it('reads GEN_CLUSTER_EXPECTED_SIZE=discovered-unsafe as the unsafe discovered form', () => {
    const env = readEnvConfig({ GEN_CLUSTER_EXPECTED_SIZE: 'discovered-unsafe' });
    expect(env.expectedSize).toBe('discovered');
    expect(envToOptions(env)).toEqual({ quorum: { expectedSize: 'discovered', unsafe: true } });
  });

  it.each([
    [
      'GEN_CLUSTER_EXPECTED_SIZE',
      '0',
      /GEN_CLUSTER_EXPECTED_SIZE="0".*integer from 1 to 2147483647/,
    ],
    ['GEN_CLUSTER_EXPECTED_SIZE', '-3', /GEN_CLUSTER_EXPECTED_SIZE="-3"/],
    ['GEN_CLUSTER_EXPECTED_SIZE', '2.5', /GEN_CLUSTER_EXPECTED_SIZE="2.5"/],
    ['GEN_CLUSTER_EXPECTED_SIZE', 'five', /GEN_CLUSTER_EXPECTED_SIZE="five"/],
    ['GEN_CLUSTER_EXPECTED_SIZE', '2147483648', /GEN_CLUSTER_EXPECTED_SIZE="2147483648"/],
    [
      'GEN_CLUSTER_EXPECTED_SIZE',
      'discovered',
      /GEN_CLUSTER_EXPECTED_SIZE="discovered".*"discovered-unsafe".*unsafe when discovery itself can be partitioned/,
    ],
    [
      'GEN_CLUSTER_EXPECTED_SIZE',
      'Discovered-Unsafe',
      /GEN_CLUSTER_EXPECTED_SIZE="Discovered-Unsafe"/,
    ],
    [
      'GEN_CLUSTER_QUORUM_STABLE_MS',
      '-1',
      /GEN_CLUSTER_QUORUM_STABLE_MS="-1".*from 0 to 2147483647/,
    ],
    ['GEN_CLUSTER_QUORUM_STABLE_MS', '3s', /GEN_CLUSTER_QUORUM_STABLE_MS="3s"/],
    ['GEN_CLUSTER_QUORUM_STABLE_MS', '2147483648', /GEN_CLUSTER_QUORUM_STABLE_MS="2147483648"/],
  ])('refuses %s=%s, naming the variable and the accepted forms', (name, value, message) => {
    expect(() => readEnvConfig({ [name]: value })).toThrow(InvalidConfigError);
    expect(() => readEnvConfig({ [name]: value })).toThrow(message);
  });

  it.each([
    ['GEN_CLUSTER_MIN_MEMBERS', '-1', /GEN_CLUSTER_MIN_MEMBERS="-1".*integer from 0 to 2147483647/],
    ['GEN_CLUSTER_MIN_MEMBERS', '1.5', /GEN_CLUSTER_MIN_MEMBERS="1.5".*integer from 0/],
    ['GEN_CLUSTER_MIN_MEMBERS', 'two', /GEN_CLUSTER_MIN_MEMBERS="two".*integer from 0/],
    ['GEN_CLUSTER_MIN_MEMBERS', '2147483648', /GEN_CLUSTER_MIN_MEMBERS="2147483648"/],
    [
      'GEN_CLUSTER_PORTMAPPER_BIND',
      'my-host',
      /GEN_CLUSTER_PORTMAPPER_BIND="my-host".*IPv4 or IPv6/,
    ],
    ['GEN_CLUSTER_BIND', 'eth0', /GEN_CLUSTER_BIND="eth0".*IPv4 or IPv6/],
    [
      'GEN_CLUSTER_REMOVAL_POLICY',
      'prune',
      /GEN_CLUSTER_REMOVAL_POLICY="prune".*"keep" or "disconnect"/,
    ],
    [
      'GEN_CLUSTER_REMOVAL_POLICY',
      'Disconnect',
      /GEN_CLUSTER_REMOVAL_POLICY="Disconnect".*"keep" or "disconnect"/,
    ],
    ['GEN_CLUSTER_NAMESPACE', 'two words', /GEN_CLUSTER_NAMESPACE="two words".*1 to 64 characters/],
    ['GEN_CLUSTER_LOG_LEVEL', 'info', /GEN_CLUSTER_LOG_LEVEL="info".*"error", "warn", "log"/],
    ['GEN_CLUSTER_LOG_FORMAT', 'xml', /GEN_CLUSTER_LOG_FORMAT="xml".*"text" or "json"/],
  ])('refuses %s=%s, naming the variable and the accepted forms', (name, value, message) => {
    expect(() => readEnvConfig({ [name]: value })).toThrow(InvalidConfigError);
    expect(() => readEnvConfig({ [name]: value })).toThrow(message);
  });
});
