import { type Server, createServer } from 'node:net';
import { Test } from '@nestjs/testing';
import { Registry, register } from 'prom-client';
import { InvalidConfigError } from '../core/index.js';
import { SYSTEM_TOPICS } from '../primitives/index.js';
import { freePort } from '../../test/support/ports.js';
import {
  GenClusterTestingModule,
  InMemoryNetwork,
  TestDiscovery,
  TestDist,
} from '../testing/index.js';
import { ClusterService } from './cluster.service.js';
import { checkOperationsOptions } from './cluster-operations.js';
import { GenClusterModule } from './gen-cluster.module.js';
import type { GenClusterModuleOptions } from './gen-cluster-options.interface.js';

const check = (options: Record<string, unknown>) => () =>
  checkOperationsOptions('default', options as GenClusterModuleOptions);

describe('the metrics and tracing options', () => {
  it('takes booleans, a registry, metricsOptions and every tracing mode', () => {
    for (const options of [
      {},
      { metrics: true },
      { metrics: false },
      { metrics: new Registry() },
      { metrics: true, metricsOptions: { maxTopics: 10, buckets: [0.01, 0.1, 1] } },
      { tracing: 'auto' },
      { tracing: true },
      { tracing: false },
    ])
      expect(check(options)).not.toThrow();
  });

  it.each([
    [{ metrics: 'yes' }, /"metrics" must be true, false or a prom-client Registry; received "yes"/],
    [{ metrics: {} }, /"metrics" must be true, false or a prom-client Registry/],
    [
      { metrics: { registerMetric: () => undefined, getSingleMetric: () => undefined } },
      /"metrics" must be true, false or a prom-client Registry/,
    ],
    [{ metricsOptions: { maxTopic: 3 } }, /maxTopic/],
    [{ metricsOptions: { maxTopics: 0 } }, /metricsOptions\.maxTopics/],
    [{ metricsOptions: { buckets: [1, 0.5] } }, /metricsOptions\.buckets.*ascending/],
    [{ metricsOptions: { buckets: [] } }, /metricsOptions\.buckets/],
    [{ tracing: 'on' }, /tracing/],
  ])('refuses %j, naming the option', (options, message) => {
    expect(check(options)).toThrow(InvalidConfigError);
    expect(check(options)).toThrow(message);
  });

  it('types a prom-client Registry as a MetricsRegistryLike', () => {
    const options: GenClusterModuleOptions = { metrics: new Registry() };
    expect(check(options as Record<string, unknown>)).not.toThrow();
  });

  it('fails the bootstrap of a module given a bad option', async () => {
    const compiling = Test.createTestingModule({
      imports: [
        GenClusterTestingModule.forRoot({
          network: new InMemoryNetwork(),
          node: 'a@test',
          tracing: 'yes' as never,
        }),
      ],
    }).compile();
    await expect(compiling).rejects.toThrow(InvalidConfigError);
  });
});

describe('metrics of a test node', () => {
  it('registers the series of the cluster in the given registry, and removes them on shutdown', async () => {
    const network = new InMemoryNetwork();
    const registry = new Registry();
    const apps = await Promise.all(
      ['a@test', 'b@test'].map(async node => {
        const moduleRef = await Test.createTestingModule({
          imports: [
            GenClusterTestingModule.forRoot({
              network,
              node,
              ...(node === 'a@test' ? { metrics: registry } : {}),
            }),
          ],
        }).compile();
        return moduleRef.createNestApplication({ logger: false }).init();
      }),
    );
    try {
      await apps[0]!.get(ClusterService).waitForMembers(1, { timeoutMs: 5_000 });
      expect(await registry.metrics()).toMatch(/^gen_cluster_members\{cluster="default"\} 1$/m);
      await apps[0]!.close();
      expect(await registry.metrics()).not.toMatch(/gen_cluster_members\{cluster="default"\}/);
    } finally {
      await Promise.all(apps.map(app => app.close()));
    }
  });
});

describe('operations of a cluster whose dist carries no messages', () => {
  it('refuses hooks and system calls saying why, and reads zero counters', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        GenClusterModule.forRoot({
          node: 'a@test',
          useEnv: false,
          discovery: new TestDiscovery(),
          dist: new TestDist(),
        }),
      ],
    }).compile();
    const app = await moduleRef.createNestApplication({ logger: false }).init();
    try {
      const cluster = app.get(ClusterService);
      expect(() => cluster.instrument({})).toThrow(
        expect.objectContaining({ code: 'ERR_MESSAGING_UNSUPPORTED' }),
      );
      await expect(cluster.system.info('b@test')).rejects.toMatchObject({
        code: 'ERR_MESSAGING_UNSUPPORTED',
      });
      expect(cluster.stats).toMatchObject({ messagesSent: 0, inFlight: 0 });
      expect(cluster.health().ready).toEqual({ up: true });
    } finally {
      await app.close();
    }
  });
});

describe('a cluster that fails to start on bootstrap', () => {
  let holder: Server | undefined;
  afterEach(async () => {
    const server = holder;
    holder = undefined;
    if (server) await new Promise(resolve => server.close(resolve));
  });

  /** A module whose TCP dist must listen on `port`, which the test holds. */
  const app = async (port: number, metrics: true | Registry) => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        GenClusterModule.forRoot({
          node: 'a@127.0.0.1',
          useEnv: false,
          discovery: new TestDiscovery(),
          dist: { strategy: 'tcp', port, cookie: 'c'.repeat(32) },
          metrics,
        }),
      ],
    }).compile();
    return moduleRef.createNestApplication({ logger: false });
  };
  const holdPort = async () => {
    const port = await freePort();
    holder = createServer();
    await new Promise<void>(resolve => holder!.listen(port, '127.0.0.1', resolve));
    return port;
  };

  it('releases its metrics and system topics before the error, without app.close()', async () => {
    const port = await holdPort();
    const registry = new Registry();
    const failed = await app(port, registry);
    try {
      await expect(failed.init()).rejects.toThrow(`port ${port} on 127.0.0.1 is already in use`);
      expect(await registry.metrics()).not.toMatch(/gen_cluster_/);
      // the system topics' handlers are gone: the topic can be served again (a second handler
      // of a topic throws DuplicateHandlerError); reserved topics take the internal flag
      const { messaging } = failed.get(ClusterService) as unknown as {
        messaging: { on(topic: string, handler: () => unknown, options: object): () => void };
      };
      const off = messaging.on(SYSTEM_TOPICS.info, () => 'mine', { internal: true });
      off();
    } finally {
      await failed.close();
    }
  });

  it('lets a retry in the same process fail with the start\'s error, not "already registered"', async () => {
    const port = await holdPort();
    const apps = [await app(port, true)];
    try {
      await expect(apps[0]!.init()).rejects.toThrow(`port ${port} on 127.0.0.1 is already in use`);
      expect(register.getSingleMetric('gen_cluster_members')).toBeUndefined();
      apps.push(await app(port, true));
      await expect(apps[1]!.init()).rejects.toThrow(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      for (const failed of apps) await failed.close();
    }
  });
});
