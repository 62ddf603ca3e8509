/**
 * Multicast gossip under a spoofing flood (issue 17): three gossip nodes on a bridged LAN of
 * network namespaces form a cluster; a fourth host floods their group from
 * test/fixtures/gossip-flooder.mjs.
 *
 * - Bad MACs (random names, each sealed with a random key) plus replays of the nodes' own captured
 *   packets: nothing is discovered, nothing is dialled (an iptables counter of outgoing SYNs in
 *   each node's namespace stays put), the nodes count what they refused, their heap stays bounded
 *   and the cluster is unchanged.
 * - Packets under the real key (a key holder announcing thousands of random names): the table
 *   stays within maxCandidates, evicting the least recently heard, the heap stays bounded, and the
 *   dials to the fake names are bounded by the engine's connect limits (counted, not zero: these
 *   candidates are authentic, and their address drops SYNs so each dial runs to its timeout).
 *
 * Runs the built library (`npm run build` first). Needs root, iproute2 and iptables. The nodes
 * run with --expose-gc and answer their counters over stdin/stdout (test/fixtures/gossip-node.mjs).
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BridgedHosts } from '../support/bridged-hosts.js';
import { routeJsonAnswers } from '../support/json-answers.js';
import { ManagedProcess } from '../support/managed-process.js';
import { waitForLine } from '../support/netns.js';
import { until } from '../support/wait.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const ROOT = join(FIXTURES, '..', '..');
const COOKIE = `spoof-test-${randomBytes(8).toString('hex')}`;
const INTERVAL_MS = 300;
/**
 * Intervals unheard before a node drops out of the answer: more than the default 3, so that a host
 * too busy to read its socket for a second (CI) does not expire a real peer during the flood.
 */
const MISSED_INTERVALS = 6;
const MAX_CANDIDATES = 64;
/** The engine's connect limits in this test: few slots, short attempts, so the bound is tight. */
const CONNECT_CONCURRENCY = 4;
const CONNECT_TIMEOUT_MS = 1_000;
/** Where the authentic fake names point: the flooder's host, a port whose SYNs it drops. */
const BLACKHOLE_PORT = 9_999;
const MIB = 1_048_576;
/** Growth of a node's heap (after full collections) that the floods may cause at most. */
const MAX_HEAP_GROWTH = 16 * MIB;
/** Phase 1: bad MACs and replays. */
const BAD_MAC_PPS = 3_000;
const REPLAY_PPS = 500;
const FLOOD_SECONDS = Number(process.env.GOSSIP_FLOOD_SECONDS ?? 2);
/** Phase 2: authentic random names. */
const VALID_NAMES = 5_000;
const VALID_PPS = 2_500;

interface GossipStats {
  readonly received: number;
  readonly accepted: number;
  readonly malformed: number;
  readonly badMac: number;
  readonly otherNamespace: number;
  readonly replayed: number;
  readonly evicted: number;
  readonly size: number;
  readonly sent: number;
  readonly sendErrors: number;
}

interface NodeReport {
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

interface FloodReport {
  readonly mode: string;
  readonly sent: number;
  readonly sendErrors: number;
  readonly seconds: number;
  readonly pps: number;
  readonly captured?: number;
}

/** One test/fixtures/gossip-node.mjs inside host `i`. */
class GossipNode {
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
        GOSSIP_COOKIE: COOKIE,
        GOSSIP_OPTIONS: JSON.stringify({
          interface: address,
          intervalMs: INTERVAL_MS,
          missedIntervals: MISSED_INTERVALS,
          maxCandidates: MAX_CANDIDATES,
        }),
        GOSSIP_CLUSTER: JSON.stringify({
          refreshIntervalMs: 500,
          connectConcurrency: CONNECT_CONCURRENCY,
          connectTimeoutMs: CONNECT_TIMEOUT_MS,
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
    return waitForLine(this.process, /GOSSIP_NODE_READY/, 15_000, `gossip node ${this.i}`);
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

  /** Outgoing TCP SYNs of this host since {@link countSyns}: the dials it made. */
  async syns(): Promise<number> {
    const listing = await this.net.run(this.i, 'iptables', ['-L', 'OUTPUT', '-v', '-n', '-x']);
    let packets = 0;
    for (const line of listing.split('\n'))
      if (line.includes('gc-syn')) packets += Number(line.trim().split(/\s+/)[0]);
    return packets;
  }

  /** Datagrams this host's kernel dropped for a full socket buffer (`RcvbufErrors`). */
  async udpDrops(): Promise<number> {
    const snmp = (await this.net.run(this.i, 'cat', ['/proc/net/snmp'])).split('\n');
    const [names, values] = snmp.filter(line => line.startsWith('Udp:'));
    const column = names!.split(/\s+/).indexOf('RcvbufErrors');
    return Number(values!.split(/\s+/)[column]);
  }

  async countSyns(): Promise<void> {
    await this.net.run(this.i, 'iptables', [
      ...['-A', 'OUTPUT', '-p', 'tcp', '--syn'],
      ...['-m', 'comment', '--comment', 'gc-syn'],
    ]);
  }
}

/** test/fixtures/gossip-flooder.mjs in host `i`, started ahead (`--wait`): {@link go} floods. */
class Flooder {
  private readonly process: ManagedProcess;

  constructor(net: BridgedHosts, i: number, args: readonly string[]) {
    const script = join(FIXTURES, 'gossip-flooder.mjs');
    const child = net.spawn(
      i,
      process.execPath,
      [script, '--wait', '--interface', net.address(i), ...args],
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

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** Every node's report (after full collections), SYN counter and kernel drops, at one moment. */
interface Snapshot {
  readonly reports: NodeReport[];
  readonly syns: number[];
  readonly drops: number[];
  readonly at: number;
}

async function snapshot(nodes: readonly GossipNode[]): Promise<Snapshot> {
  const [reports, syns, drops] = await Promise.all([
    Promise.all(nodes.map(n => n.ask('gc'))),
    Promise.all(nodes.map(n => n.syns())),
    Promise.all(nodes.map(n => n.udpDrops())),
  ]);
  return { reports, syns, drops, at: performance.now() };
}

/** What node `i` did between two snapshots. */
function figuresOf(i: number, before: Snapshot, after: Snapshot) {
  const delta = (counter: keyof GossipStats) =>
    after.reports[i]!.gossip[counter] - before.reports[i]!.gossip[counter];
  return {
    node: i,
    received: delta('received'),
    badMac: delta('badMac'),
    replayed: delta('replayed'),
    accepted: delta('accepted'),
    evicted: delta('evicted'),
    malformedOrOtherNamespace: delta('malformed') + delta('otherNamespace'),
    size: after.reports[i]!.gossip.size,
    discoveredEvents:
      (after.reports[i]!.events.discovered ?? 0) - (before.reports[i]!.events.discovered ?? 0),
    udpDrops: after.drops[i]! - before.drops[i]!,
    syns: after.syns[i]! - before.syns[i]!,
    heapGrowthMiB: round(
      (after.reports[i]!.memory.heapUsed - before.reports[i]!.memory.heapUsed) / MIB,
    ),
    cpuMs: after.reports[i]!.cpuMs - before.reports[i]!.cpuMs,
  };
}

const round = (value: number) => Math.round(value * 100) / 100;

describe('gossip under a spoofing flood', () => {
  const FLOODER = 3;
  let net: BridgedHosts;
  let nodes: GossipNode[] = [];
  let badMacFlooder: Flooder;
  let replayFlooder: Flooder;
  let validFlooder: Flooder;

  beforeAll(async () => {
    net = await BridgedHosts.create({ count: 4, tag: 'spf' });
    const seconds = String(FLOOD_SECONDS);
    // Started with the nodes, so each flood begins at once when its test asks.
    badMacFlooder = new Flooder(net, FLOODER, [
      ...['--mode', 'badmac', '--rate', String(BAD_MAC_PPS), '--seconds', seconds],
    ]);
    // Replays of node 0's packets: old news for nodes 1 and 2 (node 0 hears them as its own).
    replayFlooder = new Flooder(net, FLOODER, [
      ...['--mode', 'replay', '--rate', String(REPLAY_PPS), '--seconds', seconds],
      ...['--capture-from', net.address(0), '--capture', '2', '--capture-ms', '3000'],
    ]);
    validFlooder = new Flooder(net, FLOODER, [
      ...['--mode', 'validkey', '--cookie', COOKIE, '--names', String(VALID_NAMES)],
      ...['--rate', String(VALID_PPS), '--seconds', String(VALID_NAMES / VALID_PPS)],
      ...['--target-host', net.address(FLOODER), '--target-port', String(BLACKHOLE_PORT)],
    ]);
    nodes = [0, 1, 2].map(i => new GossipNode(net, i));
    await Promise.all([
      ...nodes.map(node => node.ready()),
      ...[badMacFlooder, replayFlooder, validFlooder].map(f => f.ready()),
      ...nodes.map(node => node.countSyns()),
      net.run(FLOODER, 'iptables', [
        ...['-A', 'INPUT', '-p', 'tcp', '--dport', String(BLACKHOLE_PORT), '-j', 'DROP'],
      ]),
    ]);
    await until(
      async () =>
        (await Promise.all(nodes.map(n => n.ask('stats')))).every(r => r.members.length === 2),
      10_000,
      'a full mesh of three',
      100,
    );
  }, 30_000);

  afterAll(async () => {
    await Promise.all([...nodes, badMacFlooder, replayFlooder, validFlooder].map(p => p?.stop()));
    net?.destroy();
  });

  it('refuses bad MACs and replays: nothing discovered, nothing dialled, heap bounded', async () => {
    const before = await snapshot(nodes);
    const [badMac, replay, during] = await Promise.all([
      badMacFlooder.go(),
      replayFlooder.go(),
      sleep((FLOOD_SECONDS * 1_000) / 2).then(() => Promise.all(nodes.map(n => n.ask('stats')))),
    ]);
    // Every packet sent has been read (or dropped) once the refusal counters stop moving.
    let last = -1;
    await until(
      async () => {
        const reports = await Promise.all(nodes.map(n => n.ask('stats')));
        const refused = sum(reports.map(r => r.gossip.badMac + r.gossip.replayed));
        const settled = refused === last;
        last = refused;
        return settled;
      },
      5_000,
      'the nodes to read the flood',
      200,
    );
    const after = await snapshot(nodes);
    const windowMs = after.at - before.at;
    const figures = nodes.map((_, i) => ({
      ...figuresOf(i, before, after),
      heapDuringMiB: round(during[i]!.memory.heapUsed / MIB),
    }));
    const pps = Math.round((badMac.sent + replay.sent) / Math.max(badMac.seconds, replay.seconds));
    process.stdout.write(
      `${JSON.stringify({ phase: 'badmac+replay', pps, badMac, replay, windowMs, figures })}\n`,
    );

    expect(pps).toBeGreaterThanOrEqual(3_000);
    // Accepted: only the two real peers' announcements (every interval, jitter ±10%).
    const realAnnouncements = 2 * Math.ceil(windowMs / (INTERVAL_MS * 0.9) + 1);
    for (const [i, node] of nodes.entries()) {
      const report = after.reports[i]!;
      const others = nodes
        .filter(n => n !== node)
        .map(n => n.name)
        .sort();
      const f = figures[i]!;
      // No name but the real ones was ever discovered (the list is of distinct names).
      expect([...report.discovered].sort()).toEqual(others);
      expect(f.discoveredEvents).toBe(0);
      expect(report.events.nodeDown).toBe(before.reports[i]!.events.nodeDown);
      expect([...report.members].sort()).toEqual(others);
      expect(f.syns).toBe(0);
      expect(f.size).toBeLessThanOrEqual(2);
      expect(f.accepted).toBeLessThanOrEqual(realAnnouncements);
      expect(f.malformedOrOtherNamespace).toBe(0);
      expect(f.heapGrowthMiB).toBeLessThan(MAX_HEAP_GROWTH / MIB);
      // Each forged packet was refused at the MAC or, on a busy host, dropped by the kernel for a
      // full socket buffer before the node read it; none went anywhere else.
      expect(f.badMac).toBeLessThanOrEqual(badMac.sent);
      expect(f.badMac).toBeGreaterThanOrEqual(badMac.sent * 0.25);
      const replaysCounted = i === 0 ? 0 : replay.sent;
      expect(f.badMac + f.replayed + f.udpDrops).toBeGreaterThanOrEqual(
        (badMac.sent + replaysCounted) * 0.98,
      );
    }
    for (const i of [1, 2]) expect(figures[i]!.replayed).toBeLessThanOrEqual(replay.sent);
    expect(figures[0]!.replayed).toBe(0);
  }, 30_000);

  it('keeps authentic random names within maxCandidates; dials bounded by the connect limits', async () => {
    const before = await snapshot(nodes);
    const samples: NodeReport[][] = [];
    let flooding = true;
    const sampler = (async () => {
      while (flooding) {
        samples.push(await Promise.all(nodes.map(n => n.ask('stats'))));
        await sleep(250);
      }
    })();
    const valid = await validFlooder.go();
    flooding = false;
    await sampler;
    // The fake names age out of the answer (missedIntervals × intervalMs unheard): two peers again.
    await until(
      async () => (await Promise.all(nodes.map(n => n.ask('stats')))).every(r => r.peers === 2),
      5_000,
      'the fake names to age out',
      100,
    );
    const after = await snapshot(nodes);
    const windowMs = after.at - before.at;
    // Each attempt holds one of CONNECT_CONCURRENCY slots for up to CONNECT_TIMEOUT_MS (its SYN is
    // dropped) and sends at most two SYNs in that time (the first and one retransmission).
    const maxSyns = 2 * CONNECT_CONCURRENCY * (Math.ceil(windowMs / CONNECT_TIMEOUT_MS) + 1);
    // The two real peers' announcements in the window (jitter ±10%): accepted, but no new entry.
    const realAnnouncements = 2 * Math.ceil(windowMs / (INTERVAL_MS * 0.9) + 1);
    const figures = nodes.map((_, i) => ({
      ...figuresOf(i, before, after),
      maxSize: Math.max(...samples.map(s => s[i]!.gossip.size)),
      maxHeapDuringMiB: round(Math.max(...samples.map(s => s[i]!.memory.heapUsed)) / MIB),
    }));
    process.stdout.write(
      `${JSON.stringify({ phase: 'validkey', valid, windowMs, maxSyns, figures })}\n`,
    );

    for (const [i, node] of nodes.entries()) {
      const report = after.reports[i]!;
      const others = nodes
        .filter(n => n !== node)
        .map(n => n.name)
        .sort();
      const f = figures[i]!;
      expect(f.maxSize).toBeLessThanOrEqual(MAX_CANDIDATES);
      expect(f.size).toBeLessThanOrEqual(MAX_CANDIDATES);
      expect(f.accepted).toBeGreaterThan(MAX_CANDIDATES);
      // Every fake name accepted is a new entry: beyond the table's room, one evicted each.
      expect(f.evicted).toBeGreaterThanOrEqual(f.accepted - realAnnouncements - MAX_CANDIDATES);
      // Each authentic name sent was taken in or, on a busy host, dropped by the kernel.
      expect(f.accepted + f.udpDrops).toBeGreaterThanOrEqual(valid.sent * 0.98);
      expect(f.syns).toBeGreaterThan(0);
      expect(f.syns).toBeLessThanOrEqual(maxSyns);
      expect(f.heapGrowthMiB).toBeLessThan(MAX_HEAP_GROWTH / MIB);
      // The real cluster stays connected (removal policy `keep`), whatever the table evicted.
      expect([...report.members].sort()).toEqual(others);
      expect(report.events.nodeDown).toBe(before.reports[i]!.events.nodeDown);
    }
  }, 30_000);
});
