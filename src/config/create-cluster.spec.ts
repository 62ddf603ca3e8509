import { FormationTimeoutError, GenCluster, InvalidConfigError } from '../core/index.js';
import { StaticDiscovery } from '../discovery/index.js';
import { TcpDist } from '../distribution/index.js';
import { createCluster } from './create-cluster.js';

describe('createCluster (no Nest)', () => {
  it('builds built-in strategies from their names', () => {
    const cluster = createCluster({
      node: 'a@127.0.0.1',
      discovery: { strategy: 'static', nodes: ['b@127.0.0.2'] },
      dist: { strategy: 'tcp', cookie: 'x'.repeat(32) },
      useEnv: false,
    });
    expect(cluster).toBeInstanceOf(GenCluster);
    expect(cluster.self).toBe('a@127.0.0.1');
    expect(cluster.strategies.discovery).toBeInstanceOf(StaticDiscovery);
    expect(cluster.strategies.dist).toBeInstanceOf(TcpDist);
  });

  it('reads GEN_CLUSTER_* underneath the explicit options', () => {
    const cluster = createCluster({
      refreshIntervalMs: 1_000,
      env: {
        GEN_CLUSTER_NODE: 'env@127.0.0.1',
        GEN_CLUSTER_DISCOVERY: 'static:b@127.0.0.2',
        GEN_CLUSTER_COOKIE: 'y'.repeat(32),
        GEN_CLUSTER_REFRESH_INTERVAL_MS: '9000',
      },
    });
    expect(cluster.self).toBe('env@127.0.0.1');
    expect(cluster.options.refreshIntervalMs).toBe(1_000);
    expect(cluster.strategies.discovery.name).toBe('static');
  });

  it('takes the removal policy from GEN_CLUSTER_REMOVAL_POLICY unless the options set one', () => {
    const env = {
      GEN_CLUSTER_NODE: 'env@127.0.0.1',
      GEN_CLUSTER_DISCOVERY: 'static:b@127.0.0.2',
      GEN_CLUSTER_COOKIE: 'y'.repeat(32),
      GEN_CLUSTER_REMOVAL_POLICY: 'disconnect',
    };
    expect(createCluster({ env }).options.removalPolicy).toBe('disconnect');
    expect(createCluster({ env, removalPolicy: 'keep' }).options.removalPolicy).toBe('keep');
    expect(() => createCluster({ env: { ...env, GEN_CLUSTER_REMOVAL_POLICY: 'drop' } })).toThrow(
      InvalidConfigError,
    );
  });

  it('builds the quorum rule from GEN_CLUSTER_EXPECTED_SIZE, and checks it at construction', () => {
    const env = {
      GEN_CLUSTER_NODE: 'env@127.0.0.1',
      GEN_CLUSTER_DISCOVERY: 'static:b@127.0.0.2',
      GEN_CLUSTER_COOKIE: 'y'.repeat(32),
      GEN_CLUSTER_EXPECTED_SIZE: '3',
    };
    expect(createCluster({ env }).membership.quorum).toEqual({
      has: false,
      size: 1,
      needed: 2,
      expectedSize: 3,
    });
    // formed alone at construction (logged at "log": kept off the console here)
    const alone = createCluster({ env, quorum: { expectedSize: 1 }, logLevel: 'warn' });
    expect(alone.hasQuorum()).toBe(true);
    const { GEN_CLUSTER_EXPECTED_SIZE: _, ...noQuorum } = env;
    expect(createCluster({ env: noQuorum }).membership.quorum).toBeUndefined();
    expect(() => createCluster({ env, quorum: { expectedSize: 'discovered' } as never })).toThrow(
      /unsafe: true/,
    );
    expect(() => createCluster({ env, quorom: { expectedSize: 3 } } as never)).toThrow(
      /unknown option "quorom"/,
    );
  });

  it('says how to configure discovery when none is given', () => {
    expect(() => createCluster({ useEnv: false })).toThrow(InvalidConfigError);
    expect(() => createCluster({ useEnv: false })).toThrow(/GEN_CLUSTER_DISCOVERY/);
  });

  it('refuses a misspelt option', () => {
    expect(() => createCluster({ useEnv: false, discovry: 'local' } as never)).toThrow(
      /createCluster\(\): unknown option "discovry"/,
    );
  });

  it('accepts a discovery short form', () => {
    const cluster = createCluster({
      node: 'a@127.0.0.1',
      discovery: 'static:b@127.0.0.2',
      dist: { strategy: 'tcp', cookie: 'x'.repeat(32) },
      useEnv: false,
    });
    expect(cluster.strategies.discovery).toBeInstanceOf(StaticDiscovery);
  });

  it('names the unknown strategy and the built-in ones', () => {
    expect(() =>
      createCluster({
        useEnv: false,
        discovery: { strategy: 'consul' } as never,
      }),
    ).toThrow(/Unknown discovery strategy "consul".*"static", "dns", "local", "kubernetes"/);
  });

  it('passes the formation option to the engine, checked there', () => {
    const build = (formation: unknown) =>
      createCluster({
        node: 'a@127.0.0.1',
        discovery: 'static:b@127.0.0.2',
        dist: { strategy: 'tcp', cookie: 'x'.repeat(32) },
        formation: formation as never,
        useEnv: false,
      });
    expect(() => build({ minMembers: -1 })).toThrow(InvalidConfigError);
    expect(() => build({ minMembers: -1 })).toThrow(/formation\.minMembers/);
    expect(() => build({ minMembers: 1, stableMarginMs: 100 })).not.toThrow();
  });

  it('gives the engine the formation gate of GEN_CLUSTER_FORMATION_STABLE_MS', async () => {
    const cluster = createCluster({
      node: 'a@127.0.0.1',
      discovery: 'static:',
      dist: { strategy: 'tcp', cookie: 'x'.repeat(32), port: 0, bind: '127.0.0.1' },
      env: { GEN_CLUSTER_FORMATION_STABLE_MS: '60000', GEN_CLUSTER_MIN_MEMBERS: '0' },
      logger: { log: () => undefined, warn: () => undefined, error: () => undefined },
    });
    try {
      await cluster.start();
      const failure = await cluster.waitForFormation({ timeoutMs: 20 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(FormationTimeoutError);
      expect(failure).toMatchObject({ stableMarginMs: 60_000, required: 0 });
      expect(cluster.health()).toMatchObject({ formed: false });
    } finally {
      await cluster.stop();
    }
  });
});
