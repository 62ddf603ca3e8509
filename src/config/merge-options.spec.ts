import { connect } from 'node:net';
import { hostname } from 'node:os';
import { freePort } from '../../test/support/ports.js';
import { type ClusterLogger, InvalidConfigError, defaultNodeName } from '../core/index.js';
import { multicastInterfaceAddress } from '../discovery/index.js';
import { TcpDist } from '../distribution/index.js';
import { createCluster } from './create-cluster.js';
import { type LayeredOptions, resolveClusterOptions } from './merge-options.js';

const byHostName = defaultNodeName(process.pid, hostname());
const zeroConfig = `node-${process.pid}@127.0.0.1`;
const self = (options: Parameters<typeof resolveClusterOptions>[0], env = {}) =>
  resolveClusterOptions(options, env).self;

describe('resolveClusterOptions: the default node name', () => {
  it('names a zero-configuration node (local discovery, no hosts) after the loopback address', () => {
    expect(self({ discovery: { strategy: 'local' } })).toBe(zeroConfig);
    expect(self({}, { GEN_CLUSTER_DISCOVERY: 'local' })).toBe(zeroConfig);
    expect(self({ discovery: 'local' })).toBe(zeroConfig);
    expect(self({ discovery: { strategy: 'local', hosts: ['localhost'] } })).toBe(zeroConfig);
    expect(self({ discovery: { strategy: 'local' }, dist: { strategy: 'tcp', port: 0 } })).toBe(
      zeroConfig,
    );
  });

  it('keeps the node name given (GEN_CLUSTER_NODE or node)', () => {
    const env = { GEN_CLUSTER_DISCOVERY: 'local', GEN_CLUSTER_NODE: 'app@box-1' };
    expect(self({}, env)).toBe('app@box-1');
    expect(self({ node: 'api@box-2' }, env)).toBe('api@box-2');
  });

  it('follows a loopback bind address, and keeps the host name with any other bind', () => {
    expect(self({ discovery: 'local' }, { GEN_CLUSTER_BIND: '127.0.0.5' })).toBe(
      `node-${process.pid}@127.0.0.5`,
    );
    expect(self({ discovery: 'local', dist: { strategy: 'tcp', bind: '::1' } })).toBe(
      `node-${process.pid}@::1`,
    );
    expect(self({ discovery: 'local' }, { GEN_CLUSTER_BIND: '0.0.0.0' })).toBe(byHostName);
  });

  it('keeps the host name when the cluster is more than this host, or the dist not the TCP one', () => {
    expect(self({ discovery: { strategy: 'local', hosts: ['localhost', 'box-2'] } })).toBe(
      byHostName,
    );
    expect(self({ discovery: 'static:b@10.0.0.2' })).toBe(byHostName);
    expect(self({})).toBe(byHostName);
    const dist = new TcpDist({ cookie: 'c' });
    expect(self({ discovery: 'local', dist })).toBe(byHostName);
  });

  it('shares the port mapper port with a discovery written as a short form', () => {
    const { options } = resolveClusterOptions<LayeredOptions>(
      { discovery: 'local' },
      { GEN_CLUSTER_PORTMAPPER_PORT: '24369' },
    );
    expect(options.discovery).toEqual({ strategy: 'local', portMapperPort: 24369 });
    expect(options.dist).toMatchObject({ strategy: 'tcp', portMapperPort: 24369 });
  });
});

describe('a zero-configuration node', () => {
  const quiet: ClusterLogger = {
    log: () => undefined,
    warn: () => undefined,
    error: () => undefined,
  };
  const accepts = (host: string, port: number) =>
    new Promise<boolean>(resolve => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });

  it('listens on loopback only, at the address it is named after', async () => {
    const cluster = createCluster({
      discovery: 'local',
      dist: { strategy: 'tcp', cookie: 'c', portMapperPort: await freePort() },
      useEnv: false,
      logger: quiet,
    });
    try {
      await cluster.start();
      const port = (cluster.strategies.dist as TcpDist).port!;
      expect(cluster.self).toBe(zeroConfig);
      expect(await accepts('127.0.0.1', port)).toBe(true);
      // Another address of this machine: a listener on every interface would take it.
      expect(await accepts('127.0.0.2', port)).toBe(false);
    } finally {
      await cluster.stop();
    }
  });
});

describe('layering the options', () => {
  it('keeps the environment value of a dist field given as undefined', () => {
    const { options } = resolveClusterOptions(
      { dist: { strategy: 'tcp', port: undefined, cookie: undefined } },
      { GEN_CLUSTER_PORT: '4370', GEN_CLUSTER_COOKIE: 'from-env' },
    );
    expect(options.dist).toMatchObject({ strategy: 'tcp', port: 4370, cookie: 'from-env' });
  });

  it('gives the dist and local discovery one namespace, wherever it was given', () => {
    const { options } = resolveClusterOptions(
      { discovery: 'local', dist: { strategy: 'tcp', namespace: 'blue' } },
      {},
    );
    expect(options.discovery).toMatchObject({ strategy: 'local', namespace: 'blue' });
    expect(options.dist).toMatchObject({ namespace: 'blue' });
  });

  it('refuses two different namespaces, naming both', () => {
    expect(() =>
      resolveClusterOptions(
        { discovery: 'local', dist: { strategy: 'tcp', namespace: 'blue' } },
        { GEN_CLUSTER_NAMESPACE: 'green' },
      ),
    ).toThrow(/namespace: "green", dist.namespace: "blue"/);
  });
});

describe('resolveClusterOptions: the quorum rule', () => {
  const quorumOf = (options: LayeredOptions, env: Record<string, string> = {}) =>
    resolveClusterOptions(options, env).options.quorum;

  it('takes the rule from the environment when the options give none', () => {
    expect(quorumOf({}, { GEN_CLUSTER_EXPECTED_SIZE: '3' })).toEqual({ expectedSize: 3 });
    expect(quorumOf({}, { GEN_CLUSTER_EXPECTED_SIZE: 'discovered-unsafe' })).toEqual({
      expectedSize: 'discovered',
      unsafe: true,
    });
    expect(quorumOf({})).toBeUndefined();
    expect(quorumOf({ useEnv: false }, { GEN_CLUSTER_EXPECTED_SIZE: '3' })).toBeUndefined();
  });

  it('merges field by field, explicit fields first', () => {
    const env = { GEN_CLUSTER_EXPECTED_SIZE: '5', GEN_CLUSTER_QUORUM_STABLE_MS: '1000' };
    expect(quorumOf({ quorum: { expectedSize: 3 } }, env)).toEqual({
      expectedSize: 3,
      stableMs: 1_000,
    });
    expect(quorumOf({ quorum: { expectedSize: 3, stableMs: 50 } }, env)).toEqual({
      expectedSize: 3,
      stableMs: 50,
    });
    // the stable margin alone in the environment completes a rule given in code
    expect(
      quorumOf({ quorum: { expectedSize: 7 } }, { GEN_CLUSTER_QUORUM_STABLE_MS: '200' }),
    ).toEqual({ expectedSize: 7, stableMs: 200 });
    // and the size alone in the environment a stable margin given in code
    expect(
      quorumOf({ quorum: { stableMs: 10 } as never }, { GEN_CLUSTER_EXPECTED_SIZE: '4' }),
    ).toEqual({ expectedSize: 4, stableMs: 10 });
  });

  it("does not carry the environment's unsafe over to an explicit expected size", () => {
    const env = { GEN_CLUSTER_EXPECTED_SIZE: 'discovered-unsafe' };
    expect(quorumOf({ quorum: { expectedSize: 3 } }, env)).toEqual({ expectedSize: 3 });
    expect(quorumOf({ quorum: { expectedSize: 'discovered', unsafe: true } }, {})).toEqual({
      expectedSize: 'discovered',
      unsafe: true,
    });
  });

  it('refuses GEN_CLUSTER_QUORUM_STABLE_MS when nothing gives the rule an expected size', () => {
    const call = () => resolveClusterOptions({}, { GEN_CLUSTER_QUORUM_STABLE_MS: '1000' });
    expect(call).toThrow(InvalidConfigError);
    expect(call).toThrow(
      /GEN_CLUSTER_QUORUM_STABLE_MS is set, but no quorum rule is: set GEN_CLUSTER_EXPECTED_SIZE/,
    );
  });
});

describe('resolveClusterOptions: the strategies of issue 17', () => {
  const discoveryOf = (options: LayeredOptions, env: Record<string, string> = {}) =>
    resolveClusterOptions(options, env).options.discovery;

  it('gives gossip, hosts and etcd the cluster namespace, as local', () => {
    const env = { GEN_CLUSTER_NAMESPACE: 'blue' };
    expect(discoveryOf({ discovery: 'gossip' }, env)).toEqual({
      strategy: 'gossip',
      namespace: 'blue',
    });
    expect(discoveryOf({ discovery: 'hosts:/x' }, env)).toEqual({
      strategy: 'hosts',
      file: '/x',
      namespace: 'blue',
    });
    expect(
      discoveryOf({ discovery: { strategy: 'etcd', endpoints: ['http://h:2379'] } }, env),
    ).toEqual({
      strategy: 'etcd',
      endpoints: ['http://h:2379'],
      namespace: 'blue',
    });
  });

  it("gives every child of an aggregate the namespace and the dist's, at any depth", () => {
    const instance = { name: 'custom', peers: () => [] };
    const { options } = resolveClusterOptions<LayeredOptions>(
      {
        discovery: {
          strategy: 'aggregate',
          of: [
            'hosts:/x|gossip',
            { strategy: 'aggregate', of: [{ strategy: 'etcd', endpoints: ['http://h:2379'] }] },
            { strategy: 'static', nodes: [] },
            instance,
          ],
        },
        dist: { strategy: 'tcp', namespace: 'green' },
      },
      { GEN_CLUSTER_PORTMAPPER_PORT: '24369' },
    );
    expect(options.discovery).toEqual({
      strategy: 'aggregate',
      of: [
        {
          strategy: 'aggregate',
          of: [
            { strategy: 'hosts', file: '/x', namespace: 'green', portMapperPort: 24369 },
            { strategy: 'gossip', namespace: 'green' },
          ],
        },
        {
          strategy: 'aggregate',
          of: [{ strategy: 'etcd', endpoints: ['http://h:2379'], namespace: 'green' }],
        },
        { strategy: 'static', nodes: [] },
        instance,
      ],
    });
    expect((options.discovery as { of: unknown[] }).of[3]).toBe(instance);
  });

  it("refuses a child's namespace that is not the cluster's, naming the child", () => {
    const call = () =>
      resolveClusterOptions(
        {
          namespace: 'blue',
          discovery: {
            strategy: 'aggregate',
            of: ['gossip', { strategy: 'hosts', file: '/x', namespace: 'red' }],
          },
        },
        {},
      );
    expect(call).toThrow(InvalidConfigError);
    expect(call).toThrow(/namespace: "blue", discovery.of\[1\].namespace: "red"/);
  });

  it("refuses a discovery instance whose namespace is not the cluster's, naming its path", () => {
    const instance = { namespace: 'red', peers: async () => [] };
    const top = () => resolveClusterOptions({ namespace: 'blue', discovery: instance }, {});
    expect(top).toThrow(InvalidConfigError);
    expect(top).toThrow(/namespace: "blue", discovery.namespace: "red"/);
    const child = () =>
      resolveClusterOptions(
        { discovery: { strategy: 'aggregate', of: ['local', instance] } },
        { GEN_CLUSTER_NAMESPACE: 'blue' },
      );
    expect(child).toThrow(InvalidConfigError);
    expect(child).toThrow(/discovery.of\[1\].namespace: "red"/);
    const againstDist = () =>
      resolveClusterOptions(
        {
          discovery: { strategy: 'aggregate', of: [instance] },
          dist: { strategy: 'tcp', namespace: 'green' },
        },
        {},
      );
    expect(againstDist).toThrow(/dist.namespace: "green", discovery.of\[0\].namespace: "red"/);
  });

  it("accepts a discovery instance in the cluster's namespace, and one that names none", () => {
    const same = { namespace: 'blue', peers: async () => [] };
    const none = { peers: async () => [] };
    const { options } = resolveClusterOptions<LayeredOptions>(
      { namespace: 'blue', discovery: { strategy: 'aggregate', of: [same, none, 'gossip'] } },
      {},
    );
    expect((options.discovery as { of: unknown[] }).of[0]).toBe(same);
    expect((options.discovery as { of: unknown[] }).of[2]).toMatchObject({ namespace: 'blue' });
    expect(options.dist).toMatchObject({ namespace: 'blue' });
  });

  it('takes a namespace given to gossip alone for the dist too', () => {
    const { options } = resolveClusterOptions<LayeredOptions>(
      { discovery: { strategy: 'gossip', namespace: 'orders' } },
      {},
    );
    expect(options.dist).toMatchObject({ strategy: 'tcp', namespace: 'orders' });
  });

  it("shares the port mapper's port between hosts discovery and the TCP dist", () => {
    const { options } = resolveClusterOptions<LayeredOptions>(
      { discovery: { strategy: 'hosts', file: '/x', portMapperPort: 24400 } },
      {},
    );
    expect(options.dist).toMatchObject({ portMapperPort: 24400 });
  });

  it('applies GEN_CLUSTER_ETCD_USERNAME and _PASSWORD_FILE to etcd discovery, explicit fields first', () => {
    const env = {
      GEN_CLUSTER_DISCOVERY: 'etcd:http://127.0.0.1:2379/gc',
      GEN_CLUSTER_ETCD_USERNAME: 'gc',
      GEN_CLUSTER_ETCD_PASSWORD_FILE: '/run/secrets/etcd',
    };
    expect(discoveryOf({}, env)).toEqual({
      strategy: 'etcd',
      endpoints: ['http://127.0.0.1:2379'],
      prefix: '/gc',
      username: 'gc',
      passwordFile: '/run/secrets/etcd',
    });
    const explicit = {
      strategy: 'etcd',
      endpoints: ['http://h:1'],
      username: 'me',
      password: 'pw',
    };
    expect(discoveryOf({ discovery: explicit }, env)).toEqual(explicit);
    expect(discoveryOf({ discovery: 'hosts:/x|etcd:http://h:1' }, env)).toMatchObject({
      of: [
        { strategy: 'hosts' },
        { strategy: 'etcd', username: 'gc', passwordFile: '/run/secrets/etcd' },
      ],
    });
    expect(discoveryOf({ discovery: 'gossip' }, env)).toEqual({ strategy: 'gossip' });
  });

  it('names a zero-configuration gossip node after the address it multicasts from', () => {
    const address = multicastInterfaceAddress();
    expect(self({ discovery: 'gossip' })).toBe(defaultNodeName(process.pid, address));
    // an address must be one of this host's (a foreign one is refused when the strategy is built)
    expect(self({ discovery: { strategy: 'gossip', interface: '127.0.0.1' } })).toBe(
      `node-${process.pid}@127.0.0.1`,
    );
    expect(self({}, { GEN_CLUSTER_DISCOVERY: 'static:a@10.0.0.1|gossip:239.1.1.1:4000' })).toBe(
      defaultNodeName(process.pid, address),
    );
    expect(
      self({ discovery: { strategy: 'aggregate', of: [{ strategy: 'gossip', interface: 'lo' }] } }),
    ).toBe(`node-${process.pid}@127.0.0.1`);
    // a name given, or another dist, keeps its own
    expect(self({ discovery: 'gossip', node: 'app@box-1' })).toBe('app@box-1');
    expect(self({ discovery: 'gossip', dist: new TcpDist({ cookie: 'c' }) })).toBe(byHostName);
  });

  it('refuses a gossip interface this host does not have, at resolution', () => {
    expect(() => self({ discovery: { strategy: 'gossip', interface: 'no-such-if0' } })).toThrow(
      InvalidConfigError,
    );
  });
});

describe('resolveClusterOptions: the formation gate', () => {
  const formationOf = (options: LayeredOptions, env: Record<string, string> = {}) =>
    resolveClusterOptions(options, env).options.formation;

  it('takes it from GEN_CLUSTER_FORMATION_STABLE_MS, explicit fields first', () => {
    const env = { GEN_CLUSTER_FORMATION_STABLE_MS: '2000', GEN_CLUSTER_MIN_MEMBERS: '2' };
    expect(formationOf({}, env)).toEqual({ stableMarginMs: 2_000, minMembers: 2 });
    expect(formationOf({ formation: { minMembers: 4 } }, env)).toEqual({
      stableMarginMs: 2_000,
      minMembers: 4,
    });
    expect(formationOf({ formation: { stableMarginMs: 10 } }, env)).toEqual({
      stableMarginMs: 10,
      minMembers: 2,
    });
    expect(formationOf({ formation: { minMembers: 1 } })).toEqual({ minMembers: 1 });
    expect(formationOf({})).toBeUndefined();
    expect(formationOf({ useEnv: false }, env)).toBeUndefined();
  });
});
