import { type DiscoveryContext, type DiscoveryStrategy, type Peer, toPeer } from '../core/index.js';

/**
 * How many peers the CLI learns from the nodes' answers, at most: a node's `info` is its word,
 * and a node that tells of 50,000 made-up peers must not make the CLI dial them all.
 */
export const MAX_LEARNED_PEERS = 1_024;

/**
 * The CLI's discovery: the configured one (seeds or the environment's) plus every peer the nodes
 * told of in their `info` answers. A hidden link is sent no peer list, so without this a CLI that
 * knows one seed would reach only that node.
 */
export class CliDiscovery implements DiscoveryStrategy {
  readonly name: string;
  private readonly learned = new Map<string, Peer>();
  private context: DiscoveryContext | undefined;

  constructor(private readonly inner: DiscoveryStrategy) {
    this.name = `cli+${inner.name}`;
  }

  async init(context: DiscoveryContext): Promise<void> {
    this.context = context;
    await this.inner.init?.(context);
  }

  /**
   * Adds peers told of by a node; returns how many were new. The list comes from another node's
   * answer, so it is checked here: anything but an array counts as none, an entry that is not a
   * valid peer is skipped, and learning stops at {@link MAX_LEARNED_PEERS}.
   */
  learn(peers: unknown): number {
    if (!Array.isArray(peers)) return 0;
    let added = 0;
    for (const entry of peers as unknown[]) {
      if (this.learned.size >= MAX_LEARNED_PEERS) break;
      let peer: Peer;
      try {
        // Only what dialling needs: a told-of meta is not the CLI's business.
        const { node, port } = toPeer(entry as Peer);
        peer = port === undefined ? { node } : { node, port };
      } catch {
        continue;
      }
      if (peer.node === this.context?.self || this.learned.has(peer.node)) continue;
      this.learned.set(peer.node, peer);
      added++;
    }
    return added;
  }

  /** Every peer known so far by name: the inner discovery's last answer is not kept here. */
  learnedNames(): string[] {
    return [...this.learned.keys()];
  }

  async peers(signal: AbortSignal): Promise<Peer[]> {
    let found: readonly (Peer | string)[] = [];
    try {
      found = await this.inner.peers(signal);
    } catch (error) {
      // Nodes told of keep the CLI going when its own source fails; without any, the failure
      // is the answer.
      if (this.learned.size === 0) throw error;
    }
    const all = new Map(this.learned);
    for (const entry of found) {
      const peer = toPeer(entry);
      all.set(peer.node, peer);
    }
    return [...all.values()];
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
