import { Injectable, type INestApplication, Module, type Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { MessageContext } from '../../core/index.js';
import { defineTopic } from '../../distribution/index.js';
import { until } from '../../../test/support/wait.js';
import { GenClusterTestingModule, InMemoryNetwork } from '../../testing/index.js';
import { ClusterService } from '../cluster.service.js';
import { ClusterContext, ClusterHandler, OnClusterMessage, OnNodeUp, Payload } from '../index.js';

/** Starts one app per node name on `network`, each with `providers`; waits for full membership. */
async function startNodes(
  names: readonly string[],
  providers: Provider[],
  extraImports: unknown[] = [],
): Promise<INestApplication[]> {
  const network = new InMemoryNetwork();
  const apps: INestApplication[] = [];
  for (const node of names) {
    const moduleRef = await Test.createTestingModule({
      imports: [GenClusterTestingModule.forRoot({ network, node }), ...(extraImports as [])],
      providers,
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    apps.push(app);
    await app.init();
  }
  await Promise.all(
    apps.map(app => app.get(ClusterService).waitForMembers(names.length - 1, { timeoutMs: 5_000 })),
  );
  return apps;
}

/** Compiles and initializes one node; what `init()` rejects with, or `undefined`. */
async function bootError(providers: Provider[], imports: unknown[] = []): Promise<unknown> {
  const network = new InMemoryNetwork();
  const moduleRef = await Test.createTestingModule({
    imports: [GenClusterTestingModule.forRoot({ network, node: 'a@test' }), ...(imports as [])],
    providers,
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  try {
    await app.init();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await app.close().catch(() => undefined);
  }
}

@Injectable()
class Prices {
  readonly seen: unknown[] = [];

  @ClusterHandler('prices.get')
  get(@Payload() query: { sku: string }, @ClusterContext() context: MessageContext) {
    this.seen.push(context);
    return { sku: query.sku, price: 42, at: context.from };
  }

  @ClusterHandler('prices.sku')
  sku(@Payload('sku') sku: string) {
    return `sku=${sku}`;
  }

  @ClusterHandler('prices.raw')
  raw(payload: unknown, context: MessageContext) {
    return { payload, from: context.from, topic: context.topic, kind: context.kind };
  }
}

const GetPrice = defineTopic<{ sku: string }, { price: number }>('typed.price');
const PriceChanged = defineTopic<{ sku: string }>('typed.changed');

@Injectable()
class TypedPrices {
  readonly changed: string[] = [];

  @ClusterHandler(GetPrice)
  get(@Payload() query: { sku: string }): { price: number } {
    return { price: query.sku.length };
  }

  @OnClusterMessage(PriceChanged)
  onChange(@Payload() change: { sku: string }) {
    this.changed.push(change.sku);
  }
}

describe('ClusterHandlersExplorer', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('registers a @ClusterHandler that answers requests from another node', async () => {
    apps = await startNodes(['a@test', 'b@test'], [Prices]);
    const a = apps[0].get(ClusterService);
    await expect(a.request('b@test', 'prices.get', { sku: 'x1' })).resolves.toEqual({
      sku: 'x1',
      price: 42,
      at: 'a@test',
    });
  });

  it('takes typed topics (defineTopic) in the decorators', async () => {
    apps = await startNodes(['a@test', 'b@test'], [TypedPrices]);
    const a = apps[0].get(ClusterService);
    await expect(a.request('b@test', GetPrice, { sku: 'abcd' })).resolves.toEqual({ price: 4 });
    a.send('b@test', PriceChanged, { sku: 's1' });
    await until(() => apps[1].get(TypedPrices).changed.length === 1, 5_000, 'the subscriber');
    expect(apps[1].get(TypedPrices).changed).toEqual(['s1']);
  });

  it('gives a method without parameter decorators (payload, context)', async () => {
    apps = await startNodes(['a@test', 'b@test'], [Prices]);
    const a = apps[0].get(ClusterService);
    await expect(a.request('b@test', 'prices.raw', [1, 2])).resolves.toEqual({
      payload: [1, 2],
      from: 'a@test',
      topic: 'prices.raw',
      kind: 'request',
    });
  });

  it("gives @Payload('sku') one property of the payload", async () => {
    apps = await startNodes(['a@test', 'b@test'], [Prices]);
    const a = apps[0].get(ClusterService);
    await expect(a.request('b@test', 'prices.sku', { sku: 'x9', other: 1 })).resolves.toBe(
      'sku=x9',
    );
  });

  it('gives @ClusterContext() from, topic, kind and the abort signal of a request', async () => {
    apps = await startNodes(['a@test', 'b@test'], [Prices]);
    const a = apps[0].get(ClusterService);
    await a.request('b@test', 'prices.get', { sku: 'x1' });
    const context = apps[1].get(Prices).seen[0] as MessageContext;
    expect(context).toMatchObject({ from: 'a@test', topic: 'prices.get', kind: 'request' });
    expect(context.signal).toBeInstanceOf(AbortSignal);
    expect(context.signal?.aborted).toBe(false);
  });
});

@Injectable()
class LegacyPrices {
  @ClusterHandler('prices.get')
  get() {
    return 'legacy';
  }
}

@Injectable()
class ImperativePrices {
  constructor(cluster: ClusterService) {
    cluster.on('prices.get', () => 'imperative');
  }
}

@Injectable()
class BlueHandler {
  @ClusterHandler('blue.topic', { cluster: 'blue' })
  handle() {
    return 'blue';
  }
}

@Injectable()
class ReservedHandler {
  @ClusterHandler('$gc.registry')
  handle() {
    return 'mine';
  }
}

@Injectable()
class EmptyTopicHandler {
  @ClusterHandler('')
  handle() {
    return 'never';
  }
}

@Injectable()
class Twice {
  @ClusterHandler('twice')
  @OnClusterMessage('twice')
  handle() {
    return 'twice';
  }
}

@Module({ providers: [LegacyPrices] })
class LegacyModule {}

describe('ClusterHandlersExplorer bootstrap errors', () => {
  it('refuses two request handlers of one topic, naming both', async () => {
    await expect(bootError([Prices], [LegacyModule])).resolves.toMatchObject({
      code: 'ERR_DUPLICATE_HANDLER',
      topic: 'prices.get',
      message: expect.stringMatching(
        /Topic "prices\.get" of cluster "default" has two request handlers: (Prices\.get and LegacyPrices\.get|LegacyPrices\.get and Prices\.get)\./,
      ) as unknown,
    });
  });

  it('refuses a decorated handler of a topic that ClusterService.on() registered first', async () => {
    const error = await bootError([ImperativePrices, Prices]);
    expect(error).toMatchObject({ code: 'ERR_DUPLICATE_HANDLER', topic: 'prices.get' });
    expect((error as Error).message).toContain(
      'Prices.get and a handler registered with ClusterService.on()',
    );
  });

  it('refuses an unknown cluster name, listing the configured ones', async () => {
    const error = await bootError([BlueHandler]);
    expect(error).toMatchObject({ code: 'ERR_INVALID_CONFIG', option: 'cluster' });
    expect((error as Error).message).toBe(
      'BlueHandler.handle names cluster "blue", which is not configured. Configured clusters: "default".',
    );
  });

  it('refuses a reserved topic and an invalid one, naming the method', async () => {
    await expect(bootError([ReservedHandler])).resolves.toMatchObject({
      code: 'ERR_INVALID_TOPIC',
      reason: 'reserved',
      message: expect.stringContaining('ReservedHandler.handle: ') as unknown,
    });
    await expect(bootError([EmptyTopicHandler])).resolves.toMatchObject({
      code: 'ERR_INVALID_TOPIC',
      reason: 'form',
      message: expect.stringContaining('EmptyTopicHandler.handle: ') as unknown,
    });
  });

  it('refuses one method as both request handler and subscriber of one topic', async () => {
    const error = await bootError([Twice]);
    expect(error).toMatchObject({ code: 'ERR_INVALID_CONFIG' });
    expect((error as Error).message).toContain(
      'Twice.handle is both @ClusterHandler and @OnClusterMessage of topic "twice"',
    );
  });

  it('refuses a static method or an accessor when the class is decorated', () => {
    expect(() => {
      class StaticHost {
        @ClusterHandler('static.topic')
        static handle() {
          return 1;
        }
      }
      return StaticHost;
    }).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_CONFIG',
        message: expect.stringContaining('@ClusterHandler() on StaticHost.handle') as unknown,
      }),
    );
    expect(() => {
      class AccessorHost {
        @OnClusterMessage('accessor.topic')
        get value() {
          return 1;
        }
      }
      return AccessorHost;
    }).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }));
    // a field, as plain JavaScript can decorate one: no descriptor
    class FieldHost {}
    const decorate = OnNodeUp() as unknown as (
      target: object,
      key: string,
      descriptor?: undefined,
    ) => void;
    expect(() => decorate(FieldHost.prototype, 'field')).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_CONFIG',
        message: expect.stringContaining('@OnNodeUp() on FieldHost.field') as unknown,
      }),
    );
  });
});
