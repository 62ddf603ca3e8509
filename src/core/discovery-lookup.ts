/**
 * One question to the discovery strategy per refresh: its answer within the discovery timeout,
 * checked and made canonical. A failed lookup is logged and reported, and the engine keeps its
 * last good answer.
 */
import { withDeadline } from './deadline.js';
import { DiscoveryError, toError } from './errors.js';
import type { ClusterLogger } from './logger.js';
import { CoreMessages } from './messages.js';
import { type Peer, toPeer } from './peer.js';
import type { DiscoveryStrategy } from './strategy.js';

/** What a {@link DiscoveryLookup} needs from the engine. */
export interface DiscoveryLookupOptions {
  /** This node's canonical name, left out of every answer. */
  readonly self: string;
  /** How long one lookup may take. */
  readonly timeoutMs: number;
  /** Aborts when the cluster stops: a lookup in flight then ends at once, unreported. */
  readonly stopping: AbortSignal;
  /** Where failed lookups and skipped entries are logged. */
  readonly logger: ClusterLogger;
  /** Told of each failed lookup, with the number of failures in a row (1 for the first). */
  readonly failed: (error: DiscoveryError, consecutive: number) => void;
}

/** Asks a discovery strategy for its peers, bounded in time, and counts failures in a row. */
export class DiscoveryLookup {
  private failures = 0;

  constructor(
    private readonly discovery: DiscoveryStrategy,
    private readonly options: DiscoveryLookupOptions,
  ) {}

  /**
   * The discovered peers, one per node and without self; `undefined` when the lookup failed
   * (reported through `failed`) or the cluster is stopping.
   */
  async peers(): Promise<Peer[] | undefined> {
    const { timeoutMs: ms, stopping } = this.options;
    const strategy = this.discovery.name;
    try {
      // Settles on stop or at the deadline even if the discovery ignores its signal.
      const raw = await withDeadline(signal => this.discovery.peers(signal), {
        ms,
        signal: stopping,
        onTimeout: () =>
          new DiscoveryError(CoreMessages.discoveryTimeout(strategy, ms), {
            code: 'ERR_DISCOVERY_TIMEOUT',
          }),
      });
      if (!Array.isArray(raw)) {
        throw new DiscoveryError(CoreMessages.discoveryNotAnArray(strategy, typeof raw));
      }
      this.failures = 0;
      return canonicalPeers(raw, this.options.self, error =>
        this.options.logger.warn(CoreMessages.unusablePeer(strategy, error)),
      );
    } catch (thrown) {
      if (stopping.aborted) return undefined;
      this.failures++;
      const cause = toError(thrown);
      const error =
        cause instanceof DiscoveryError
          ? cause
          : new DiscoveryError(CoreMessages.discoveryFailed(strategy, cause), { cause });
      this.options.logger.warn(error.message, {
        event: 'discoveryFailed',
        reason: error.code,
        consecutive: this.failures,
      });
      this.options.failed(error, this.failures);
      return undefined;
    }
  }
}

/**
 * One peer per node name, without `self`. Of two entries for one node, the first with a port
 * wins: a node named both with and without its port is one node. Entries that are not valid
 * peers are skipped and passed to `unusable`.
 */
export function canonicalPeers(
  raw: readonly (Peer | string)[],
  self: string,
  unusable: (error: Error) => void,
): Peer[] {
  const byKey = new Map<string, Peer>();
  for (const entry of raw) {
    let peer: Peer;
    try {
      peer = toPeer(entry);
    } catch (error) {
      unusable(toError(error));
      continue;
    }
    if (peer.node === self) continue;
    const known = byKey.get(peer.node);
    if (!known || (known.port === undefined && peer.port !== undefined)) byKey.set(peer.node, peer);
  }
  return [...byKey.values()];
}
