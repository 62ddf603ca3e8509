import { type Peer, nodeKey } from '../core/index.js';

/**
 * Asks the cluster for a refresh when a discovery that hears its peers (gossip, NATS presence)
 * answers differently, so a change is acted on at once instead of at the next interval. Calls of
 * `requestRefresh` coalesce in the engine; this only keeps them to real changes.
 */
export class AnswerChangeNotifier {
  /** The answer last noticed (sorted `node:port`); `undefined` after a change mid-round. */
  private key: string | undefined = '';
  private requestRefresh: (() => void) | undefined;

  /** Starts notifying through the discovery context's `requestRefresh` (a new start). */
  attach(requestRefresh: (() => void) | undefined): void {
    this.requestRefresh = requestRefresh;
    this.key = '';
  }

  /**
   * The answer changed for sure (a peer heard or gone, the source lost or back): refresh now, and
   * compare afresh at the next {@link notice} (a change and an expiry within one round could
   * leave the answer looking unchanged).
   */
  changed(): void {
    this.key = undefined;
    this.requestRefresh?.();
  }

  /** Refreshes when `peers` differ from the answer last noticed (expiries found by a timer). */
  notice(peers: readonly Peer[]): void {
    const key = peers
      .map(p => `${p.node}:${p.port}`)
      .sort()
      .join(',');
    if (key === this.key) return;
    this.key = key;
    this.requestRefresh?.();
  }
}

/** Whether `node` is a valid node name in its canonical form (as the engine would dial it). */
export function isCanonicalNodeName(node: string): boolean {
  try {
    return nodeKey(node) === node;
  } catch {
    return false;
  }
}
