import { Injectable, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ClusterService } from '../nest/index.js';
import { GenClusterTestingModule, InMemoryNetwork } from './index.js';
import { until } from '../../test/support/wait.js';

@Injectable()
class Echo {
  constructor(cluster: ClusterService) {
    // registered in a constructor, before the cluster starts, as applications do
    cluster.on<string>('echo', (payload, { from }) => `${payload} from ${from} to ${cluster.self}`);
  }
}

@Module({ providers: [Echo] })
class EchoModule {}

async function node(network: InMemoryNetwork, name: string): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [GenClusterTestingModule.forRoot({ network, node: name }), EchoModule],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('GenClusterTestingModule', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it('forms a cluster of several nodes in one process and carries requests between them', async () => {
    const network = new InMemoryNetwork();
    apps = await Promise.all(['a@test', 'b@test', 'c@test'].map(name => node(network, name)));
    const [a, b, c] = apps.map(app => app.get(ClusterService)) as [
      ClusterService,
      ClusterService,
      ClusterService,
    ];
    await Promise.all([a, b, c].map(service => service.waitForMembers(2, { timeoutMs: 5_000 })));
    expect(a.nodes()).toEqual(['b@test', 'c@test']);
    await expect(a.request('b@test', 'echo', 'hi')).resolves.toBe('hi from a@test to b@test');
    expect(c.broadcast('echo', 'all')).toBe(2);
  });

  it('shows a partition as nodeDown on both sides and rejoins after heal', async () => {
    const network = new InMemoryNetwork();
    apps = await Promise.all(['a@test', 'b@test'].map(name => node(network, name)));
    const [a, b] = apps.map(app => app.get(ClusterService)) as [ClusterService, ClusterService];
    await a.waitForMembers(1, { timeoutMs: 5_000 });
    const downs: string[] = [];
    b.events$.subscribe(event => {
      if (event.type === 'nodeDown') downs.push(`${event.node}:${event.reason}`);
    });
    network.partition('a@test', 'b@test');
    expect(a.nodes()).toEqual([]);
    expect(downs).toEqual(['a@test:connectionClosed']);
    await expect(a.request('b@test', 'echo', 'x')).rejects.toMatchObject({ code: 'ERR_NODE_DOWN' });
    network.heal('a@test', 'b@test');
    await until(() => a.nodes().length === 1 && b.nodes().length === 1, 5_000);
  });

  it('keeps nodes of different namespaces apart, as the TCP handshake does', async () => {
    const network = new InMemoryNetwork();
    const join = async (name: string, namespace: string) => {
      const moduleRef = await Test.createTestingModule({
        imports: [GenClusterTestingModule.forRoot({ network, node: name, namespace })],
      }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      return app;
    };
    apps = [
      await join('a@test', 'orders'),
      await join('b@test', 'orders'),
      await join('c@test', 'billing'),
    ];
    const [a, , c] = apps.map(app => app.get(ClusterService)) as ClusterService[];
    await a!.waitForMembers(1, { timeoutMs: 5_000 });
    await a!.refresh();
    await c!.refresh();
    expect(a!.nodes()).toEqual(['b@test']);
    expect(c!.nodes()).toEqual([]);
    // discovery lists only its own namespace, so nobody dials across (as with local discovery)
    expect(a!.discovered()).toEqual(['b@test']);
    expect(c!.discovered()).toEqual([]);
  });

  it('tells peers a node left when its app closes', async () => {
    const network = new InMemoryNetwork();
    apps = await Promise.all(['a@test', 'b@test'].map(name => node(network, name)));
    const [a] = apps.map(app => app.get(ClusterService)) as [ClusterService];
    await a.waitForMembers(1, { timeoutMs: 5_000 });
    const reasons: string[] = [];
    a.events$.subscribe(event => {
      if (event.type === 'nodeDown') reasons.push(event.reason);
    });
    await apps[1]!.close();
    apps = [apps[0]!];
    expect(reasons).toEqual(['left']);
    expect(network.members()).toEqual(['a@test']);
  });
});
