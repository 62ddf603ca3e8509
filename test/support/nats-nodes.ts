import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeEventProcess } from './node-event-process.js';
import { TEST_COOKIE } from './nodes.js';
import { until } from './wait.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixture = join(root, 'test', 'fixtures', 'nats-node.mjs');
/** Every node started and not yet exited, so a failed start still gets cleaned up. */
const live = new Set<NatsNode>();

/** One line a {@link NatsNode} printed (see test/fixtures/nats-node.mjs). */
export interface NatsNodeLine {
  /** ms since the node process's time origin. */
  readonly t: number;
  readonly ready?: boolean;
  readonly stopped?: boolean;
  readonly event?: string;
  readonly node?: string;
  readonly reason?: string;
  readonly downForMs?: number;
  readonly error?: string;
  readonly log?: 'log' | 'warn' | 'error';
  readonly m?: string;
  readonly state?: NatsNodeState;
}

/** What a node answers to `state`. */
export interface NatsNodeState {
  readonly members: string[];
  /** What discovery last answered. */
  readonly discovered: string[];
  readonly health: {
    readonly distConnected?: boolean;
    readonly distDisconnectedForMs?: number;
    readonly state: string;
  };
  readonly ready: { readonly up: boolean; readonly reason?: string };
  readonly dist: string;
  /** The TCP dist's socket to each member, when the dist is TCP. */
  readonly links?: Record<string, { localPort: number; remotePort: number } | null>;
  readonly port?: number;
}

/**
 * A cluster node in its own process (test/fixtures/nats-node.mjs: createCluster from the build,
 * no Nest), with every event and log line it printed kept in {@link lines}.
 */
export class NatsNode extends NodeEventProcess<NatsNodeLine> {
  constructor(node: string, child: ReturnType<typeof spawn>) {
    super(node, child);
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  /** The number of lines so far, to look only at what comes after with {@link since}. */
  mark(): number {
    return this.lines.length;
  }

  /** The lines from `mark` on. */
  since(mark: number): NatsNodeLine[] {
    return this.lines.slice(mark);
  }

  /** Asks the node for its state (members, health, readiness, links). */
  async state(timeoutMs = 5_000): Promise<NatsNodeState> {
    const mark = this.mark();
    this.child.stdin?.write('state\n');
    let found: NatsNodeState | undefined;
    await until(
      () => {
        if (this.exitCode !== undefined) throw new Error(`${this.node} exited`);
        found = this.lines.slice(mark).find(l => l.state)?.state;
        return found !== undefined;
      },
      timeoutMs,
      `${this.node} to answer state`,
    );
    return found!;
  }
}

/** Options of {@link startNatsNode}. */
export interface StartNatsNodeOptions {
  /**
   * Wait for the `ready` line (default true); the deadline is `timeoutMs` (30 s: generous, for a
   * loaded machine; a node starts in about a second).
   */
  readonly waitReady?: boolean;
  readonly timeoutMs?: number;
  /** evaluateReadiness's options for the `ready` of {@link NatsNode.state} (defaults: none). */
  readonly readiness?: Record<string, unknown>;
}

/**
 * The createCluster options of a node on the NATS dist with short test timings: heartbeat every
 * `heartbeatIntervalMs` (200), failure timeout `failureTimeoutMs` (1,000), a 200 ms refresh, the
 * test cookie, and a first connect wait of 1 s. `dist` adds to or overrides the dist options.
 */
export function natsNodeOptions(
  servers: string | readonly string[],
  dist: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    dist: {
      strategy: 'nats',
      servers,
      cookie: TEST_COOKIE,
      heartbeatIntervalMs: 200,
      failureTimeoutMs: 1_000,
      firstConnectWaitMs: 1_000,
      ...dist,
    },
    refreshIntervalMs: 200,
    backoff: { initialMs: 50, maxMs: 400 },
    ...extra,
  };
}

/**
 * Starts a node named `node` in its own process with `options` (createCluster's, as
 * {@link natsNodeOptions} makes them) and, unless told not to, waits for its `ready` line.
 * Needs `npm run build`.
 */
export async function startNatsNode(
  node: string,
  options: Record<string, unknown>,
  { waitReady = true, timeoutMs = 30_000, readiness = {} }: StartNatsNodeOptions = {},
): Promise<NatsNode> {
  for (const built of ['config', 'nats'])
    if (!existsSync(join(root, 'dist', 'src', built, 'index.js')))
      throw new Error(`dist/src/${built}/index.js is missing: run "npm run build" first.`);
  const child = spawn(process.execPath, [fixture], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NATS_NODE: node,
      NATS_NODE_OPTIONS: JSON.stringify(options),
      NATS_NODE_READINESS: JSON.stringify(readiness),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const started = new NatsNode(node, child);
  if (waitReady) await nodeReady(started, timeoutMs);
  return started;
}

/** Waits for `node`'s `ready` line; fails early, with its output, if it exits. */
export async function nodeReady(node: NatsNode, timeoutMs = 30_000): Promise<void> {
  try {
    await until(
      () => {
        if (node.exitCode !== undefined)
          throw new Error(`${node.node} exited (${node.exitCode}):\n${node.output.join('\n')}`);
        return node.lines.some(l => l.ready);
      },
      timeoutMs,
      `${node.node} to start`,
    );
  } catch (error) {
    if (node.exitCode !== undefined) throw error;
    throw new Error(`${(error as Error).message}; its output:\n${node.output.join('\n')}`);
  }
}

/** Waits until every node in `nodes` has exactly the others as members. */
export async function fullMesh(nodes: readonly NatsNode[], timeoutMs: number): Promise<void> {
  await until(
    () =>
      nodes.every(
        n =>
          n.members().join() ===
          nodes
            .filter(o => o !== n)
            .map(o => o.node)
            .sort()
            .join(),
      ),
    timeoutMs,
    `a full cluster of ${nodes.map(n => n.node).join(', ')}`,
  );
}

/**
 * Kills (SIGKILL) every node process still running, those of a failed start included: call it in
 * `afterAll`. (A child's pipes would keep Jest's process alive until then.)
 */
export async function killAllNatsNodes(): Promise<void> {
  await Promise.all([...live].map(n => n.kill()));
}
