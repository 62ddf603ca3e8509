import { type DiscoveryContext, type DiscoveryStrategy, type Peer, toPeer } from '../core/index.js';

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

  /** Adds peers told of by a node; returns how many were new. */
  learn(peers: readonly Peer[]): number {
    let added = 0;
    for (const peer of peers) {
      if (peer.node === this.context?.self || this.learned.has(peer.node)) continue;
      this.learned.set(peer.node, toPeer(peer));
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
