/**
 * The NATS configuration: `GEN_CLUSTER_DIST`, the `nats://` discovery short form, the
 * `GEN_CLUSTER_NATS_*` credentials, how the cookie, the namespace and the TCP mesh's variables
 * meet the NATS dist, and a dist that is its own discovery.
 */
import { hostname } from 'node:os';
import {
  type DiscoveryStrategy,
  type DistStrategy,
  InvalidConfigError,
  defaultNodeName,
} from '../core/index.js';
import { NatsDiscovery, NatsDist } from '../nats/index.js';
import { TestDiscovery, TestDist } from '../testing/index.js';
import { createDiscovery, createDist } from './built-in-strategies.js';
import { createCluster } from './create-cluster.js';
import { distDiscovery, distFindsPeers } from './dist-discovery.js';
import { notAShortFormError } from './discovery-short-form.js';
import { envToOptions, isDiscoveryShortForm, readEnvConfig } from './env.config.js';
import { type LayeredOptions, resolveClusterOptions } from './merge-options.js';

const resolve = (options: LayeredOptions, env: Record<string, string> = {}) =>
  resolveClusterOptions<LayeredOptions>(options, env).options;

const SECRET = 'hunter2';
/** A cluster's logger that prints nothing (a started cluster logs its start, peers and stop). */
const SILENT = { log: () => undefined, warn: () => undefined, error: () => undefined };

describe('GEN_CLUSTER_DIST', () => {
  const parse = (value: string) => readEnvConfig({ GEN_CLUSTER_DIST: value }).dist;

  it('reads tcp as the TCP mesh', () => {
    expect(parse('tcp')).toEqual({ strategy: 'tcp' });
    expect(parse(' TCP ')).toEqual({ strategy: 'tcp' });
    expect(envToOptions(readEnvConfig({ GEN_CLUSTER_DIST: 'tcp' }))).toEqual({
      dist: { strategy: 'tcp' },
    });
    expect(
      envToOptions(readEnvConfig({ GEN_CLUSTER_DIST: 'tcp', GEN_CLUSTER_PORT: '39135' })),
    ).toEqual({ dist: { strategy: 'tcp', port: 39135 } });
  });

  it('reads one or more nats:// and tls:// URLs as the NATS dist on those servers', () => {
    expect(parse('nats://127.0.0.1:4222')).toEqual({
      strategy: 'nats',
      servers: ['nats://127.0.0.1:4222'],
    });
    expect(parse(' nats://10.0.0.1:4222 , NATS://nats-b.example:4223,tls://[::1]:4224, ')).toEqual({
      strategy: 'nats',
      servers: ['nats://10.0.0.1:4222', 'nats://nats-b.example:4223', 'tls://[::1]:4224'],
    });
    // a port left out is the client's default (4222)
    expect(parse('nats://nats.ns.svc')).toEqual({
      strategy: 'nats',
      servers: ['nats://nats.ns.svc:4222'],
    });
  });

  it("reads servers after the first without a scheme, with the first one's (the issue's form)", () => {
    expect(parse('nats://h1:4222,h2:4222')).toEqual({
      strategy: 'nats',
      servers: ['nats://h1:4222', 'nats://h2:4222'],
    });
    expect(parse('tls://h1:4222, h2')).toEqual({
      strategy: 'nats',
      servers: ['tls://h1:4222', 'tls://h2:4222'],
    });
  });

  it('gives the NATS dist the cookie, and none of the TCP fields', () => {
    const env = readEnvConfig({
      GEN_CLUSTER_DIST: 'nats://127.0.0.1:4222',
      GEN_CLUSTER_COOKIE: 'c'.repeat(32),
      GEN_CLUSTER_DNS_SERVERS: '10.0.0.53',
    });
    expect(envToOptions(env)).toEqual({
      dist: { strategy: 'nats', servers: ['nats://127.0.0.1:4222'], cookie: 'c'.repeat(32) },
    });
    expect(
      envToOptions(
        readEnvConfig({ GEN_CLUSTER_DIST: 'tls://h:1', GEN_CLUSTER_COOKIE_FILE: '/run/cookie' }),
      ).dist,
    ).toEqual({ strategy: 'nats', servers: ['tls://h:1'], cookieFile: '/run/cookie' });
  });

  it.each([
    ['nats'],
    ['udp'],
    ['nats:10.0.0.1:4222'],
    ['10.0.0.1:4222'],
    ['http://10.0.0.1:4222'],
    ['nats://'],
    ['nats://h:99999'],
    ['nats://h:4222/path'],
    ['nats://h:4222/'],
    ['nats://h:4222?reconnect=1'],
    ['nats://h:4222#x'],
    ['nats://a:4222,tcp://b:4222'],
    ['nats://a:4222,http://b:4222'],
    [','],
  ])('refuses GEN_CLUSTER_DIST=%s, naming the forms', value => {
    const read = () => parse(value);
    expect(read).toThrow(InvalidConfigError);
    expect(read).toThrow(`Invalid GEN_CLUSTER_DIST=${JSON.stringify(value.trim())}`);
    expect(read).toThrow(/"tcp" \(the TCP mesh, the default\), or the NATS dist's servers/);
  });

  it.each([
    [`nats://gc:${SECRET}@10.0.0.1:4222`],
    [`nats://${SECRET}@10.0.0.1:4222`],
    [`nats://10.0.0.1:4222,tls://gc:${SECRET}@h2:4222`],
    // a comma in the password splits the value: still never shown
    ['nats://gc:hun,ter2@10.0.0.1:4222'],
    // unencoded: a space, a "/", a "#" end the userinfo of a URL elsewhere
    ['nats://u:pa ss@h1:4222'],
    ['nats://tok/en@h1:4222'],
    ['tls://u:p#w@h2'],
    ['nats://h1:4222,u:pa ss@h2:4222'],
  ])('refuses credentials in %s without quoting the value', value => {
    const read = () => parse(value);
    expect(read).toThrow(InvalidConfigError);
    expect(read).toThrow('Invalid GEN_CLUSTER_DIST: a NATS server in it holds credentials');
    expect(read).toThrow(/the value is not shown/);
    expect(read).toThrow(/GEN_CLUSTER_NATS_PASSWORD_FILE/);
    expect(read).not.toThrow(/hunter2|hun,ter2|gc:|pa ss|tok\/en|p#w|h1|h2|10\.0\.0\.1/);
  });

  it('leaves the dist to the options when unset or blank', () => {
    expect(readEnvConfig({ GEN_CLUSTER_DIST: '  ' }).dist).toBeUndefined();
    expect(envToOptions(readEnvConfig({}))).toEqual({});
  });
});

describe('GEN_CLUSTER_DISCOVERY=nats://...', () => {
  const parse = (value: string) => readEnvConfig({ GEN_CLUSTER_DISCOVERY: value }).discovery;

  it('reads the NATS discovery, its servers as GEN_CLUSTER_DIST takes them', () => {
    expect(parse('nats://127.0.0.1:4222')).toEqual({
      strategy: 'nats',
      servers: ['nats://127.0.0.1:4222'],
    });
    expect(parse('tls://a:4222,nats://b:4222')).toEqual({
      strategy: 'nats',
      servers: ['tls://a:4222', 'nats://b:4222'],
    });
  });

  it('is a short form in code too, and joins aggregates', () => {
    expect(isDiscoveryShortForm('nats://h:4222')).toBe(true);
    expect(isDiscoveryShortForm('TLS://h:4222')).toBe(true);
    expect(isDiscoveryShortForm('nats://h:4222|dns:svc.ns')).toBe(true);
    for (const token of ['nats', 'NATS_DISCOVERY', 'nats:h', 'natsy://h'])
      expect(isDiscoveryShortForm(token)).toBe(false);
    expect(parse('nats://h:4222|dns:svc.ns')).toEqual({
      strategy: 'aggregate',
      of: [
        { strategy: 'nats', servers: ['nats://h:4222'] },
        { strategy: 'dns', domain: 'svc.ns' },
      ],
    });
    expect(resolve({ discovery: 'nats://h:4222' }).discovery).toEqual({
      strategy: 'nats',
      servers: ['nats://h:4222'],
    });
  });

  it.each([['nats://'], ['nats://h:4222/x'], ['tls://h:0x']])('refuses %s', value => {
    const read = () => parse(value);
    expect(read).toThrow(InvalidConfigError);
    expect(read).toThrow(`GEN_CLUSTER_DISCOVERY=${JSON.stringify(value)}`);
    expect(read).toThrow(/one or more NATS servers, comma-separated/);
  });

  it.each([
    [`nats://gc:${SECRET}@h:4222|gossip`],
    ['nats://u:pa ss@h1:4222'],
    ['nats://tok/en@h1:4222'],
    ['tls://u:p#w@h2'],
    // a "|" in the password splits the value into aggregate parts: still never shown
    ['nats://u:pa|ss@h1:4222'],
    ['gossip|nats://u:pa ss|w@h1:4222'],
  ])('refuses credentials in %s without quoting the value', value => {
    const read = () => parse(value);
    expect(read).toThrow('Invalid GEN_CLUSTER_DISCOVERY: a NATS server in it holds credentials');
    expect(read).toThrow(/without credentials/);
    expect(read).not.toThrow(/hunter2|pa ss|pa\|ss|ss\|w|tok\/en|p#w|u:p/);
    // as the discovery option in code
    const inCode = notAShortFormError(value, 'discovery').message;
    expect(inCode).toContain('Invalid discovery: a NATS server in it holds credentials');
    expect(inCode).not.toMatch(/hunter2|pa ss|pa\|ss|ss\|w|tok\/en|p#w|u:p/);
  });
});

describe('GEN_CLUSTER_NATS_* credentials', () => {
  const CREDENTIALS = {
    GEN_CLUSTER_NATS_USER: ' gc ',
    GEN_CLUSTER_NATS_PASSWORD_FILE: '/run/secrets/nats-password',
    GEN_CLUSTER_NATS_TOKEN_FILE: '/run/secrets/nats-token',
    GEN_CLUSTER_NATS_NKEY_SEED_FILE: '/run/secrets/nkey.seed',
    GEN_CLUSTER_NATS_CREDS_FILE: '/run/secrets/gc.creds',
    GEN_CLUSTER_NATS_CA_FILE: '/etc/nats/ca.pem',
    GEN_CLUSTER_NATS_CERT_FILE: '/etc/nats/cert.pem',
    GEN_CLUSTER_NATS_KEY_FILE: '/etc/nats/key.pem',
  };
  const APPLIED = {
    user: 'gc',
    passwordFile: '/run/secrets/nats-password',
    tokenFile: '/run/secrets/nats-token',
    nkeySeedFile: '/run/secrets/nkey.seed',
    credsFile: '/run/secrets/gc.creds',
    tls: {
      caFile: '/etc/nats/ca.pem',
      certFile: '/etc/nats/cert.pem',
      keyFile: '/etc/nats/key.pem',
    },
  };

  it('reads them, and they are no cluster option of their own', () => {
    const env = readEnvConfig(CREDENTIALS);
    expect(env).toEqual({
      nats: {
        user: 'gc',
        passwordFile: '/run/secrets/nats-password',
        tokenFile: '/run/secrets/nats-token',
        nkeySeedFile: '/run/secrets/nkey.seed',
        credsFile: '/run/secrets/gc.creds',
        caFile: '/etc/nats/ca.pem',
        certFile: '/etc/nats/cert.pem',
        keyFile: '/etc/nats/key.pem',
      },
    });
    expect(envToOptions(env)).toEqual({});
  });

  it('applies them to the NATS dist of GEN_CLUSTER_DIST', () => {
    const { dist } = resolve({}, { GEN_CLUSTER_DIST: 'nats://h:4222', ...CREDENTIALS });
    expect(dist).toEqual({ strategy: 'nats', servers: ['nats://h:4222'], ...APPLIED });
  });

  it('applies them to a NATS dist written in code', () => {
    const { dist } = resolve({ dist: { strategy: 'nats', servers: 'nats://h:4222' } }, CREDENTIALS);
    expect(dist).toEqual({ strategy: 'nats', servers: 'nats://h:4222', ...APPLIED });
  });

  it('lets an authentication method in the options win as a whole', () => {
    const dist = { strategy: 'nats', servers: 'nats://h:4222' };
    const tls = {
      caFile: '/etc/nats/ca.pem',
      certFile: '/etc/nats/cert.pem',
      keyFile: '/etc/nats/key.pem',
    };
    // a token, an nkey seed or a creds file: none of the environment's authentication
    for (const method of [
      { token: 'in-code' },
      { tokenFile: '/app/token' },
      { nkeySeedFile: '/app/seed' },
      { credsFile: '/app/app.creds' },
    ])
      expect(resolve({ dist: { ...dist, ...method } }, CREDENTIALS).dist).toEqual({
        ...dist,
        ...method,
        tls,
      });
    // a user and password: only that pair, and the explicit one wins field by field
    expect(
      resolve({ dist: { ...dist, user: 'app', password: 'in-code' } }, CREDENTIALS).dist,
    ).toEqual({ ...dist, user: 'app', password: 'in-code', tls });
    expect(resolve({ dist: { ...dist, user: 'app' } }, CREDENTIALS).dist).toEqual({
      ...dist,
      user: 'app',
      passwordFile: '/run/secrets/nats-password',
      tls,
    });
    expect(resolve({ dist: { ...dist, passwordFile: '/app/pw' } }, CREDENTIALS).dist).toEqual({
      ...dist,
      user: 'gc',
      passwordFile: '/app/pw',
      tls,
    });
  });

  it('fills each TLS file the tls option leaves out', () => {
    const { dist } = resolve(
      {
        dist: {
          strategy: 'nats',
          servers: 'tls://h:4222',
          tls: { caFile: '/app/ca.pem', certFile: undefined },
        },
      },
      CREDENTIALS,
    );
    expect(dist).toMatchObject({
      tls: { caFile: '/app/ca.pem', certFile: '/etc/nats/cert.pem', keyFile: '/etc/nats/key.pem' },
    });
  });

  it('leaves a tls option that is no object to the connection to refuse', () => {
    const { dist } = resolve(
      { dist: { strategy: 'nats', servers: 'h', tls: true } },
      { GEN_CLUSTER_NATS_CA_FILE: '/ca.pem' },
    );
    expect(dist).toMatchObject({ tls: true });
  });

  it('applies them to the NATS discovery, alone or in an aggregate, and not to the TCP dist', () => {
    const alone = resolve({}, { GEN_CLUSTER_DISCOVERY: 'nats://h:4222', ...CREDENTIALS });
    expect(alone.discovery).toEqual({ strategy: 'nats', servers: ['nats://h:4222'], ...APPLIED });
    expect(alone.dist).toEqual({ strategy: 'tcp' });
    const aggregate = resolve(
      { discovery: 'dns:svc.ns|nats://h:4222' },
      { GEN_CLUSTER_NATS_USER: 'gc', GEN_CLUSTER_NATS_PASSWORD_FILE: '/p' },
    );
    expect(aggregate.discovery).toEqual({
      strategy: 'aggregate',
      of: [
        { strategy: 'dns', domain: 'svc.ns' },
        { strategy: 'nats', servers: ['nats://h:4222'], user: 'gc', passwordFile: '/p' },
      ],
    });
  });

  it('are not read with useEnv: false', () => {
    const { dist } = resolve(
      { dist: { strategy: 'nats', servers: 'h' }, useEnv: false },
      CREDENTIALS,
    );
    expect(dist).toEqual({ strategy: 'nats', servers: 'h' });
  });
});

describe('the NATS dist and the other variables', () => {
  const COOKIE = 'k'.repeat(32);

  it('takes GEN_CLUSTER_COOKIE and GEN_CLUSTER_NAMESPACE as the TCP dist does', () => {
    const options = resolve(
      {},
      {
        GEN_CLUSTER_DIST: 'nats://h:4222',
        GEN_CLUSTER_COOKIE: COOKIE,
        GEN_CLUSTER_NAMESPACE: 'orders',
      },
    );
    expect(options.dist).toEqual({
      strategy: 'nats',
      servers: ['nats://h:4222'],
      cookie: COOKIE,
      namespace: 'orders',
    });
    expect(options.namespace).toBe('orders');
  });

  it('gives a NATS dist written in code the cookie (file) of the environment', () => {
    const dist = { strategy: 'nats', servers: 'nats://h:4222' };
    expect(resolve({ dist }, { GEN_CLUSTER_COOKIE_FILE: '/run/cookie' }).dist).toEqual({
      ...dist,
      cookieFile: '/run/cookie',
    });
    // the cookie and its file are one setting: the explicit one wins whichever form it takes
    expect(
      resolve({ dist: { ...dist, cookie: COOKIE } }, { GEN_CLUSTER_COOKIE_FILE: '/run/cookie' })
        .dist,
    ).toEqual({ ...dist, cookie: COOKIE });
    expect(
      resolve(
        { dist: { ...dist, cookieFile: '/app/cookie' } },
        { GEN_CLUSTER_DIST: 'nats://env:4222', GEN_CLUSTER_COOKIE: COOKIE },
      ).dist,
    ).toEqual({ ...dist, cookieFile: '/app/cookie' });
  });

  it('merges a NATS dist in code with GEN_CLUSTER_DIST field by field, explicit first', () => {
    const { dist } = resolve(
      { dist: { strategy: 'nats', servers: ['nats://code:4222'], heartbeatIntervalMs: 500 } },
      { GEN_CLUSTER_DIST: 'nats://env:4222', GEN_CLUSTER_COOKIE: COOKIE },
    );
    expect(dist).toEqual({
      strategy: 'nats',
      servers: ['nats://code:4222'],
      heartbeatIntervalMs: 500,
      cookie: COOKIE,
    });
  });

  it("lets a TCP dist in code win over GEN_CLUSTER_DIST, with the environment's TCP fields", () => {
    const { dist } = resolve(
      { dist: { strategy: 'tcp', tls: undefined } },
      {
        GEN_CLUSTER_DIST: 'nats://env:4222',
        GEN_CLUSTER_PORT: '39135',
        GEN_CLUSTER_COOKIE: COOKIE,
      },
    );
    expect(dist).toEqual({ strategy: 'tcp', port: 39135, cookie: COOKIE });
  });

  it('refuses two namespaces, the NATS dist naming one', () => {
    const read = () =>
      resolve(
        { dist: { strategy: 'nats', servers: 'h', namespace: 'a' } },
        { GEN_CLUSTER_NAMESPACE: 'b' },
      );
    expect(read).toThrow(InvalidConfigError);
    expect(read).toThrow(/namespace: "b", dist.namespace: "a"/);
  });

  it('gives the NATS discovery the namespace', () => {
    const { discovery } = resolve(
      { discovery: 'nats://h:4222' },
      { GEN_CLUSTER_NAMESPACE: 'orders' },
    );
    expect(discovery).toEqual({
      strategy: 'nats',
      servers: ['nats://h:4222'],
      namespace: 'orders',
    });
  });

  it.each([
    ['GEN_CLUSTER_PORT', '39135'],
    ['GEN_CLUSTER_BIND', '0.0.0.0'],
    ['GEN_CLUSTER_PORTMAPPER_BIND', '0.0.0.0'],
  ])('refuses %s with the NATS dist, which listens on no port', (variable, value) => {
    const fromEnv = () => resolve({}, { GEN_CLUSTER_DIST: 'nats://h:4222', [variable]: value });
    expect(fromEnv).toThrow(InvalidConfigError);
    expect(fromEnv).toThrow(`${variable} is set, but the dist is the NATS dist`);
    const inCode = () =>
      resolve({ dist: { strategy: 'nats', servers: 'h' } }, { [variable]: value });
    expect(inCode).toThrow(`${variable} is set, but the dist is the NATS dist`);
    // a TCP dist in code takes it
    expect(() =>
      resolve({ dist: { strategy: 'tcp' } }, { GEN_CLUSTER_DIST: 'nats://h', [variable]: value }),
    ).not.toThrow();
  });

  it('keeps the variables shared with discovery (DNS servers, port mapper port) with NATS', () => {
    const options = resolve(
      { discovery: 'dns:svc.ns' },
      {
        GEN_CLUSTER_DIST: 'nats://h:4222',
        GEN_CLUSTER_DNS_SERVERS: '10.0.0.53',
        GEN_CLUSTER_PORTMAPPER_PORT: '24369',
      },
    );
    expect(options.discovery).toEqual({
      strategy: 'dns',
      domain: 'svc.ns',
      servers: [{ host: '10.0.0.53', port: 53 }],
    });
    expect(options.dist).toEqual({ strategy: 'nats', servers: ['nats://h:4222'] });
  });

  it('names a node of the NATS dist node-<pid>@<host name> by default', () => {
    const { self } = resolveClusterOptions<LayeredOptions>(
      {},
      { GEN_CLUSTER_DIST: 'nats://127.0.0.1:4222' },
    );
    expect(self).toBe(defaultNodeName(process.pid, hostname()));
  });

  it.each([
    ['GEN_CLUSTER_DISCOVERY=nats://...', {}, { GEN_CLUSTER_DISCOVERY: 'nats://127.0.0.1:4222' }],
    ['the nats:// short form in code', { discovery: 'nats://127.0.0.1:4222' }, {}],
    [
      'a NATS discovery in an aggregate',
      { discovery: { strategy: 'nats', servers: 'h:4222' } },
      { GEN_CLUSTER_DISCOVERY: 'dns:svc.ns|nats://h:4222' },
    ],
  ])('refuses %s beside the NATS dist (it needs a TCP port)', (_, options, env) => {
    const read = () =>
      resolveClusterOptions<LayeredOptions>(options, {
        GEN_CLUSTER_DIST: 'nats://127.0.0.1:4222',
        ...env,
      });
    expect(read).toThrow(InvalidConfigError);
    expect(read).toThrow(/is the NATS discovery .* but the dist is the NATS dist/);
    expect(read).toThrow(/Use the NATS dist alone .* a dns, static or kubernetes discovery/);
    // with the TCP dist it is what the NATS discovery is for
    expect(() =>
      resolveClusterOptions<LayeredOptions>(options, { ...env, GEN_CLUSTER_DIST: 'tcp' }),
    ).not.toThrow();
  });

  it('refuses local discovery beside the NATS dist (it would find nobody)', () => {
    for (const [options, env] of [
      [{ discovery: 'local' }, {}],
      [{}, { GEN_CLUSTER_DISCOVERY: 'local:h1,h2' }],
      [{ discovery: 'dns:svc.ns|local' }, {}],
    ] as const) {
      const read = () =>
        resolveClusterOptions<LayeredOptions>(options, {
          GEN_CLUSTER_DIST: 'nats://127.0.0.1:4222',
          ...env,
        });
      expect(read).toThrow(InvalidConfigError);
      expect(read).toThrow(/is local discovery, .* it would find nobody/);
    }
    // an instance of the NATS dist as well
    const dist = new NatsDist({ servers: 'nats://127.0.0.1:4222', cookie: 'd'.repeat(32) });
    expect(() => resolve({ dist, discovery: 'local' })).toThrow(/is local discovery/);
    expect(resolve({ dist, discovery: 'dns:svc.ns' }).discovery).toEqual({
      strategy: 'dns',
      domain: 'svc.ns',
    });
  });
});

/** A dist that finds its peers itself, its discovery answering `peers`. */
class FindingDist extends TestDist {
  calls = 0;
  constructor(readonly own: DiscoveryStrategy = new TestDiscovery(['b@10.0.0.2'])) {
    super();
  }
  discovery(): DiscoveryStrategy {
    this.calls++;
    return this.own;
  }
}

describe('a dist that finds its peers itself', () => {
  it('is its own discovery when none is configured', async () => {
    const dist = new FindingDist();
    const cluster = createCluster({ node: 'a@10.0.0.1', dist, useEnv: false, logger: SILENT });
    expect(cluster.strategies.discovery).toBe(dist.own);
    expect(dist.calls).toBe(1);
    await cluster.start();
    await cluster.refresh();
    expect(dist.connectCalls).toEqual(['b@10.0.0.2']);
    await cluster.stop();
  });

  it('leaves the configured discovery in charge, without asking the dist', () => {
    const dist = new FindingDist();
    const cluster = createCluster({
      node: 'a@10.0.0.1',
      discovery: 'static:c@10.0.0.3',
      dist,
      useEnv: false,
    });
    expect(cluster.strategies.discovery.name).toBe('static');
    expect(dist.calls).toBe(0);
  });

  it('still refuses no discovery at all, saying a NATS dist would do', () => {
    const build = () => createCluster({ node: 'a@10.0.0.1', dist: new TestDist(), useEnv: false });
    expect(build).toThrow(InvalidConfigError);
    expect(build).toThrow(/No discovery is configured.*GEN_CLUSTER_DIST=nats:\/\/host:4222/);
    expect(() => createCluster({ env: {} })).toThrow(/No discovery is configured/);
  });

  it('refuses a discovery() that returns no discovery strategy, naming the dist', () => {
    const dist = new FindingDist({ peers: 'no' } as unknown as DiscoveryStrategy);
    const build = () => createCluster({ node: 'a@10.0.0.1', dist, useEnv: false });
    expect(build).toThrow(InvalidConfigError);
    expect(build).toThrow(/The discovery\(\) of dist "test" returned .*not a discovery strategy/);
  });

  it('is known before the dist is built (the Nest module decides whether a cluster runs)', () => {
    expect(distFindsPeers({ strategy: 'nats', servers: 'h' })).toBe(true);
    expect(distFindsPeers({ strategy: 'tcp' })).toBe(false);
    expect(distFindsPeers(undefined)).toBe(false);
    expect(distFindsPeers(new FindingDist())).toBe(true);
    expect(distFindsPeers(new TestDist())).toBe(false);
    expect(distFindsPeers(FindingDist)).toBe(true);
    expect(distFindsPeers(TestDist)).toBe(false);
    expect(distFindsPeers('MY_DIST_TOKEN')).toBe(false);
  });

  it('distDiscovery refuses a dist without one', () => {
    expect(() => distDiscovery(new TestDist() as DistStrategy)).toThrow(
      /No discovery is configured/,
    );
  });
});

describe('the NATS strategies built from their options', () => {
  const COOKIE = 'n'.repeat(32);

  it('builds the NATS dist and the NATS discovery by name and short form', () => {
    expect(
      createDist({ strategy: 'nats', servers: 'nats://127.0.0.1:4222', cookie: COOKIE }),
    ).toBeInstanceOf(NatsDist);
    expect(createDiscovery('nats://127.0.0.1:4222')).toBeInstanceOf(NatsDiscovery);
    expect(
      createDiscovery({ strategy: 'nats', servers: ['nats://127.0.0.1:4222'] }),
    ).toBeInstanceOf(NatsDiscovery);
  });

  it('starts from GEN_CLUSTER_DIST alone: the NATS dist is its own discovery', () => {
    const cluster = createCluster({
      env: { GEN_CLUSTER_DIST: 'nats://127.0.0.1:4222', GEN_CLUSTER_COOKIE: COOKIE },
    });
    expect(cluster.strategies.dist).toBeInstanceOf(NatsDist);
    expect(cluster.strategies.discovery.name).toBe('nats');
    expect(cluster.strategies.discovery).not.toBeInstanceOf(NatsDiscovery);
    expect(cluster.self).toBe(defaultNodeName(process.pid, hostname()));
  });

  it('uses GEN_CLUSTER_DISCOVERY beside GEN_CLUSTER_DIST when both are set', () => {
    const cluster = createCluster({
      env: {
        GEN_CLUSTER_DIST: 'nats://127.0.0.1:4222',
        GEN_CLUSTER_DISCOVERY: 'static:b@10.0.0.2',
        GEN_CLUSTER_COOKIE: COOKIE,
      },
    });
    expect(cluster.strategies.dist).toBeInstanceOf(NatsDist);
    expect(cluster.strategies.discovery.name).toBe('static');
  });

  it('refuses bad NATS options at construction, without echoing a secret', () => {
    const build = () =>
      createDist({ strategy: 'nats', servers: `nats://gc:${SECRET}@h:4222`, cookie: COOKIE });
    expect(build).toThrow(InvalidConfigError);
    expect(build).not.toThrow(/hunter2/);
  });
});
