/**
 * The `gen-cluster` command against three sample processes: the built bin (dist/src/cli/main.js)
 * joins as a hidden node through the nodes' own GEN_CLUSTER_* environment (local discovery over a
 * port mapper this test runs) or through one --seed, and asks the cluster who is in it.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PortMapperServer } from '../../src/portmapper/index.js';
import { ManagedProcess } from '../support/managed-process.js';
import { type SampleNode, TEST_COOKIE, startNode, stopAll } from '../support/nodes.js';
import { until } from '../support/wait.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cliMain = join(root, 'dist', 'src', 'cli', 'main.js');
const version = (
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
).version;
/** The text outputs of this run, for the docs (test-artifacts/ is not committed). */
const capture = join(root, 'test-artifacts', 'cli-output.txt');

const NAMES = ['a', 'b', 'c'].map(n => `${n}@127.0.0.1`);
const [A, B, C] = NAMES as [string, string, string];

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

describe('gen-cluster command against three sample processes', () => {
  let mapper: PortMapperServer;
  let nodes: SampleNode[] = [];
  /** What a node and the CLI share: how to find the cluster, and the cookie. */
  let clusterEnv: Record<string, string> = {};

  /** Runs the bin once with `env` (no GEN_CLUSTER_* of this process leaks in). */
  function cli(args: readonly string[], env: Record<string, string>): Promise<CliRun> {
    const child = spawn(process.execPath, [cliMain, ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    return new Promise(resolve => child.once('close', code => resolve({ code, stdout, stderr })));
  }

  function record(title: string, run: CliRun | string): void {
    appendFileSync(capture, `$ ${title}\n${typeof run === 'string' ? run : run.stdout}\n`);
  }

  /** The dist port a node registered with the port mapper (for a --seed). */
  async function distPort(node: string): Promise<number> {
    const run = await cli(['names', '127.0.0.1', '--json'], clusterEnv);
    const { nodes: names } = JSON.parse(run.stdout) as { nodes: { name: string; port: number }[] };
    return names.find(n => `${n.name}@127.0.0.1` === node)!.port;
  }

  beforeAll(async () => {
    if (!existsSync(cliMain)) throw new Error(`${cliMain} is missing: run "npm run build" first.`);
    mkdirSync(dirname(capture), { recursive: true });
    writeFileSync(capture, '');
    mapper = await PortMapperServer.start({ port: 0 });
    clusterEnv = {
      GEN_CLUSTER_DISCOVERY: 'local',
      GEN_CLUSTER_PORTMAPPER_PORT: String(mapper.port),
      GEN_CLUSTER_COOKIE: TEST_COOKIE,
    };
    nodes = await Promise.all(
      NAMES.map(name =>
        startNode(
          {
            ...clusterEnv,
            GEN_CLUSTER_NODE: name,
            GEN_CLUSTER_REFRESH_INTERVAL_MS: '500',
            GEN_CLUSTER_LOG_LEVEL: 'warn',
          },
          { timeoutMs: 30_000 },
        ),
      ),
    );
    await until(
      async () => (await Promise.all(nodes.map(n => n.members()))).every(m => m?.length === 2),
      20_000,
      'a full mesh of three',
    );
  }, 60_000);

  afterAll(async () => {
    await stopAll();
    await mapper?.close();
  });

  it('members --json, through the environment: each node with its two members, never the CLI', async () => {
    const run = await cli(['members', '--json'], clusterEnv);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const { nodes: rows } = JSON.parse(run.stdout) as {
      nodes: { node: string; members: string[] }[];
    };
    expect(rows.map(r => r.node)).toEqual(NAMES);
    for (const row of rows) expect(row.members).toEqual(NAMES.filter(n => n !== row.node));
    expect(run.stdout).not.toContain('gen-cluster-cli');
    record('gen-cluster members', await cli(['members'], clusterEnv));
  });

  it('names lists the three registrations with their ports', async () => {
    const run = await cli(['names', '127.0.0.1'], clusterEnv);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const lines = run.stdout.trim().split('\n');
    expect(lines.map(l => l.split(/\s+/)[0])).toEqual(['a', 'b', 'c']);
    for (const line of lines) expect(line).toMatch(/^[abc]\s+\d+\s+default$/);
    record('gen-cluster names 127.0.0.1', run);
  });

  it('with one --seed reaches every node: ping, info (version, served topics)', async () => {
    const seed = ['--seed', `${A}:${await distPort(A)}`];
    const env = { GEN_CLUSTER_COOKIE: TEST_COOKIE };
    const ping = await cli(['ping', C, ...seed], env);
    expect(ping).toMatchObject({ code: 0, stderr: '' });
    expect(ping.stdout).toMatch(/^pong from c@127\.0\.0\.1 in \d+\.\d\d ms$/m);
    expect(ping.stdout.match(/^pong from/gm)).toHaveLength(3);
    expect(ping.stdout).toMatch(/^3 pongs: min [\d.]+ \/ avg [\d.]+ \/ max [\d.]+ ms$/m);
    record(`gen-cluster ping ${C} --seed ${A}:<port>`, ping);

    const info = await cli(['info', B, '--json', ...seed], env);
    expect(info).toMatchObject({ code: 0, stderr: '' });
    const answer = JSON.parse(info.stdout) as {
      node: string;
      version: string;
      members: string[];
      served: { topic: string; kind: string }[];
      events: { type: string }[];
    };
    expect(answer).toMatchObject({ node: B, version, members: [A, C] });
    expect(answer.served).toContainEqual({ topic: 'sample.greet', kind: 'handler' });
    expect(answer.served.some(s => s.topic.startsWith('$gc.'))).toBe(false);
    expect(answer.events.some(e => e.type === 'nodeUp')).toBe(true);
    const text = await cli(['info', B, ...seed], env);
    expect(text.stdout).toContain(`version     ${version}`);
    record(`gen-cluster info ${B}`, text);
  });

  it('an unknown node exits 3 with one line', async () => {
    const run = await cli(['info', 'nobody@127.0.0.1'], clusterEnv);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^gen-cluster: no such node: nobody@127\.0\.0\.1 .*\(ERR_NO_SUCH_NODE\)\n$/,
    );
  });

  it("the CLI's visits leave no warning in the nodes' logs", async () => {
    await cli(['members'], clusterEnv);
    const lines = nodes.flatMap(n => n.output).filter(l => /WARN|ERROR|gen-cluster-cli/.test(l));
    expect(lines).toEqual([]);
  });

  it('a wrong cookie exits 2 with the refusal code in one line', async () => {
    const run = await cli(['members'], { ...clusterEnv, GEN_CLUSTER_COOKIE: 'not-the-cookie-000' });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^gen-cluster: cannot join the cluster: .*\(ERR_BAD_COOKIE\)\n$/);
  });

  it('watch prints nodeDown after kill -9 of a node, and exits 0 on SIGINT', async () => {
    const child = spawn(process.execPath, [cliMain, 'watch'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...clusterEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const watch = new ManagedProcess(child);
    try {
      await until(
        () => watch.output.some(l => l.startsWith('watching 3 nodes')),
        15_000,
        'watch to start',
      );
      const c = nodes[2]!;
      c.signal('SIGKILL');
      await c.exited;
      const down = new RegExp(
        `^\\S+Z (a|b)@127\\.0\\.0\\.1 nodeDown ${C.replace(/\./g, '\\.')} \\(connectionClosed\\)$`,
      );
      await until(() => watch.output.some(l => down.test(l)), 10_000, 'watch to print nodeDown c');
      watch.signal('SIGINT');
      expect(await watch.exited).toBe(0);
      record('gen-cluster watch   (then kill -9 of c, then Ctrl-C)', watch.output.join('\n'));
    } finally {
      watch.signal('SIGKILL');
    }
  });
});
