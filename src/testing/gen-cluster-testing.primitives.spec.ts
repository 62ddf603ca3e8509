/**
 * Leadership, singletons, gated scheduled jobs, process groups and quorum through the testing
 * module: three Nest apps on one InMemoryNetwork, with a real ScheduleModule and real timers.
 */
import { Injectable, Module, type Provider } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Cron, Interval, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import {
  ClusterContext,
  ClusterService,
  ClusterSingleton,
  type MessageContext,
  OnClusterMessage,
  type OnSingletonStart,
  type OnSingletonStop,
  Payload,
  type SingletonContext,
} from '../index.js';
import {
  GenClusterTestingModule,
  type GenClusterTestingOptions,
  InMemoryNetwork,
} from './index.js';
import { until } from '../../test/support/wait.js';

const NODES = ['a@test', 'b@test', 'c@test'] as const;
/** Start times that make a@test lead, then b@test, then c@test. */
const STARTED = { 'a@test': 1_000, 'b@test': 2_000, 'c@test': 3_000 } as const;
const FAST = { settleMs: 50 } as const;

/** Every start and stop of the class singleton, on every node, in the order they happened. */
const lifecycle: { node: string; kind: 'start' | 'stop'; term: number }[] = [];
/** Calls of each gated job that ran, by job, node. */
const ran: Record<string, string[]> = {};
/** What each node received on `group.news`. */
const news: { node: string; from: string; payload: unknown }[] = [];

@Injectable()
@ClusterSingleton('reporter')
class Reporter implements OnSingletonStart, OnSingletonStop {
  constructor(private readonly cluster: ClusterService) {}

  async onSingletonStart({ term }: SingletonContext): Promise<void> {
    lifecycle.push({ node: this.cluster.self, kind: 'start', term });
  }

  async onSingletonStop({ term }: SingletonContext): Promise<void> {
    // a stop that takes a while: the successor must still start only after it
    await new Promise(resolve => setTimeout(resolve, 30));
    lifecycle.push({ node: this.cluster.self, kind: 'stop', term });
  }
}

@Injectable()
class GatedJobs {
  constructor(private readonly cluster: ClusterService) {}

  @Interval('below', 40)
  @ClusterSingleton()
  gateBelowInterval(): void {
    (ran.below ??= []).push(this.cluster.self);
  }

  @ClusterSingleton()
  @Interval('above', 40)
  gateAboveInterval(): void {
    (ran.above ??= []).push(this.cluster.self);
  }

  @Cron('* * * * * *', { name: 'cron' })
  @ClusterSingleton('every-second')
  gateBelowCron(): void {
    (ran.cron ??= []).push(this.cluster.self);
  }

  @ClusterSingleton()
  called(): string {
    return this.cluster.self;
  }
}

@Injectable()
class News {
  constructor(private readonly cluster: ClusterService) {}

  @OnClusterMessage('group.news')
  received(@Payload() payload: unknown, @ClusterContext() context: MessageContext): void {
    news.push({ node: this.cluster.self, from: context.from, payload });
  }
}

type NodeName = (typeof NODES)[number];
type Extra = Partial<Omit<GenClusterTestingOptions, 'network' | 'node'>>;

async function startNode(
  network: InMemoryNetwork,
  node: NodeName,
  providers: Provider[],
  extra: Extra = {},
): Promise<INestApplication> {
  @Module({ imports: [ScheduleModule.forRoot()], providers })
  class FeatureModule {}
  const moduleRef = await Test.createTestingModule({
    imports: [
      GenClusterTestingModule.forRoot({
        network,
        node,
        startedAt: STARTED[node],
        leadership: FAST,
        ...extra,
      }),
      FeatureModule,
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('GenClusterTestingModule: leadership, singletons, groups, quorum', () => {
  let apps = new Map<NodeName, INestApplication>();
  const cluster = (node: NodeName) => apps.get(node)!.get(ClusterService);
  const start = async (providers: Provider[], extra: Extra = {}) => {
    const network = new InMemoryNetwork();
    for (const node of NODES) apps.set(node, await startNode(network, node, providers, extra));
    await Promise.all(NODES.map(node => cluster(node).waitForMembers(2, { timeoutMs: 5_000 })));
    return network;
  };
  const close = async (node: NodeName) => {
    const app = apps.get(node)!;
    apps.delete(node);
    await app.close();
  };
  const leaders = () => [...apps.keys()].map(node => cluster(node).leadership.leader());

  beforeEach(() => {
    lifecycle.length = 0;
    news.length = 0;
    for (const key of Object.keys(ran)) delete ran[key];
  });
  afterEach(async () => {
    await Promise.all([...apps.values()].map(app => app.close()));
    apps = new Map();
  });

  it('agrees on one leader, the node started first: leader$, leader() and isLeader() on every node', async () => {
    await start([]);
    await until(() => leaders().every(leader => leader === 'a@test'), 5_000, 'a@test leads');
    expect(NODES.map(node => cluster(node).isLeader())).toEqual([true, false, false]);
    for (const node of NODES)
      await expect(firstValueFrom(cluster(node).leader$)).resolves.toBe('a@test');
    expect(cluster('a@test').term).toBeGreaterThan(0);
    await until(
      () => NODES.every(node => cluster(node).term === cluster('a@test').term),
      5_000,
      "every node knows the leader's term",
    );
    expect(NODES.map(node => cluster(node).hasQuorum())).toEqual([true, true, true]);
  });

  it('runs a @ClusterSingleton class on the leader only, and hands it over on app.close() with no overlap', async () => {
    await start([Reporter]);
    await until(() => lifecycle.length === 1, 5_000, 'the singleton started');
    expect(lifecycle).toEqual([{ node: 'a@test', kind: 'start', term: cluster('a@test').term }]);
    await until(() => leaders().every(leader => leader === 'a@test'), 5_000, 'all agree');

    await close('a@test');
    await until(() => lifecycle.length === 3, 5_000, 'the singleton moved');
    expect(lifecycle.map(({ node, kind }) => `${kind} ${node}`)).toEqual([
      'start a@test',
      'stop a@test',
      'start b@test',
    ]);
    // the successor's term is above the old one (a fencing token that only grows)
    expect(lifecycle[2].term).toBeGreaterThan(lifecycle[0].term);
    await until(() => leaders().every(leader => leader === 'b@test'), 5_000, 'b@test leads');
  });

  it.each([
    ['below', '@Interval below @ClusterSingleton'],
    ['above', '@Interval above @ClusterSingleton'],
    ['cron', '@Cron below @ClusterSingleton'],
  ])('runs a gated scheduled job on the leader only (%s: %s)', async job => {
    await start([GatedJobs]);
    // every node's scheduler has the job: the decorator kept @nestjs/schedule's metadata
    for (const node of NODES) {
      const registry = apps.get(node)!.get(SchedulerRegistry);
      if (job === 'cron') expect(registry.getCronJobs().has(job)).toBe(true);
      else expect(registry.getIntervals()).toContain(job);
    }
    await until(() => (ran[job]?.length ?? 0) >= 2, 5_000, `${job} ran twice`);
    expect(new Set(ran[job])).toEqual(new Set(['a@test']));
    // a direct call is gated too: undefined anywhere but on the leader
    expect(NODES.map(node => apps.get(node)!.get(GatedJobs).called())).toEqual([
      'a@test',
      undefined,
      undefined,
    ]);

    await close('a@test');
    const before = ran[job]!.length;
    await until(() => ran[job]!.length >= before + 2, 5_000, `${job} ran on the new leader`);
    expect(new Set(ran[job]!.slice(before))).toEqual(new Set(['b@test']));
  });

  it('publishes to the members of a group only, and a node that closes leaves it everywhere', async () => {
    await start([News]);
    cluster('a@test').groups.join('news');
    cluster('b@test').groups.join('news');
    await until(
      () => NODES.every(node => cluster(node).groups.members('news').join() === 'a@test,b@test'),
      5_000,
      'every node sees a and b in the group',
    );
    const result = cluster('c@test').groups.publish('news', 'group.news', { n: 1 });
    expect(result.sentTo).toEqual(['a@test', 'b@test']);
    await until(() => news.length === 2, 5_000, 'both members received it');
    expect(news.map(({ node, from }) => `${node}<-${from}`).sort()).toEqual([
      'a@test<-c@test',
      'b@test<-c@test',
    ]);

    await close('b@test');
    await until(
      () =>
        ['a@test', 'c@test'].every(
          n =>
            cluster(n as NodeName)
              .groups.members('news')
              .join() === 'a@test',
        ),
      5_000,
      'b@test left the group',
    );
  });

  it('with a quorum rule, runs the singleton only on the side with quorum, and once again after healing', async () => {
    // a@test started first: it leads until it is cut off alone
    const network = await start([Reporter], { quorum: { expectedSize: 3, stableMs: 100 } });
    await until(() => lifecycle.length === 1, 5_000, 'the singleton started');
    expect(lifecycle[0].node).toBe('a@test');
    // every node settled on a@test (a node still settling waits for every discovered peer)
    await until(() => leaders().every(leader => leader === 'a@test'), 5_000, 'all agree');

    network.partition('a@test', 'b@test');
    network.partition('a@test', 'c@test');
    // a@test alone: 1 of 3, no quorum, at once; b@test and c@test: 2 of 3
    expect(cluster('a@test').hasQuorum()).toBe(false);
    await until(() => !cluster('a@test').isLeader(), 1_000, 'a@test stops leading');
    expect(cluster('a@test').leadership.whyNot()).toBe('noQuorum');
    await until(
      () => lifecycle.some(e => e.node === 'b@test' && e.kind === 'start'),
      5_000,
      'b@test runs it',
    );
    await until(
      () =>
        lifecycle
          .filter(e => e.node === 'a@test')
          .map(e => e.kind)
          .join() === 'start,stop',
      5_000,
      'a@test stopped it',
    );
    expect(cluster('a@test').leadership.leader()).toBeUndefined();
    expect(cluster('c@test').leadership.leader()).toBe('b@test');

    network.heal('a@test', 'b@test');
    network.heal('a@test', 'c@test');
    // healed: a@test regains quorum after the stable margin and leads again (flip-back)
    await until(() => leaders().every(leader => leader === 'a@test'), 5_000, 'a@test leads again');
    const runners = () => {
      const running = new Set<string>();
      for (const { node, kind } of lifecycle)
        if (kind === 'start') running.add(node);
        else running.delete(node);
      return [...running];
    };
    await until(() => runners().join() === 'a@test', 5_000, 'only a@test runs it');
  });
});
