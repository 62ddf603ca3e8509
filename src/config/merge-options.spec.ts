import { connect } from 'node:net';
import { hostname } from 'node:os';
import { freePort } from '../../test/support/ports.js';
import { type ClusterLogger, defaultNodeName } from '../core/index.js';
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
