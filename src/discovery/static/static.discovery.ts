import {
  type DiscoveryStrategy,
  InvalidConfigError,
  type Peer,
  toError,
  toPeer,
} from '../../core/index.js';
import { StaticMessages } from './static.messages.js';

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
      throw new InvalidConfigError(StaticMessages.notAnArray(nodes), { option: 'nodes' });
    }
    this.list = nodes.map((entry: string | Peer, index: number) => {
      try {
        return toPeer(entry);
      } catch (error) {
        throw new InvalidConfigError(
          StaticMessages.invalidEntry(index, entry, toError(error).message),
          { option: `nodes[${index}]`, cause: error },
        );
      }
    });
  }

  peers(): readonly Peer[] {
    return this.list;
  }
}
