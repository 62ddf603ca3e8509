import { appendFile, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SampleNode, startNode, stopAll } from '../support/nodes.js';
import { freeSharedPort } from '../support/ports.js';
import { until } from '../support/wait.js';

/**
 * Hosts file discovery between real processes: three sample nodes on 127.0.0.2-4 sharing one
 * port. a and b read one watched file (`hosts:<file>`); c reads a file of its own, polled only
 * (`watch: false`), which starts empty, so c joins only when a and b's file names it.
 */
describe('hosts file discovery (three sample nodes, files edited while they run)', () => {
  const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4'] as const;
  const [a, b, c] = hosts.map(h => `app@${h}`) as [string, string, string];
  let dir = '';
  let shared = '';
  let own = '';
  let nodes: SampleNode[] = [];

  /** Replaces `file` the way deploy tools do: a new file renamed over it. */
  async function replace(file: string, text: string): Promise<void> {
    const next = join(dir, `.${Math.random().toString(36).slice(2)}.tmp`);
    await writeFile(next, text);
    await rename(next, file);
  }

  const memberLists = async () => Promise.all(nodes.map(n => n.members()));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `gc-hosts-e2e-${process.pid}-`));
    shared = join(dir, 'cluster.hosts');
    own = join(dir, 'c.hosts');
    await writeFile(shared, `# a and b\n${a}\n${b}\n`);
    await writeFile(own, '');
    const port = await freeSharedPort(hosts);
    const discovery = [
      `hosts:${shared}`,
      `hosts:${shared}`,
      JSON.stringify({ strategy: 'hosts', file: own, watch: false, pollIntervalMs: 300 }),
    ];
    nodes = await Promise.all(
      hosts.map((host, i) =>
        startNode(
          {
            GEN_CLUSTER_NODE: `app@${host}`,
            GEN_CLUSTER_PORT: String(port),
            GEN_CLUSTER_DISCOVERY: discovery[i]!,
            GEN_CLUSTER_REFRESH_INTERVAL_MS: '500',
            GEN_CLUSTER_LOG_LEVEL: 'warn',
          },
          // a Nest start is quick on a quiet machine, but far slower while other suites load it
          { timeoutMs: 40_000 },
        ),
      ),
    );
    await until(
      async () => {
        const [ma, mb, mc] = await memberLists();
        return ma?.length === 1 && mb?.length === 1 && mc?.length === 0;
      },
      10_000,
      'a and b linked, c alone',
    );
  }, 60_000);
  afterAll(async () => {
    await stopAll();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('adds a member when a line is appended to the file, without restarts', async () => {
    await appendFile(shared, `${c}\n`);
    await until(
      async () => (await memberLists()).every(m => m?.length === 2),
      8_000,
      'c to join through the appended line',
    );
    expect(await nodes[0]!.discovered()).toEqual([b, c]);
  });

  it('follows a file replaced by an atomic rename', async () => {
    await replace(shared, `${a}\n${b}\n# c removed\n`);
    await until(
      async () => (await nodes[0]!.discovered())?.join() === b,
      8_000,
      'a to see c gone from the replaced file',
    );
    // the default removal policy keeps live links: nobody is disconnected
    expect((await memberLists()).map(m => m?.length)).toEqual([2, 2, 2]);
  });

  it('warns about a bad line in the middle by file:line, and keeps the others', async () => {
    await replace(shared, `${a}\nnot a node!\n${b}\n${c}\n`);
    const warned = (node: SampleNode) =>
      node.output.some(l => l.includes(`${shared}:2: skipped "not a node!"`));
    await until(() => warned(nodes[0]!) && warned(nodes[1]!), 8_000, 'the bad-line warning');
    await until(
      async () => (await nodes[0]!.discovered())?.join() === [b, c].join(),
      8_000,
      'a to read the good lines around it',
    );
    expect((await memberLists()).map(m => m?.length)).toEqual([2, 2, 2]);
    expect(nodes.every(n => n.exitCode === undefined)).toBe(true);
  });

  it('picks up a change by polling alone (watch: false)', async () => {
    expect(await nodes[2]!.discovered()).toEqual([]);
    await appendFile(own, `${a}\n`);
    await until(
      async () => (await nodes[2]!.discovered())?.join() === a,
      5_000,
      'c to poll its file',
    );
  });
});
