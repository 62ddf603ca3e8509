import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChaosNetwork, chaosAddress } from '../chaos/chaos-network.js';
import { ManagedProcess } from './managed-process.js';
import { HttpRelay, type NetworkNamespace, waitForLine } from './netns.js';
import { TEST_COOKIE } from './nodes.js';
import { SingletonLog } from './singleton-log.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The sample app with the cluster options of `SAMPLE_TEST_OPTIONS` (short timings). */
export const TIMED_SAMPLE = join(root, 'test', 'support', 'timed-sample.mjs');
/** Every node's dist port, each in its own namespace (as pods of one service share a port). */
export const NAMESPACED_DIST_PORT = 4370;

/** One sample process in a host namespace, reached through that host's {@link HttpRelay}. */
export class NamespacedSample {
  private constructor(
    readonly name: string,
    readonly process: ManagedProcess,
    readonly singleton: SingletonLog,
    private readonly relay: HttpRelay,
    readonly http: number,
  ) {}

  /**
   * Starts `main` (the timed sample by default) in `host` with `env` on top of the cookie, and
   * waits for its ready line (`SAMPLE_READY {"http":<port>}`); `singleton` is the name of the
   * singleton whose start and stop lines are recorded.
   */
  static async start(
    host: NetworkNamespace,
    relay: HttpRelay,
    env: Record<string, string>,
    options: { singleton: string; timeoutMs?: number; main?: string },
  ): Promise<NamespacedSample> {
    const child = host.spawn(
      process.execPath,
      [options.main ?? TIMED_SAMPLE],
      {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        NO_COLOR: '1',
        GEN_CLUSTER_COOKIE: TEST_COOKIE,
        ...env,
      },
      root,
    );
    const name = env.GEN_CLUSTER_NODE ?? `pid-${child.pid}`;
    const managed = new ManagedProcess(child, { tag: `[${name}] `, maxLines: 1_000 });
    const singleton = new SingletonLog(child, options.singleton);
    let ready: string;
    try {
      ready = await waitForLine(
        managed,
        /SAMPLE_READY \{/,
        options.timeoutMs ?? 60_000,
        `${name} to start`,
      );
    } catch (error) {
      // not handed to the caller, so killed here: a process left inside keeps its namespace busy
      await managed.kill();
      throw error;
    }
    const http = (JSON.parse(ready.slice(ready.indexOf('{'))) as { http: number }).http;
    return new NamespacedSample(name, managed, singleton, relay, http);
  }

  /** `GET path` of this node: the parsed JSON of a 200 answer, else `undefined`. */
  get<T>(path: string): Promise<T | undefined> {
    return this.relay.get<T>(`http://127.0.0.1:${this.http}${path}`);
  }

  /** The last `count` output lines, for failure messages. */
  tail(count = 40): string {
    return this.process.output.slice(-count).join('\n');
  }
}

/**
 * {@link ChaosNetwork}'s hosts (one network namespace per node on one bridge, names carrying the
 * test's pid), partitions as iptables DROP both ways, plus one {@link HttpRelay} per host, so
 * the test, outside every namespace, reaches each node's HTTP routes on the host's own loopback,
 * which no partition cuts. Needs root, iproute2 and iptables; fails loudly without them.
 */
export class SampleNetwork {
  private constructor(
    readonly network: ChaosNetwork,
    readonly relays: readonly HttpRelay[],
  ) {}

  /** Creates `count` hosts, checks iptables works in one, and starts their relays. */
  static async create(count: number): Promise<SampleNetwork> {
    if (process.getuid?.() !== 0)
      throw new Error(
        'The partition suite needs root (ip netns, iptables in namespaces of its own): run it as ' +
          'root, as .ci/run does; it never skips.',
      );
    const missing = (error: unknown) =>
      new Error(
        'The partition suite needs iproute2 and iptables (apt-get install iproute2 iptables): ' +
          (error as Error).message,
      );
    let network: ChaosNetwork;
    try {
      network = await ChaosNetwork.create(count);
    } catch (error) {
      throw missing(error);
    }
    const relays: HttpRelay[] = [];
    try {
      await network.hosts[0]!.run('iptables', ['-w', '10', '-L', 'INPUT', '-n']);
      for (const host of network.hosts) relays.push(await HttpRelay.start(host));
    } catch (error) {
      await Promise.all(relays.map(r => r.stop()));
      network.destroy();
      throw missing(error);
    }
    return new SampleNetwork(network, relays);
  }

  /** The address of host `i`. */
  address(i: number): string {
    return chaosAddress(i);
  }

  /** Starts a sample process on host `i`. */
  start(
    i: number,
    env: Record<string, string>,
    options: { singleton: string; timeoutMs?: number; main?: string },
  ): Promise<NamespacedSample> {
    return NamespacedSample.start(this.network.hosts[i]!, this.relays[i]!, env, options);
  }

  /**
   * Drops every packet between the hosts of `a` and those of `b`, both ways (iptables DROP on
   * INPUT and OUTPUT, as chaos does: no RST, no ICMP). Each host gets its rules from one shell
   * and all hosts at once, so the partition starts everywhere within one process start (the
   * chaos network's pair-by-pair cut spreads a 3 | 2 split over seconds on a loaded machine).
   */
  cut(a: readonly number[], b: readonly number[]): Promise<void> {
    return this.rules('-I', a, b);
  }

  /** Undoes {@link cut} of the same sides. */
  heal(a: readonly number[], b: readonly number[]): Promise<void> {
    return this.rules('-D', a, b);
  }

  private async rules(action: '-I' | '-D', a: readonly number[], b: readonly number[]) {
    const sides = [...a.map(i => [i, b] as const), ...b.map(i => [i, a] as const)];
    await Promise.all(
      sides.map(([host, others]) => {
        const list = others.map(chaosAddress).join(',');
        const script =
          `iptables -w 10 ${action} INPUT -s ${list} -j DROP && ` +
          `iptables -w 10 ${action} OUTPUT -d ${list} -j DROP`;
        return this.network.hosts[host]!.run('sh', ['-c', script]);
      }),
    );
  }

  /** Stops the relays and deletes the namespaces (stop the samples first). */
  async destroy(): Promise<void> {
    await Promise.all(this.relays.map(r => r.stop()));
    this.network.destroy();
  }
}
