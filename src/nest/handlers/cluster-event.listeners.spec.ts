import {
  type CanActivate,
  Injectable,
  type INestApplication,
  type LoggerService,
  type Provider,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { ClusterEvent, Membership } from '../../core/index.js';
import { until } from '../../../test/support/wait.js';
import { GenClusterTestingModule, InMemoryNetwork } from '../../testing/index.js';
import { OnClusterEvent, OnMembershipChange, OnNodeDown, OnNodeUp } from '../index.js';

/** Errors logged through Nest, with their context. */
class ErrorLines implements LoggerService {
  readonly errors: { message: string; context: unknown }[] = [];
  log(): void {}
  warn(): void {}
  debug(): void {}
  verbose(): void {}
  error(message: unknown, ...rest: unknown[]): void {
    this.errors.push({ message: String(message), context: rest[rest.length - 1] });
  }
}

const network = () => new InMemoryNetwork();

async function node(
  net: InMemoryNetwork,
  name: string,
  providers: Provider[],
  logger: LoggerService | false = false,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [GenClusterTestingModule.forRoot({ network: net, node: name })],
    providers,
  }).compile();
  const app = moduleRef.createNestApplication({ logger });
  await app.init();
  return app;
}

@Injectable()
class Watcher {
  readonly calls: string[] = [];
  readonly snapshots: Membership[] = [];

  @OnNodeUp()
  up(event: ClusterEvent) {
    this.calls.push(`up:${event.type === 'nodeUp' ? event.node : '?'}`);
  }

  @OnNodeDown()
  down(event: ClusterEvent) {
    this.calls.push(`down:${event.type === 'nodeDown' ? `${event.node}:${event.reason}` : '?'}`);
  }

  @OnClusterEvent(['nodeUp', 'nodeDown'])
  either(event: ClusterEvent) {
    this.calls.push(`either:${event.type}`);
  }

  @OnMembershipChange()
  membership(snapshot: Membership) {
    this.snapshots.push(snapshot);
  }
}

@Injectable()
class Faulty {
  @OnNodeUp()
  throws(): never {
    throw new Error('sync listener bug');
  }

  @OnNodeUp()
  async rejects(): Promise<never> {
    await Promise.resolve();
    throw new Error('async listener bug');
  }
}

@Injectable()
class DenyAll implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

describe('node-event decorators', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('calls @OnNodeUp, @OnNodeDown, @OnClusterEvent and @OnMembershipChange methods', async () => {
    const net = network();
    const b = await node(net, 'b@test', [Watcher]);
    const a = await node(net, 'a@test', []);
    apps = [b, a];
    const watcher = b.get(Watcher);
    await until(() => watcher.calls.length === 2, 5_000, 'nodeUp on b');
    expect(watcher.calls.sort()).toEqual(['either:nodeUp', 'up:a@test']);
    net.partition('a@test', 'b@test');
    await until(() => watcher.calls.length === 4, 5_000, 'nodeDown on b');
    expect(watcher.calls.slice(2).sort()).toEqual([
      'down:a@test:connectionClosed',
      'either:nodeDown',
    ]);
    // the snapshot at bootstrap, then one per change
    expect(watcher.snapshots.map(s => s.members)).toEqual([[], ['a@test'], []]);
  });

  it('logs a throwing or rejecting listener with its method and event, and keeps calling the others', async () => {
    const logger = new ErrorLines();
    const net = network();
    const b = await node(net, 'b@test', [Faulty, Watcher], logger);
    const a = await node(net, 'a@test', [], logger);
    apps = [b, a];
    await until(() => logger.errors.length === 2, 5_000, 'two listener errors');
    expect(logger.errors.map(e => e.message).sort()).toEqual([
      'Faulty.rejects failed on cluster event "nodeUp": Error: async listener bug',
      'Faulty.throws failed on cluster event "nodeUp": Error: sync listener bug',
    ]);
    expect(logger.errors.every(e => e.context === 'GenCluster:default')).toBe(true);
    await until(() => b.get(Watcher).calls.includes('up:a@test'), 5_000, 'the other listener');
  });

  it('survives a logger that throws while it reports a failing listener: no uncaught error', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    try {
      let attempts = 0;
      const broken = new ErrorLines();
      broken.error = () => {
        attempts++;
        throw new Error('logger down');
      };
      const net = network();
      const b = await node(net, 'b@test', [Faulty, Watcher], broken);
      // the same logger for both: Nest's logger override is process-wide
      const a = await node(net, 'a@test', [], broken);
      apps = [b, a];
      await until(() => attempts >= 2, 5_000, 'both failures reported to the logger');
      await until(() => b.get(Watcher).calls.includes('up:a@test'), 5_000, 'the other listener');
      await new Promise(resolve => setImmediate(resolve));
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
    }
  });

  it('calls node-event methods outside the pipeline: an APP_GUARD does not block them', async () => {
    const net = network();
    const b = await node(net, 'b@test', [Watcher, { provide: APP_GUARD, useClass: DenyAll }]);
    const a = await node(net, 'a@test', []);
    apps = [b, a];
    await until(() => b.get(Watcher).calls.includes('up:a@test'), 5_000, 'nodeUp on b');
  });

  it('refuses an unknown event type at bootstrap, naming the method', async () => {
    @Injectable()
    class Misspelt {
      @OnClusterEvent('nodeup' as ClusterEvent['type'])
      handle() {}
    }
    const app = await Test.createTestingModule({
      imports: [GenClusterTestingModule.forRoot({ network: network(), node: 'a@test' })],
      providers: [Misspelt],
    })
      .compile()
      .then(m => m.createNestApplication({ logger: false }));
    await expect(app.init()).rejects.toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      message: expect.stringContaining(
        'Misspelt.handle listens to cluster event type "nodeup"',
      ) as unknown,
    });
    await app.close().catch(() => undefined);
  });
});
