import { InvalidConfigError } from '../core/index.js';
import { envToOptions, isDiscoveryShortForm, readEnvConfig } from './env.config.js';

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

describe('the discovery short forms of issue 17', () => {
  const parse = (value: string) => readEnvConfig({ GEN_CLUSTER_DISCOVERY: value }).discovery;

  it('reads gossip, with or without its group and port', () => {
    expect(parse('gossip')).toEqual({ strategy: 'gossip' });
    expect(parse('gossip:239.1.2.3:45000')).toEqual({
      strategy: 'gossip',
      group: '239.1.2.3',
      port: 45_000,
    });
  });

  it('reads hosts:<path>', () => {
    expect(parse('hosts:/etc/gen-cluster.hosts')).toEqual({
      strategy: 'hosts',
      file: '/etc/gen-cluster.hosts',
    });
    expect(parse('hosts:cluster.hosts')).toEqual({ strategy: 'hosts', file: 'cluster.hosts' });
  });

  it('reads etcd:<url>[,<url>], the path of the URLs being the key prefix', () => {
    expect(parse('etcd:http://10.0.0.1:2379/gen-cluster')).toEqual({
      strategy: 'etcd',
      endpoints: ['http://10.0.0.1:2379'],
      prefix: '/gen-cluster',
    });
    expect(parse('etcd:https://a.example:2379/x/y/,https://[::1]:2379/x/y')).toEqual({
      strategy: 'etcd',
      endpoints: ['https://a.example:2379', 'https://[::1]:2379'],
      prefix: '/x/y',
    });
    expect(parse('etcd:http://127.0.0.1:2379/team%20a')).toMatchObject({ prefix: '/team a' });
    expect(parse('etcd:http://127.0.0.1:2379')).toEqual({
      strategy: 'etcd',
      endpoints: ['http://127.0.0.1:2379'],
    });
  });

  it('reads short forms joined by | as an aggregate, in order', () => {
    expect(parse('hosts:/etc/gc.hosts | gossip|static:a@10.0.0.1')).toEqual({
      strategy: 'aggregate',
      of: [
        { strategy: 'hosts', file: '/etc/gc.hosts' },
        { strategy: 'gossip' },
        { strategy: 'static', nodes: ['a@10.0.0.1'] },
      ],
    });
  });

  it.each([
    ['gossip:239.1.2.3', /"gossip:<group>:<port>" with an IPv4 multicast group/, null],
    ['gossip:10.0.0.1:45892', /IPv4 multicast group \(224.0.0.0 to 239.255.255.255\)/, null],
    ['gossip:ff02::1:45892', /IPv4 multicast group/, null],
    ['gossip:239.1.2.3:0', /a port from 1 to 65535/, null],
    ['gossip:239.1.2.3:70000', /a port from 1 to 65535/, null],
    ['hosts', /a file path after "hosts:"/, null],
    ['hosts:', /a file path after "hosts:"/, null],
    ['etcd', /one or more http\(s\) URLs after "etcd:"/, null],
    ['etcd:10.0.0.1:2379', /one or more http\(s\) URLs/, null],
    ['etcd:ftp://10.0.0.1/x', /one or more http\(s\) URLs/, null],
    ['etcd:http://10.0.0.1:2379/x?dial=1', /no query/, null],
    ['etcd:http://10.0.0.1:2379/%E0%A4%A', /one or more http\(s\) URLs/, null],
    [
      'etcd:http://10.0.0.1:2379/x,http://u@10.0.0.2:2379/x',
      /GEN_CLUSTER_ETCD_USERNAME/,
      'etcd:http://10.0.0.1:2379/x,http://***@10.0.0.2:2379/x',
    ],
    ['etcd:http://a:2379/one,http://b:2379/two', /one key prefix.*"\/one", "\/two"/, null],
    ['etcd:http://a:2379/one,http://b:2379', /one key prefix.*"\/one", "\/"/, null],
    ['gossip|', /short forms joined by "\|", none of them empty/, null],
    ['gossip|{"strategy":"static","nodes":[]}', /none of them empty or JSON/, null],
    // a part that is no short form: the whole value, the part, and that "|" split the value
    [
      'gossip|nope:x',
      /"gossip", "gossip:239.255.43.69:45892", "hosts:.*"nope:x" is not a short form: `\|` separates aggregate parts/,
      null,
    ],
    // a bad short form among the parts is named alone
    ['hosts:/x|gossip:1.2.3.4:5', /IPv4 multicast group/, 'gossip:1.2.3.4:5'],
  ])('refuses GEN_CLUSTER_DISCOVERY=%s, naming what is accepted', (value, message, named) => {
    const read = () => parse(value);
    expect(read).toThrow(InvalidConfigError);
    expect(read).toThrow(`GEN_CLUSTER_DISCOVERY=${JSON.stringify(named ?? value)}`);
    expect(read).toThrow(message);
  });

  it('never echoes an etcd password written in a URL into the accepted forms', () => {
    const read = () => parse('etcd:http://root:hunter2@10.0.0.1:2379/x');
    expect(read).toThrow('GEN_CLUSTER_DISCOVERY="etcd:http://***@10.0.0.1:2379/x"');
    expect(read).toThrow(/without credentials/);
    expect(read).not.toThrow(/hunter2|root/);
  });

  it('tells the short forms from other strings (Nest provider tokens)', () => {
    for (const form of [
      'gossip',
      'gossip:239.1.2.3:1',
      'hosts:/x',
      'etcd:http://h:1',
      'gossip|local',
    ])
      expect(isDiscoveryShortForm(form)).toBe(true);
    for (const token of ['MY_DISCOVERY', 'gossiping', 'hostsfile', 'gossip|MY_TOKEN', 'etcd3'])
      expect(isDiscoveryShortForm(token)).toBe(false);
  });
});

describe('GEN_CLUSTER_FORMATION_STABLE_MS and the etcd credentials', () => {
  it('configures the formation gate, its minMembers from GEN_CLUSTER_MIN_MEMBERS or 0', () => {
    const env = readEnvConfig({ GEN_CLUSTER_FORMATION_STABLE_MS: '3000' });
    expect(env.formationStableMs).toBe(3_000);
    expect(envToOptions(env)).toEqual({ formation: { stableMarginMs: 3_000, minMembers: 0 } });
    expect(
      envToOptions(
        readEnvConfig({ GEN_CLUSTER_FORMATION_STABLE_MS: '0', GEN_CLUSTER_MIN_MEMBERS: '2' }),
      ),
    ).toEqual({ formation: { stableMarginMs: 0, minMembers: 2 } });
    // GEN_CLUSTER_MIN_MEMBERS alone configures no gate
    expect(envToOptions(readEnvConfig({ GEN_CLUSTER_MIN_MEMBERS: '2' }))).toEqual({});
  });

  it.each(['-1', '5s', '2147483648', '1.5'])(
    'refuses GEN_CLUSTER_FORMATION_STABLE_MS=%s',
    value => {
      const read = () => readEnvConfig({ GEN_CLUSTER_FORMATION_STABLE_MS: value });
      expect(read).toThrow(InvalidConfigError);
      expect(read).toThrow(
        new RegExp(`GEN_CLUSTER_FORMATION_STABLE_MS="${value}".*from 0 to 2147483647`),
      );
    },
  );

  it('reads the etcd user and password file, which are no cluster option of their own', () => {
    const env = readEnvConfig({
      GEN_CLUSTER_ETCD_USERNAME: ' gc ',
      GEN_CLUSTER_ETCD_PASSWORD_FILE: '/run/secrets/etcd',
    });
    expect(env).toEqual({ etcdUsername: 'gc', etcdPasswordFile: '/run/secrets/etcd' });
    expect(envToOptions(env)).toEqual({});
  });
});
