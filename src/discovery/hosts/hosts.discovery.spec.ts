import { chmod, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { until } from '../../../test/support/wait.js';
import {
  type ClusterLogger,
  type DiscoveryContext,
  DiscoveryError,
  InvalidConfigError,
  type Peer,
} from '../../core/index.js';
import { PortMapperClient, PortMapperServer, type RegisteredNode } from '../../portmapper/index.js';
import { HOSTS_FILE_LIMITS } from './hosts-file.js';
import { HostsFileDiscovery } from './hosts.discovery.js';
import { HostsMessages } from './hosts.messages.js';

let dir: string;
const started: HostsFileDiscovery[] = [];
const servers: PortMapperServer[] = [];
const handles: RegisteredNode[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), `gc-hosts-${process.pid}-`));
});
afterEach(async () => {
  for (const d of started.splice(0)) d.close();
  await Promise.all(handles.splice(0).map(h => h.close()));
  await Promise.all(servers.splice(0).map(s => s.close()));
  await rm(dir, { recursive: true, force: true });
});

interface Recorded {
  readonly warnings: string[];
  readonly refreshes: { count: number };
  readonly reported: { error: Error; source: string; consecutive?: number }[];
}

function context(self = 'self@127.0.0.1', withReport = true): DiscoveryContext & Recorded {
  const warnings: string[] = [];
  const refreshes = { count: 0 };
  const reported: Recorded['reported'] = [];
  const logger: ClusterLogger = {
    log: () => undefined,
    debug: () => undefined,
    warn: m => warnings.push(m),
    error: m => warnings.push(m),
  };
  return {
    self,
    logger,
    requestRefresh: () => refreshes.count++,
    ...(withReport
      ? {
          reportError: (error: Error, source: string, consecutive?: number) =>
            reported.push({ error, source, consecutive }),
        }
      : {}),
    warnings,
    refreshes,
    reported,
  };
}

/** A started discovery of `file` (a fast poll, so the tests never wait long on a lost event). */
async function start(
  file: string,
  ctx = context(),
  options: Record<string, unknown> = {},
): Promise<HostsFileDiscovery> {
  const discovery = new HostsFileDiscovery({ file, pollIntervalMs: 50, ...options });
  started.push(discovery);
  await discovery.init(ctx);
  return discovery;
}

const names = (peers: readonly Peer[]) => peers.map(p => p.node);

describe('HostsFileDiscovery options', () => {
  it('fills in the defaults, the file made absolute', () => {
    const discovery = new HostsFileDiscovery({ strategy: 'hosts', file: 'cluster.hosts' });
    expect(discovery.name).toBe('hosts');
    expect(discovery.settings).toEqual({
      file: resolve('cluster.hosts'),
      watch: true,
      pollIntervalMs: 2_000,
      portMapperPort: 14_369,
      namespace: 'default',
    });
  });

  it.each([
    [{}, 'discovery (hosts).file'],
    [{ file: '' }, 'discovery (hosts).file'],
    [{ file: 'a\0b' }, 'discovery (hosts).file'],
    [{ file: 7 }, 'discovery (hosts).file'],
    [{ file: 'f', watch: 'yes' }, 'discovery (hosts).watch'],
    [{ file: 'f', pollIntervalMs: 0 }, 'discovery (hosts).pollIntervalMs'],
    [{ file: 'f', pollIntervalMs: 2 ** 31 }, 'discovery (hosts).pollIntervalMs'],
    [{ file: 'f', portMapperPort: 70_000 }, 'discovery (hosts).portMapperPort'],
    [{ file: 'f', namespace: 'no spaces' }, 'discovery (hosts).namespace'],
    [{ file: 'f', files: ['g'] }, 'discovery (hosts).files'],
    [{ file: 'f', strategy: 'local' }, 'discovery (hosts).strategy'],
  ])('refuses %j, naming %s', (options, option) => {
    const build = () => new HostsFileDiscovery(options as never);
    expect(build).toThrow(InvalidConfigError);
    expect(build).toThrow(`Invalid option ${option}: received`);
  });
});

describe('HostsFileDiscovery', () => {
  it('answers the nodes of the file, and a real nothing for an empty file', async () => {
    const file = join(dir, 'cluster.hosts');
    await writeFile(file, '# two\na@127.0.0.2\nb@127.0.0.3:4370\n');
    const discovery = await start(file);
    expect(await discovery.peers()).toEqual([
      { node: 'a@127.0.0.2' },
      { node: 'b@127.0.0.3', port: 4370 },
    ]);
    const empty = join(dir, 'empty.hosts');
    await writeFile(empty, '');
    expect(await (await start(empty)).peers()).toEqual([]);
  });

  it('reloads on a change and asks the cluster to refresh, once per changed listing', async () => {
    const file = join(dir, 'cluster.hosts');
    await writeFile(file, 'a@127.0.0.2\n');
    const ctx = context();
    // no poll within the test: the watch alone must see it
    const discovery = await start(file, ctx, { pollIntervalMs: 3_600_000 });
    expect(discovery.watching).toBe(true);
    await writeFile(file, 'a@127.0.0.2\nb@127.0.0.3\n');
    await until(() => ctx.refreshes.count === 1, 5_000, 'a refresh request');
    expect(names(await discovery.peers())).toEqual(['a@127.0.0.2', 'b@127.0.0.3']);
    // the same listing written otherwise (order, comments) is no change
    await writeFile(file, '# reordered\nb@127.0.0.3\na@127.0.0.2\n');
    await writeFile(file, 'a@127.0.0.2\nb@127.0.0.3\nc@127.0.0.4\n');
    await until(() => ctx.refreshes.count >= 2, 5_000, 'a second refresh request');
    expect(ctx.refreshes.count).toBe(2);
  });

  it('polls alone with watch: false', async () => {
    const file = join(dir, 'cluster.hosts');
    await writeFile(file, 'a@127.0.0.2\n');
    const ctx = context();
    const discovery = await start(file, ctx, { watch: false, pollIntervalMs: 30 });
    expect(discovery.watching).toBe(false);
    await writeFile(file, 'a@127.0.0.2\nb@127.0.0.3\n');
    await until(() => ctx.refreshes.count === 1, 5_000, 'the poll to see the change');
    expect(names(await discovery.peers())).toEqual(['a@127.0.0.2', 'b@127.0.0.3']);
  });

  it('warns about each bad line with file:line, the text and the accepted forms; the good lines stand', async () => {
    const file = join(dir, 'cluster.hosts');
    await writeFile(file, 'a@127.0.0.2\nnot a node\nb@127.0.0.3\n');
    const ctx = context();
    const discovery = await start(file, ctx);
    expect(names(await discovery.peers())).toEqual(['a@127.0.0.2', 'b@127.0.0.3']);
    expect(ctx.warnings).toEqual([
      HostsMessages.badLine(file, 2, 'not a node', HostsMessages.severalEntries()),
    ]);
    expect(ctx.warnings[0]).toContain(`${file}:2: skipped "not a node"`);
    expect(ctx.warnings[0]).toContain('name@host:port');
  });

  it('warns about 20 bad lines one by one and counts the rest', async () => {
    const file = join(dir, 'cluster.hosts');
    await writeFile(file, Array.from({ length: 25 }, (_, i) => `bad${i}!`).join('\n'));
    const ctx = context();
    await start(file, ctx);
    expect(ctx.warnings).toHaveLength(21);
    expect(ctx.warnings[20]).toBe(HostsMessages.moreBadLines(file, 5));
  });

  it('sees an atomic rename replacing the file', async () => {
    const file = join(dir, 'cluster.hosts');
    await writeFile(file, 'a@127.0.0.2\nb@127.0.0.3\n');
    const ctx = context();
    const discovery = await start(file, ctx, { pollIntervalMs: 3_600_000 });
    await writeFile(join(dir, 'next.tmp'), 'c@127.0.0.4\n');
    await rename(join(dir, 'next.tmp'), file);
    await until(() => ctx.refreshes.count === 1, 5_000, 'a refresh after the rename');
    expect(names(await discovery.peers())).toEqual(['c@127.0.0.4']);
  });

  it('does not fail to start when the file is missing, fails each lookup until it appears', async () => {
    const file = join(dir, 'late.hosts');
    const discovery = await start(file);
    await expect(discovery.peers()).rejects.toThrow(DiscoveryError);
    await expect(discovery.peers()).rejects.toThrow(`Hosts discovery: cannot read ${file} (ENOENT`);
    await writeFile(file, 'a@127.0.0.2\n');
    // read again at the lookup itself, without waiting for the poll
    expect(names(await discovery.peers())).toEqual(['a@127.0.0.2']);
  });

  it('reads a file that appears after startup and asks the cluster to refresh', async () => {
    const file = join(dir, 'late.hosts');
    const ctx = context();
    const discovery = await start(file, ctx);
    await writeFile(file, 'a@127.0.0.2\n');
    await until(() => ctx.refreshes.count === 1, 5_000, 'a refresh when the file appeared');
    expect(names(await discovery.peers())).toEqual(['a@127.0.0.2']);
  });

  it('fails lookups while the file is gone or too large (the cluster keeps its last good peers), and recovers', async () => {
    const file = join(dir, 'cluster.hosts');
    await writeFile(file, 'a@127.0.0.2\n');
    const ctx = context();
    const discovery = await start(file, ctx);
    await unlink(file);
    await until(() => ctx.refreshes.count === 1, 5_000, 'a refresh when the file went');
    await expect(discovery.peers()).rejects.toThrow(DiscoveryError);
    await writeFile(file, `# ${'x'.repeat(HOSTS_FILE_LIMITS.maxBytes)}\n`);
    await expect(discovery.peers()).rejects.toThrow(
      HostsMessages.tooLarge(file, HOSTS_FILE_LIMITS.maxBytes),
    );
    await writeFile(file, 'a@127.0.0.2\nb@127.0.0.3\n');
    await until(() => ctx.refreshes.count === 2, 5_000, 'a refresh when it came back');
    expect(names(await discovery.peers())).toEqual(['a@127.0.0.2', 'b@127.0.0.3']);
  });

  it('refuses a file that is not a regular file, and one it may not read', async () => {
    const discovery = await start(dir);
    await expect(discovery.peers()).rejects.toThrow(HostsMessages.notAFile(dir));
    if (process.getuid?.() === 0) return; // root reads anything
    const file = join(dir, 'secret.hosts');
    await writeFile(file, 'a@127.0.0.2\n');
    await chmod(file, 0o000);
    await expect((await start(file)).peers()).rejects.toThrow(/EACCES/);
  });

  describe('hosts whose port mappers are asked', () => {
    async function mapperWith(nodes: [string, number, string?][]): Promise<PortMapperServer> {
      const server = await PortMapperServer.start({ host: '127.0.0.1', port: 0 });
      servers.push(server);
      for (const [name, port, namespace] of nodes) {
        const options =
          namespace === undefined ? { host: '127.0.0.1' } : { host: '127.0.0.1', namespace };
        handles.push(
          await new PortMapperClient({ port: server.port }).register(name, port, options),
        );
      }
      return server;
    }

    it('adds the nodes registered with each host’s mapper in its namespace to the file’s nodes', async () => {
      const server = await mapperWith([
        ['x', 41_001, 'blue'],
        ['y', 41_002, 'green'],
      ]);
      const file = join(dir, 'cluster.hosts');
      await writeFile(file, "a@127.0.0.2\n'127.0.0.1'.\n");
      const discovery = await start(file, context(), {
        portMapperPort: server.port,
        namespace: 'blue',
      });
      expect(await discovery.peers()).toEqual([
        { node: 'a@127.0.0.2' },
        { node: 'x@127.0.0.1', port: 41_001 },
      ]);
    });

    it('answers the file’s nodes and the last good host nodes when no mapper answers, and reports which hosts failed', async () => {
      const server = await mapperWith([['x', 41_001]]);
      const file = join(dir, 'cluster.hosts');
      await writeFile(file, 'a@127.0.0.2\n127.0.0.1\n');
      const ctx = context();
      const discovery = await start(file, ctx, { portMapperPort: server.port });
      expect(names(await discovery.peers())).toEqual(['a@127.0.0.2', 'x@127.0.0.1']);
      await Promise.all(handles.splice(0).map(h => h.close()));
      await server.close();
      expect(names(await discovery.peers())).toEqual(['a@127.0.0.2', 'x@127.0.0.1']);
      expect(names(await discovery.peers())).toEqual(['a@127.0.0.2', 'x@127.0.0.1']);
      expect(ctx.reported.map(r => [r.source, r.consecutive])).toEqual([
        ['hosts 127.0.0.1', 1],
        ['hosts 127.0.0.1', 2],
      ]);
      expect(ctx.reported[0]!.error).toBeInstanceOf(DiscoveryError);
      expect(ctx.reported[0]!.error.message).toContain(
        `the port mappers of the hosts listed in ${file}`,
      );
      expect(ctx.reported[0]!.error.message).toContain("answering the file's nodes");
    });

    it('warns once instead when the cluster offers no reportError', async () => {
      const server = await mapperWith([]);
      const port = server.port;
      await server.close();
      const file = join(dir, 'cluster.hosts');
      await writeFile(file, 'a@127.0.0.2\n127.0.0.1\n');
      const ctx = context('self@127.0.0.1', false);
      const discovery = await start(file, ctx, { portMapperPort: port });
      expect(names(await discovery.peers())).toEqual(['a@127.0.0.2']);
      expect(names(await discovery.peers())).toEqual(['a@127.0.0.2']);
      expect(ctx.warnings.filter(w => w.includes('port mappers'))).toHaveLength(1);
    });

    it('fails the lookup when no mapper answers and the file lists no node', async () => {
      const server = await mapperWith([]);
      const port = server.port;
      await server.close();
      const file = join(dir, 'cluster.hosts');
      await writeFile(file, '127.0.0.1\n');
      const ctx = context();
      const discovery = await start(file, ctx, { portMapperPort: port });
      const failure = discovery.peers();
      await expect(failure).rejects.toThrow(DiscoveryError);
      await expect(failure).rejects.toThrow(
        /did not answer \(.*\); keeping the last good peers\.$/,
      );
      expect(ctx.reported).toEqual([]);
    });
  });
});
