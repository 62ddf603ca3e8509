import { connect } from 'node:net';
import { hostname } from 'node:os';
import { freePort } from '../../test/support/ports.js';
import { type ClusterLogger, InvalidConfigError, defaultNodeName } from '../core/index.js';
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
