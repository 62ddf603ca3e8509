import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from './managed-process.js';
import { freePort } from './ports.js';
import { until } from './wait.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sampleMain = join(root, 'dist', 'sample', 'main.js');
const live = new Set<SampleNode>();

/** The cookie every test node shares unless a test says otherwise. */
export const TEST_COOKIE = 'test-cookie-0123456789';

/** One sample-app process, started by a test, killed by the test (or at exit at the latest). */
export class SampleNode extends ManagedProcess {
  http = 0;

  constructor(
    readonly name: string,
    child: ChildProcess,
  ) {
    super(child);
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  /** `GET /cluster` of this node. */
  async cluster(): Promise<{ self: string; members: string[] }> {
    const response = await fetch(`http://127.0.0.1:${this.http}/cluster`);
    return (await response.json()) as { self: string; members: string[] };
  }

  /** `GET /cluster/events` of this node: its last membership changes. */
  async changes(): Promise<{ type: string; node: string; reason?: string }[]> {
    const response = await fetch(`http://127.0.0.1:${this.http}/cluster/events`);
    return (await response.json()) as { type: string; node: string; reason?: string }[];
  }

  /** `GET /cluster/discovered`: what this node's discovery last answered. */
  async discovered(): Promise<string[] | undefined> {
    try {
      return (await (
        await fetch(`http://127.0.0.1:${this.http}/cluster/discovered`)
      ).json()) as string[];
    } catch {
      return undefined;
    }
  }

  /** Members as seen by this node, or `undefined` while it does not answer. */
  async members(): Promise<string[] | undefined> {
    try {
      return (await this.cluster()).members;
    } catch {
      return undefined;
    }
  }
}

/** How {@link startNode} starts a node. */
export interface StartNodeOptions {
  /** How long the node may take to print its ready line (default 20 s). */
  readonly timeoutMs?: number;
  /**
   * The program to run instead of the sample app (dist/sample/main.js), such as a fixture app
   * under dist/test/fixtures/apps. It must print the same ready line
   * (`SAMPLE_READY {"http":<port>}`) and serve the same `GET /cluster` route.
   */
  readonly main?: string;
}

/** The built main of the fixture app `name` (test/fixtures/apps/<name>/main.ts). */
export function fixtureAppMain(name: string): string {
  return join(root, 'dist', 'test', 'fixtures', 'apps', name, 'main.js');
}

/**
 * The environment of node `i` of a static cluster on loopback: its name and port, every node as a
 * peer, a 500 ms refresh and warnings only.
 */
export function staticNodeEnv(
  names: readonly string[],
  ports: readonly number[],
  i: number,
): Record<string, string> {
  return {
    GEN_CLUSTER_NODE: names[i]!,
    GEN_CLUSTER_PORT: String(ports[i]),
    GEN_CLUSTER_DISCOVERY: `static:${names.map((name, j) => `${name}:${ports[j]}`).join(',')}`,
    GEN_CLUSTER_REFRESH_INTERVAL_MS: '500',
    GEN_CLUSTER_LOG_LEVEL: 'warn',
  };
}

/**
 * Three processes of the fixture app `app`, `a@127.0.0.1`, `b@…` and `c@…`, in one static
 * cluster on free loopback ports; `extra(i)` adds to node i's environment.
 */
export async function startFixtureTrio(
  app: string,
  extra: (i: number) => Record<string, string> = () => ({}),
): Promise<[SampleNode, SampleNode, SampleNode]> {
  const ports = await Promise.all([freePort(), freePort(), freePort()]);
  const names = ['a', 'b', 'c'].map(n => `${n}@127.0.0.1`);
  return (await Promise.all(
    names.map((_, i) =>
      startNode(
        { ...staticNodeEnv(names, ports, i), ...extra(i) },
        { main: fixtureAppMain(app), timeoutMs: 30_000 },
      ),
    ),
  )) as [SampleNode, SampleNode, SampleNode];
}

/** {@link startFixtureTrio}, then waits (20 s at most) until each of the three sees the other two. */
export async function startFixtureMesh(
  app: string,
  extra?: (i: number) => Record<string, string>,
): Promise<[SampleNode, SampleNode, SampleNode]> {
  const trio = await startFixtureTrio(app, extra);
  await until(
    async () => (await Promise.all(trio.map(n => n.members()))).every(m => m?.length === 2),
    20_000,
    'a full mesh of three fixture apps',
  );
  return trio;
}

/**
 * Starts a sample node with the given environment and waits until its HTTP server answers.
 * `options` is a {@link StartNodeOptions} or, in the older form, the timeout in ms followed by
 * `script`, the program to run instead of the sample app (as `main`).
 */
export async function startNode(
  env: Record<string, string>,
  options: StartNodeOptions | number = {},
  legacyScript?: string,
): Promise<SampleNode> {
  const { timeoutMs = 20_000, main = legacyScript ?? sampleMain } =
    typeof options === 'number' ? { timeoutMs: options } : options;
  const script = main;
  if (!existsSync(script)) {
    throw new Error(`${script} is missing: run "npm run build" first (npm test does it for you).`);
  }
  const child = spawn(process.execPath, [script], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      GEN_CLUSTER_COOKIE: TEST_COOKIE,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const node = new SampleNode(env.GEN_CLUSTER_NODE ?? `pid-${child.pid}`, child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `Node ${node.name} did not start within ${timeoutMs} ms:\n${node.output.join('\n')}`,
          ),
        ),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      const match = /SAMPLE_READY (\{.*\})/.exec(chunk.toString('utf8'));
      if (!match) return;
      node.http = (JSON.parse(match[1]!) as { http: number }).http;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolve();
    };
    child.stdout?.on('data', onData);
    child.once('exit', code => {
      clearTimeout(timer);
      reject(
        new Error(
          `Node ${node.name} exited with ${code} before it was ready:\n${node.output.join('\n')}`,
        ),
      );
    });
  });
  return node;
}

/** Stops every node a test left running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map(node => node.stop(2_000)));
}
