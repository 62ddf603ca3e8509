import { Injectable, Module } from '@nestjs/common';
import { LazyModuleLoader } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { StaticDiscovery } from '../discovery/index.js';
import { TestDiscovery, TestDist } from '../testing/index.js';
import { ClusterService } from './cluster.service.js';
import { GenClusterModule } from './gen-cluster.module.js';
import { InjectCluster } from './inject-cluster.decorator.js';

async function boot(imports: unknown[], providers: unknown[] = []) {
  const moduleRef = await Test.createTestingModule({
    imports: imports as never[],
    providers: providers as never[],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

const cluster = (node = 'self@10.0.0.1') => ({
  node,
  discovery: new TestDiscovery([]),
  dist: new TestDist(),
  useEnv: false,
});

@Injectable()
class Orders {
  constructor(
    readonly cluster: ClusterService,
    @InjectCluster('blue') readonly blue: ClusterService,
  ) {}
}
@Module({ providers: [Orders], exports: [Orders] })
class OrdersModule {}

@Injectable()
class Reports {
  constructor(readonly cluster: ClusterService) {}
}
@Module({ providers: [Reports] })
class LazyReportsModule {}

describe('GenClusterModule setup as Nest users write it', () => {
  it('lets any module inject ClusterService and @InjectCluster(name) after one forRoot in the root module', async () => {
    const app = await boot([
      GenClusterModule.forRoot(cluster()),
      GenClusterModule.forRoot({ ...cluster('self-blue@10.0.0.1'), name: 'blue' }),
      OrdersModule,
    ]);
    try {
      const orders = app.get(Orders);
      expect(orders.cluster).toBe(app.get(ClusterService));
      expect(orders.blue.name).toBe('blue');
    } finally {
      await app.close();
    }
  });

  it('lets a lazily loaded module inject ClusterService', async () => {
    const app = await boot([GenClusterModule.forRoot(cluster())]);
    try {
      const lazy = await app.get(LazyModuleLoader).load(() => LazyReportsModule);
      expect(lazy.get(Reports).cluster).toBe(app.get(ClusterService));
    } finally {
      await app.close();
    }
  });

  it.each(['name', 'isGlobal'])(
    'refuses "%s" returned by a forRootAsync factory, and says where it goes',
    async key => {
      await expect(
        boot([
          GenClusterModule.forRootAsync({
            useFactory: () => ({ ...cluster(), [key]: key === 'name' ? 'blue' : true }),
          }),
        ]),
      ).rejects.toThrow(
        new RegExp(`"${key}" was returned by the options factory.*beside useFactory`),
      );
    },
  );

  it('refuses a misspelt option and lists the real ones', async () => {
    await expect(
      boot([GenClusterModule.forRoot({ ...cluster(), discovry: 'local' } as never)]),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      option: 'discovry',
      message: expect.stringMatching(/unknown option "discovry".*discovery/),
    });
  });

  it('accepts the environment short form of a discovery written in code', async () => {
    const app = await boot([
      GenClusterModule.forRoot({
        node: 'self@10.0.0.1',
        discovery: 'static:a@10.0.0.2,b@10.0.0.3',
        dist: new TestDist(),
        useEnv: false,
      }),
    ]);
    try {
      const discovery = app.get(ClusterService).engine!.strategies.discovery;
      expect(discovery).toBeInstanceOf(StaticDiscovery);
      await app.get(ClusterService).refresh();
      expect(app.get(ClusterService).discovered()).toEqual(['a@10.0.0.2', 'b@10.0.0.3']);
    } finally {
      await app.close();
    }
  });

  it('says what a discovery string is when it is neither a provider nor a short form', async () => {
    await expect(
      boot([
        GenClusterModule.forRoot({
          ...cluster(),
          discovery: 'statik:a@10.0.0.2',
        }),
      ]),
    ).rejects.toThrow(/no provider has this token, and it is not a discovery short form/);
  });

  it('refuses two clusters of one app with the same node name', async () => {
    await expect(
      boot([
        GenClusterModule.forRoot({ ...cluster('app@10.0.0.1'), name: 'blue' }),
        GenClusterModule.forRoot({ ...cluster('app@10.0.0.1'), name: 'green' }),
      ]),
    ).rejects.toThrow(/clusters "blue" and "green" both use the node name app@10.0.0.1/);
  });

  it('boots several clusters without discovery: idle clusters are not nodes and claim nothing', async () => {
    const app = await boot([
      GenClusterModule.forRoot({ useEnv: false }),
      GenClusterModule.forRoot({ useEnv: false, name: 'blue' }),
    ]);
    try {
      expect(app.get(ClusterService).started).toBe(false);
    } finally {
      await app.close();
    }
  });

  it('checks the log options even when no cluster is configured', async () => {
    await expect(
      boot([GenClusterModule.forRoot({ useEnv: false, logLevel: 'info' as never })]),
    ).rejects.toThrow(/logLevel/);
  });

  it('refuses two clusters of one app with the same fixed dist port', async () => {
    const tcp = { strategy: 'tcp', port: 39_999, cookie: 'c'.repeat(32) } as const;
    await expect(
      boot([
        GenClusterModule.forRoot({ ...cluster('a@10.0.0.1'), dist: tcp, name: 'blue' }),
        GenClusterModule.forRoot({ ...cluster('b@10.0.0.1'), dist: tcp, name: 'green' }),
      ]),
    ).rejects.toThrow(/clusters "blue" and "green" both use dist port 39999/);
  });
});
