import { HttpException, Injectable, Module, NotFoundException } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  ClusterContext,
  type ClusterEvent,
  ClusterHandler,
  ClusterService,
  type Membership,
  type MessageContext,
  OnClusterMessage,
  OnMembershipChange,
  OnNodeDown,
  OnNodeUp,
  Payload,
  RemoteHttpException,
  isRemoteError,
} from '../index.js';
import { GenClusterTestingModule, InMemoryNetwork } from './index.js';
import { until } from '../../test/support/wait.js';

/** What one node's handlers saw; the test opens `gate` to let slow handlers answer. */
@Injectable()
class Probe {
  /** `from` of each `prices.slow` call that started. */
  readonly started: string[] = [];
  /** `from` and abort reason of each `prices.slow` call whose signal aborted. */
  readonly aborted: { from: string; reason: unknown }[] = [];
  /** Each receipt of a `news` message, by subscriber. */
  readonly news: { by: string; payload: unknown; context: MessageContext }[] = [];
  /** `nodeUp:<node>` and `nodeDown:<node>:<reason>`, in order. */
  readonly events: string[] = [];
  /** Each membership snapshot, as its member list. */
  readonly memberships: string[][] = [];
  private release!: () => void;
  readonly gate = new Promise<void>(resolve => (this.release = resolve));

  open(): void {
    this.release();
  }
}

@Injectable()
class PricesHandler {
  constructor(
    private readonly cluster: ClusterService,
    private readonly probe: Probe,
  ) {}

  @ClusterHandler('prices.get')
  get(@Payload() sku: string, @ClusterContext() context: MessageContext): object {
    if (sku === 'missing') throw new NotFoundException(`no price for ${sku}`);
    return { sku, node: this.cluster.self, from: context.from, kind: context.kind };
  }

  /** No parameter decorators: the method gets (payload, context). Waits for the gate or an abort. */
  @ClusterHandler('prices.slow')
  async slow(payload: string, context: MessageContext): Promise<string> {
    this.probe.started.push(context.from);
    const signal = context.signal;
    if (!signal) throw new Error('a request has a signal');
    const aborted = new Promise<void>(resolve => {
      const record = () => {
        this.probe.aborted.push({ from: context.from, reason: signal.reason });
        resolve();
      };
      if (signal.aborted) record();
      else signal.addEventListener('abort', record, { once: true });
    });
    await Promise.race([this.probe.gate, aborted]);
    return signal.aborted ? 'aborted' : `${payload} on ${this.cluster.self}`;
  }
}

/** Two subscribers of one topic, in two providers. */
@Injectable()
class NewsFeed {
  constructor(private readonly probe: Probe) {}

  @OnClusterMessage('news')
  show(@Payload() payload: unknown, @ClusterContext() context: MessageContext): void {
    this.probe.news.push({ by: 'feed', payload, context });
  }
}

@Injectable()
class NewsArchive {
  constructor(private readonly probe: Probe) {}

  @OnClusterMessage('news')
  keep(payload: unknown, context: MessageContext): void {
    this.probe.news.push({ by: 'archive', payload, context });
  }
}

@Injectable()
class NodeWatch {
  constructor(private readonly probe: Probe) {}

  @OnNodeUp()
  up(event: ClusterEvent): void {
    if (event.type === 'nodeUp') this.probe.events.push(`nodeUp:${event.node}`);
  }

  @OnNodeDown()
  down(event: ClusterEvent): void {
    if (event.type === 'nodeDown') this.probe.events.push(`nodeDown:${event.node}:${event.reason}`);
  }

  @OnMembershipChange()
  membership(membership: Membership): void {
    this.probe.memberships.push([...membership.members]);
  }
}

@Module({ providers: [Probe, PricesHandler, NewsFeed, NewsArchive, NodeWatch] })
class HandlersModule {}

const NODES = ['a@test', 'b@test', 'c@test'] as const;

async function node(network: InMemoryNetwork, name: string): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [GenClusterTestingModule.forRoot({ network, node: name }), HandlersModule],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

/** The rejection of `promise` (fails the test if it resolves). */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    value => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

describe('GenClusterTestingModule with decorated handlers', () => {
  let network: InMemoryNetwork;
  let apps: INestApplication[] = [];
  let services: [ClusterService, ClusterService, ClusterService];
  let probes: [Probe, Probe, Probe];

  beforeEach(async () => {
    network = new InMemoryNetwork();
    apps = await Promise.all(NODES.map(name => node(network, name)));
    services = apps.map(app => app.get(ClusterService)) as typeof services;
    probes = apps.map(app => app.get(Probe)) as typeof probes;
    await Promise.all(services.map(s => s.waitForMembers(2, { timeoutMs: 5_000 })));
  });

  afterEach(async () => {
    for (const probe of probes ?? []) probe.open();
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('answers a request with a @ClusterHandler method, with @Payload() and @ClusterContext()', async () => {
    const [a, , c] = services;
    await expect(a.request('b@test', 'prices.get', 'sku-1')).resolves.toEqual({
      sku: 'sku-1',
      node: 'b@test',
      from: 'a@test',
      kind: 'request',
    });
    await expect(c.request('a@test', 'prices.get', 'sku-2')).resolves.toEqual({
      sku: 'sku-2',
      node: 'a@test',
      from: 'c@test',
      kind: 'request',
    });
  });

  it('delivers a broadcast to both @OnClusterMessage subscribers of every other node, once each', async () => {
    const [a] = services;
    const [probeA, probeB, probeC] = probes;
    expect(a.broadcast('news', { headline: 'up' })).toBe(2);
    await until(() => probeB.news.length === 2 && probeC.news.length === 2, 5_000, 'receipts');
    for (const probe of [probeB, probeC]) {
      expect(probe.news.map(n => n.by).sort()).toEqual(['archive', 'feed']);
      for (const { payload, context } of probe.news) {
        expect(payload).toEqual({ headline: 'up' });
        expect(context).toMatchObject({ from: 'a@test', topic: 'news', kind: 'oneWay' });
        expect(context.signal).toBeUndefined();
      }
    }
    // a broadcast leaves out the sender; a request to a topic with only subscribers has no handler
    expect(probeA.news).toEqual([]);
    await expect(a.request('b@test', 'news', {})).rejects.toMatchObject({
      code: 'ERR_NO_HANDLER',
    });
    expect(probeB.news).toHaveLength(2);
  });

  it('requestAll gives one result per node when a node is partitioned mid-call, without waiting for the timeout', async () => {
    const [a] = services;
    const [probeA, probeB, probeC] = probes;
    const timeoutMs = 30_000;
    const t0 = performance.now();
    const all = a.requestAll<string>('prices.slow', 'q', { includeSelf: true, timeoutMs });
    await until(
      () => probes.every(p => p.started.length === 1),
      5_000,
      'the handler running on every node',
    );
    network.partition('a@test', 'c@test');
    // the partitioned node's handler learns that its caller went away
    await until(() => probeC.aborted.length === 1, 5_000, 'the abort on c');
    probeA.open();
    probeB.open();
    const results = await all;
    expect(performance.now() - t0).toBeLessThan(timeoutMs / 2);
    expect([...results].sort((x, y) => x.node.localeCompare(y.node))).toEqual([
      { node: 'a@test', ok: true, value: 'q on a@test' },
      { node: 'b@test', ok: true, value: 'q on b@test' },
      {
        node: 'c@test',
        ok: false,
        error: expect.objectContaining({ code: 'ERR_NODE_DOWN', node: 'c@test' }),
      },
    ]);
    // without includeSelf: the members only, and the partitioned node is no longer one
    await expect(a.requestAll('prices.get', 'sku-3')).resolves.toEqual([
      {
        node: 'b@test',
        ok: true,
        value: { sku: 'sku-3', node: 'b@test', from: 'a@test', kind: 'request' },
      },
    ]);
    // a listed node that is not a member fails without a send
    const listed = await a.requestAll('prices.get', 'sku-4', { nodes: ['c@test', 'b@test'] });
    expect(listed.map(r => [r.node, r.ok])).toEqual([
      ['c@test', false],
      ['b@test', true],
    ]);
    expect(probeC.started).toEqual(['a@test']);
  });

  it("aborts a running handler's signal when a partition cuts off its requester, and no other caller's", async () => {
    const [a, , c] = services;
    const [, probeB] = probes;
    const fromA = a.request('b@test', 'prices.slow', 'from a', { timeoutMs: 30_000 });
    const fromC = c.request('b@test', 'prices.slow', 'from c', { timeoutMs: 30_000 });
    await until(() => probeB.started.length === 2, 5_000, 'both calls running on b');
    network.partition('a@test', 'b@test');
    expect(await rejectionOf(fromA)).toMatchObject({ code: 'ERR_NODE_DOWN', node: 'b@test' });
    await until(() => probeB.aborted.length === 1, 5_000, 'the abort on b');
    expect(probeB.aborted[0]?.from).toBe('a@test');
    expect(probeB.aborted[0]?.reason).toMatchObject({ code: 'ERR_NODE_DOWN', node: 'a@test' });
    probeB.open();
    await expect(fromC).resolves.toBe('from c on b@test');
    expect(probeB.aborted).toHaveLength(1);
  });

  it('rethrows a remote NotFoundException as a RemoteHttpException with status 404 and the same body', async () => {
    const [a] = services;
    const error = await rejectionOf(a.request('b@test', 'prices.get', 'missing'));
    expect(error).toBeInstanceOf(RemoteHttpException);
    expect(error).toBeInstanceOf(HttpException);
    expect(isRemoteError(error)).toBe(true);
    const remote = error as RemoteHttpException;
    expect(remote.getStatus()).toBe(404);
    expect(remote.getResponse()).toEqual(
      new NotFoundException('no price for missing').getResponse(),
    );
    expect(remote).toMatchObject({
      node: 'b@test',
      topic: 'prices.get',
      remoteName: 'NotFoundException',
    });
    // requestAll maps it the same way, per node
    const [result] = await a.requestAll('prices.get', 'missing', { nodes: ['c@test'] });
    expect(result).toMatchObject({ node: 'c@test', ok: false });
    const failed = result as { error: unknown };
    expect(failed.error).toBeInstanceOf(RemoteHttpException);
    expect((failed.error as RemoteHttpException).getStatus()).toBe(404);
  });

  it('calls @OnNodeUp, @OnNodeDown and @OnMembershipChange methods as nodes come and go', async () => {
    const [probeA] = probes;
    expect(probeA.events.filter(e => e.startsWith('nodeUp:')).sort()).toEqual([
      'nodeUp:b@test',
      'nodeUp:c@test',
    ]);
    expect(probeA.memberships.at(-1)).toEqual(['b@test', 'c@test']);
    network.partition('a@test', 'c@test');
    await until(() => probeA.events.includes('nodeDown:c@test:connectionClosed'), 5_000, 'down');
    expect(probeA.memberships.at(-1)).toEqual(['b@test']);
    network.heal('a@test', 'c@test');
    await until(
      () => probeA.events.filter(e => e === 'nodeUp:c@test').length === 2,
      5_000,
      'c up again',
    );
    await until(() => probeA.memberships.at(-1)?.length === 2, 5_000, 'membership of 2');
    expect(probeA.memberships.at(-1)).toEqual(['b@test', 'c@test']);
  });
});
