import type { DynamicModule } from '@nestjs/common';
import { GenClusterModule, type GenClusterModuleOptions } from '../nest/index.js';
import type { InMemoryNetwork } from './in-memory-network.js';

/** Options of one test node. */
export interface GenClusterTestingOptions extends Omit<
  GenClusterModuleOptions,
  'node' | 'discovery' | 'dist' | 'useEnv'
> {
  /** The network the node joins; every node of one test shares one. */
  readonly network: InMemoryNetwork;
  /** This node's name, `name@host` (e.g. `'a@test'`). */
  readonly node: string;
  /** The cluster's name, for apps with several clusters. */
  readonly name?: string;
  /** Register globally, so every module of the test app can inject the cluster (default `true`). */
  readonly isGlobal?: boolean;
  /**
   * This node's start time (ms since the epoch), `Date.now()` at start when unset. Leadership
   * goes to the node started first, so a test sets it to fix who leads.
   */
  readonly startedAt?: number;
}

/**
 * `GenClusterModule` for tests: several nodes in one Jest process, no sockets, no environment.
 * Each node's app imports this module with the shared {@link InMemoryNetwork}; the nodes find
 * each other through the network and message over the same layer as the TCP mesh. Leadership,
 * singletons, groups, quorum and the formation gate (`quorum`, `leadership`, `formation` options)
 * work as on a real cluster.
 *
 * @example
 * const network = new InMemoryNetwork();
 * const apps = await Promise.all(['a@test', 'b@test'].map(node =>
 *   Test.createTestingModule({
 *     imports: [GenClusterTestingModule.forRoot({ network, node }), WorkerModule],
 *   }).compile().then(m => m.createNestApplication().init()),
 * ));
 * await apps[0].get(ClusterService).waitForMembers(1);
 *
 * @publicApi
 */
export class GenClusterTestingModule {
  /**
   * A test node on `network`, global by default; a quick refresh (50 ms) so tests converge fast.
   */
  static forRoot(options: GenClusterTestingOptions): DynamicModule {
    const { network, name, isGlobal = true, startedAt, ...rest } = options;
    return GenClusterModule.forRoot({
      refreshIntervalMs: 50,
      backoff: { initialMs: 50, maxMs: 500 },
      ...rest,
      name,
      isGlobal,
      useEnv: false,
      discovery: network.discovery(rest.namespace),
      dist: network.dist(rest.namespace, startedAt === undefined ? {} : { startedAt }),
    });
  }
}
