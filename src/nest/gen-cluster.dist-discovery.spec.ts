/**
 * The Nest module with no discovery configured and a dist that finds its peers itself (as the
 * NATS dist does): the dist's discovery() is the discovery, so the cluster runs instead of idling.
 */
import { Injectable } from '@nestjs/common';
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

async function boot(dist: unknown) {
  const moduleRef = await Test.createTestingModule({
    imports: [
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

  it('stays idle with a dist that finds no peers itself', async () => {
    const app = await boot(new TestDist());
    try {
      expect(app.get(ClusterService).started).toBe(false);
    } finally {
      await app.close();
    }
  });
});
