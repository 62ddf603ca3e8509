/**
 * The Nest module with no discovery configured and a dist that finds its peers itself (as the
 * NATS dist does): the dist's discovery() is the discovery, so the cluster runs instead of idling.
 */
import { type DynamicModule, Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { DiscoveryStrategy } from '../core/index.js';
import { TestDiscovery, TestDist } from '../testing/index.js';
import { ClusterService } from './cluster.service.js';
import { GenClusterModule } from './gen-cluster.module.js';

/** A dist whose discovery names one peer. */
@Injectable()
class FindingDist extends TestDist {
  readonly own = new TestDiscovery(['b@10.0.0.2']);
  discovery(): DiscoveryStrategy {
    return this.own;
  }
}

async function boot(dist: unknown, imports: DynamicModule[] = []) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ...imports,
      GenClusterModule.forRoot({
        node: 'a@10.0.0.1',
        dist: dist as never,
        useEnv: false,
        autoStart: false,
      }),
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('GenClusterModule: a dist that finds its peers itself', () => {
  it.each([
    ['an instance', () => new FindingDist()],
    ['a class', () => FindingDist],
  ])('runs a cluster on the discovery of %s when none is configured', async (_, dist) => {
    const app = await boot(dist());
    try {
      const cluster = app.get(ClusterService);
      await cluster.start();
      await cluster.refresh();
      expect(cluster.started).toBe(true);
      const strategies = cluster.engine!.strategies;
      const used = strategies.dist as FindingDist;
      expect(strategies.discovery).toBe(used.own);
      expect(used.connectCalls).toEqual(['b@10.0.0.2']);
    } finally {
      await app.close();
    }
  });

  it('runs a cluster on the discovery of a dist given as a provider token', async () => {
    const TOKEN = Symbol('finding dist');
    const found = new FindingDist();
    const app = await boot(TOKEN, [
      {
        module: class DistHolder {},
        providers: [{ provide: TOKEN, useValue: found }],
        exports: [TOKEN],
        global: true,
      },
    ]);
    try {
      const cluster = app.get(ClusterService);
      await cluster.start();
      await cluster.refresh();
      expect(cluster.engine!.strategies.dist).toBe(found);
      expect(cluster.engine!.strategies.discovery).toBe(found.own);
      expect(found.connectCalls).toEqual(['b@10.0.0.2']);
    } finally {
      await app.close();
    }
  });

  it('stays idle with a dist that finds no peers itself, saying what would run one', async () => {
    const TOKEN = 'PLAIN_DIST';
    for (const [dist, imports] of [
      [new TestDist(), []],
      [
        TOKEN,
        [
          {
            module: class PlainHolder {},
            providers: [{ provide: TOKEN, useValue: new TestDist() }],
            exports: [TOKEN],
            global: true,
          },
        ],
      ],
    ] as const) {
      const app = await boot(dist, imports as never);
      try {
        const cluster = app.get(ClusterService);
        expect(cluster.started).toBe(false);
        await expect(
          Promise.resolve().then(() => cluster.send('b@10.0.0.2', 't', 1)),
        ).rejects.toThrow(
          /no discovery is configured.*GEN_CLUSTER_DIST=nats:\/\/host:4222.*a custom dist with a discovery\(\) method/,
        );
      } finally {
        await app.close();
      }
    }
  });
});
