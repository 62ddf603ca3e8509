import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ManagedProcess } from './managed-process.js';
import { freePort } from './ports.js';
import { until } from './wait.js';

/**
 * A real NATS server for tests: Debian's `nats-server` (package `nats-server`), on 127.0.0.1 with
 * a free client port and a free monitoring port (`-m`), started by the test and stopped by it.
 *
 * - {@link NatsServer.start} waits (with a deadline) until the monitoring endpoint answers
 *   `/healthz` and the client port accepts a connection.
 * - {@link NatsServer.kill} (SIGKILL) and {@link NatsServer.stop} (SIGTERM, then SIGKILL after a
 *   bounded grace) keep the ports; {@link NatsServer.restart} starts it again on the same ports,
 *   as a server coming back after a crash.
 * - {@link startNatsCluster}: three servers joined by routes (`--cluster`, `--routes`,
 *   `--cluster_name`), ready once every server's `/routez` shows a route to each other one.
 * - {@link NatsServer.close} stops it for good. Every server still running is stopped in
 *   {@link stopAllNatsServers} (call it in `afterAll`) and SIGKILLed at process exit at the latest
 *   (ManagedProcess's exit hook).
 *
 * If the binary is missing, {@link NatsServer.start} throws naming the package to install.
 */

/** Where Debian installs it (sbin is not on every user's PATH). */
const CANDIDATES = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

/** The command that installs nats-server (as root). */
export const NATS_INSTALL_COMMAND =
  'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nats-server';

/** The nats-server binary, or a loud error naming the package. */
export function natsServerBinary(): string {
  const found = CANDIDATES.find(path => existsSync(path));
  if (found === undefined)
    throw new Error(
      `The NATS tests need nats-server (Debian package "nats-server"), found in none of ${CANDIDATES.join(', ')}. As root:\n  ${NATS_INSTALL_COMMAND}`,
    );
  return found;
}

/** Options of {@link NatsServer.start}. */
export interface NatsServerOptions {
  /** `--user` / `--pass`: clients must authenticate. */
  readonly user?: string;
  readonly password?: string;
  /** `--auth`: clients must present this token. */
  readonly token?: string;
  /** Extra command-line arguments (e.g. `--tls ...`, `-c <config file>`). */
  readonly args?: readonly string[];
  /** How long to wait for readiness after a (re)start; 10 s by default. */
  readonly readyTimeoutMs?: number;
  /** Routes of a cluster (set by {@link startNatsCluster}). */
  readonly cluster?: {
    readonly name: string;
    readonly port: number;
    readonly routes: readonly number[];
  };
}

const live = new Set<NatsServer>();
let started = 0;

/** One nats-server process run by a test. */
export class NatsServer {
  private process: ManagedProcess | undefined;
  /** Its log lines (stdout and stderr), tagged, the last 2,000. */
  readonly output: string[] = [];
  /** Set once {@link close} ran: nothing restarts it after that. */
  private closed = false;

  private constructor(
    /** `gc-<pid>-<n>`, the server name (`-n`). */
    readonly name: string,
    /** The client port. */
    readonly port: number,
    /** The HTTP monitoring port (`-m`). */
    readonly monitorPort: number,
    private readonly options: NatsServerOptions,
  ) {}

  /**
   * Starts a server on free loopback ports and waits until it accepts clients.
   * @throws when nats-server is not installed (naming the package) or does not become ready.
   */
  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    natsServerBinary();
    const [port, monitorPort] = await distinctFreePorts(2);
    const server = new NatsServer(`gc-${process.pid}-${++started}`, port!, monitorPort!, options);
    live.add(server);
    try {
      await server.launch();
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  /** `nats://127.0.0.1:<port>`. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** The cluster (route) port, when part of a cluster. */
  get clusterPort(): number | undefined {
    return this.options.cluster?.port;
  }

  /** The pid while it runs, else `undefined`. */
  get pid(): number | undefined {
    return this.running ? this.process?.pid : undefined;
  }

  /** Whether the process runs. */
  get running(): boolean {
    return this.process !== undefined && this.process.exitCode === undefined;
  }

  /** SIGKILL (`kill -9`), keeping the ports for a {@link restart}. */
  async kill(): Promise<void> {
    await this.process?.kill();
  }

  /** SIGTERM, then SIGKILL after `graceMs`; the ports are kept for a {@link restart}. */
  async stop(graceMs = 2_000): Promise<void> {
    await this.process?.stop(graceMs);
  }

  /** SIGSTOP: the server holds its sockets but answers nothing until {@link resume}. */
  pause(): void {
    this.process?.signal('SIGSTOP');
  }

  /** SIGCONT. */
  resume(): void {
    this.process?.signal('SIGCONT');
  }

  /** Starts again on the same ports (after {@link kill} or {@link stop}; kills it first if it runs). */
  async restart(): Promise<void> {
    if (this.closed) throw new Error(`nats-server ${this.name} was closed`);
    await this.process?.kill();
    await this.launch();
  }

  /** Stops it for good (SIGTERM, SIGKILL after 2 s). */
  async close(): Promise<void> {
    this.closed = true;
    live.delete(this);
    await this.process?.stop(2_000);
  }

  /** GET `path` of the monitoring endpoint, as JSON; `undefined` while it does not answer. */
  async monitor<T = Record<string, unknown>>(path: string): Promise<T | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.monitorPort}${path}`, {
        signal: AbortSignal.timeout(1_000),
      });
      if (!response.ok) return undefined;
      return (await response.json()) as T;
    } catch {
      return undefined;
    }
  }

  /** The client connections the server holds (`/connz`), with their names. */
  async connections(): Promise<{ cid: number; name?: string; port: number }[]> {
    const connz = await this.monitor<{
      connections?: { cid: number; name?: string; port: number }[];
    }>('/connz?limit=1024');
    return connz?.connections ?? [];
  }

  /** This start's server id (`/varz`; a new one at each start), or `undefined` while down. */
  async serverId(): Promise<string | undefined> {
    return (await this.monitor<{ server_id?: string }>('/varz'))?.server_id;
  }

  /** The server ids this one has a route to (`/routez`). */
  async routedTo(): Promise<string[]> {
    const routez = await this.monitor<{ routes?: { remote_id: string }[] }>('/routez');
    return (routez?.routes ?? []).map(r => r.remote_id);
  }

  /** Starts the process and waits until it is ready. */
  private async launch(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-m', String(this.monitorPort)];
    args.push('-n', this.name);
    const { user, password, token, cluster } = this.options;
    if (user !== undefined) args.push('--user', user);
    if (password !== undefined) args.push('--pass', password);
    if (token !== undefined) args.push('--auth', token);
    if (cluster) {
      args.push('--cluster', `nats://127.0.0.1:${cluster.port}`, '--cluster_name', cluster.name);
      if (cluster.routes.length > 0)
        args.push('--routes', cluster.routes.map(p => `nats://127.0.0.1:${p}`).join(','));
    }
    args.push(...(this.options.args ?? []));
    const child = spawn(natsServerBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const process = new ManagedProcess(child, { output: this.output, tag: `[${this.name}] ` });
    this.process = process;
    await until(
      async () => {
        if (process.exitCode !== undefined)
          throw new Error(
            `nats-server ${this.name} exited (${process.exitCode ?? process.exitSignal}) before it was ready:\n${this.output.slice(-20).join('\n')}`,
          );
        return (await this.monitor<{ status?: string }>('/healthz'))?.status === 'ok';
      },
      this.options.readyTimeoutMs ?? 10_000,
      `nats-server ${this.name} to answer /healthz on 127.0.0.1:${this.monitorPort}`,
      25,
    );
  }
}

/** A NATS cluster of servers joined by routes (see {@link startNatsCluster}). */
export class NatsCluster {
  constructor(readonly servers: readonly NatsServer[]) {}

  /** Every server's client URL, in order. */
  get urls(): string[] {
    return this.servers.map(s => s.url);
  }

  /**
   * Waits until every running server has a route to every other running one (`/routez`), within
   * `timeoutMs`.
   */
  async routed(timeoutMs = 10_000): Promise<void> {
    await until(
      async () => {
        const running = this.servers.filter(s => s.running);
        const ids = await Promise.all(running.map(s => s.serverId()));
        const routes = await Promise.all(running.map(s => s.routedTo()));
        return running.every(
          (_, i) =>
            ids[i] !== undefined &&
            ids.every((id, j) => j === i || (id !== undefined && routes[i]!.includes(id))),
        );
      },
      timeoutMs,
      `routes between ${this.servers.map(s => s.name).join(', ')}`,
      50,
    );
  }

  /** Closes every server. */
  async close(): Promise<void> {
    await Promise.all(this.servers.map(s => s.close()));
  }
}

/**
 * Starts `size` (3 by default) nats-servers on loopback, each with `--cluster` on its own route
 * port and `--routes` to every other one, under one `--cluster_name`, and waits until all the
 * routes are up.
 */
export async function startNatsCluster(
  size = 3,
  options: Omit<NatsServerOptions, 'cluster'> = {},
): Promise<NatsCluster> {
  natsServerBinary();
  const routePorts = await distinctFreePorts(size);
  const name = `gc-${process.pid}-${++started}`;
  const results = await Promise.allSettled(
    routePorts.map((port, i) =>
      NatsServer.start({
        ...options,
        cluster: { name, port, routes: routePorts.filter((_, j) => j !== i) },
      }),
    ),
  );
  const servers = results.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find(r => r.status === 'rejected');
  if (failed) {
    await Promise.all(servers.map(s => s.close()));
    throw failed.reason;
  }
  const cluster = new NatsCluster(servers);
  try {
    await cluster.routed(options.readyTimeoutMs ?? 10_000);
  } catch (error) {
    await cluster.close();
    throw error;
  }
  return cluster;
}

/** Closes every server a test started and did not close. */
export async function stopAllNatsServers(): Promise<void> {
  await Promise.all([...live].map(s => s.close()));
}

/** `count` free loopback ports, distinct from each other. */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let attempt = 0; ports.size < count && attempt < 100; attempt++) ports.add(await freePort());
  if (ports.size < count) throw new Error(`could not find ${count} distinct free ports`);
  return [...ports];
}
