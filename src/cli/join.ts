import { performance } from 'node:perf_hooks';
import { filter, firstValueFrom, timeout } from 'rxjs';
import {
  type ClusterLogger,
  type ClusterMessaging,
  type ConnectFailedEvent,
  GenCluster,
  type MessagingDistStrategy,
  parseNodeName,
} from '../core/index.js';
import {
  type ClusterOptions,
  createDiscovery,
  createDist,
  resolveClusterOptions,
  schedulerOptions,
} from '../config/index.js';
import { type SystemClient, createSystemClient } from '../primitives/index.js';
import { CliDiscovery } from './cli-discovery.js';
import { CliError, usageError } from './cli.errors.js';
import { CliMessages } from './cli.messages.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The variable naming the CLI's own node. */
export const CLI_NODE_ENV = 'GEN_CLUSTER_CLI_NODE';

/** Handshake refusals that end a join at once: waiting longer would not change the answer. */
const REFUSALS = new Set(['ERR_BAD_COOKIE', 'ERR_NAMESPACE_MISMATCH', 'ERR_HANDSHAKE_REFUSED']);

/** How many rounds of "ask every node for its peers, connect to the new ones" a join makes. */
const EXPAND_ROUNDS = 5;

/** The CLI's node logs nothing: each failure becomes the command's one line. */
const quiet: ClusterLogger = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** How {@link joinCluster} joins. */
export interface JoinOptions {
  /** `--seed` values; the environment's discovery when empty. */
  readonly seeds: readonly string[];
  /** How long to wait for a first member, then for each answer. */
  readonly timeoutMs: number;
  readonly env: Env;
  readonly pid: number;
}

/**
 * The CLI's own name: `GEN_CLUSTER_CLI_NODE`, else `gen-cluster-cli-<pid>@<host>` with the host of
 * `GEN_CLUSTER_BIND`, of the first seed, or 127.0.0.1. The host matters to `local` discovery,
 * which names the peers it finds after this node's host (as zero-configuration nodes, 127.0.0.1).
 */
export function cliNodeName(env: Env, pid: number, seeds: readonly string[] = []): string {
  const given = env[CLI_NODE_ENV]?.trim();
  if (given) return given;
  const seedHost = seeds.length ? parseNodeName(seeds[0]!).host : undefined;
  return `gen-cluster-cli-${pid}@${env.GEN_CLUSTER_BIND?.trim() || seedHost || '127.0.0.1'}`;
}

/** The CLI's hidden node, joined: its messaging, the system client, and the way out. */
export class JoinedCluster {
  /** Asks nodes about themselves. */
  readonly client: SystemClient;

  constructor(
    readonly cluster: GenCluster,
    readonly messaging: ClusterMessaging,
    private readonly discovery: CliDiscovery,
    readonly timeoutMs: number,
  ) {
    this.client = createSystemClient(messaging, cluster.self, () => cluster.nodes());
  }

  /** Connected nodes, sorted (the CLI is never among them: it is hidden). */
  members(): string[] {
    return this.cluster.nodes();
  }

  /**
   * Reaches every node: asks the connected ones for their peers, connects to those not yet
   * connected, and again with what they tell, until nothing new or the time is up.
   */
  async expand(budgetMs = this.timeoutMs): Promise<void> {
    const end = performance.now() + budgetMs;
    const left = () => Math.max(1, Math.round(end - performance.now()));
    for (let round = 0; round < EXPAND_ROUNDS && performance.now() < end; round++) {
      const overview = await this.client.overview({ timeoutMs: left() });
      let added = 0;
      for (const node of overview.nodes)
        if (node.ok) added += this.discovery.learn(peersOf(node.info));
      const missing = () => this.discovery.learnedNames().filter(n => !this.isMember(n));
      if (missing().length === 0) return;
      await this.cluster.refresh();
      await this.membersMatch(() => missing().length === 0, left());
      if (added === 0) return;
    }
  }

  /**
   * Adds the peers a node told of (watch learns as it polls); returns how many were new. Anything
   * but a list of valid peers adds nothing (see {@link CliDiscovery.learn}).
   */
  learn(peers: unknown): number {
    return this.discovery.learn(peers);
  }

  /** @throws CliError (exit 3) when `node` is not connected. */
  requireMember(node: string): void {
    if (!this.isMember(node))
      throw new CliError(CliMessages.noSuchNode(node, this.members()), {
        code: 'ERR_NO_SUCH_NODE',
        exitCode: 3,
      });
  }

  /** Leaves: peers see the hidden link close, log nothing above debug. */
  async leave(): Promise<void> {
    await this.cluster.stop();
  }

  private isMember(node: string): boolean {
    return this.cluster.nodes().includes(node);
  }

  private async membersMatch(done: () => boolean, ms: number): Promise<void> {
    if (done()) return;
    await firstValueFrom(
      this.cluster.membership$.pipe(
        filter(() => done()),
        timeout({ first: ms }),
      ),
    ).catch(() => undefined);
  }
}

/**
 * Joins as a hidden node through the seeds or the environment's discovery, with the
 * environment's cookie and namespace, and waits for a first member.
 * @throws CliError: exit 1 when there is nothing to join, exit 2 when no node admits it in time
 * (with the refusal's code, e.g. ERR_BAD_COOKIE, when one refused).
 */
export async function joinCluster(options: JoinOptions): Promise<JoinedCluster> {
  const { env, seeds, timeoutMs } = options;
  const node = cliNodeName(env, options.pid, seeds);
  const explicit: ClusterOptions = {
    node,
    ...(seeds.length ? { discovery: { strategy: 'static', nodes: [...seeds] } } : {}),
    dist: {
      strategy: 'tcp',
      hidden: true,
      port: 0,
      portMapper: false,
      // Never dialled (nobody discovers a hidden tool), so loopback is enough.
      bind: env.GEN_CLUSTER_BIND?.trim() || '127.0.0.1',
    },
  };
  let resolved;
  try {
    resolved = resolveClusterOptions(explicit, env).options;
  } catch (error) {
    throw usageError(CliMessages.badEnvironment((error as Error).message));
  }
  if (resolved.discovery === undefined) throw usageError(CliMessages.noDiscovery());
  const discovery = new CliDiscovery(createDiscovery(resolved.discovery));
  const dist = createDist(resolved.dist ?? { strategy: 'tcp' }) as MessagingDistStrategy;
  const cluster = new GenCluster({
    ...schedulerOptions(resolved),
    node,
    discovery,
    dist,
    logger: quiet,
  });
  const refused = new Map<string, ConnectFailedEvent>();
  let refusedEarly: () => void = () => undefined;
  const early = new Promise<void>(resolve => (refusedEarly = resolve));
  const subscription = cluster.events$.subscribe(event => {
    if (event.type !== 'connectFailed' || refusalCode(event.error) === undefined) return;
    refused.set(event.node, event);
    // Every node it knows of refused it: the answer will not change by waiting.
    if (refused.size >= Math.max(1, cluster.discoveredPeers().length)) refusedEarly();
  });
  try {
    await cluster.start();
    await Promise.race([cluster.waitForMembers(1, { timeoutMs }).catch(() => undefined), early]);
  } finally {
    subscription.unsubscribe();
  }
  if (cluster.nodes().length === 0) {
    await cluster.stop();
    const last = [...refused.values()].at(-1);
    if (last)
      throw new CliError(CliMessages.refused(last.node, last.error.message), {
        code: refusalCode(last.error) ?? 'ERR_CANNOT_JOIN',
        exitCode: 2,
      });
    throw new CliError(CliMessages.cannotJoin(timeoutMs), {
      code: 'ERR_CANNOT_JOIN',
      exitCode: 2,
    });
  }
  const joined = new JoinedCluster(cluster, dist.messaging, discovery, timeoutMs);
  try {
    await joined.expand();
  } catch (error) {
    // The CLI's node must not stay behind a failure: the process would not exit.
    await cluster.stop();
    throw error;
  }
  return joined;
}

/** The `peers` of a node's info answer, whatever shape that answer has. */
export function peersOf(info: unknown): unknown {
  return (info as { peers?: unknown } | null | undefined)?.peers;
}

/** The handshake refusal code in an error or its causes, if any. */
function refusalCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && REFUSALS.has(code)) return code;
  }
  return undefined;
}
