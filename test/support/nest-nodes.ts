/**
 * Nest test apps on one in-memory network: `a@test` (the caller) and `b@test` (serving the
 * providers under test), started through `GenClusterTestingModule` as an application does.
 */
import type { INestApplication, LoggerService, Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, beforeEach } from '@jest/globals';
import { ClusterService } from '../../src/nest/index.js';
import { GenClusterTestingModule, InMemoryNetwork } from '../../src/testing/index.js';

/** Options of {@link twoNestNodes}. */
export interface TwoNestNodesOptions {
  /** Nest's logger for both apps (`false`: none). Nest's logger override is process-wide. */
  readonly logger?: LoggerService | false;
  /** The cluster's log level (`debug` to see the library's debug lines). */
  readonly logLevel?: 'debug';
  /** Runs on each app before `init()` (`useGlobalPipes` and the like). */
  readonly setup?: (app: INestApplication) => void;
}

/** Starts `a@test` and `b@test` (which serves `providers`), once they see each other. */
export async function twoNestNodes(
  providers: Provider[],
  { logger = false, logLevel, setup }: TwoNestNodesOptions = {},
): Promise<INestApplication[]> {
  const network = new InMemoryNetwork();
  const apps: INestApplication[] = [];
  for (const node of ['a@test', 'b@test']) {
    const moduleRef = await Test.createTestingModule({
      imports: [GenClusterTestingModule.forRoot({ network, node, logLevel })],
      providers: node === 'b@test' ? providers : [],
    }).compile();
    const app = moduleRef.createNestApplication({ logger });
    setup?.(app);
    apps.push(app);
    await app.init();
  }
  await apps[0].get(ClusterService).waitForMembers(1, { timeoutMs: 5_000 });
  return apps;
}

/** Options of the testing module beyond the network and the node name. */
export type TestNodeOptions = Omit<
  Parameters<typeof GenClusterTestingModule.forRoot>[0],
  'network' | 'node'
>;

/** A node of `network` with no providers of its own (the test registers handlers), started. */
export async function testNestNode(
  network: InMemoryNetwork,
  node: string,
  extra: Partial<TestNodeOptions> = {},
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [GenClusterTestingModule.forRoot({ network, node, ...extra })],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

/** `a@test`, `b@test` and `c@test` on a new network, once each sees the other two. */
export async function threeNestNodes(): Promise<{
  readonly apps: INestApplication[];
  readonly clusters: [ClusterService, ClusterService, ClusterService];
}> {
  const network = new InMemoryNetwork();
  const apps = await Promise.all(
    ['a@test', 'b@test', 'c@test'].map(node => testNestNode(network, node)),
  );
  const clusters = apps.map(app => app.get(ClusterService)) as [
    ClusterService,
    ClusterService,
    ClusterService,
  ];
  await Promise.all(clusters.map(cluster => cluster.waitForMembers(2, { timeoutMs: 5_000 })));
  return { apps, clusters };
}

/**
 * Registers hooks that start {@link threeNestNodes} before each test and close the apps still in
 * `apps` after it (a test that closes one itself takes it out of `apps`). Read the returned
 * object's members inside tests: they are replaced for each one.
 */
export function threeNestNodesEachTest(): {
  apps: INestApplication[];
  clusters: ClusterService[];
} {
  const nodes = { apps: [] as INestApplication[], clusters: [] as ClusterService[] };
  beforeEach(async () => {
    Object.assign(nodes, await threeNestNodes());
  });
  afterEach(async () => {
    await Promise.all(nodes.apps.splice(0).map(app => app.close()));
  });
  return nodes;
}
