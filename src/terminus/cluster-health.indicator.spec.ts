/**
 * ClusterHealthIndicator through terminus' HealthCheckService, served over HTTP by real Nest apps
 * (two nodes of one InMemoryNetwork, a named cluster beside the default one): 200 and 503 with
 * terminus' JSON.
 */
import { Controller, Get, type INestApplication, Query } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { ClusterService, InvalidConfigError, getClusterToken } from '../index.js';
import { GenClusterTestingModule, InMemoryNetwork } from '../testing/index.js';
import { until } from '../../test/support/wait.js';
import { ClusterHealthIndicator, ClusterHealthModule } from './index.js';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly cluster: ClusterHealthIndicator,
  ) {}

  @Get('ready')
  @HealthCheck()
  ready(@Query('min') min?: string): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.cluster.isReady('cluster', min === undefined ? {} : { minMembers: Number(min) }),
    ]);
  }

  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([() => this.cluster.isAlive()]);
  }

  @Get('blue')
  @HealthCheck()
  blue(): Promise<HealthCheckResult> {
    return this.health.check([() => this.cluster.isReady('blue', { cluster: 'blue' })]);
  }
}

async function node(network: InMemoryNetwork, name: string, blue: InMemoryNetwork) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      GenClusterTestingModule.forRoot({ network, node: `${name}@test` }),
      GenClusterTestingModule.forRoot({ network: blue, node: `${name}@blue`, name: 'blue' }),
      ClusterHealthModule,
    ],
    controllers: [HealthController],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

async function get(app: INestApplication, path: string) {
  const { port } = (app.getHttpServer() as { address(): AddressInfo }).address();
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: (await response.json()) as unknown };
}

describe('ClusterHealthIndicator with HealthCheckService', () => {
  let apps: INestApplication[] = [];

  beforeAll(async () => {
    const network = new InMemoryNetwork();
    const blue = new InMemoryNetwork();
    apps = [await node(network, 'a', blue), await node(network, 'b', blue)];
    await apps[0]!.get(ClusterService).waitForMembers(1, { timeoutMs: 5_000 });
    await apps[0]!
      .get<ClusterService>(getClusterToken('blue'))
      .waitForMembers(1, { timeoutMs: 5_000 });
    // b may connect to a before a's own discovery round has found b: wait for both counts.
    const cluster = apps[0]!.get(ClusterService);
    await until(() => cluster.health().snapshot.discovered === 1, 5_000, "a's discovery of b");
  });

  afterAll(async () => {
    await Promise.all(apps.map(app => app.close()));
  });

  it('answers 200 with the details when ready', async () => {
    const up = { status: 'up', members: 1, minMembers: 1, discovered: 1, state: 'running' };
    expect(await get(apps[0]!, '/health/ready?min=1')).toEqual({
      status: 200,
      body: { status: 'ok', info: { cluster: up }, error: {}, details: { cluster: up } },
    });
    expect((await get(apps[0]!, '/health/live')).body).toMatchObject({
      status: 'ok',
      info: { cluster: { status: 'up', minMembers: 0 } },
    });
  });

  it('answers 503 with the reason when too few members are connected', async () => {
    const down = {
      status: 'down',
      members: 1,
      minMembers: 2,
      discovered: 1,
      state: 'running',
      reason: 'tooFewMembers',
      message: expect.any(String),
    };
    expect(await get(apps[0]!, '/health/ready?min=2')).toEqual({
      status: 503,
      body: { status: 'error', info: {}, error: { cluster: down }, details: { cluster: down } },
    });
  });

  it('checks a named cluster', async () => {
    expect((await get(apps[1]!, '/health/blue')).body).toMatchObject({
      status: 'ok',
      info: { blue: { status: 'up', members: 1 } },
    });
  });

  it('refuses a cluster that is not configured', async () => {
    const indicator = apps[0]!.get(ClusterHealthIndicator);
    await expect(indicator.isReady('cluster', { cluster: 'green' })).rejects.toThrow(
      InvalidConfigError,
    );
    await expect(indicator.isAlive('cluster', { cluster: 'green' })).rejects.toThrow(/"green"/);
  });
});

describe('ClusterHealthIndicator during shutdown', () => {
  it('is not ready and still alive once the application is closing', async () => {
    const network = new InMemoryNetwork();
    const moduleRef = await Test.createTestingModule({
      imports: [
        GenClusterTestingModule.forRoot({ network, node: 'solo@test' }),
        ClusterHealthModule,
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    const indicator = app.get(ClusterHealthIndicator);
    expect(await indicator.isReady()).toMatchObject({ cluster: { status: 'up' } });
    await app.close();
    expect(await indicator.isReady()).toMatchObject({
      cluster: { status: 'down', reason: expect.stringMatching(/^(leaving|stopped|draining)$/) },
    });
    expect(await indicator.isAlive()).toMatchObject({ cluster: { status: 'up' } });
  });
});

describe('ClusterHealthIndicator with a formation gate', () => {
  it('is down with reason notFormed and formed: false until the cluster forms, then up with formed: true', async () => {
    const network = new InMemoryNetwork();
    const apps: INestApplication[] = [];
    const start = async (name: string) => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          GenClusterTestingModule.forRoot({
            network,
            node: `${name}@test`,
            formation: { minMembers: 1, stableMarginMs: 300 },
          }),
          ClusterHealthModule,
        ],
      }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      apps.push(app);
      await app.init();
      return app;
    };
    try {
      const a = await start('a');
      const indicator = a.get(ClusterHealthIndicator);
      const cluster = a.get(ClusterService);
      // alone, with one peer required: not formed, whatever the probe's own minMembers says
      await until(() => cluster.health().snapshot.lastDiscoveryOkAgoMs !== undefined, 5_000);
      expect(await indicator.isReady('cluster', { minMembers: 0 })).toEqual({
        cluster: {
          status: 'down',
          members: 0,
          minMembers: 0,
          discovered: 0,
          state: 'running',
          formed: false,
          reason: 'notFormed',
          message: expect.stringContaining('has not formed yet'),
        },
      });
      await start('b');
      await cluster.waitForFormation({ timeoutMs: 5_000 });
      expect(await indicator.isReady()).toEqual({
        cluster: expect.objectContaining({ status: 'up', formed: true, members: 1 }),
      });
    } finally {
      await Promise.all(apps.map(app => app.close()));
    }
  });
});
