/**
 * The service registry and `call` through the testing module: three Nest apps on one
 * InMemoryNetwork, with nothing test-specific in the library (the in-memory dist carries the
 * registry as the TCP mesh does).
 */
import { Injectable, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  type ClusterEvent,
  ClusterHandler,
  ClusterService,
  Payload,
  defineTopic,
} from '../index.js';
import { GenClusterTestingModule, InMemoryNetwork } from './index.js';
import { until } from '../../test/support/wait.js';

const NODES = ['a@test', 'b@test', 'c@test'] as const;
/** Served by every node through @ClusterHandler. */
const Prices = defineTopic<string, { sku: string; node: string }>('prices.get');
/** Served by every node through on(), registered in a constructor. */
const Stock = defineTopic<string, { sku: string; node: string }>('stock.get');

@Injectable()
class PricesHandler {
  constructor(private readonly cluster: ClusterService) {
    cluster.on(Stock, sku => ({ sku, node: cluster.self }));
  }

  @ClusterHandler(Prices)
  get(@Payload() sku: string): { sku: string; node: string } {
    return { sku, node: this.cluster.self };
  }
}

@Module({ providers: [PricesHandler] })
class PricesModule {}

async function startNode(
  network: InMemoryNetwork,
  node: string,
  drain?: { timeoutMs: number },
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [GenClusterTestingModule.forRoot({ network, node, drain }), PricesModule],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

/** How many of `nodes` answered, by node. */
function countBy(nodes: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const node of nodes) counts[node] = (counts[node] ?? 0) + 1;
  return counts;
}

describe('GenClusterTestingModule: services across the cluster', () => {
  let network: InMemoryNetwork;
  let apps: INestApplication[] = [];
  let a: ClusterService;
  let b: ClusterService;
  let c: ClusterService;

  beforeEach(async () => {
    network = new InMemoryNetwork();
    apps = await Promise.all(NODES.map(node => startNode(network, node)));
    [a, b, c] = apps.map(app => app.get(ClusterService)) as [
      ClusterService,
      ClusterService,
      ClusterService,
    ];
    await Promise.all(
      [a, b, c].flatMap(s => [
        s.waitForServers(Prices, { count: 3, timeoutMs: 10_000 }),
        s.waitForServers(Stock, { count: 3, timeoutMs: 10_000 }),
      ]),
    );
  });

  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('lists @ClusterHandler and on() topics on every node, this one included', () => {
    for (const s of [a, b, c]) {
      expect(s.servers(Prices)).toEqual([...NODES]);
      expect(s.servers('stock.get')).toEqual([...NODES]);
      expect(s.registry?.services().get('prices.get')).toEqual({
        servers: [...NODES],
        subscribers: [],
      });
    }
  });

  it('call() spreads round-robin over the servers', async () => {
    const answers = await Promise.all(
      Array.from({ length: 300 }, (_, i) => a.call(Prices, `sku-${i}`)),
    );
    const counts = countBy(answers.map(answer => answer.node));
    expect(Object.keys(counts).sort()).toEqual([...NODES]);
    for (const node of NODES) expect(Math.abs(counts[node]! - 100)).toBeLessThanOrEqual(1);
  });

  it('a key sticks to its owner, the same on every node', async () => {
    for (let i = 0; i < 30; i++) {
      const key = `user-${i}`;
      const owner = a.ownerOf(key, { topic: Stock });
      expect(owner).toBeDefined();
      expect(b.ownerOf(key, { topic: Stock })).toBe(owner);
      expect(c.ownerOf(key, { topic: Stock })).toBe(owner);
      // without a topic every member counts: all serve Stock here, so the owner is the same
      expect(a.ownerOf(key)).toBe(owner);
      for (const s of [a, b, c]) {
        const answers = await Promise.all(
          [0, 1, 2].map(() => s.call(Stock, key, { select: { key } })),
        );
        expect(answers.map(answer => answer.node)).toEqual([owner, owner, owner]);
      }
    }
  });

  it('a partition removes the node from servers() in the nodeDown delivery; heal brings it back', async () => {
    const seen: string[][] = [];
    const sub = a.events$.subscribe((event: ClusterEvent) => {
      if (event.type === 'nodeDown' && event.node === 'c@test') seen.push(a.servers(Prices));
    });
    network.partition('a@test', 'c@test');
    sub.unsubscribe();
    expect(seen).toEqual([['a@test', 'b@test']]);
    expect(a.servers(Stock)).toEqual(['a@test', 'b@test']);
    // c's other peer still lists it
    expect(b.servers(Prices)).toEqual([...NODES]);
    network.heal('a@test', 'c@test');
    await Promise.all([a, c].map(s => s.waitForServers(Prices, { count: 3, timeoutMs: 10_000 })));
    expect(a.servers(Prices)).toEqual([...NODES]);
    expect(c.servers(Prices)).toEqual([...NODES]);
  });

  it('a node shutting down drains: calls under load see no failure', async () => {
    // c serves a slow topic; a keeps 10 calls in flight with no retries while c's app closes
    const slow = defineTopic<number, string>('work.slow');
    const serve = (s: ClusterService) =>
      s.on(slow, () => new Promise<string>(resolve => setTimeout(() => resolve(s.self), 20)));
    serve(b);
    serve(c);
    await a.waitForServers(slow, { count: 2, timeoutMs: 10_000 });
    const servedBy: string[] = [];
    const failures: unknown[] = [];
    let stop = false;
    const worker = async () => {
      for (let i = 0; !stop; i++) {
        try {
          servedBy.push(await a.call(slow, i, { retries: 0, timeoutMs: 10_000 }));
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const workers = Array.from({ length: 10 }, worker);
    await until(() => servedBy.filter(n => n === 'c@test').length >= 20, 10_000, 'c under load');
    const closing = apps[2]!.close();
    await until(() => !a.nodes().includes('c@test'), 15_000, 'c gone from a');
    await closing;
    const after = servedBy.length;
    await until(() => servedBy.length >= after + 50, 10_000, '50 calls after c left');
    stop = true;
    await Promise.all(workers);
    apps.pop();
    expect(failures).toEqual([]);
    expect(a.servers(slow)).toEqual(['b@test']);
    expect(servedBy.slice(after)).not.toContain('c@test');
  });
});
