/**
 * The processes of the gossip spoofing harness (test/support/gossip-spoofing-harness.ts): a gossip
 * node (test/fixtures/gossip-node.mjs, the built library, with --expose-gc) that answers its
 * counters over stdin/stdout and counts its outgoing SYNs with iptables, and a flooder
 * (test/fixtures/gossip-flooder.mjs) started ahead of its flood. Both run inside hosts of a
 * {@link BridgedHosts} network.
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GossipStats } from '../../src/index.js';
import type { BridgedHosts } from './bridged-hosts.js';
import { routeJsonAnswers } from './json-answers.js';
import { ManagedProcess } from './managed-process.js';
import { waitForLine } from './netns.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const ROOT = join(FIXTURES, '..', '..');
/** The settings every node of the harness runs with, and where the fake names point. */
export const SPOOFING = {
  cookie: `spoof-test-${randomBytes(8).toString('hex')}`,
  intervalMs: 300,
  /**
   * Intervals unheard before a node drops out of the answer: more than the default 3, so that a
   * host too busy to read its socket for a second (CI) does not expire a real peer in a flood.
   */
  missedIntervals: 6,
  maxCandidates: 64,
  /** The engine's connect limits: few slots, short attempts, so the bound is tight. */
  connectConcurrency: 4,
  connectTimeoutMs: 1_000,
  /** Every node's dist port (each in its own namespace), so that dials to them can be told apart. */
  distPort: 4_370,
  /**
   * The dist's failure timeout: 15 s, not 5, so that a CI host starving a node process for
   * seconds does not drop a link; the test is about gossip, and asserts that no link drops.
   */
  failureTimeoutMs: 15_000,
  /** Where the authentic fake names point: the flooder's host, a port whose SYNs it drops. */
  blackholePort: 9_999,
  /** Growth of a node's heap (after full collections) that a flood may cause at most. */
  maxHeapGrowthMiB: 16,
} as const;

export interface NodeReport {
  readonly id: number;
  readonly self: string;
  readonly members: string[];
  readonly gossip: GossipStats;
  /** How many nodes GossipDiscovery.peers() answers now. */
  readonly peers: number;
  readonly events: Readonly<Record<string, number>>;
  readonly discovered: string[];
  readonly memory: NodeJS.MemoryUsage;
  readonly cpuMs: number;
}

export interface FloodReport {
  readonly mode: string;
  readonly sent: number;
  readonly sendErrors: number;
  readonly seconds: number;
  readonly pps: number;
  readonly captured?: number;
}

/** One test/fixtures/gossip-node.mjs inside host `i`. */
export class GossipNode {
  private readonly pending = new Map<number, (answer: NodeReport) => void>();
  private nextId = 1;
  readonly process: ManagedProcess;

  constructor(
    readonly net: BridgedHosts,
    readonly i: number,
  ) {
    const address = net.address(i);
    const child = net.spawn(
      i,
      process.execPath,
      ['--expose-gc', join(FIXTURES, 'gossip-node.mjs')],
      {
        PATH: process.env.PATH ?? '',
        GOSSIP_NODE: `n${i}@${address}`,
        GOSSIP_COOKIE: SPOOFING.cookie,
        GOSSIP_DIST_PORT: String(SPOOFING.distPort),
        GOSSIP_DIST: JSON.stringify({ failureTimeoutMs: SPOOFING.failureTimeoutMs }),
        GOSSIP_OPTIONS: JSON.stringify({
          interface: address,
          intervalMs: SPOOFING.intervalMs,
          missedIntervals: SPOOFING.missedIntervals,
          maxCandidates: SPOOFING.maxCandidates,
        }),
        GOSSIP_CLUSTER: JSON.stringify({
          refreshIntervalMs: 500,
          connectConcurrency: SPOOFING.connectConcurrency,
          connectTimeoutMs: SPOOFING.connectTimeoutMs,
        }),
      },
      ROOT,
    );
    this.process = new ManagedProcess(child, { tag: `[n${i}] ` });
    routeJsonAnswers(child, this.pending);
  }

  get name(): string {
    return `n${this.i}@${this.net.address(this.i)}`;
  }

  stop(): Promise<void> {
    return this.process.stop(2_000);
  }

  ready(): Promise<string> {
    return waitForLine(this.process, /GOSSIP_NODE_READY/, 25_000, `gossip node ${this.i}`);
  }

  /** The node's counters; `gc` first runs three full collections. */
  ask(cmd: 'stats' | 'gc'): Promise<NodeReport> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`node ${this.i}: no answer to ${cmd}`)),
        10_000,
      );
      this.pending.set(id, answer => {
        clearTimeout(timer);
        resolve(answer);
      });
      this.process.child.stdin?.write(`${JSON.stringify({ id, cmd })}\n`);
    });
  }

  /**
   * Outgoing TCP SYNs of this host since {@link countSyns} (the dials it made): to the real
   * nodes' dist ports (`peers`, a reconnection), and to anywhere else (`others`).
   */
  async syns(): Promise<{ peers: number; others: number }> {
    const listing = await this.net.run(this.i, 'iptables', ['-L', 'OUTPUT', '-v', '-n', '-x']);
    let all = 0;
    let peers = 0;
    for (const line of listing.split('\n')) {
      const packets = Number(line.trim().split(/\s+/)[0]);
      if (line.includes('gc-syn-all')) all += packets;
      if (line.includes('gc-syn-peer')) peers += packets;
    }
    return { peers, others: all - peers };
  }

  /** Datagrams this host's kernel dropped for a full socket buffer (`RcvbufErrors`). */
  async udpDrops(): Promise<number> {
    const snmp = (await this.net.run(this.i, 'cat', ['/proc/net/snmp'])).split('\n');
    const [names, values] = snmp.filter(line => line.startsWith('Udp:'));
    const column = names!.split(/\s+/).indexOf('RcvbufErrors');
    return Number(values!.split(/\s+/)[column]);
  }

  /** Adds the counting rules of {@link syns} (no target: they count and let the packet on). */
  async countSyns(nodeAddresses: readonly string[]): Promise<void> {
    const syn = ['-A', 'OUTPUT', '-p', 'tcp', '--syn'];
    await this.net.run(this.i, 'iptables', [
      ...[...syn, '-d', nodeAddresses.join(','), '--dport', String(SPOOFING.distPort)],
      ...['-m', 'comment', '--comment', 'gc-syn-peer'],
    ]);
    await this.net.run(this.i, 'iptables', [...syn, '-m', 'comment', '--comment', 'gc-syn-all']);
  }
}

/** test/fixtures/gossip-flooder.mjs in host `i`, started ahead (`--wait`): {@link go} floods. */
export class Flooder {
  private readonly process: ManagedProcess;

  constructor(net: BridgedHosts, i: number, args: readonly string[]) {
    const script = join(FIXTURES, 'gossip-flooder.mjs');
    // Raised priority: a real attacker floods from another machine, so it must not starve here
    // with the nodes it attacks (on a busy CI host it would send far below its rate).
    const child = net.spawn(
      i,
      'nice',
      ['-n', '-10', process.execPath, script, '--wait', '--interface', net.address(i), ...args],
      { PATH: process.env.PATH ?? '' },
      ROOT,
    );
    this.process = new ManagedProcess(child, { tag: '[flooder] ' });
  }

  ready(): Promise<string> {
    return waitForLine(this.process, /FLOODER_READY/, 15_000, 'the flooder');
  }

  /** Starts the flood and answers, once it is over, what the flooder reports it sent. */
  async go(): Promise<FloodReport> {
    this.process.child.stdin?.write('go\n');
    const code = await this.process.exited;
    const line = this.process.output.find(l => l.startsWith('[flooder] {'));
    if (code !== 0 || line === undefined)
      throw new Error(`the flooder failed (${code}):\n${this.process.output.join('\n')}`);
    return JSON.parse(line.slice('[flooder] '.length)) as FloodReport;
  }

  stop(): Promise<void> {
    return this.process.stop(2_000);
  }
}
