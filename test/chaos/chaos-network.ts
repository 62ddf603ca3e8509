import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NetworkNamespace } from '../support/netns.js';

const run = promisify(execFile);

/** The subnet of the chaos hosts: host `i` is `10.77.0.<i + 1>`, all on one bridge. */
export const chaosAddress = (index: number): string => `10.77.0.${index + 1}`;

/**
 * The chaos soak's network: one network namespace per node (a "host" with its own address and its
 * own iptables), each joined by a veth pair to a bridge in a switch namespace. All namespaces are
 * created by the test, carry its pid in their names (`gc-chaos<i>-<pid>`, `gc-chaossw-<pid>`), and
 * are deleted by {@link ChaosNetwork.destroy} (and at exit by test/support/netns.ts).
 *
 * A partition between two hosts is an iptables DROP of the other's address, INPUT and OUTPUT, in
 * both hosts' namespaces: packets vanish as on a broken network (no RST, no ICMP), so each side
 * learns of it only by its heartbeat. One namespace per node is needed because the mesh does not
 * bind its outgoing sockets: on one shared loopback every link would come from 127.0.0.1 and an
 * ephemeral port, and no rule could tell which node it belongs to.
 */
export class ChaosNetwork {
  /** How many partitions currently cut each pair `"i-j"` (i < j); rules exist while > 0. */
  private readonly cuts = new Map<string, number>();

  private constructor(
    readonly hosts: readonly NetworkNamespace[],
    private readonly sw: NetworkNamespace,
  ) {}

  /** Creates `count` hosts on one bridge. */
  static async create(count: number): Promise<ChaosNetwork> {
    const sw = await NetworkNamespace.create('chaossw');
    const hosts: NetworkNamespace[] = [];
    try {
      await sw.run('ip', ['link', 'add', 'br0', 'type', 'bridge']);
      await sw.run('ip', ['link', 'set', 'br0', 'up']);
      for (let i = 0; i < count; i++) {
        const host = await NetworkNamespace.create(`chaos${i}`);
        hosts.push(host);
        const port = `p${i}`;
        await run('ip', [
          'link',
          'add',
          'eth0',
          'netns',
          host.name,
          'type',
          'veth',
          'peer',
          'name',
          port,
          'netns',
          sw.name,
        ]);
        await sw.run('ip', ['link', 'set', port, 'master', 'br0']);
        await sw.run('ip', ['link', 'set', port, 'up']);
        await host.run('ip', ['addr', 'add', `${chaosAddress(i)}/24`, 'dev', 'eth0']);
        await host.run('ip', ['link', 'set', 'eth0', 'up']);
      }
    } catch (error) {
      for (const host of hosts) host.destroy();
      sw.destroy();
      throw error;
    }
    return new ChaosNetwork(hosts, sw);
  }

  /** Cuts every link between the hosts of `a` and those of `b` (counted: cuts nest). */
  async cut(a: readonly number[], b: readonly number[]): Promise<void> {
    await this.forPairs(a, b, async (i, j, key) => {
      const count = this.cuts.get(key) ?? 0;
      this.cuts.set(key, count + 1);
      if (count === 0) await this.rules('-I', i, j);
    });
  }

  /** Undoes one {@link cut} of the same groups. */
  async heal(a: readonly number[], b: readonly number[]): Promise<void> {
    await this.forPairs(a, b, async (i, j, key) => {
      const count = this.cuts.get(key) ?? 0;
      if (count === 0) return;
      if (count === 1) this.cuts.delete(key);
      else this.cuts.set(key, count - 1);
      if (count === 1) await this.rules('-D', i, j);
    });
  }

  /** Whether hosts `i` and `j` can reach each other now. */
  reachable(i: number, j: number): boolean {
    return !this.cuts.has(pairKey(i, j));
  }

  /** Pairs currently cut. */
  cutPairs(): number {
    return this.cuts.size;
  }

  /** Deletes every namespace (the processes inside must have exited or be killed). */
  destroy(): void {
    for (const host of this.hosts) host.destroy();
    this.sw.destroy();
  }

  private async forPairs(
    a: readonly number[],
    b: readonly number[],
    each: (i: number, j: number, key: string) => Promise<void>,
  ): Promise<void> {
    const seen = new Set<string>();
    for (const i of a)
      for (const j of b) {
        const key = pairKey(i, j);
        if (i === j || seen.has(key)) continue;
        seen.add(key);
        await each(Math.min(i, j), Math.max(i, j), key);
      }
  }

  private async rules(action: '-I' | '-D', i: number, j: number): Promise<void> {
    const drop = async (host: number, other: number) => {
      const ns = this.hosts[host]!;
      const address = chaosAddress(other);
      await ns.run('iptables', ['-w', '10', action, 'INPUT', '-s', address, '-j', 'DROP']);
      await ns.run('iptables', ['-w', '10', action, 'OUTPUT', '-d', address, '-j', 'DROP']);
    };
    await Promise.all([drop(i, j), drop(j, i)]);
  }
}

function pairKey(i: number, j: number): string {
  return `${Math.min(i, j)}-${Math.max(i, j)}`;
}
