import { Inject, Injectable, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { DEFAULT_GEN_CLUSTER_OPTIONS } from '../core/defaults.js';
import type { DiscoveryStrategy, Peer } from '../core/index.js';
import type { DnsDiscovery } from '../discovery/index.js';
import type { LocalDiscovery } from '../discovery/index.js';
import { ClusterService } from './cluster.service.js';
import type {
  GenClusterModuleOptions,
  GenClusterOptionsFactory,
} from './gen-cluster-options.interface.js';
import { GenClusterModule } from './gen-cluster.module.js';
import { getClusterToken } from './get-cluster-token.util.js';
import { InjectCluster } from './inject-cluster.decorator.js';
import { TestDiscovery, TestDist } from '../testing/index.js';
import { until } from '../../test/support/wait.js';

const ENV_KEYS = Object.keys(process.env).filter(k => k.startsWith('GEN_CLUSTER_'));
const saved = Object.fromEntries(ENV_KEYS.map(k => [k, process.env[k]]));

function clearEnv(): void {
  for (const key of Object.keys(process.env))
    if (key.startsWith('GEN_CLUSTER_')) delete process.env[key];
}

const options = (dist = new TestDist(), peers = ['a@10.0.0.2']): GenClusterModuleOptions => ({
  node: 'self@10.0.0.1',
  discovery: new TestDiscovery(peers),
  dist,
});

async function boot(imports: unknown[], providers: unknown[] = []) {
  const moduleRef = await Test.createTestingModule({
    imports: imports as never[],
    providers: providers as never[],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('GenClusterModule', () => {
  beforeEach(clearEnv);
  afterAll(() => {
    clearEnv();
    Object.assign(process.env, saved);
  });

  it('forRoot(options) starts the cluster on bootstrap and stops it on close', async () => {
    const dist = new TestDist();
    const app = await boot([GenClusterModule.forRoot(options(dist))]);
    const cluster = app.get(ClusterService);
    expect(cluster.started).toBe(true);
    expect(cluster.self).toBe('self@10.0.0.1');
    await until(() => cluster.nodes().length === 1, 2_000, 'the peer to connect');
    expect(cluster.nodes()).toEqual(['a@10.0.0.2']);
    expect(cluster.engine?.options).toEqual(DEFAULT_GEN_CLUSTER_OPTIONS);
    let completed = false;
    cluster.membership$.subscribe({ complete: () => (completed = true) });
    await app.close();
    expect(dist.left).toBe(true);
    expect(dist.closed).toBe(true);
    expect(completed).toBe(true);
    expect(cluster.started).toBe(false);
  });

  it('forRoot() with no configuration anywhere starts nothing but still injects ClusterService', async () => {
    const app = await boot([GenClusterModule.forRoot()]);
    const cluster = app.get(ClusterService);
    expect(cluster.started).toBe(false);
    expect(cluster.nodes()).toEqual([]);
    expect(cluster.self).toMatch(new RegExp(`^node-${process.pid}@`));
    const seen: string[][] = [];
    cluster.membership$.subscribe(m => seen.push([...m.members]));
    expect(seen).toEqual([[]]);
    await expect(cluster.waitForMembers(1)).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' });
    expect(() => cluster.send('a@h', 't', 1)).toThrow('not running');
    await app.close();
  });

  it('forRoot() reads the environment', async () => {
    process.env.GEN_CLUSTER_NODE = 'env@10.0.0.9';
    process.env.GEN_CLUSTER_DISCOVERY = 'static:a@10.0.0.2,b@10.0.0.3:4000';
    process.env.GEN_CLUSTER_REFRESH_INTERVAL_MS = 'infinity';
    const dist = new TestDist();
    const app = await boot([GenClusterModule.forRoot({ dist })]);
    const cluster = app.get(ClusterService);
    expect(cluster.self).toBe('env@10.0.0.9');
    await until(() => cluster.nodes().length === 2, 2_000, 'both static peers');
    expect(cluster.engine?.options.refreshIntervalMs).toBe('infinity');
    expect(cluster.engine?.discoveredPeers()).toEqual([
      { node: 'a@10.0.0.2' },
      { node: 'b@10.0.0.3', port: 4000 },
    ]);
    await app.close();
  });

  it('lets explicit options win over the environment', async () => {
    process.env.GEN_CLUSTER_NODE = 'env@10.0.0.9';
    const app = await boot([GenClusterModule.forRoot({ ...options(), refreshIntervalMs: 1234 })]);
    expect(app.get(ClusterService).self).toBe('self@10.0.0.1');
    expect(app.get(ClusterService).engine?.options.refreshIntervalMs).toBe(1234);
    await app.close();
  });

  it('ignores the environment with useEnv: false', async () => {
    process.env.GEN_CLUSTER_DISCOVERY = 'static:a@10.0.0.2';
    const app = await boot([GenClusterModule.forRoot({ useEnv: false, dist: new TestDist() })]);
    expect(app.get(ClusterService).started).toBe(false);
    await app.close();
  });

  it.each([
    [
      'GEN_CLUSTER_NODE',
      'no-at-sign',
      'Invalid GEN_CLUSTER_NODE="no-at-sign": expected "name@host"',
    ],
    [
      'GEN_CLUSTER_PORT',
      '70000',
      'Invalid GEN_CLUSTER_PORT="70000": expected an integer from 0 to 65535',
    ],
    [
      'GEN_CLUSTER_DISCOVERY',
      'carrier-pigeon:x',
      'Invalid GEN_CLUSTER_DISCOVERY="carrier-pigeon:x": expected JSON',
    ],
    [
      'GEN_CLUSTER_DISCOVERY',
      'static:a@h,not a node',
      'Invalid static discovery entry #1 "not a node"',
    ],
    ['GEN_CLUSTER_REFRESH_INTERVAL_MS', 'soon', 'Invalid GEN_CLUSTER_REFRESH_INTERVAL_MS="soon"'],
    ['GEN_CLUSTER_DNS_SERVERS', '10.0.0.1:99999', 'Invalid GEN_CLUSTER_DNS_SERVERS'],
    ['GEN_CLUSTER_BIND', 'everywhere', 'Invalid GEN_CLUSTER_BIND="everywhere"'],
  ])(
    'fails at bootstrap on %s=%s, naming the variable and the accepted forms',
    async (key, value, message) => {
      process.env[key] = value;
      await expect(boot([GenClusterModule.forRoot({ dist: new TestDist() })])).rejects.toThrow(
        message,
      );
    },
  );

  it('gives an explicit DNS discovery the resolvers of GEN_CLUSTER_DNS_SERVERS', async () => {
    process.env.GEN_CLUSTER_DNS_SERVERS = '127.0.0.1:5353';
    const app = await boot([
      GenClusterModule.forRoot({
        node: 'app@127.0.0.1',
        discovery: { strategy: 'dns', domain: 'svc.ns', search: [] },
        dist: new TestDist(),
        autoStart: false,
      }),
    ]);
    const discovery = app.get(ClusterService).engine!.strategies.discovery as DnsDiscovery;
    expect(discovery.settings.servers).toEqual([{ host: '127.0.0.1', port: 5353 }]);
    await app.close();
  });

  it('gives an explicit local discovery the port mapper port of GEN_CLUSTER_PORTMAPPER_PORT', async () => {
    process.env.GEN_CLUSTER_PORTMAPPER_PORT = '24369';
    const app = await boot([
      GenClusterModule.forRoot({
        node: 'app@127.0.0.1',
        discovery: { strategy: 'local' },
        dist: new TestDist(),
        autoStart: false,
      }),
    ]);
    const discovery = app.get(ClusterService).engine!.strategies.discovery as LocalDiscovery;
    expect(discovery.portMapperPort).toBe(24369);
    await app.close();
  });

  it('lets an explicit cookie file win over GEN_CLUSTER_COOKIE, and an explicit discovery replace the environment one', async () => {
    const { mergeOptions } = await import('../config/index.js');
    const merged = mergeOptions(
      {
        dist: { strategy: 'tcp', cookie: 'from-env', port: 4370 },
        discovery: { strategy: 'dns', recordType: 'srv', domain: '_d._tcp.a' },
      },
      {
        dist: { strategy: 'tcp', cookieFile: '/run/secrets/cookie' },
        discovery: { strategy: 'dns', domain: 'b.ns' },
      },
    );
    expect(merged.dist).toEqual({ strategy: 'tcp', cookieFile: '/run/secrets/cookie', port: 4370 });
    expect(merged.discovery).toEqual({ strategy: 'dns', domain: 'b.ns' });
  });

  it('names unknown strategies and lists the built-in ones', async () => {
    await expect(
      boot([
        GenClusterModule.forRoot({
          discovery: { strategy: 'nope' } as never,
          dist: new TestDist(),
        }),
      ]),
    ).rejects.toThrow('Unknown discovery strategy "nope"; built-in discovery strategies: "static"');
  });

  it('forRootAsync with useFactory, imports and inject', async () => {
    const dist = new TestDist();
    const app = await boot([
      GenClusterModule.forRootAsync({
        imports: [
          ConfigModule.forRoot({
            ignoreEnvFile: true,
            load: [() => ({ peers: ['a@10.0.0.2', 'b@10.0.0.3'] })],
          }),
        ],
        inject: [ConfigService],
        useFactory: async (config: ConfigService) => ({
          node: 'self@10.0.0.1',
          discovery: { strategy: 'static', nodes: config.get<string[]>('peers')! },
          dist,
        }),
      }),
    ]);
    const cluster = app.get(ClusterService);
    await until(() => cluster.nodes().length === 2, 2_000, 'the configured peers');
    expect(cluster.engine?.options).toEqual(DEFAULT_GEN_CLUSTER_OPTIONS);
    await app.close();
  });

  it('forRootAsync with useClass', async () => {
    @Injectable()
    class Options implements GenClusterOptionsFactory {
      createGenClusterOptions(): GenClusterModuleOptions {
        return options();
      }
    }
    const app = await boot([GenClusterModule.forRootAsync({ useClass: Options })]);
    await until(() => app.get(ClusterService).nodes().length === 1, 2_000, 'the peer');
    await app.close();
  });

  it('forRootAsync with useExisting', async () => {
    @Injectable()
    class Options implements GenClusterOptionsFactory {
      createGenClusterOptions(): GenClusterModuleOptions {
        return options();
      }
    }
    @Module({ providers: [Options], exports: [Options] })
    class OptionsModule {}
    const app = await boot([
      GenClusterModule.forRootAsync({ imports: [OptionsModule], useExisting: Options }),
    ]);
    await until(() => app.get(ClusterService).nodes().length === 1, 2_000, 'the peer');
    await app.close();
  });

  it('is global by default, and isGlobal: false keeps the service to the importing module', async () => {
    @Injectable()
    class Consumer {
      constructor(readonly cluster: ClusterService) {}
    }
    @Module({ providers: [Consumer], exports: [Consumer] })
    class FeatureModule {}
    const app = await boot([GenClusterModule.forRoot(options()), FeatureModule]);
    expect(app.get(Consumer).cluster).toBe(app.get(ClusterService));
    await app.close();

    await expect(
      boot([
        GenClusterModule.forRootAsync({ useFactory: () => options(), isGlobal: true }),
        FeatureModule,
      ]),
    ).resolves.toBeDefined();
    await expect(
      boot([GenClusterModule.forRoot({ ...options(), isGlobal: false }), FeatureModule]),
    ).rejects.toThrow(/can't resolve dependencies/i);
  });

  it('runs two named clusters side by side, injected by name', async () => {
    @Injectable()
    class Consumer {
      constructor(
        @InjectCluster('blue') readonly blue: ClusterService,
        @InjectCluster('green') readonly green: ClusterService,
      ) {}
    }
    const app = await boot(
      [
        GenClusterModule.forRoot({
          ...options(new TestDist(), ['b1@10.0.1.1']),
          name: 'blue',
        }),
        GenClusterModule.forRootAsync({
          name: 'green',
          useFactory: () => ({
            ...options(new TestDist(), ['g1@10.0.2.1', 'g2@10.0.2.2']),
            node: 'self-green@10.0.0.1',
          }),
        }),
      ],
      [Consumer],
    );
    const { blue, green } = app.get(Consumer);
    await until(
      () => blue.nodes().length === 1 && green.nodes().length === 2,
      2_000,
      'both clusters',
    );
    expect(blue.nodes()).toEqual(['b1@10.0.1.1']);
    expect(green.name).toBe('green');
    expect(app.get(getClusterToken('blue'))).toBe(blue);
    expect(getClusterToken()).toBe(ClusterService);
    await app.close();
  });

  it('refuses two clusters with the same name', async () => {
    await expect(
      boot([
        GenClusterModule.forRoot({ ...options(), name: 'twin' }),
        GenClusterModule.forRootAsync({ name: 'twin', useFactory: () => options() }),
      ]),
    ).rejects.toMatchObject({
      code: 'ERR_DUPLICATE_CLUSTER_NAME',
      message: expect.stringContaining('a cluster named "twin" is already registered'),
    });
  });

  it('takes a strategy as a class built with dependency injection, and as a provider token', async () => {
    @Injectable()
    class ConfiguredDiscovery implements DiscoveryStrategy {
      readonly name = 'configured';
      constructor(readonly config: ConfigService) {}
      peers(): Peer[] {
        return [{ node: this.config.get<string>('peer')! }];
      }
    }
    const TOKEN = Symbol('dist');
    const dist = new TestDist();
    const app = await boot([
      ConfigModule.forRoot({
        ignoreEnvFile: true,
        isGlobal: true,
        load: [() => ({ peer: 'c@10.0.0.7' })],
      }),
      GenClusterModule.forRootAsync({
        imports: [
          {
            module: class DistHolder {},
            providers: [{ provide: TOKEN, useValue: dist }],
            exports: [TOKEN],
            global: true,
          },
        ],
        useFactory: () => ({ node: 'self@10.0.0.1', discovery: ConfiguredDiscovery, dist: TOKEN }),
      }),
    ]);
    await until(() => app.get(ClusterService).nodes().length === 1, 2_000, 'the injected peer');
    expect(dist.connectCalls).toEqual(['c@10.0.0.7']);
    await app.close();
  });

  it('does not start with autoStart: false until asked', async () => {
    const app = await boot([GenClusterModule.forRoot({ ...options(), autoStart: false })]);
    const cluster = app.get(ClusterService);
    expect(cluster.started).toBe(false);
    await cluster.start();
    await until(() => cluster.nodes().length === 1, 2_000, 'the peer');
    await app.close();
  });

  it('refuses messaging on a dist that carries none', async () => {
    const app = await boot([GenClusterModule.forRoot(options())]);
    expect(() => app.get(ClusterService).send('a@10.0.0.2', 't', 1)).toThrow(
      'does not carry messages',
    );
    await app.close();
  });

  it('keeps the injected instance stable for constructor injection', async () => {
    @Injectable()
    class Worker {
      constructor(@Inject(ClusterService) readonly cluster: ClusterService) {}
    }
    const app = await boot([GenClusterModule.forRoot(options())], [Worker]);
    expect(app.get(Worker).cluster).toBe(app.get(ClusterService));
    await app.close();
  });
});
