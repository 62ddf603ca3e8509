import { TestDiscovery } from './test-strategies.js';
import {
  type ClusterEvent,
  type ClusterLogger,
  GenCluster,
  type GenClusterOptions,
  TcpDist,
  type TcpDistOptions,
} from '../../src/index.js';

/** A node in this process: a GenCluster on a real TCP dist, with its logs and events kept. */
export interface TestNode {
  readonly cluster: GenCluster;
  readonly dist: TcpDist;
  readonly discovery: TestDiscovery;
  readonly events: ClusterEvent[];
  readonly logs: string[];
  /** The port the dist listens on. */
  readonly port: number;
}

const started = new Set<GenCluster>();

/** Starts a node named `name` (host 127.0.0.1 unless the name says otherwise). */
export async function startInProcess(
  name: string,
  peers: string[] = [],
  tcp: TcpDistOptions = {},
  scheduler: Partial<GenClusterOptions> = {},
): Promise<TestNode> {
  const logs: string[] = [];
  const logger: ClusterLogger = {
    debug: m => logs.push(`debug ${m}`),
    log: m => logs.push(`log ${m}`),
    warn: m => logs.push(`warn ${m}`),
    error: m => logs.push(`error ${m}`),
  };
  const dist = new TcpDist({
    cookie: 'in-process-cookie',
    heartbeatMs: 200,
    failureTimeoutMs: 1_000,
    portMapper: false, // tests that want the port mapper give their own, on a port of their own
    ...tcp,
  });
  const discovery = new TestDiscovery(peers);
  const cluster = new GenCluster({
    node: name.includes('@') ? name : `${name}@127.0.0.1`,
    discovery,
    dist,
    logger,
    refreshIntervalMs: 200,
    backoff: { initialMs: 50, maxMs: 400 },
    ...scheduler,
  });
  const events: ClusterEvent[] = [];
  cluster.events$.subscribe(e => events.push(e));
  await cluster.start();
  started.add(cluster);
  return { cluster, dist, discovery, events, logs, port: dist.port! };
}

/** Stops every in-process node still running. */
export async function stopInProcess(): Promise<void> {
  await Promise.all([...started].map(c => c.stop()));
  started.clear();
}
