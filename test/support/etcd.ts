import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ManagedProcess } from './managed-process.js';
import { NodeEventProcess } from './node-event-process.js';
import { freePort } from './ports.js';
import { until } from './wait.js';

const run = promisify(execFile);

/**
 * A real etcd for tests: Debian's `/usr/bin/etcd` (package `etcd-server`), one member on
 * 127.0.0.1 with free client and peer ports, a `mkdtemp` data dir, and a name carrying this
 * process's pid. Started with `--auth-token simple` (etcd 3.4's default) and, with `tls`, serving
 * https with `--client-cert-auth` off (the CA verifies the server; a client certificate is used
 * when given).
 *
 * - {@link Etcd.kill} (SIGKILL) and {@link Etcd.restart} keep the data dir and ports, for outages:
 *   leases and keys survive the restart as after a real crash.
 * - {@link Etcd.pause} / {@link Etcd.resume}: SIGSTOP / SIGCONT, so requests hang (time out).
 * - {@link Etcd.stop} kills by its own pid and removes the data dir; an `exit` hook kills anything
 *   left running. If etcd is not installed, {@link Etcd.start} throws naming the package.
 */

/** The command that installs etcd and etcdctl (as root). */
export const ETCD_INSTALL_COMMAND =
  'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends etcd-server etcd-client';

const ETCD = '/usr/bin/etcd';
const ETCDCTL = '/usr/bin/etcdctl';

/** Options of {@link Etcd.start}. */
export interface EtcdOptions {
  /**
   * Serve https with this certificate; `caFile` is the CA clients verify it with. With
   * `clientCertAuth`, etcd also demands a client certificate signed by that CA (the harness uses
   * the server's own certificate for etcdctl and /health).
   */
  readonly tls?: {
    readonly certFile: string;
    readonly keyFile: string;
    readonly caFile: string;
    readonly clientCertAuth?: boolean;
  };
  /** How long to wait for `/health` after a (re)start; 15 s by default. */
  readonly readyTimeoutMs?: number;
}

let started = 0;

/** One etcd member run by a test. */
export class Etcd {
  private process: ManagedProcess | undefined;
  readonly output: string[] = [];

  private constructor(
    readonly name: string,
    readonly dataDir: string,
    readonly clientPort: number,
    readonly peerPort: number,
    private readonly options: EtcdOptions,
  ) {}

  /**
   * Starts etcd and waits until `/health` says true.
   * @throws when etcd is not installed (naming the install command) or does not become healthy.
   */
  static async start(options: EtcdOptions = {}): Promise<Etcd> {
    if (!existsSync(ETCD) || !existsSync(ETCDCTL))
      throw new Error(
        `The etcd tests need ${ETCD} and ${ETCDCTL}, which are not installed. As root:\n  ${ETCD_INSTALL_COMMAND}`,
      );
    const dataDir = mkdtempSync(join(tmpdir(), 'gc-etcd-'));
    const [clientPort, peerPort] = await Promise.all([freePort(), freePort()]);
    const etcd = new Etcd(`gc-${process.pid}-${++started}`, dataDir, clientPort, peerPort, options);
    try {
      await etcd.launch();
    } catch (error) {
      await etcd.stop();
      throw error;
    }
    return etcd;
  }

  /** `http(s)://127.0.0.1:<client port>`. */
  get endpoint(): string {
    return `${this.options.tls ? 'https' : 'http'}://127.0.0.1:${this.clientPort}`;
  }

  /** The pid while it runs. */
  get pid(): number | undefined {
    return this.process?.exitCode === undefined ? this.process?.pid : undefined;
  }

  /** SIGKILL, keeping the data dir and ports. */
  async kill(): Promise<void> {
    await this.process?.kill();
  }

  /** Starts again on the same data dir and ports (after {@link kill}). */
  async restart(): Promise<void> {
    await this.process?.kill();
    await this.launch();
  }

  /** SIGSTOP: requests hang until {@link resume}. */
  pause(): void {
    this.process?.signal('SIGSTOP');
  }

  /** SIGCONT. */
  resume(): void {
    this.process?.signal('SIGCONT');
  }

  /** Kills etcd (by its own pid) and removes its data dir. */
  async stop(): Promise<void> {
    await this.process?.stop(2_000);
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /**
   * Runs `etcdctl <args>` against this member (with the CA for TLS, and `--user` when given).
   * @returns stdout.
   */
  async ctl(args: readonly string[], user?: string): Promise<string> {
    const flags = [`--endpoints=${this.endpoint}`, '--dial-timeout=3s', '--command-timeout=5s'];
    const tls = this.options.tls;
    if (tls) flags.push(`--cacert=${tls.caFile}`);
    if (tls?.clientCertAuth) flags.push(`--cert=${tls.certFile}`, `--key=${tls.keyFile}`);
    if (user !== undefined) flags.push(`--user=${user}`);
    const { stdout } = await run(ETCDCTL, [...flags, ...args], {
      timeout: 10_000,
      env: { ...process.env, ETCDCTL_API: '3' },
    });
    return stdout;
  }

  /** The keys under `prefix` (`etcdctl get --prefix --keys-only`). */
  async keys(prefix: string, user?: string): Promise<string[]> {
    const out = await this.ctl(['get', '--prefix', '--keys-only', prefix], user);
    return out.split('\n').filter(line => line !== '');
  }

  /** `root:<password>` once {@link enableAuth} made it. */
  readonly rootUser = `root:root-${process.pid}`;

  /**
   * Disables and enables authentication again: every auth token issued so far becomes invalid
   * (etcd answers 401). A restart does not do that: etcd replays its log, authentications
   * included, and so gets its simple tokens back.
   */
  async invalidateTokens(): Promise<void> {
    await this.ctl(['auth', 'disable'], this.rootUser);
    await this.ctl(['auth', 'enable']);
  }

  /** Creates `user` with readwrite on `prefix` (and `root`), then enables authentication. */
  async enableAuth(user: string, password: string, prefix: string): Promise<void> {
    await this.ctl(['user', 'add', this.rootUser]);
    await this.ctl(['user', 'grant-role', 'root', 'root']).catch(() => undefined);
    await this.ctl(['role', 'add', 'gen-cluster']);
    await this.ctl([
      'role',
      'grant-permission',
      'gen-cluster',
      '--prefix=true',
      'readwrite',
      prefix,
    ]);
    await this.ctl(['user', 'add', `${user}:${password}`]);
    await this.ctl(['user', 'grant-role', user, 'gen-cluster']);
    await this.ctl(['auth', 'enable']);
  }

  /** Creates `user` with only `permission` on `prefix` (authentication already enabled). */
  async addUser(
    user: string,
    password: string,
    prefix: string,
    permission: 'read' | 'readwrite',
  ): Promise<void> {
    const role = `gen-cluster-${user}`;
    await this.ctl(['role', 'add', role], this.rootUser);
    await this.ctl(
      ['role', 'grant-permission', role, '--prefix=true', permission, prefix],
      this.rootUser,
    );
    await this.ctl(['user', 'add', `${user}:${password}`], this.rootUser);
    await this.ctl(['user', 'grant-role', user, role], this.rootUser);
  }

  private async launch(): Promise<void> {
    const scheme = this.options.tls ? 'https' : 'http';
    const client = `${scheme}://127.0.0.1:${this.clientPort}`;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const args = [
      `--name=${this.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${this.name}=${peer}`,
      '--initial-cluster-state=new',
      '--log-level=warn',
      '--logger=zap',
    ];
    if (this.options.tls) {
      const { certFile, keyFile, caFile } = this.options.tls;
      args.push(`--cert-file=${certFile}`, `--key-file=${keyFile}`);
      // --trusted-ca-file alone already makes etcd 3.4 demand client certificates
      if (this.options.tls.clientCertAuth)
        args.push('--client-cert-auth', `--trusted-ca-file=${caFile}`);
    }
    this.process = new ManagedProcess(spawn(ETCD, args, { stdio: ['ignore', 'pipe', 'pipe'] }), {
      output: this.output,
      tag: `[etcd ${this.name}] `,
    });
    const exited = this.process;
    await until(
      async () => {
        if (exited.exitCode !== undefined)
          throw new Error(
            `etcd exited (${exited.exitCode}):\n${this.output.slice(-20).join('\n')}`,
          );
        return this.healthy();
      },
      this.options.readyTimeoutMs ?? 15_000,
      `etcd ${this.name} to answer /health`,
      50,
    );
  }

  /** Whether `/health` answers `{"health":"true"}`. */
  async healthy(): Promise<boolean> {
    const url = `${this.endpoint}/health`;
    try {
      const text = this.options.tls
        ? await new Promise<string>((resolve, reject) => {
            const tls = this.options.tls!;
            const req = request(
              url,
              {
                ca: readFileSync(tls.caFile),
                ...(tls.clientCertAuth
                  ? { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }
                  : {}),
                timeout: 1_000,
              },
              res => {
                let body = '';
                res.on('data', (c: Buffer) => (body += c.toString()));
                res.on('end', () => resolve(body));
              },
            );
            req.on('error', reject);
            req.on('timeout', () => req.destroy(new Error('timeout')));
            req.end();
          })
        : await (await fetch(url, { signal: AbortSignal.timeout(1_000) })).text();
      return /"health":\s*"true"/.test(text);
    } catch {
      return false;
    }
  }
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The program of an {@link EtcdNode}: a GenCluster with the TCP dist (ephemeral port, no port
 * mapper) and the built EtcdDiscovery (dist/src/etcd), printing one JSON line per cluster event,
 * log line (warn and above, and log) and `ready`. SIGTERM stops it gracefully.
 */
const NODE_PROGRAM = `
// core and distribution only: the main entry also loads Nest, seconds of start-up per node
const { GenCluster } = await import(process.env.GC_ROOT + '/dist/src/core/index.js');
const { TcpDist } = await import(process.env.GC_ROOT + '/dist/src/distribution/index.js');
const { EtcdDiscovery } = await import(process.env.GC_ROOT + '/dist/src/etcd/index.js');
const cfg = JSON.parse(process.env.GC_ETCD_NODE);
const out = o => process.stdout.write(JSON.stringify(o) + '\\n');
const logger = { debug() {}, log: m => out({ level: 'log', m }), warn: m => out({ level: 'warn', m }), error: m => out({ level: 'error', m }) };
const cluster = new GenCluster({
  node: cfg.node,
  discovery: new EtcdDiscovery(cfg.etcd),
  dist: new TcpDist({ cookie: 'etcd-e2e-cookie', port: 0, portMapper: false, heartbeatMs: 200, failureTimeoutMs: 3000 }),
  logger,
  refreshIntervalMs: 300,
  discoveryTimeoutMs: 2000,
  backoff: { initialMs: 100, maxMs: 500, multiplier: 2, jitter: 0.2 },
});
cluster.events$.subscribe(e => out({ event: e.type, node: e.node, reason: e.reason, source: e.source, error: e.error?.message, code: e.error?.code }));
await cluster.start();
out({ ready: true });
process.once('SIGTERM', async () => { await cluster.stop(); out({ stopped: true }); process.exit(0); });
`;

/** One line an {@link EtcdNode} printed. */
export interface EtcdNodeLine {
  readonly ready?: boolean;
  readonly stopped?: boolean;
  readonly event?: string;
  readonly node?: string;
  readonly reason?: string;
  readonly source?: string;
  readonly error?: string;
  readonly code?: string;
  readonly level?: string;
  readonly m?: string;
}

/** A cluster node in its own process, discovering through etcd (see {@link startEtcdNode}). */
export class EtcdNode extends NodeEventProcess<EtcdNodeLine> {}

/**
 * The etcd discovery options of the e2e and soak node processes: one endpoint, `prefix`, lease
 * TTL `ttlSeconds`, and requests of at most a third of the TTL (the most the options accept).
 */
export function etcdNodeOptions(
  etcd: Etcd,
  prefix: string,
  ttlSeconds: number,
  requestTimeoutMs = Math.floor((ttlSeconds * 1_000) / 3),
): Record<string, unknown> {
  return { endpoints: [etcd.endpoint], prefix, leaseTtlSeconds: ttlSeconds, requestTimeoutMs };
}

/**
 * Starts a cluster node named `node` (`name@127.0.0.1`) whose discovery is
 * `new EtcdDiscovery(etcd)`, and waits until it printed `ready`. Needs `npm run build`.
 */
export async function startEtcdNode(
  node: string,
  etcd: Record<string, unknown>,
): Promise<EtcdNode> {
  if (!existsSync(join(root, 'dist', 'src', 'etcd', 'index.js')))
    throw new Error('dist/src/etcd/index.js is missing: run "npm run build" first.');
  const child = spawn(process.execPath, ['--input-type=module', '-e', NODE_PROGRAM], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      GC_ROOT: root,
      GC_ETCD_NODE: JSON.stringify({ node, etcd: { strategy: 'etcd', ...etcd } }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = new EtcdNode(node, child);
  await until(
    () => {
      if (started.exitCode !== undefined)
        throw new Error(`${node} exited (${started.exitCode}):\n${started.output.join('\n')}`);
      return started.lines.some(l => l.ready);
    },
    15_000,
    `${node} to start`,
  );
  return started;
}

/** What {@link etcdOutage} saw. */
export interface EtcdOutageReport {
  /** Each node's lines from the start of the outage to the end of the checks. */
  readonly lines: EtcdNodeLine[][];
  /** Each node's lines while etcd was away (up to `back`). */
  readonly whileAway: EtcdNodeLine[][];
  /** ms from `back` until every live node's key was in etcd again. */
  readonly restoredMs: number;
}

/**
 * One etcd outage under a formed cluster: `away()`, then every node must report a
 * `discoveryError`, the outage lasts `ms`, then `back()`; then every key in `liveKeys` must be in
 * etcd again within `restoreWithinMs`, and a probe key put under `keyPrefix` must be discovered
 * and, once deleted, lost by every node (the watch, or the range fallback, works again).
 */
export async function etcdOutage(
  etcd: Etcd,
  nodes: readonly EtcdNode[],
  options: {
    readonly keyPrefix: string;
    readonly liveKeys: readonly string[];
    readonly away: () => void | Promise<void>;
    readonly back: () => void | Promise<void>;
    readonly ms: number;
    readonly restoreWithinMs: number;
  },
): Promise<EtcdOutageReport> {
  const marks = nodes.map(n => n.lines.length);
  const since = () => nodes.map((n, i) => n.lines.slice(marks[i]));
  await options.away();
  await until(
    () => since().every(lines => lines.some(l => l.event === 'discoveryError')),
    options.ms + 3_000,
    'discoveryError on every node',
  );
  // The outage's length is what the test is about, not a condition to wait for.
  await new Promise(resolve => setTimeout(resolve, options.ms));
  const whileAway = since();
  const backAt = performance.now();
  await options.back();
  const wanted = [...options.liveKeys].sort().join();
  await until(
    async () => (await etcd.keys(options.keyPrefix)).sort().join() === wanted,
    options.restoreWithinMs,
    'every live key in etcd again',
  );
  const restoredMs = performance.now() - backAt;
  const probe = 'probe@127.0.0.1';
  const found = (type: string) =>
    since().every(lines => lines.some(l => l.event === type && l.node === probe));
  await etcd.ctl(['put', `${options.keyPrefix}${probe}`, JSON.stringify({ node: probe, port: 1 })]);
  await until(() => found('discovered'), 3_000, 'the probe key discovered by every node');
  await etcd.ctl(['del', `${options.keyPrefix}${probe}`]);
  await until(() => found('lost'), 3_000, 'the probe key lost by every node');
  return { lines: since(), whileAway, restoredMs };
}
