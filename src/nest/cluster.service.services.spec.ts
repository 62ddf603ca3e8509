/**
 * ClusterService's service-registry members: delegation to the registry and caller, the error
 * mapping of `call`, the drain before leaving, the `drain` option and its variable, and what the
 * members do on an idle cluster and on a dist that cannot carry a registry.
 */
import { jest } from '@jest/globals';
import { type INestApplication, Module, NotFoundException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { testNestNode, threeNestNodes } from '../../test/support/nest-nodes.js';
import { until } from '../../test/support/wait.js';
import { type ClusterMessaging, type DistStrategy, InvalidConfigError } from '../core/index.js';
import { readEnvConfig } from '../config/index.js';
import { defineTopic } from '../distribution/index.js';
import { NoServerError, rank, type ServicesChange } from '../primitives/index.js';
import { InMemoryNetwork, TestDiscovery, TestDist } from '../testing/index.js';
import { ClusterService } from './cluster.service.js';
import { RemoteHttpException } from './errors/index.js';
import { GenClusterModule } from './gen-cluster.module.js';
import type { GenClusterModuleOptions } from './gen-cluster-options.interface.js';
import { drainOptions } from './gen-cluster.providers.js';

const Prices = defineTopic<{ sku: string }, { sku: string; node: string }>('prices.get');

/** An app with the options given, not started unless `autoStart` says so. */
async function appWith(options: GenClusterModuleOptions): Promise<INestApplication> {
  @Module({ imports: [GenClusterModule.forRoot({ useEnv: false, ...options })] })
  class App {}
  const moduleRef = await Test.createTestingModule({ imports: [App] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

async function withApp<T>(
  options: GenClusterModuleOptions,
  work: (cluster: ClusterService) => Promise<T>,
): Promise<T> {
  const app = await appWith(options);
  try {
    return await work(app.get(ClusterService));
  } finally {
    await app.close();
  }
}

describe('ClusterService registry members on an idle cluster (no discovery)', () => {
  it('serves nothing, owns every key itself, and refuses call() with ERR_NOT_STARTED', async () => {
    await withApp({}, async cluster => {
      cluster.on(Prices, query => ({ sku: query.sku, node: 'self' }));
      expect(cluster.registry).toBeUndefined();
      expect(cluster.servers(Prices)).toEqual([]);
      expect(cluster.subscribers('prices.get')).toEqual([]);
      expect(cluster.ownerOf('k-1')).toBe(cluster.self);
      expect(cluster.ownersOf('k-1', 3)).toEqual([cluster.self]);
      expect(cluster.ownerOf('k-1', { topic: Prices })).toBeUndefined();
      expect(cluster.ownersOf('k-1', 2, { topic: 'prices.get' })).toEqual([]);
      expect(cluster.ownersOf('k-1', 0)).toEqual([]);
      expect(() => cluster.ownersOf('k-1', -1)).toThrow(/ownersOf\.count/);
      for (const key of [null, undefined, '', {}, ['k']]) {
        const bad = key as unknown as string;
        expect(() => cluster.ownerOf(bad)).toThrow(InvalidConfigError);
        expect(() => cluster.ownerOf(bad)).toThrow(/ownerOf\.key/);
        expect(() => cluster.ownersOf(bad, 1)).toThrow(/ownersOf\.key/);
      }
      const lists: (readonly string[])[] = [];
      cluster.servers$(Prices).subscribe(list => lists.push(list));
      const changes: ServicesChange[] = [];
      cluster.services$.subscribe(change => changes.push(change));
      expect(lists).toEqual([[]]);
      expect(changes).toEqual([]);
      const notStarted = expect.objectContaining({
        code: 'ERR_NOT_STARTED',
        message: expect.stringMatching(/no discovery is configured.*GEN_CLUSTER_DISCOVERY/),
      });
      await expect(cluster.call(Prices, { sku: 's' })).rejects.toEqual(notStarted);
      await expect(cluster.waitForServers(Prices)).rejects.toEqual(notStarted);
      await expect(cluster.waitForServers(Prices, { count: 0 })).resolves.toEqual([]);
      expect(cluster.broadcast(Prices, { sku: 's' }, { nodes: [cluster.self] })).toBe(0);
    });
  });
});

describe('ClusterService registry members on a dist that cannot carry a registry', () => {
  const unsupported = (dist: string) =>
    expect.objectContaining({
      code: 'ERR_MESSAGING_UNSUPPORTED',
      message: expect.stringContaining(`the dist "${dist}" does not carry messages`),
    });

  it('a dist without messaging: ERR_MESSAGING_UNSUPPORTED naming the dist', async () => {
    const options = { node: 'self@10.0.0.1', discovery: new TestDiscovery([]), autoStart: false };
    await withApp({ ...options, dist: new TestDist() }, async cluster => {
      expect(cluster.registry).toBeUndefined();
      expect(() => cluster.servers('prices.get')).toThrow(unsupported('test'));
      expect(() => cluster.subscribers('prices.get')).toThrow(unsupported('test'));
      expect(() => cluster.ownerOf('k', { topic: 'prices.get' })).toThrow(unsupported('test'));
      await expect(cluster.call('prices.get', null)).rejects.toEqual(unsupported('test'));
      await expect(cluster.waitForServers('prices.get')).rejects.toEqual(unsupported('test'));
      let failure: unknown;
      cluster.servers$('prices.get').subscribe({ error: (error: unknown) => (failure = error) });
      expect(failure).toEqual(unsupported('test'));
      cluster.services$.subscribe({ error: (error: unknown) => (failure = error) });
      expect(failure).toEqual(unsupported('test'));
      // a key's owner needs no registry: this node is the only member here
      expect(cluster.ownerOf('k')).toBe('self@10.0.0.1');
      expect(cluster.ownersOf('k', 2)).toEqual(['self@10.0.0.1']);
    });
  });

  it('ranks every member for ownerOf without a topic, as the registry would', async () => {
    const peers = ['b@10.0.0.2', 'c@10.0.0.3'];
    const options = { node: 'self@10.0.0.1', discovery: new TestDiscovery(peers) };
    await withApp({ ...options, dist: new TestDist() }, async cluster => {
      await until(() => cluster.nodes().length === 2, 5_000);
      const everyone = ['self@10.0.0.1', ...peers];
      const owners = Array.from({ length: 30 }, (_, i) => cluster.ownerOf(`k-${i}`));
      expect(owners).toEqual(Array.from({ length: 30 }, (_, i) => rank(`k-${i}`, everyone)[0]));
      expect(new Set(owners).size).toBe(3);
      expect(cluster.ownersOf('k-1', 3)).toEqual(rank('k-1', everyone));
    });
  });

  it('a custom messaging without localTopics: the same error', async () => {
    const messaging: ClusterMessaging = {
      send: () => undefined,
      broadcast: () => 0,
      request: () => Promise.resolve(undefined as never),
      on: () => () => undefined,
    };
    const dist: DistStrategy = Object.assign(new TestDist(), { name: 'plain', messaging });
    const options = { node: 'self@10.0.0.1', discovery: new TestDiscovery([]), autoStart: false };
    await withApp({ ...options, dist }, async cluster => {
      expect(cluster.registry).toBeUndefined();
      expect(() => cluster.servers('prices.get')).toThrow(unsupported('plain'));
      await expect(cluster.call('prices.get', null)).rejects.toEqual(unsupported('plain'));
    });
  });
});

describe('the drain option', () => {
  it('is on by default, with the registry defaults', () => {
    expect(drainOptions('default', undefined, {})).toEqual({});
    expect(drainOptions('default', false, { drainTimeoutMs: 5 })).toBe(false);
    expect(drainOptions('default', { ackTimeoutMs: 500 }, {})).toEqual({ ackTimeoutMs: 500 });
  });

  it('takes GEN_CLUSTER_DRAIN_TIMEOUT_MS under an unset timeoutMs', () => {
    const env = readEnvConfig({ GEN_CLUSTER_DRAIN_TIMEOUT_MS: ' 25000 ' });
    expect(env.drainTimeoutMs).toBe(25_000);
    expect(drainOptions('default', undefined, env)).toEqual({ timeoutMs: 25_000 });
    expect(drainOptions('default', { timeoutMs: 3_000 }, env)).toEqual({ timeoutMs: 3_000 });
  });

  it.each(['0', '-1', '1.5', 'ten', String(2 ** 31)])(
    'refuses GEN_CLUSTER_DRAIN_TIMEOUT_MS=%s, naming the variable and the accepted form',
    value => {
      expect(() => readEnvConfig({ GEN_CLUSTER_DRAIN_TIMEOUT_MS: value })).toThrow(
        new RegExp(`GEN_CLUSTER_DRAIN_TIMEOUT_MS="${value}".*positive integer of milliseconds`),
      );
    },
  );

  it.each([
    [true, /"drain" must be false or \{ timeoutMs\?, ackTimeoutMs\? \}; received true/],
    [10_000, /"drain" must be false or .*received 10000/],
    [{ timeout: 5 }, /timeout/],
    [{ timeoutMs: 0 }, /drain\.timeoutMs/],
    [{ timeoutMs: 1.5 }, /drain\.timeoutMs/],
    [{ ackTimeoutMs: 2 ** 31 }, /drain\.ackTimeoutMs/],
  ])('refuses drain: %p with InvalidConfigError', (value, message) => {
    expect(() => drainOptions('default', value, {})).toThrow(InvalidConfigError);
    expect(() => drainOptions('default', value, {})).toThrow(message);
  });

  it('is checked at bootstrap, with or without a discovery', async () => {
    await expect(appWith({ drain: { timeoutMs: -1 } })).rejects.toThrow(/drain\.timeoutMs/);
    await expect(appWith({ drain: 'no' as never })).rejects.toThrow(InvalidConfigError);
  });
});

describe('ClusterService registry members on a running cluster', () => {
  const NODES = ['a@test', 'b@test', 'c@test'] as const;
  let apps: INestApplication[] = [];
  let a: ClusterService;
  let b: ClusterService;
  let c: ClusterService;

  beforeEach(async () => {
    ({
      apps,
      clusters: [a, b, c],
    } = await threeNestNodes());
  });

  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('delegates the views to the registry, typed topics and names alike', async () => {
    b.on(Prices, query => ({ sku: query.sku, node: 'b' }));
    c.on('prices.get', (query: { sku: string }) => ({ sku: query.sku, node: 'c' }));
    b.subscribe('news', () => undefined);
    await expect(a.waitForServers(Prices, { count: 2, timeoutMs: 5_000 })).resolves.toEqual([
      'b@test',
      'c@test',
    ]);
    expect(a.registry).toBeDefined();
    expect(a.servers(Prices)).toEqual(a.registry!.servers('prices.get'));
    expect(a.servers('prices.get')).toEqual(['b@test', 'c@test']);
    await until(() => a.subscribers('news').length === 1, 5_000, 'b subscribes to news on a');
    expect(a.subscribers('news')).toEqual(['b@test']);
    expect(a.ownerOf('k-1', { topic: Prices })).toBe(a.registry!.ownerOf('k-1', { topic: Prices }));
    expect(a.ownersOf('k-1', 3)).toEqual(a.registry!.ownersOf('k-1', 3));
    expect(a.ownersOf('k-1', 3).sort()).toEqual([...NODES]);
    const lists: (readonly string[])[] = [];
    const sub = a.servers$(Prices).subscribe(list => lists.push(list));
    a.on(Prices, query => ({ sku: query.sku, node: 'a' }));
    await until(() => lists.length === 2, 5_000, 'a second servers$ list');
    sub.unsubscribe();
    expect(lists).toEqual([
      ['b@test', 'c@test'],
      ['a@test', 'b@test', 'c@test'],
    ]);
  });

  it('call() asks a server, and maps a remote HttpException to a RemoteHttpException', async () => {
    b.on(Prices, query => {
      if (query.sku === 'none') throw new NotFoundException({ sku: query.sku, found: false });
      return { sku: query.sku, node: 'b' };
    });
    await a.waitForServers(Prices, { timeoutMs: 5_000 });
    await expect(a.call(Prices, { sku: 's-1' })).resolves.toEqual({ sku: 's-1', node: 'b' });
    const failure = await a.call(Prices, { sku: 'none' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(RemoteHttpException);
    expect(failure).toMatchObject({ status: 404 });
    expect((failure as RemoteHttpException).getResponse()).toEqual({ sku: 'none', found: false });
    await expect(a.call('nobody.serves', null)).rejects.toBeInstanceOf(NoServerError);
  });

  it('broadcast({ nodes }) reaches the nodes named, this one included', async () => {
    const got: string[] = [];
    for (const [name, s] of [
      ['a', a],
      ['b', b],
      ['c', c],
    ] as const)
      s.subscribe('news', () => void got.push(name));
    expect(a.broadcast('news', null, { nodes: ['a@test', 'c@test', 'x@test'] })).toBe(2);
    await until(() => got.length === 2, 5_000, 'two receipts');
    expect(got.sort()).toEqual(['a', 'c']);
  });
});

describe('ClusterService shutdown with the registry', () => {
  it('drains the registry, then leaves, then closes the registry before the cluster', async () => {
    const network = new InMemoryNetwork();
    const app = await testNestNode(network, 'a@test', { drain: { timeoutMs: 4_000 } });
    const peer = await testNestNode(network, 'b@test');
    const cluster = app.get(ClusterService);
    await cluster.waitForMembers(1, { timeoutMs: 5_000 });
    const order: string[] = [];
    const registry = cluster.registry!;
    const drain = jest.spyOn(registry, 'drain');
    drain.mockImplementation(async options => {
      order.push(`drain ${JSON.stringify(options)}`);
      return { acked: 1, unacked: [], servingLeft: 0 };
    });
    jest.spyOn(registry, 'close').mockImplementation(() => void order.push('registry.close'));
    const engine = cluster.engine!;
    const leave = engine.leave.bind(engine);
    const close = engine.close.bind(engine);
    jest.spyOn(engine, 'leave').mockImplementation(() => (order.push('leave'), leave()));
    jest.spyOn(engine, 'close').mockImplementation(() => (order.push('close'), close()));
    await app.close();
    await peer.close();
    // GenCluster.close() calls leave() again (a no-op by then): the first four are the hooks'
    expect(order.slice(0, 4)).toEqual([
      'drain {"timeoutMs":4000}',
      'leave',
      'registry.close',
      'close',
    ]);
  });

  it('drain: false leaves at once; a cluster never started drains nothing', async () => {
    for (const extra of [{ drain: false as const }, { autoStart: false }]) {
      const app = await testNestNode(new InMemoryNetwork(), 'a@test', extra);
      const cluster = app.get(ClusterService);
      const drain = jest.spyOn(cluster.registry!, 'drain');
      await app.close();
      expect(drain).not.toHaveBeenCalled();
    }
  });

  it('still leaves when the drain fails, with a warning', async () => {
    const network = new InMemoryNetwork();
    const app = await testNestNode(network, 'a@test');
    const cluster = app.get(ClusterService);
    jest.spyOn(cluster.registry!, 'drain').mockRejectedValue(new Error('boom'));
    const leave = jest.spyOn(cluster.engine!, 'leave');
    const warn = jest.spyOn(
      (cluster as unknown as { logger: { warn(m: string): void } }).logger,
      'warn',
    );
    await app.close();
    expect(leave).toHaveBeenCalled();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/drain before leaving failed.*boom/));
  });
});
