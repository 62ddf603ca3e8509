import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sampleMain = join(root, 'dist', 'sample', 'main.js');
const live = new Set<SampleNode>();

/** The cookie every test node shares unless a test says otherwise. */
export const TEST_COOKIE = 'test-cookie-0123456789';

/** One sample-app process, started by a test, killed by the test (or at exit at the latest). */
export class SampleNode {
  readonly output: string[] = [];
  http = 0;
  private exited: Promise<number | null>;
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null | undefined;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    live.add(this);
    this.exited = new Promise(resolve =>
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        live.delete(this);
        resolve(code);
      }),
    );
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) this.output.push(line);
      if (this.output.length > 2_000) this.output.splice(0, this.output.length - 2_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
  }

  get pid(): number {
    return this.child.pid!;
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

  signal(signal: NodeJS.Signals): void {
    if (this.exitCode === undefined) process.kill(this.pid, signal);
  }

  /** Stops the node (SIGTERM, then SIGKILL after `graceMs`) and waits for it to exit. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Kills with SIGKILL and waits for the exit. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  waitExit(): Promise<number | null> {
    return this.exited;
  }
}

/** Starts a sample node with the given environment and waits until its HTTP server answers. */
export async function startNode(
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<SampleNode> {
  if (!existsSync(sampleMain)) {
    throw new Error(
      `${sampleMain} is missing: run "npm run build" first (npm test does it for you).`,
    );
  }
  const child = spawn(process.execPath, [sampleMain], {
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

process.once('exit', () => {
  for (const node of live) {
    try {
      process.kill(node.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export { freePort } from './ports.js';
