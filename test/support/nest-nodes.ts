/**
 * Nest test apps on one in-memory network: `a@test` (the caller) and `b@test` (serving the
 * providers under test), started through `GenClusterTestingModule` as an application does.
 */
import type { INestApplication, LoggerService, Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
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
