/**
 * The gossip spoofing harness (test/e2e/gossip-spoofing.e2e-spec.ts, and its long variant in
 * test/soak): three gossip nodes (test/fixtures/gossip-node.mjs, the built library) on a bridged
 * LAN of network namespaces, formed into a cluster, and a fourth host that floods their group
 * (test/fixtures/gossip-flooder.mjs). Two phases, each asserting what it proves:
 *
 * - {@link SpoofingLan.forgeries}: bad MACs (random names, each sealed with a random key) plus
 *   replays of node 0's captured packets. Nothing is discovered, nothing is dialled (an iptables
 *   counter of outgoing SYNs in each node's namespace stays put), every packet is refused at the
 *   MAC or as a replay (or dropped by the kernel before the node read it), the heap after full
 *   collections stays bounded and the cluster is unchanged.
 * - {@link SpoofingLan.authentic}: a key holder announcing thousands of random names. The table
 *   stays within maxCandidates (the least recently heard evicted), the heap stays bounded, and the
 *   dials to the fake names are bounded by the engine's connect limits: counted, not zero (these
 *   candidates are authentic; their address drops SYNs, so each dial runs to its timeout).
 *
 * Needs root, iproute2, iptables and `npm run build`.
 */
import type { GossipStats } from '../../src/index.js';
import { BridgedHosts } from './bridged-hosts.js';
import { Flooder, GossipNode, type NodeReport, SPOOFING } from './gossip-spoofing-processes.js';
import { until } from './wait.js';

const MIB = 1_048_576;

/** How hard and how long each phase floods. */
export interface FloodPlan {
  /** Bad-MAC packets per second in the forgeries phase. */
  readonly badMacPps: number;
  /** Replayed packets per second in the forgeries phase, beside the bad MACs. */
  readonly replayPps: number;
  /** Length of the forgeries phase. */
  readonly forgerySeconds: number;
  /** Distinct random names a key holder announces in the authentic phase. */
  readonly validNames: number;
  /** Their packets per second. */
  readonly validPps: number;
  /** Length of the authentic phase (names round robin when longer than names / pps). */
  readonly validSeconds: number;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** Every node's report (after full collections), SYN counter and kernel drops, at one moment. */
export interface Snapshot {
  readonly reports: NodeReport[];
  readonly syns: { peers: number; others: number }[];
  readonly drops: number[];
  readonly at: number;
}

export async function snapshot(nodes: readonly GossipNode[]): Promise<Snapshot> {
  const [reports, syns, drops] = await Promise.all([
    Promise.all(nodes.map(n => n.ask('gc'))),
    Promise.all(nodes.map(n => n.syns())),
    Promise.all(nodes.map(n => n.udpDrops())),
  ]);
  return { reports, syns, drops, at: performance.now() };
}

/** What node `i` did between two snapshots. */
export function figuresOf(i: number, before: Snapshot, after: Snapshot) {
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
    /** Dials to anything but the real nodes. */
    syns: after.syns[i]!.others - before.syns[i]!.others,
    /** Dials to the real nodes (a reconnection). */
    peerSyns: after.syns[i]!.peers - before.syns[i]!.peers,
    heapGrowthMiB: round(
      (after.reports[i]!.memory.heapUsed - before.reports[i]!.memory.heapUsed) / MIB,
    ),
    cpuMs: after.reports[i]!.cpuMs - before.reports[i]!.cpuMs,
  };
}

const round = (value: number) => Math.round(value * 100) / 100;

/** The LAN of the harness: three nodes in a cluster, a flooder host, the phases. */
export class SpoofingLan {
  private static readonly FLOODER = 3;

  private constructor(
    private readonly net: BridgedHosts,
    readonly nodes: readonly GossipNode[],
    private readonly flooders: {
      readonly badMac: Flooder;
      readonly replay: Flooder;
      readonly valid: Flooder;
    },
  ) {}

  /**
   * Builds the LAN, starts the nodes and the flooders (each waits for its phase, so that its
   * flood begins at once), counts SYNs in each node's namespace, and waits for a full mesh.
   */
  static async start(plan: FloodPlan): Promise<SpoofingLan> {
    const at = SpoofingLan.FLOODER;
    const net = await BridgedHosts.create({ count: 4, tag: 'spf' });
    const seconds = String(plan.forgerySeconds);
    const flooders = {
      badMac: new Flooder(net, at, [
        ...['--mode', 'badmac', '--rate', String(plan.badMacPps), '--seconds', seconds],
      ]),
      // Replays of node 0's packets: old news for nodes 1 and 2 (node 0 hears them as its own).
      replay: new Flooder(net, at, [
        ...['--mode', 'replay', '--rate', String(plan.replayPps), '--seconds', seconds],
        ...['--capture-from', net.address(0), '--capture', '2', '--capture-ms', '3000'],
      ]),
      valid: new Flooder(net, at, [
        ...['--mode', 'validkey', '--cookie', SPOOFING.cookie, '--names', String(plan.validNames)],
        ...['--rate', String(plan.validPps), '--seconds', String(plan.validSeconds)],
        ...['--target-host', net.address(at), '--target-port', String(SPOOFING.blackholePort)],
      ]),
    };
    const nodes = [0, 1, 2].map(i => new GossipNode(net, i));
    const lan = new SpoofingLan(net, nodes, flooders);
    try {
      await Promise.all([
        ...nodes.map(node => node.ready()),
        ...Object.values(flooders).map(f => f.ready()),
        ...nodes.map(node => node.countSyns([0, 1, 2].map(i => net.address(i)))),
        net.run(at, 'iptables', [
          ...['-A', 'INPUT', '-p', 'tcp', '--dport', String(SPOOFING.blackholePort), '-j', 'DROP'],
        ]),
      ]);
      await until(
        async () => (await lan.ask('stats')).every(r => r.members.length === 2),
        10_000,
        'a full mesh of three',
        100,
      );
    } catch (error) {
      await lan.stop();
      throw error;
    }
    return lan;
  }

  /** Stops every process and deletes the namespaces. */
  async stop(): Promise<void> {
    await Promise.all([...this.nodes, ...Object.values(this.flooders)].map(p => p.stop()));
    this.net.destroy();
  }

  private ask(cmd: 'stats' | 'gc'): Promise<NodeReport[]> {
    return Promise.all(this.nodes.map(n => n.ask(cmd)));
  }

  /** The nodes' reports every `everyMs` until `done` settles. */
  private async sampleUntil<T>(done: Promise<T>, everyMs: number): Promise<[T, NodeReport[][]]> {
    const samples: NodeReport[][] = [];
    let over = false;
    const sampler = (async () => {
      while (!over) {
        samples.push(await this.ask('stats'));
        await sleep(everyMs);
      }
    })();
    try {
      return [await done, samples];
    } finally {
      over = true;
      await sampler;
    }
  }

  /** Bad MACs and replays: refused, nothing discovered or dialled, heap bounded. */
  async forgeries(): Promise<void> {
    const { nodes, flooders } = this;
    const before = await snapshot(nodes);
    const [[badMac, replay], samples] = await this.sampleUntil(
      Promise.all([flooders.badMac.go(), flooders.replay.go()]),
      1_000,
    );
    // Every packet sent has been read (or dropped) once the refusal counters stop moving.
    let last = -1;
    await until(
      async () => {
        const refused = sum(
          (await this.ask('stats')).map(r => r.gossip.badMac + r.gossip.replayed),
        );
        const settled = refused === last;
        last = refused;
        return settled;
      },
      5_000,
      'the nodes to read the flood',
      200,
    );
    const after = await snapshot(nodes);
    const windowMs = Math.round(after.at - before.at);
    const figures = nodes.map((_, i) => ({
      ...figuresOf(i, before, after),
      maxHeapDuringMiB: round(Math.max(...samples.map(s => s[i]!.memory.heapUsed)) / MIB),
    }));
    const pps = Math.round((badMac.sent + replay.sent) / Math.max(badMac.seconds, replay.seconds));
    process.stdout.write(
      `${JSON.stringify({ phase: 'forgeries', pps, badMac, replay, windowMs, figures })}\n`,
    );

    expect(pps).toBeGreaterThanOrEqual(3_000);
    // Accepted: only the two real peers' announcements (every interval, jitter ±10%).
    const realAnnouncements = 2 * Math.ceil(windowMs / (SPOOFING.intervalMs * 0.9) + 1);
    for (const [i, node] of nodes.entries()) {
      const report = after.reports[i]!;
      const others = this.othersOf(node);
      const f = figures[i]!;
      // No name but the real ones was ever discovered (the list is of distinct names). A real
      // peer may be discovered again: when a busy host leaves its socket unread for longer than
      // missedIntervals, the peer expires and comes back with its next announcement.
      expect([...report.discovered].sort()).toEqual(others);
      expect(report.events.nodeDown).toBe(before.reports[i]!.events.nodeDown);
      expect([...report.members].sort()).toEqual(others);
      expect(f.syns).toBe(0);
      expect(f.size).toBeLessThanOrEqual(2);
      expect(f.accepted).toBeLessThanOrEqual(realAnnouncements);
      expect(f.malformedOrOtherNamespace).toBe(0);
      expect(f.heapGrowthMiB).toBeLessThan(SPOOFING.maxHeapGrowthMiB);
      // Each forged packet was refused at the MAC or, on a busy host, dropped by the kernel for a
      // full socket buffer before the node read it; none went anywhere else. (On a quiet host the
      // kernel drops none: badMac and replayed equal what was sent.)
      expect(f.badMac).toBeLessThanOrEqual(badMac.sent);
      expect(f.badMac).toBeGreaterThan(0);
      const replaysCounted = i === 0 ? 0 : replay.sent;
      expect(f.badMac + f.replayed + f.udpDrops).toBeGreaterThanOrEqual(
        (badMac.sent + replaysCounted) * 0.98,
      );
    }
    for (const i of [1, 2]) expect(figures[i]!.replayed).toBeLessThanOrEqual(replay.sent);
    expect(figures[0]!.replayed).toBe(0);
  }

  /** Authentic random names: table within maxCandidates, dials bounded, heap bounded. */
  async authentic(): Promise<void> {
    const { nodes, flooders } = this;
    const before = await snapshot(nodes);
    const [valid, samples] = await this.sampleUntil(flooders.valid.go(), 250);
    // The fake names age out of the answer (missedIntervals × intervalMs unheard): at most the two
    // real peers again (fewer while a starved host lets one expire).
    await until(
      async () => (await this.ask('stats')).every(r => r.peers <= 2),
      10_000,
      'the fake names to age out',
      100,
    );
    const after = await snapshot(nodes);
    const windowMs = Math.round(after.at - before.at);
    // Each attempt holds one of connectConcurrency slots for up to connectTimeoutMs (its SYN is
    // dropped) and sends at most two SYNs in that time (the first and one retransmission).
    const { connectConcurrency, connectTimeoutMs, maxCandidates } = SPOOFING;
    const maxSyns = 2 * connectConcurrency * (Math.ceil(windowMs / connectTimeoutMs) + 1);
    // The two real peers' announcements in the window (jitter ±10%): accepted, but no new entry.
    const realAnnouncements = 2 * Math.ceil(windowMs / (SPOOFING.intervalMs * 0.9) + 1);
    const figures = nodes.map((_, i) => ({
      ...figuresOf(i, before, after),
      maxSize: Math.max(...samples.map(s => s[i]!.gossip.size)),
      maxHeapDuringMiB: round(Math.max(...samples.map(s => s[i]!.memory.heapUsed)) / MIB),
    }));
    process.stdout.write(
      `${JSON.stringify({ phase: 'authentic', valid, windowMs, maxSyns, figures })}\n`,
    );

    for (const [i, node] of nodes.entries()) {
      const report = after.reports[i]!;
      const f = figures[i]!;
      expect(f.maxSize).toBeLessThanOrEqual(maxCandidates);
      expect(f.size).toBeLessThanOrEqual(maxCandidates);
      expect(f.accepted).toBeGreaterThan(maxCandidates);
      // Every fake name accepted is a new entry: beyond the table's room, one evicted each.
      expect(f.evicted).toBeGreaterThanOrEqual(f.accepted - realAnnouncements - maxCandidates);
      // Each authentic packet sent was taken in or, on a busy host, dropped by the kernel.
      expect(f.accepted + f.replayed + f.udpDrops).toBeGreaterThanOrEqual(valid.sent * 0.98);
      expect(f.syns).toBeGreaterThan(0);
      expect(f.syns).toBeLessThanOrEqual(maxSyns);
      expect(f.heapGrowthMiB).toBeLessThan(SPOOFING.maxHeapGrowthMiB);
      // The real cluster stays connected (removal policy `keep`), whatever the table evicted.
      expect([...report.members].sort()).toEqual(this.othersOf(node));
      expect(report.events.nodeDown).toBe(before.reports[i]!.events.nodeDown);
    }
  }

  private othersOf(node: GossipNode): string[] {
    return this.nodes
      .filter(n => n !== node)
      .map(n => n.name)
      .sort();
  }
}
