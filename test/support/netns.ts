import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ManagedProcess } from './managed-process.js';
import { until } from './wait.js';
import { routeJsonAnswers } from './json-answers.js';

const run = promisify(execFile);
/** veth pairs made by {@link NetworkNamespace.link} in this process (their names must differ). */
let linkCount = 0;
const live = new Set<NetworkNamespace>();
const ETC_NETNS = '/etc/netns';

/**
 * A network namespace a test creates, with its own loopback (up) and, optionally, its own
 * `/etc/hosts` (`ip netns exec` bind-mounts `/etc/netns/<name>/hosts` over it). Its name carries
 * the test process's pid. Needs root and iproute2. Whatever a test leaves behind is deleted when
 * the test process exits.
 */
export class NetworkNamespace {
  private constructor(
    readonly name: string,
    /** Whether `/etc/netns` did not exist before this namespace (it is removed again, if empty). */
    private readonly madeEtcNetns: boolean,
  ) {}

  /**
   * Creates `gc-<tag>-<pid>` with loopback up.
   * @param hosts the namespace's `/etc/hosts`; the machine's when unset
   */
  static async create(tag: string, hosts?: string): Promise<NetworkNamespace> {
    if (process.getuid?.() !== 0)
      throw new Error('network namespace tests need root (ip netns add), and iproute2');
    const namespace = new NetworkNamespace(`gc-${tag}-${process.pid}`, !existsSync(ETC_NETNS));
    await run('ip', ['netns', 'add', namespace.name]);
    live.add(namespace);
    try {
      await namespace.run('ip', ['link', 'set', 'lo', 'up']);
      if (hosts !== undefined) {
        mkdirSync(namespace.etc, { recursive: true });
        writeFileSync(join(namespace.etc, 'hosts'), hosts);
      }
    } catch (error) {
      namespace.destroy();
      throw error;
    }
    return namespace;
  }

  /** Where `ip netns exec` finds the files it mounts over `/etc`. */
  private get etc(): string {
    return join(ETC_NETNS, this.name);
  }

  /** Runs a command inside and returns its stdout; rejects when it fails. */
  async run(command: string, args: readonly string[]): Promise<string> {
    const { stdout } = await run('ip', ['netns', 'exec', this.name, command, ...args]);
    return stdout;
  }

  /** Starts a command inside (`ip netns exec` execs it: the child's pid is the command's). */
  spawn(
    command: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    cwd?: string,
  ): ChildProcess {
    return spawn('ip', ['netns', 'exec', this.name, command, ...args], {
      cwd,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }

  /**
   * Joins this namespace and `other` with a veth pair, as two hosts on one link: each end is
   * created inside its namespace (so no interface name is taken outside, and deleting a
   * namespace deletes the pair), given its address (`10.231.0.1/24`) and brought up.
   */
  async link(other: NetworkNamespace, ownAddress: string, otherAddress: string): Promise<void> {
    const [own, peer] = [`gcl${linkCount}a`, `gcl${linkCount}b`];
    linkCount++;
    const pair = `link add name ${own} netns ${this.name} type veth peer name ${peer} netns ${other.name}`;
    await run('ip', pair.split(' '));
    for (const [namespace, device, address] of [
      [this, own, ownAddress],
      [other, peer, otherAddress],
    ] as const) {
      await namespace.run('ip', ['addr', 'add', address, 'dev', device]);
      await namespace.run('ip', ['link', 'set', device, 'up']);
    }
  }

  /** The local addresses of the TCP listeners inside (`ss -ltn`), e.g. `127.0.0.1`, `*`, `[::1]`. */
  async listeners(): Promise<{ address: string; port: number }[]> {
    const out = await this.run('ss', ['-ltnH']);
    return out
      .split('\n')
      .filter(Boolean)
      .map(line => {
        const local = line.trim().split(/\s+/)[3]!;
        const colon = local.lastIndexOf(':');
        return { address: local.slice(0, colon), port: Number(local.slice(colon + 1)) };
      });
  }

  /** Deletes the namespace and its `/etc/netns` files (processes still inside keep it alive). */
  destroy(): void {
    live.delete(this);
    spawnSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    rmSync(this.etc, { recursive: true, force: true });
    if (this.madeEtcNetns) {
      try {
        rmdirSync(ETC_NETNS);
      } catch {
        // not empty: another namespace still uses it
      }
    }
  }
}

process.once('exit', () => {
  for (const namespace of live) namespace.destroy();
});

/**
 * Fetches URLs inside a namespace for the test process, which is outside it: a relay program
 * (test/fixtures/http-relay.mjs) started in the namespace, one JSON line per request.
 */
export class HttpRelay {
  private readonly process: ManagedProcess;
  private readonly pending = new Map<number, (answer: RelayAnswer) => void>();
  private nextId = 1;

  private constructor(private readonly child: ChildProcess) {
    this.process = new ManagedProcess(child, { tag: '[relay] ' });
    routeJsonAnswers(child, this.pending);
  }

  /** Starts the relay inside `namespace` and waits until it reads requests. */
  static async start(namespace: NetworkNamespace, timeoutMs = 10_000): Promise<HttpRelay> {
    const child = namespace.spawn(process.execPath, [RELAY], { PATH: process.env.PATH ?? '' });
    const relay = new HttpRelay(child);
    await waitForLine(relay.process, /^\[relay\] RELAY_READY$/, timeoutMs, 'the HTTP relay');
    return relay;
  }

  /** `GET url` inside the namespace: the parsed JSON body, or `undefined` when it failed. */
  get<T>(url: string): Promise<T | undefined> {
    const id = this.nextId++;
    return new Promise(resolve => {
      this.pending.set(id, answer =>
        resolve(answer.status === 200 ? (answer.body as T) : undefined),
      );
      this.child.stdin?.write(`${JSON.stringify({ id, url })}\n`);
    });
  }

  /** Ends the relay (it exits when its stdin closes) and waits for it. */
  async stop(): Promise<void> {
    this.child.stdin?.end();
    await this.process.stop(2_000);
  }
}

interface RelayAnswer {
  readonly id: number;
  readonly status?: number;
  readonly body?: unknown;
  readonly error?: string;
}

const RELAY = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'http-relay.mjs');

/** Waits until one of `child`'s output lines matches `line`; fails at once if it exits first. */
export async function waitForLine(
  child: ManagedProcess,
  line: RegExp,
  timeoutMs: number,
  what: string,
): Promise<string> {
  const found = () => child.output.find(l => line.test(l));
  try {
    await until(
      () => {
        if (found() === undefined && child.exitCode !== undefined)
          throw new Error(`${what} exited with ${child.exitCode}`);
        return found() !== undefined;
      },
      timeoutMs,
      what,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}:\n${child.output.join('\n')}`);
  }
  return found()!;
}

/** Packets of a {@link randomLoss} rule: TCP to any of `toPorts` or from any of `fromPorts`. */
export interface RandomLossOptions {
  /** The share of matching packets dropped, in (0, 1], e.g. 0.1. */
  readonly probability: number;
  /** Destination ports whose incoming packets are dropped at random. */
  readonly toPorts?: readonly number[];
  /** Source ports whose incoming packets are dropped at random. */
  readonly fromPorts?: readonly number[];
}

/** Packet counters of the rules {@link randomLoss} added. */
export interface RandomLossCounters {
  /** Packets that matched (the candidates for dropping). */
  readonly matched: number;
  /** Of those, the packets dropped. */
  readonly dropped: number;
}

/**
 * Random packet loss inside `namespace` (where `tc netem` is not available): iptables'
 * `statistic` match on the INPUT chain drops each incoming TCP packet to one of `toPorts` or
 * from one of `fromPorts` with `probability`, independently. A rule without a target in front
 * of each counts every candidate packet, so the returned function reads how many matched and how
 * many were dropped. The rules go with the namespace.
 */
export async function randomLoss(
  namespace: NetworkNamespace,
  options: RandomLossOptions,
): Promise<() => Promise<RandomLossCounters>> {
  const selectors: string[][] = [];
  if (options.toPorts?.length) selectors.push(['--dports', options.toPorts.join(',')]);
  if (options.fromPorts?.length) selectors.push(['--sports', options.fromPorts.join(',')]);
  for (const selector of selectors) {
    const match = ['-A', 'INPUT', '-p', 'tcp', '-m', 'multiport', ...selector];
    await namespace.run('iptables', [...match, ...'-m comment --comment gc-count'.split(' ')]);
    const drop = `-m statistic --mode random --probability ${options.probability}`;
    await namespace.run('iptables', [
      ...match,
      ...`${drop} -m comment --comment gc-loss -j DROP`.split(' '),
    ]);
  }
  return async () => {
    const listing = await namespace.run('iptables', ['-L', 'INPUT', '-v', '-n', '-x']);
    let matched = 0;
    let dropped = 0;
    for (const line of listing.split('\n')) {
      const packets = Number(line.trim().split(/\s+/)[0]);
      if (!Number.isFinite(packets)) continue;
      if (line.includes('gc-count')) matched += packets;
      if (line.includes('gc-loss')) dropped += packets;
    }
    return { matched, dropped };
  };
}
