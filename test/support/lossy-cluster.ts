import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from './managed-process.js';
import {
  HttpRelay,
  NetworkNamespace,
  type RandomLossCounters,
  randomLoss,
  waitForLine,
} from './netns.js';
import { TEST_COOKIE } from './nodes.js';
import { type ProxyRouteStats, TcpProxy } from './tcp-proxy.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const sampleMain = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'dist',
  'sample',
  'main.js',
);

/** The dist port of every node (each on its own loopback address of the namespace). */
const DIST_PORT = 4370;
/** The port the proxy listens on in front of each node, on the node's address. */
const PROXY_PORT = 5370;

/** Options of {@link LossyCluster.start}. */
export interface LossyClusterOptions {
  /** Part of the namespace's name (`gc-<tag>-<pid>`). */
  readonly tag: string;
  /** Number of nodes; 3 by default. */
  readonly size?: number;
  /** The share of packets dropped on each hop into the proxy, e.g. 0.1. */
  readonly lossProbability: number;
  readonly delayMs: number;
  readonly jitterMs: number;
  /**
   * Run test/fixtures/soak-node.mjs instead of the sample app: the same routes, plus echo
   * requests to every peer (2 in flight per peer) between {@link LossyCluster.startTraffic} and
   * {@link LossyCluster.stopTraffic}.
   */
  readonly traffic?: boolean;
}

/** The request counters of one node with `traffic` (test/fixtures/soak-node.mjs). */
export interface TrafficStats {
  readonly sent: number;
  readonly answered: number;
  readonly wrongAnswers: number;
  readonly failed: number;
  readonly inFlight: number;
  readonly errors: readonly string[];
}

/** One membership change as the sample's `GET /cluster/events` lists it. */
export interface MembershipChange {
  readonly type: 'nodeUp' | 'nodeDown';
  readonly node: string;
  readonly reason?: string;
}

/**
 * Sample nodes (real processes, default heartbeat and failure timeout) in a network namespace of
 * their own, every link between two of them through a lossy, slow path:
 *
 * `node A -> [10 % loss] -> proxy (delay ± jitter) -> node B`, and the same way back.
 *
 * Node `i` is `lossy@127.0.0.<i+2>` on port 4370; in front of it a {@link TcpProxy} listens on the
 * same address, port 5370, with `bindSource` (so node B sees node A's address). Static discovery
 * gives each node the others at their proxy port, so whichever side dials, the link goes through
 * the proxy. iptables' random loss ({@link randomLoss}) drops packets arriving at the proxy, from a
 * node (source port 4370) and from a dialling node (destination port 5370): every byte of either
 * direction crosses one lossy hop and one delaying hop. The sample's HTTP servers are reached
 * through an {@link HttpRelay} and are not subject to loss.
 */
export class LossyCluster {
  private constructor(
    readonly namespace: NetworkNamespace,
    readonly relay: HttpRelay,
    readonly proxy: TcpProxy,
    /** Reads the loss rules' packet counters. */
    readonly loss: () => Promise<RandomLossCounters>,
    /** The node names, `lossy@127.0.0.2`, ... */
    readonly names: readonly string[],
    private readonly processes: ManagedProcess[],
    private readonly httpPorts: number[],
  ) {}

  /** Creates the namespace, the loss rules, the proxy and the nodes (not waiting for a mesh). */
  static async start(options: LossyClusterOptions): Promise<LossyCluster> {
    const size = options.size ?? 3;
    const hosts = Array.from({ length: size }, (_, i) => `127.0.0.${i + 2}`);
    const names = hosts.map(host => `lossy@${host}`);
    const namespace = await NetworkNamespace.create(options.tag);
    const parts: { relay?: HttpRelay; proxy?: TcpProxy; processes: ManagedProcess[] } = {
      processes: [],
    };
    try {
      const loss = await randomLoss(namespace, {
        probability: options.lossProbability,
        toPorts: [PROXY_PORT],
        fromPorts: [DIST_PORT],
      });
      parts.relay = await HttpRelay.start(namespace);
      parts.proxy = await TcpProxy.start({
        namespace,
        routes: hosts.map(host => ({
          listen: { host, port: PROXY_PORT },
          target: { host, port: DIST_PORT },
        })),
        delayMs: options.delayMs,
        jitterMs: options.jitterMs,
        bindSource: true,
      });
      const httpPorts: number[] = [];
      for (const [i, name] of names.entries()) {
        const others = names.filter((_, j) => j !== i).map(other => `${other}:${PROXY_PORT}`);
        const script = options.traffic ? join(fixtures, 'soak-node.mjs') : sampleMain;
        const child = namespace.spawn(process.execPath, [script], {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '/tmp',
          GEN_CLUSTER_COOKIE: TEST_COOKIE,
          GEN_CLUSTER_NODE: name,
          GEN_CLUSTER_PORT: String(DIST_PORT),
          GEN_CLUSTER_DISCOVERY: `static:${others.join(',')}`,
        });
        const node = new ManagedProcess(child, { tag: `[${name}] ` });
        parts.processes.push(node);
        const ready = await waitForLine(node, /SAMPLE_READY \{/, 60_000, name);
        httpPorts.push((JSON.parse(/\{.*\}/.exec(ready)![0]) as { http: number }).http);
      }
      return new LossyCluster(
        namespace,
        parts.relay,
        parts.proxy,
        loss,
        names,
        parts.processes,
        httpPorts,
      );
    } catch (error) {
      await Promise.all(parts.processes.map(p => p.stop(2_000)));
      await parts.proxy?.stop();
      await parts.relay?.stop();
      namespace.destroy();
      throw error;
    }
  }

  /** The process of node `i`. */
  process(i: number): ManagedProcess {
    return this.processes[i]!;
  }

  /** The other node names, sorted, as node `i` should list its members. */
  others(i: number): string[] {
    return this.names.filter((_, j) => j !== i).sort();
  }

  /** Each node's members (`undefined` for a node that did not answer). */
  views(): Promise<(string[] | undefined)[]> {
    return Promise.all(
      this.httpPorts.map(async port => {
        const view = await this.relay.get<{ members: string[] }>(
          `http://127.0.0.1:${port}/cluster`,
        );
        return view?.members;
      }),
    );
  }

  /** Whether every node lists exactly the others. */
  async fullMesh(): Promise<boolean> {
    const views = await this.views();
    return views.every((members, i) => JSON.stringify(members) === JSON.stringify(this.others(i)));
  }

  /** Node `i`'s membership changes (its last 100); `undefined` when it did not answer. */
  changes(i: number): Promise<MembershipChange[] | undefined> {
    return this.relay.get<MembershipChange[]>(
      `http://127.0.0.1:${this.httpPorts[i]}/cluster/events`,
    );
  }

  /** The proxy's counters, one entry per node (the route in front of it). */
  proxyStats(): Promise<ProxyRouteStats[]> {
    return this.proxy.stats();
  }

  /**
   * How many links stayed: of the connections open in `before` (proxy counters taken when the
   * mesh formed), those still open in `after`. A whole mesh that kept its links keeps one per pair
   * of nodes. A late dial that loses the tie-break (refused as `already-connected`) is not in
   * `before`, and a tie-break loser still open at formation is gone by `after`; a link dropped
   * and dialled again is in neither, so the count falls short. (Nodes dial from 127.0.0.1, so the
   * client address does not tell which pair a connection joins; the count does, while every node
   * lists all the others.)
   */
  static keptLinks(before: readonly ProxyRouteStats[], after: readonly ProxyRouteStats[]): number {
    const open = new Set(before.flatMap(route => route.connections));
    return after.flatMap(route => route.connections.filter(id => open.has(id))).length;
  }

  /** The number of pairs of nodes: the links of a whole mesh. */
  get pairs(): number {
    return (this.names.length * (this.names.length - 1)) / 2;
  }

  /**
   * Watches the formed mesh for `durationMs`: every second, each node's members (a node that does
   * not list exactly the others is a flap); at the end, the nodeDown/nodeUp events each node
   * logged since `since` (from {@link changes}, taken when the mesh formed), the proxy's counters
   * and the loss counters.
   */
  async observe(durationMs: number, since: readonly MembershipChange[][]): Promise<Observation> {
    const flaps: string[] = [];
    const started = performance.now();
    let polls = 0;
    while (performance.now() - started < durationMs) {
      polls++;
      for (const [i, members] of (await this.views()).entries()) {
        if (JSON.stringify(members) !== JSON.stringify(this.others(i)))
          flaps.push(`${this.names[i]} saw ${JSON.stringify(members)} at ${seconds(started)} s`);
      }
      await new Promise(resolve => setTimeout(resolve, 1_000));
    }
    const after = await Promise.all(this.names.map((_, i) => this.changes(i)));
    const newer = after.map((changes, i) => (changes ?? []).slice(since[i]!.length));
    return {
      polls,
      flaps,
      nodeDowns: newer.flatMap((changes, i) =>
        changes.filter(c => c.type === 'nodeDown').map(c => ({ at: this.names[i]!, ...c })),
      ),
      nodeUps: newer.flatMap((changes, i) =>
        changes.filter(c => c.type === 'nodeUp').map(c => ({ at: this.names[i]!, ...c })),
      ),
      proxy: await this.proxyStats(),
      loss: await this.loss(),
    };
  }

  /** With `traffic`: every node starts sending echo requests to every peer it has now. */
  async startTraffic(): Promise<void> {
    await Promise.all(this.httpPorts.map(port => this.post(port, '/soak/start')));
  }

  /** With `traffic`: stops the requests, waits for those in flight; each node's counters. */
  async stopTraffic(): Promise<TrafficStats[]> {
    return Promise.all(
      this.httpPorts.map(
        async port => JSON.parse(await this.post(port, '/soak/stop')) as TrafficStats,
      ),
    );
  }

  /** POST inside the namespace (the relay only GETs): one short-lived node process. */
  private post(port: number, path: string): Promise<string> {
    const script = `const r = await fetch('http://127.0.0.1:${port}${path}', { method: 'POST' });
      if (!r.ok) throw new Error(String(r.status)); process.stdout.write(await r.text());`;
    return this.namespace.run(process.execPath, ['--input-type=module', '-e', script]);
  }

  /** Stops the nodes, the proxy and the relay, and deletes the namespace. */
  async stop(): Promise<void> {
    await Promise.all(this.processes.map(p => p.stop(2_000)));
    await this.proxy.stop();
    await this.relay.stop();
    this.namespace.destroy();
  }
}

/** What {@link LossyCluster.observe} saw. */
export interface Observation {
  /** How many times every node's members were read. */
  readonly polls: number;
  /** Each read where a node did not list exactly the others. */
  readonly flaps: readonly string[];
  /** The nodeDown events logged during the observation, with the node that logged each. */
  readonly nodeDowns: readonly (MembershipChange & { at: string })[];
  readonly nodeUps: readonly (MembershipChange & { at: string })[];
  readonly proxy: readonly ProxyRouteStats[];
  readonly loss: RandomLossCounters;
}

const seconds = (since: number) => ((performance.now() - since) / 1_000).toFixed(1);
