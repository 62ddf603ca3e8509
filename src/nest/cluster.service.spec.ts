import {
  HttpException,
  type INestApplication,
  Injectable,
  Module,
  NotFoundException,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { threeNestNodes } from '../../test/support/nest-nodes.js';
import { until } from '../../test/support/wait.js';
import {
  type ClusterMessaging,
  type DistStrategy,
  GenClusterError,
  type MessageContext,
  type MessageHandler,
  type RequestOptions,
} from '../core/index.js';
import {
  MappedHandlerError,
  RemoteError,
  defineTopic,
  isRemoteError,
} from '../distribution/index.js';
import { TestDiscovery, TestDist } from '../testing/index.js';
import { ClusterService } from './cluster.service.js';
import { RemoteHttpException } from './errors/index.js';
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
      // subscribers are kept as handlers are; asking every member asks nobody
      expect(typeof cluster.subscribe('orders.count', () => undefined)).toBe('function');
      await expect(cluster.requestAll('orders.count', null)).resolves.toEqual([]);
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

// --- Messaging through the service: typed topics, subscribers, requestAll, error mapping -------

const Prices = defineTopic<{ sku: string }, { sku: string; cents: number }>('prices.get');
const News = defineTopic<{ headline: string }>('news');

describe('ClusterService messaging', () => {
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

  it('takes a typed topic wherever it takes a name', async () => {
    const seen: unknown[] = [];
    b.on(Prices, (query, context) => {
      seen.push([query, context.topic, context.kind]);
      return { sku: query.sku, cents: 5 };
    });
    await expect(a.request('b@test', Prices, { sku: 's-1' })).resolves.toEqual({
      sku: 's-1',
      cents: 5,
    });
    a.send('b@test', Prices, { sku: 's-2' });
    expect(a.broadcast(Prices, { sku: 's-3' })).toBe(2);
    await until(() => seen.length === 3, 5_000, 'three messages on b');
    expect(seen).toEqual([
      [{ sku: 's-1' }, 'prices.get', 'request'],
      [{ sku: 's-2' }, 'prices.get', 'oneWay'],
      [{ sku: 's-3' }, 'prices.get', 'oneWay'],
    ]);
  });

  it('subscribe() adds subscribers beside the request handler: one-way messages reach all, requests only the handler', async () => {
    const got: string[] = [];
    b.on(News, news => void got.push(`handler:${news.headline}`));
    const off = b.subscribe(News, news => void got.push(`first:${news.headline}`));
    b.subscribe('news', (news: { headline: string }) => void got.push(`second:${news.headline}`));
    expect(a.broadcast(News, { headline: 'up' })).toBe(2);
    await until(() => got.length === 3, 5_000, 'three receipts');
    expect(got.sort()).toEqual(['first:up', 'handler:up', 'second:up']);
    await a.request('b@test', News, { headline: 'asked' });
    off();
    a.send('b@test', News, { headline: 'later' });
    await until(() => got.length === 6, 5_000, 'two more receipts');
    expect(got.slice(3).sort()).toEqual(['handler:asked', 'handler:later', 'second:later']);
  });

  it('a subscriber that throws does not stop the others', async () => {
    const got: string[] = [];
    b.subscribe(News, () => {
      throw new Error('first fails');
    });
    b.subscribe(News, () => Promise.reject(new NotFoundException('second fails too')));
    b.subscribe(News, news => void got.push(news.headline));
    a.send('b@test', News, { headline: 'still here' });
    await until(() => got.length === 1, 5_000, 'the third subscriber');
    expect(got).toEqual(['still here']);
  });

  it("maps an on() handler's HttpException to a RemoteHttpException with its status and body", async () => {
    b.on('prices.missing', (sku: string) => {
      throw new NotFoundException(`no price for ${sku}`);
    });
    c.on('prices.missing', async (sku: string) => {
      await Promise.resolve();
      throw new HttpException({ reason: 'gone', sku }, 410);
    });
    const local = new NotFoundException('no price for s-9');
    const thrown = await rejectionOf(a.request('b@test', 'prices.missing', 's-9'));
    expect(thrown).toBeInstanceOf(RemoteHttpException);
    expect(thrown).toBeInstanceOf(HttpException);
    expect(isRemoteError(thrown)).toBe(true);
    const remote = thrown as RemoteHttpException;
    expect(remote.getStatus()).toBe(404);
    expect(remote.getResponse()).toEqual(local.getResponse());
    expect(remote).toMatchObject({
      node: 'b@test',
      topic: 'prices.missing',
      remoteName: 'NotFoundException',
    });
    const later = (await rejectionOf(
      a.request('c@test', 'prices.missing', 's-8'),
    )) as HttpException;
    expect(later).toBeInstanceOf(RemoteHttpException);
    expect([later.getStatus(), later.getResponse()]).toEqual([410, { reason: 'gone', sku: 's-8' }]);
  });

  it('keeps other remote failures RemoteErrors without a status', async () => {
    b.on('fails', () => {
      throw new TypeError('plain');
    });
    const thrown = await rejectionOf(a.request('b@test', 'fails', null));
    expect(thrown).toBeInstanceOf(RemoteError);
    expect(thrown).toMatchObject({ remoteName: 'TypeError', remoteMessage: 'plain' });
    expect((thrown as RemoteError).status).toBeUndefined();
  });

  it('requestAll gives one result per node, a remote HttpException as a RemoteHttpException inside its result', async () => {
    b.on(Prices, query => ({ sku: query.sku, cents: 1 }));
    c.on(Prices, query => {
      throw new NotFoundException(`no ${query.sku} on c`);
    });
    const results = await a.requestAll(Prices, { sku: 'x' });
    expect(results.map(r => [r.node, r.ok])).toEqual([
      ['b@test', true],
      ['c@test', false],
    ]);
    expect(results[0]).toEqual({ node: 'b@test', ok: true, value: { sku: 'x', cents: 1 } });
    const failed = results[1]!;
    if (failed.ok) throw new Error('c answered');
    expect(failed.error).toBeInstanceOf(RemoteHttpException);
    expect((failed.error as RemoteHttpException).getStatus()).toBe(404);
    expect((failed.error as RemoteHttpException).getResponse()).toEqual(
      new NotFoundException('no x on c').getResponse(),
    );
  });
});

/** Runs `work` on the ClusterService of an app whose one cluster uses `dist` (not started). */
async function withDist<T>(
  dist: DistStrategy,
  work: (cluster: ClusterService) => Promise<T>,
): Promise<T> {
  @Module({
    imports: [
      GenClusterModule.forRoot({
        node: 'self@10.0.0.1',
        discovery: new TestDiscovery([]),
        dist,
        useEnv: false,
        autoStart: false,
      }),
    ],
  })
  class App {}
  const moduleRef = await Test.createTestingModule({ imports: [App] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  try {
    return await work(app.get(ClusterService));
  } finally {
    await app.close();
  }
}

describe('ClusterService.on() wrapper', () => {
  /** A custom dist whose messaging has only the four original methods, recording registrations. */
  class OldMessagingDist extends TestDist {
    readonly handlers = new Map<string, MessageHandler>();
    readonly requests: { node: string; topic: string; options: unknown }[] = [];
    readonly messaging: ClusterMessaging = {
      send: () => undefined,
      broadcast: () => 0,
      request: <T>(node: string, topic: string, payload: unknown, options?: RequestOptions) => {
        this.requests.push({ node, topic, options });
        if (node.startsWith('full@')) throw new GenClusterError('ERR_QUEUE_FULL', `${node} full`);
        return node.startsWith('down@')
          ? Promise.reject(new GenClusterError('ERR_NODE_DOWN', `${node} is down`))
          : Promise.resolve(`${String(payload)} from ${node}` as T);
      },
      on: (topic, handler) => {
        this.handlers.set(topic, handler as MessageHandler);
        return () => this.handlers.delete(topic);
      },
    };
  }

  const context: MessageContext = {
    from: 'b@10.0.0.2',
    topic: 't',
    kind: 'request',
    signal: undefined,
  };

  it('keeps a synchronous answer synchronous, and maps what a handler throws', async () => {
    const dist = new OldMessagingDist();
    await withDist(dist, async cluster => {
      cluster.on('sync', (n: number) => n + 1);
      cluster.on('throws', () => {
        throw new NotFoundException('nope');
      });
      cluster.on('plain', () => {
        throw new Error('plain');
      });
      const sync = dist.handlers.get('sync')!;
      expect(sync(41, context)).toBe(42);
      let thrown: unknown;
      try {
        dist.handlers.get('throws')!(null, context);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(MappedHandlerError);
      expect(thrown).toMatchObject({ status: 404, log: 'debug' });
      expect((thrown as MappedHandlerError).error).toBeInstanceOf(NotFoundException);
      expect(() => dist.handlers.get('plain')!(null, context)).toThrow(
        expect.objectContaining({ log: 'error', status: undefined }),
      );
    });
  });

  it("maps an async handler's rejection, and passes its answer through", async () => {
    const dist = new OldMessagingDist();
    await withDist(dist, async cluster => {
      cluster.on('async', async (n: number) => Promise.resolve(n * 2));
      cluster.on('rejects', async () => {
        await Promise.resolve();
        throw new HttpException('teapot', 418);
      });
      await expect(dist.handlers.get('async')!(21, context)).resolves.toBe(42);
      const rejected = await rejectionOf(dist.handlers.get('rejects')!(null, context) as never);
      expect(rejected).toBeInstanceOf(MappedHandlerError);
      expect(rejected).toMatchObject({ status: 418, response: 'teapot' });
    });
  });

  it('registers the explorer handlers unwrapped (registerHandler): their proxies map errors themselves', async () => {
    const dist = new OldMessagingDist();
    await withDist(dist, async cluster => {
      const own = new NotFoundException('mapped by the pipeline');
      cluster.registerHandler('raw', () => {
        throw own;
      });
      expect(() => dist.handlers.get('raw')!(null, context)).toThrow(own);
      expect(cluster.subscribersSupported).toBe(false);
    });
  });

  it('refuses subscribers with ERR_MESSAGING_UNSUPPORTED when the messaging has none', async () => {
    await withDist(new OldMessagingDist(), async cluster => {
      expect(() => cluster.subscribe('news', () => undefined)).toThrow(
        expect.objectContaining({
          code: 'ERR_MESSAGING_UNSUPPORTED',
          message: expect.stringContaining('subscribe()'),
        }),
      );
    });
  });

  it('builds requestAll from single requests when the messaging has none', async () => {
    const dist = new OldMessagingDist();
    await withDist(dist, async cluster => {
      const results = await cluster.requestAll<string>('q', 'hi', {
        nodes: ['b@10.0.0.2', 'down@10.0.0.3', 'b@10.0.0.2', 'full@10.0.0.4'],
        includeSelf: true,
        timeoutMs: 1_234,
      });
      // self first, as Messaging.requestAll; a synchronous refusal is that node's result
      expect(results.map(r => (r.ok ? [r.node, r.value] : [r.node, r.error.message]))).toEqual([
        ['self@10.0.0.1', 'hi from self@10.0.0.1'],
        ['b@10.0.0.2', 'hi from b@10.0.0.2'],
        ['down@10.0.0.3', 'down@10.0.0.3 is down'],
        ['full@10.0.0.4', 'full@10.0.0.4 full'],
      ]);
      expect(dist.requests.map(r => r.options)).toEqual(
        Array(4).fill({ timeoutMs: 1_234, signal: undefined }),
      );
    });
  });
});

describe('ClusterService with a dist that carries no messages', () => {
  it('fails subscribe() and requestAll() with ERR_MESSAGING_UNSUPPORTED, as the other calls', async () => {
    await withDist(new TestDist(), async cluster => {
      const unsupported = expect.objectContaining({
        code: 'ERR_MESSAGING_UNSUPPORTED',
        message: expect.stringContaining('"test" does not carry messages'),
      });
      expect(() => cluster.subscribe('news', () => undefined)).toThrow(unsupported);
      await expect(cluster.requestAll('news', null)).rejects.toEqual(unsupported);
    });
  });
});

/** The rejection of `promise` (fails the test if it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    value => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}
