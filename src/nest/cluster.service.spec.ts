import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ClusterService } from './cluster.service.js';
import { GenClusterModule } from './gen-cluster.module.js';

@Injectable()
class Handlers {
  constructor(readonly cluster: ClusterService) {
    // the README's quick start: handlers registered in a constructor
    cluster.on('orders.count', () => 0);
  }
}

@Module({ imports: [GenClusterModule.forRoot({ useEnv: false })], providers: [Handlers] })
class AppWithoutCluster {}

describe('ClusterService without a configured discovery', () => {
  it('boots, accepts handlers and subscriptions, and runs as a cluster of one', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppWithoutCluster] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const cluster = app.get(ClusterService);
      expect(cluster.started).toBe(false);
      expect(cluster.engine).toBeUndefined();
      expect(cluster.nodes()).toEqual([]);
      const seen: (readonly string[])[] = [];
      cluster.membership$.subscribe(m => seen.push(m.members));
      expect(seen).toEqual([[]]);
      expect(cluster.broadcast('orders.count', null)).toBe(0);
      await expect(cluster.waitForMembers(0)).resolves.toEqual({ self: cluster.self, members: [] });
    } finally {
      await app.close();
    }
  });

  it('fails calls to a named node with ERR_NOT_STARTED and says how to configure a cluster', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppWithoutCluster] }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      const cluster = app.get(ClusterService);
      expect(() => cluster.send('b@10.0.0.2', 't', 1)).toThrow(
        expect.objectContaining({
          code: 'ERR_NOT_STARTED',
          message: expect.stringMatching(/no discovery is configured.*GEN_CLUSTER_DISCOVERY/),
        }),
      );
      await expect(cluster.request('b@10.0.0.2', 't', 1)).rejects.toMatchObject({
        code: 'ERR_NOT_STARTED',
      });
      await expect(cluster.waitForMembers(1)).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' });
      // registration is checked as with a running cluster, so dev and production agree
      expect(() => cluster.on('orders.count', () => 1)).toThrow(
        expect.objectContaining({ code: 'ERR_DUPLICATE_HANDLER' }),
      );
    } finally {
      await app.close();
    }
  });
});
