import { type ChildProcess, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NetworkNamespace } from './netns.js';

const run = promisify(execFile);
/** Networks made by this process, so two of them (or two test files' workers) never share a name. */
let networkCount = 0;

/** How {@link BridgedHosts.create} builds the network. */
export interface BridgedHostsOptions {
  /** How many hosts. */
  readonly count: number;
  /** A short word in the namespace names (`gc-<tag><n>h<i>-<pid>`); `bh` by default. */
  readonly tag?: string;
  /**
   * Whether a host gets the multicast route `224.0.0.0/4 dev eth0` (one value for all, or one per
   * host); `true` by default. A fresh namespace has none, so a multicast send without it fails
   * with ENETUNREACH and a join without an interface with ENODEV.
   */
  readonly multicastRoute?: boolean | readonly boolean[];
  /**
   * Whether the bridge snoops IGMP (forwards a group only to ports that joined it); `false` by
   * default: a plain switch that floods multicast to every port, whatever reports it missed.
   */
  readonly snooping?: boolean;
}

/** One host of a {@link BridgedHosts} network. */
export interface BridgedHost {
  /** Its namespace (run or spawn commands inside through it). */
  readonly namespace: NetworkNamespace;
  /** Its IPv4 address on the bridge, on `eth0`. */
  readonly address: string;
}

/**
 * Hosts on one LAN: a "switch" namespace holding a bridge, and `count` host namespaces each
 * joined to it by a veth pair (`eth0` inside the host), with `lo` up and an address in a /24 of
 * 10.x chosen from this process's pid and a counter, so parallel test files and several networks
 * in one file do not look alike. Multicast crosses the bridge (gossip's e2e runs here). Names
 * carry the pid; {@link destroy} (and, failing that, the exit of the test process) deletes them.
 * Needs root and iproute2.
 */
export class BridgedHosts {
  private constructor(
    readonly hosts: readonly BridgedHost[],
    private readonly sw: NetworkNamespace,
    /** The subnet's first three octets, e.g. `10.131.17`. */
    readonly prefix: string,
  ) {}

  /** Creates the switch and the hosts (namespaces made in parallel per step). */
  static async create(options: BridgedHostsOptions): Promise<BridgedHosts> {
    const n = networkCount++;
    const tag = `${options.tag ?? 'bh'}${n}`;
    const prefix = `10.${100 + (n % 100)}.${process.pid % 250}`;
    const routes = Array.from({ length: options.count }, (_, i) =>
      Array.isArray(options.multicastRoute)
        ? Boolean(options.multicastRoute[i])
        : options.multicastRoute !== false,
    );
    const sw = await NetworkNamespace.create(`${tag}sw`);
    const made: NetworkNamespace[] = [];
    try {
      await sw.run('ip', ['link', 'add', 'br0', 'type', 'bridge']);
      await sw.run('ip', [
        'link',
        'set',
        'br0',
        'type',
        'bridge',
        'mcast_snooping',
        options.snooping ? '1' : '0',
      ]);
      await sw.run('ip', ['link', 'set', 'br0', 'up']);
      // allSettled: on a failure, siblings still being created land in `made` before the cleanup.
      const settled = await Promise.allSettled(
        routes.map(async (route, i) => {
          const namespace = await NetworkNamespace.create(`${tag}h${i}`);
          made.push(namespace);
          const address = `${prefix}.${i + 1}`;
          const port = `p${i}`;
          await run('ip', [
            ...['link', 'add', 'eth0', 'netns', namespace.name, 'type', 'veth'],
            ...['peer', 'name', port, 'netns', sw.name],
          ]);
          await sw.run('ip', ['link', 'set', port, 'master', 'br0']);
          await sw.run('ip', ['link', 'set', port, 'up']);
          await namespace.run('ip', ['addr', 'add', `${address}/24`, 'dev', 'eth0']);
          await namespace.run('ip', ['link', 'set', 'eth0', 'up']);
          if (route) await namespace.run('ip', [...MULTICAST_ROUTE_ADD]);
          return { namespace, address };
        }),
      );
      const failed = settled.find(r => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      const hosts = settled.map(r => (r as PromiseFulfilledResult<BridgedHost>).value);
      return new BridgedHosts(hosts, sw, prefix);
    } catch (error) {
      for (const namespace of made) namespace.destroy();
      sw.destroy();
      throw error;
    }
  }

  /** Host `i`'s address. */
  address(i: number): string {
    return this.hosts[i]!.address;
  }

  /** Runs a command inside host `i` and returns its stdout; rejects when it fails. */
  run(i: number, command: string, args: readonly string[]): Promise<string> {
    return this.hosts[i]!.namespace.run(command, args);
  }

  /** Starts a command inside host `i` (`ip netns exec` execs it: the child's pid is its own). */
  spawn(
    i: number,
    command: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    cwd?: string,
  ): ChildProcess {
    return this.hosts[i]!.namespace.spawn(command, args, env, cwd);
  }

  /** Adds (`true`) or removes host `i`'s multicast route. */
  async setMulticastRoute(i: number, on: boolean): Promise<void> {
    const route = on ? MULTICAST_ROUTE_ADD : ['route', 'del', '224.0.0.0/4', 'dev', 'eth0'];
    await this.run(i, 'ip', route);
  }

  /** Deletes every namespace (stop the processes inside first: they keep theirs alive). */
  destroy(): void {
    for (const host of this.hosts) host.namespace.destroy();
    this.sw.destroy();
  }
}

const MULTICAST_ROUTE_ADD = ['route', 'add', '224.0.0.0/4', 'dev', 'eth0'] as const;
