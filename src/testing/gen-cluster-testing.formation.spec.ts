/**
 * The formation gate through GenClusterTestingModule: the same `formed`, `formed$`,
 * `waitForFormation` and readiness as a real cluster, several nodes in one Jest process.
 */
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ClusterService, GenClusterModule } from '../nest/index.js';
import { GenClusterTestingModule, InMemoryNetwork } from './index.js';

const FORMATION = { minMembers: 2, stableMarginMs: 300 };

async function node(network: InMemoryNetwork, name: string): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [GenClusterTestingModule.forRoot({ network, node: name, formation: FORMATION })],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('GenClusterTestingModule with a formation gate', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('forms only once the late third node is connected and the margin has passed', async () => {
    const network = new InMemoryNetwork();
    apps = await Promise.all(['a@test', 'b@test'].map(name => node(network, name)));
    const [a, b] = apps.map(app => app.get(ClusterService)) as [ClusterService, ClusterService];
    const seen: boolean[] = [];
    a.formed$.subscribe(value => seen.push(value));
    const waiting = a.waitForFormation({ timeoutMs: 10_000 });
    await a.waitForMembers(1, { timeoutMs: 5_000 });
    // one peer, connected for a margin: enough for one required peer, not for two
    await a.waitForFormation({ minMembers: 1, timeoutMs: 5_000 });
    // one peer of two: not formed, and readiness says so before anything else
    expect(a.formed).toBe(false);
    expect(a.health().ready).toMatchObject({ up: false, reason: 'notFormed' });
    expect(a.health().snapshot.formed).toBe(false);

    const cStarted = performance.now();
    apps.push(await node(network, 'c@test'));
    const c = apps[2]!.get(ClusterService);
    await waiting;
    expect(a.formed).toBe(true);
    expect(seen).toEqual([false, true]);
    await Promise.all([b, c].map(s => s.waitForFormation({ timeoutMs: 5_000 })));
    // c's own margin counts from its first answer, after it started
    expect(performance.now() - cStarted).toBeGreaterThanOrEqual(FORMATION.stableMarginMs - 1);
    for (const s of [a, b, c]) expect(s.health().ready).toEqual({ up: true });
  });

  it('rejects waitForFormation with ERR_FORMATION_TIMEOUT, and with ERR_CLUSTER_STOPPED on shutdown', async () => {
    const network = new InMemoryNetwork();
    apps = [await node(network, 'a@test')];
    const a = apps[0]!.get(ClusterService);
    await expect(a.waitForFormation({ timeoutMs: 200 })).rejects.toMatchObject({
      code: 'ERR_FORMATION_TIMEOUT',
      members: 0,
      required: 2,
    });
    const pending = expect(a.waitForFormation({ timeoutMs: 60_000 })).rejects.toMatchObject({
      code: 'ERR_CLUSTER_STOPPED',
    });
    let completed = false;
    a.formed$.subscribe({ complete: () => (completed = true) });
    await apps[0]!.close();
    apps = [];
    await pending;
    expect(completed).toBe(true);
  });

  it('is formed at once with no cluster configured (a cluster of one)', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [GenClusterModule.forRoot({ useEnv: false })],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    apps = [app];
    await app.init();
    const cluster = app.get(ClusterService);
    expect(cluster.started).toBe(false);
    expect(cluster.formed).toBe(true);
    await expect(cluster.waitForFormation()).resolves.toBeUndefined();
    expect(cluster.health().snapshot.formed).toBeUndefined();
  });
});
