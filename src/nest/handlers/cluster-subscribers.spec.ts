import {
  Injectable,
  type INestApplication,
  type LoggerService,
  type Provider,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { MessageContext } from '../../core/index.js';
import { until } from '../../../test/support/wait.js';
import { GenClusterTestingModule, InMemoryNetwork } from '../../testing/index.js';
import { ClusterService } from '../cluster.service.js';
import { getClusterToken } from '../get-cluster-token.util.js';
import {
  ClusterContext,
  ClusterHandler,
  ClusterPayload,
  OnClusterMessage,
  Payload,
} from '../index.js';
import { ClusterHandlersExplorer } from './cluster-handlers.explorer.js';

/** Warnings and errors logged through Nest. */
class Lines implements LoggerService {
  readonly lines: { level: string; message: string }[] = [];
  log(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown): void {
    this.lines.push({ level: 'warn', message: String(message) });
  }
  error(message: unknown): void {
    this.lines.push({ level: 'error', message: String(message) });
  }
}

/** Nodes `a` (caller) and `b` (serving `providers`); with `blue`, each also joins cluster "blue". */
async function twoNodes(
  providers: Provider[],
  options: { blue?: boolean; logger?: LoggerService } = {},
): Promise<INestApplication[]> {
  const network = new InMemoryNetwork();
  const blueNetwork = new InMemoryNetwork();
  const apps: INestApplication[] = [];
  for (const name of ['a', 'b']) {
    const imports = [GenClusterTestingModule.forRoot({ network, node: `${name}@test` })];
    if (options.blue === true)
      imports.push(
        GenClusterTestingModule.forRoot({
          network: blueNetwork,
          node: `${name}@blue`,
          name: 'blue',
        }),
      );
    const moduleRef = await Test.createTestingModule({
      imports,
      providers: name === 'b' ? providers : [],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: options.logger ?? false });
    apps.push(app);
    await app.init();
  }
  await apps[0].get(ClusterService).waitForMembers(1, { timeoutMs: 5_000 });
  return apps;
}

const seen: string[] = [];

@Injectable()
class PriceHandler {
  @ClusterHandler('prices.changed')
  handle(@Payload() payload: string, @ClusterContext() context: MessageContext) {
    seen.push(`handler:${payload}:${context.kind}`);
    return `handled ${payload}`;
  }
}

@Injectable()
class Audit {
  @OnClusterMessage('prices.changed')
  record(@ClusterPayload() payload: string, @ClusterContext() context: MessageContext) {
    seen.push(`audit:${payload}:${context.kind}`);
  }

  @OnClusterMessage('stock.a')
  @OnClusterMessage('stock.b')
  stock(payload: string, context: MessageContext) {
    seen.push(`stock:${context.topic}:${payload}`);
  }
}

@Injectable()
class Cache {
  @OnClusterMessage('prices.changed')
  evict(payload: string) {
    seen.push(`cache:${payload}`);
  }
}

@Injectable()
class Broken {
  @OnClusterMessage('prices.changed')
  fail(): never {
    throw new Error('subscriber bug');
  }
}

@Injectable()
class BlueOnly {
  @ClusterHandler('where', { cluster: 'blue' })
  blue(payload: unknown, context: MessageContext) {
    return `blue from ${context.from}`;
  }

  @ClusterHandler('where')
  main(payload: unknown, context: MessageContext) {
    return `default from ${context.from}`;
  }
}

describe('subscribers (@OnClusterMessage)', () => {
  let apps: INestApplication[] = [];
  beforeEach(() => {
    seen.length = 0;
  });
  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('delivers a broadcast to the request handler and to every subscriber once', async () => {
    apps = await twoNodes([PriceHandler, Audit, Cache]);
    apps[0].get(ClusterService).broadcast('prices.changed', 'p1');
    await until(() => seen.length === 3, 5_000, 'three receivers');
    expect(seen.sort()).toEqual(['audit:p1:oneWay', 'cache:p1', 'handler:p1:oneWay']);
  });

  it('never gives a request to a subscriber', async () => {
    apps = await twoNodes([PriceHandler, Audit, Cache]);
    await expect(
      apps[0].get(ClusterService).request('b@test', 'prices.changed', 'p2'),
    ).resolves.toBe('handled p2');
    expect(seen).toEqual(['handler:p2:request']);
  });

  it('stacks @OnClusterMessage: one method subscribes to two topics', async () => {
    apps = await twoNodes([Audit]);
    const a = apps[0].get(ClusterService);
    a.send('b@test', 'stock.a', 'x');
    a.send('b@test', 'stock.b', 'y');
    await until(() => seen.length === 2, 5_000, 'both topics');
    expect(seen.sort()).toEqual(['stock:stock.a:x', 'stock:stock.b:y']);
  });

  it('logs a failing subscriber and still runs the others', async () => {
    const logger = new Lines();
    apps = await twoNodes([Broken, Audit, Cache], { logger });
    apps[0].get(ClusterService).broadcast('prices.changed', 'p3');
    await until(() => seen.length === 2, 5_000, 'the other subscribers');
    await until(
      () => logger.lines.some(l => l.level === 'error' && l.message.includes('subscriber bug')),
      5_000,
      'the logged failure',
    );
  });

  it('registers on the cluster named by { cluster }', async () => {
    apps = await twoNodes([BlueOnly], { blue: true });
    const blue = apps[0].get<ClusterService>(getClusterToken('blue'));
    await blue.waitForMembers(1, { timeoutMs: 5_000 });
    await expect(blue.request('b@blue', 'where', null)).resolves.toBe('blue from a@blue');
    await expect(apps[0].get(ClusterService).request('b@test', 'where', null)).resolves.toBe(
      'default from a@test',
    );
  });

  it('removes its handlers and subscribers at application shutdown', async () => {
    apps = await twoNodes([PriceHandler, Audit]);
    apps[1].get(ClusterHandlersExplorer).onApplicationShutdown();
    await expect(
      apps[0].get(ClusterService).request('b@test', 'prices.changed', 'late'),
    ).rejects.toMatchObject({ code: 'ERR_NO_HANDLER' });
    expect(seen).toEqual([]);
  });
});
