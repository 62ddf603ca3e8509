import type { ChaosNetwork } from './chaos-network.js';
import type { ChaosNode } from './chaos-node.js';

/** The kinds of fault the soak injects. */
export type FaultKind = 'kill9' | 'restart' | 'pause' | 'partition';
export const FAULT_KINDS: readonly FaultKind[] = ['kill9', 'restart', 'pause', 'partition'];

interface Recovery {
  readonly at: number;
  readonly what: string;
  readonly run: () => Promise<void>;
  /** Set on the start of a killed node: a checkpoint may leave it down. */
  readonly starts?: ChaosNode;
}

/**
 * Injects faults chosen by a seeded random source, and undoes them later:
 * - `kill9`: SIGKILL a node (never a witness); it is started again (a new incarnation) after
 *   0.5 s to 3 failure timeouts;
 * - `restart`: SIGTERM a node (it says goodbye) and start it again at once (never a witness);
 * - `pause`: SIGSTOP a node, SIGCONT after 0.3 s to 2 failure timeouts (below and above the
 *   failure timeout, so both "missed a few heartbeats" and "declared down" happen);
 * - `partition`: cut one pair of nodes, or a group of 1 to n/3 nodes from the rest, both ways;
 *   healed after 0.5 s to 3 failure timeouts. Cuts nest.
 * At most `maxImpaired` nodes are down or paused at once; a node busy restarting is left alone.
 */
export class FaultInjector {
  readonly counts: Record<FaultKind, number> = { kill9: 0, restart: 0, pause: 0, partition: 0 };
  private recoveries: Recovery[] = [];
  private readonly busy = new Set<number>();
  private readonly restarts = new Set<Promise<void>>();

  constructor(
    private readonly nodes: readonly ChaosNode[],
    private readonly network: ChaosNetwork,
    private readonly random: () => number,
    private readonly settings: {
      readonly witnesses: ReadonlySet<number>;
      readonly maxImpaired: number;
      readonly failureTimeoutMs: number;
      readonly startTimeoutMs: number;
    },
    private readonly log: (line: string) => void,
    private readonly startFailed: (node: ChaosNode, error: Error) => void,
  ) {}

  /** Uniform integer in [min, max]. */
  between(min: number, max: number): number {
    return Math.floor(min + this.random() * (max - min + 1));
  }

  private pick<T>(from: readonly T[]): T | undefined {
    return from.length === 0 ? undefined : from[Math.floor(this.random() * from.length)];
  }

  private impaired(): number {
    return this.nodes.filter(n => n.state !== 'running' || this.busy.has(n.index)).length;
  }

  private free(node: ChaosNode): boolean {
    return !this.busy.has(node.index);
  }

  /** Injects one fault: the kind is drawn first, then a target among those it may hit. */
  async inject(): Promise<void> {
    const kind = this.pick(FAULT_KINDS)!;
    const T = this.settings.failureTimeoutMs;
    const room = this.impaired() < this.settings.maxImpaired;
    const killable = this.nodes.filter(
      n => n.state !== 'down' && this.free(n) && !this.settings.witnesses.has(n.index),
    );
    if (kind === 'kill9' || kind === 'restart') {
      const target = this.pick(killable.filter(n => kind === 'kill9' || n.state === 'running'));
      // drawn even when unused, so that the sequence does not depend on the nodes' states
      const delay = this.between(500, 3 * T);
      if (!target || !room) return;
      this.counts[kind]++;
      if (kind === 'kill9') {
        await target.kill();
        this.log(`kill -9 ${target.name} (back in ${delay} ms)`);
        this.startLater(target, delay);
      } else {
        this.log(`restart ${target.name} (SIGTERM, then start)`);
        this.track(target, async () => {
          await target.terminate(3_000);
          await this.startNode(target);
        });
      }
      return;
    }
    if (kind === 'pause') {
      const target = this.pick(this.nodes.filter(n => n.state === 'running' && this.free(n)));
      const delay = this.between(300, 2 * T);
      if (!target || !room) return;
      this.counts.pause++;
      target.pause();
      this.log(`SIGSTOP ${target.name} (SIGCONT in ${delay} ms)`);
      this.later(delay, `SIGCONT ${target.name}`, async () => target.resume());
      return;
    }
    const all = this.nodes.map(n => n.index);
    const shuffled = [...all].sort(() => this.random() - 0.5);
    const pair = this.random() < 0.5;
    const size = pair ? 1 : this.between(1, Math.floor(all.length / 3));
    const group = shuffled.slice(0, size);
    const other = pair ? [shuffled[size]!] : all.filter(i => !group.includes(i));
    const delay = this.between(500, 3 * T);
    this.counts.partition++;
    await this.network.cut(group, other);
    const label = `{${group.map(i => `n${i}`).join(',')}} | {${other.map(i => `n${i}`).join(',')}}`;
    this.log(`partition ${label} (heals in ${delay} ms; ${this.network.cutPairs()} pairs cut)`);
    this.later(delay, `heal ${label}`, () => this.network.heal(group, other));
  }

  /** Runs the recoveries that are due. */
  async recoverDue(): Promise<void> {
    const now = performance.now();
    const due = this.recoveries.filter(r => r.at <= now);
    this.recoveries = this.recoveries.filter(r => r.at > now);
    for (const recovery of due) {
      this.log(recovery.what);
      await recovery.run();
    }
  }

  /**
   * Undoes every fault now and waits for restarts to finish (before a checkpoint). Each killed node
   * stays down with probability `keepDown` (so that the live set at checkpoints varies); the
   * nodes left down are returned, for the next burst to start.
   */
  async recoverAll(keepDown: number): Promise<ChaosNode[]> {
    const all = this.recoveries;
    this.recoveries = [];
    const leftDown: ChaosNode[] = [];
    for (const recovery of all) {
      if (recovery.starts && this.random() < keepDown) {
        leftDown.push(recovery.starts);
        this.log(`${recovery.starts.name} stays down through the checkpoint`);
        continue;
      }
      this.log(`${recovery.what} (recover all)`);
      await recovery.run();
    }
    await Promise.all([...this.restarts]);
    return leftDown;
  }

  /** Plans a start of `node` (left down by a checkpoint) in `delayMs`. */
  startLater(node: ChaosNode, delayMs: number): void {
    this.later(delayMs, `start ${node.name}`, () => this.restart(node), node);
  }

  private later(delayMs: number, what: string, run: () => Promise<void>, starts?: ChaosNode): void {
    this.recoveries.push({ at: performance.now() + delayMs, what, run, starts });
  }

  /** Starts `node` again in the background; the slot is busy until it is up. */
  private async restart(node: ChaosNode): Promise<void> {
    this.track(node, () => this.startNode(node));
  }

  private async startNode(node: ChaosNode): Promise<void> {
    try {
      await node.start(this.settings.startTimeoutMs);
      this.log(`${node.name} is up again (incarnation ${node.incarnation})`);
    } catch (error) {
      this.startFailed(node, error as Error);
    }
  }

  private track(node: ChaosNode, work: () => Promise<void>): void {
    this.busy.add(node.index);
    const done = work().finally(() => {
      this.busy.delete(node.index);
      this.restarts.delete(done);
    });
    this.restarts.add(done);
  }
}
