/**
 * Nodes that asked for this node's table before their `nodeUp` here (a peer whose own `nodeUp`
 * came first, or a hidden tool that never becomes a member). Each waits, with the `seq` it was
 * given, for its `nodeUp`; bounded in number and in time.
 */
import { ASKER_TTL_MS, MAX_ASKERS } from './registry-protocol.js';

/** One node that asked. */
export interface Asker {
  /** The sequence number of the table it was given. */
  readonly seq: number;
  readonly at: number;
}

/** Askers by node, ordered by the time they asked (the oldest first). */
export class Askers {
  private readonly byNode = new Map<string, Asker>();

  /**
   * @param now monotonic clock (ms)
   * @param ttlMs how long an asker is kept
   * @param max how many are kept; past it the oldest is dropped
   */
  constructor(
    private readonly now: () => number,
    private readonly ttlMs = ASKER_TTL_MS,
    private readonly max = MAX_ASKERS,
  ) {}

  /** How many askers are kept now. */
  get size(): number {
    this.expire();
    return this.byNode.size;
  }

  /** Records that `node` was given the table at `seq`. */
  add(node: string, seq: number): void {
    this.expire();
    this.byNode.delete(node);
    if (this.byNode.size >= this.max) {
      const oldest = this.byNode.keys().next().value;
      if (oldest !== undefined) this.byNode.delete(oldest);
    }
    this.byNode.set(node, { seq, at: this.now() });
  }

  /** Removes `node` and returns what it was given, if it asked within the TTL. */
  take(node: string): Asker | undefined {
    this.expire();
    const asker = this.byNode.get(node);
    this.byNode.delete(node);
    return asker;
  }

  /** Forgets every asker. */
  clear(): void {
    this.byNode.clear();
  }

  private expire(): void {
    const oldest = this.now() - this.ttlMs;
    for (const [node, asker] of this.byNode) {
      if (asker.at > oldest) return;
      this.byNode.delete(node);
    }
  }
}
