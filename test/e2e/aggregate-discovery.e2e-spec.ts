import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from '../support/managed-process.js';
import { TEST_COOKIE } from '../support/nodes.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/wait.js';

const fixture = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'aggregate-node.mjs',
);

interface AggEvent {
  readonly type: string;
  readonly node?: string;
  readonly source?: string;
  readonly consecutive?: number;
  readonly message?: string;
}

/** One fixture node: a real process running createCluster from the build. */
class AggregateNode extends ManagedProcess {
  constructor(
    readonly name: string,
    port: number,
    discovery: string,
  ) {
    super(
      spawn(process.execPath, [fixture], {
        env: {
          ...process.env,
          AGG_NODE: name,
          AGG_PORT: String(port),
          AGG_COOKIE: TEST_COOKIE,
          AGG_DISCOVERY: discovery,
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
  }

  /** The lines printed with `tag`, parsed. */
  lines<T>(tag: string): T[] {
    return this.output
      .filter(line => line.startsWith(`${tag} `))
      .map(line => JSON.parse(line.slice(tag.length + 1)) as T);
  }

  events(): AggEvent[] {
    return this.lines<AggEvent>('AGG_EVENT');
  }

  /** Asks for members and the discovered set, and waits for the answer. */
  async state(): Promise<{ members: string[]; discovered: string[] }> {
    const before = this.lines('AGG_STATE').length;
    this.child.stdin!.write('state\n');
    await until(() => this.lines('AGG_STATE').length > before, 5_000, `${this.name} state`);
    return this.lines<{ members: string[]; discovered: string[] }>('AGG_STATE').at(-1)!;
  }

  ready(): Promise<void> {
    return until(
      () => this.lines('AGG_READY').length > 0 || this.exitCode !== undefined,
      15_000,
      `${this.name} to start`,
    ).then(() => {
      if (this.exitCode !== undefined)
        throw new Error(`${this.name} exited:\n${this.output.join('\n')}`);
    });
  }
}

/**
 * The aggregate of a static list and a hosts file, in real processes: when the file goes missing,
 * the node keeps the static peer and the file's last good peer (discovered and connected), and
 * says which source failed (`discoveryError` with `source: 'aggregate[1] hosts'`) without its
 * lookup failing.
 */
describe('aggregate discovery (static + hosts file) across processes', () => {
  const started: ManagedProcess[] = [];
  let dir = '';

  afterEach(async () => {
    await Promise.all(started.splice(0).map(p => p.stop()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the static peers and the file’s last good peers when the file goes missing', async () => {
    dir = await mkdtemp(join(tmpdir(), `gc-aggregate-${process.pid}-`));
    const file = join(dir, 'cluster.hosts');
    const [pa, pb, pc] = await Promise.all([freePort(), freePort(), freePort()]);
    const [a, b, c] = ['a', 'b', 'c'].map(n => `${n}@127.0.0.1`) as [string, string, string];
    await writeFile(file, `# the file's peer\n${c}:${pc}\n`);

    const nodes = [
      new AggregateNode(a, pa, `static:${b}:${pb}|hosts:${file}`),
      new AggregateNode(b, pb, 'static:'),
      new AggregateNode(c, pc, 'static:'),
    ];
    started.push(...nodes);
    const [nodeA] = nodes as [AggregateNode, AggregateNode, AggregateNode];
    await Promise.all(nodes.map(n => n.ready()));
    await until(
      async () => (await nodeA.state()).members.sort().join() === [b, c].join(),
      10_000,
      'a to connect to b (static) and c (hosts file)',
    );

    await rm(file);
    const hostsFailures = () =>
      nodeA.events().filter(e => e.type === 'discoveryError' && e.source === 'aggregate[1] hosts');
    // several lookups in a row without the file, so "kept" is not one lucky refresh
    await until(
      () => hostsFailures().some(e => (e.consecutive ?? 0) >= 3),
      10_000,
      'three discoveryErrors from the hosts source',
    );

    const state = await nodeA.state();
    expect(state.discovered.sort()).toEqual([b, c]);
    expect(state.members.sort()).toEqual([b, c]);
    const events = nodeA.events();
    expect(hostsFailures()[0]!.message).toContain('aggregate[1] hosts');
    expect(hostsFailures()[0]!.message).toContain(file);
    // the lookup itself never failed, and nobody was lost or disconnected
    expect(events.filter(e => e.type === 'discoveryError' && e.source === undefined)).toEqual([]);
    expect(events.filter(e => e.type === 'lost' || e.type === 'nodeDown')).toEqual([]);
  }, 20_000);
});
