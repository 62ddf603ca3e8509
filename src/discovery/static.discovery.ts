import { InvalidConfigError, toError } from '../core/errors.js';
import { type Peer, toPeer } from '../core/peer.js';
import type { DiscoveryStrategy } from '../core/strategy.js';

/** Options of the `static` discovery: a fixed list of nodes. */
export interface StaticDiscoveryOptions {
  readonly strategy: 'static';
  /** Node names, each `name@host` or `name@host:port` (`name@[v6]:port` for IPv6). */
  readonly nodes: readonly (string | Peer)[];
}

/**
 * A fixed list of nodes (gen_cluster's `static`). Every entry is checked when the strategy is
 * built, so a typo fails at startup, naming the entry.
 */
export class StaticDiscovery implements DiscoveryStrategy {
  readonly name = 'static';
  private readonly list: readonly Peer[];

  constructor(options: Omit<StaticDiscoveryOptions, 'strategy'> | readonly (string | Peer)[]) {
    const nodes = Array.isArray(options) ? options : (options as StaticDiscoveryOptions).nodes;
    if (!Array.isArray(nodes)) {
      throw new InvalidConfigError(
        `Invalid static discovery: "nodes" must be an array of "name@host[:port]" strings; received ${JSON.stringify(nodes)}.`,
      );
    }
    this.list = nodes.map((entry: string | Peer, index: number) => {
      try {
        return toPeer(entry);
      } catch (error) {
        throw new InvalidConfigError(
          `Invalid static discovery entry #${index} ${JSON.stringify(entry)}: ${toError(error).message}`,
        );
      }
    });
  }

  peers(): readonly Peer[] {
    return this.list;
  }
}
