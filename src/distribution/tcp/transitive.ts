import { type ClusterLogger, type Peer, toError, toPeer } from '../../core/index.js';
import type { Link } from './mesh.types.js';
import { TcpMessages as M } from './tcp.messages.js';

/** Transitive dials (learnt from `peers` messages) in progress at most. */
export const MAX_TRANSITIVE_DIALS = 16;

/** Entries of one `peers` message looked at, at most. */
const MAX_PEER_ENTRIES = 10_000;

/** What {@link TransitiveConnect} asks of the mesh. */
export interface TransitiveHooks {
  /** This node's name. */
  readonly self: string;
  /** Deadline of one transitive dial. */
  readonly dialTimeoutMs: number;
  /** Whether `node` is linked or being dialled already. */
  known(node: string): boolean;
  /** Dials `peer`; resolves whether it got linked. */
  connect(peer: Peer, signal: AbortSignal): Promise<boolean>;
  /**
   * Whether the engine admits a link with `node` (see `DistContext.admission`): a node it does
   * not admit is not dialled (its link would be closed before it counts as up). All when unset.
   */
  admits?(node: string): boolean;
}

/**
 * Transitive connect (Erlang's `connect_all`): a node tells each new peer who else is in the
 * cluster, and dials the nodes its peers tell it about. Nothing in a `peers` message may crash the
 * process or grow memory without bound: each entry is validated, and at most
 * {@link MAX_TRANSITIVE_DIALS} transitive dials run at once (the rest are dropped; discovery finds
 * those nodes anyway).
 */
export class TransitiveConnect {
  private dials = 0;

  constructor(
    private readonly hooks: TransitiveHooks,
    private readonly logger: ClusterLogger,
  ) {}

  /** Tells the peer of `link` about the other member links that have a listen port. */
  share(link: Link, members: readonly Link[]): void {
    const others = members
      .filter(other => other !== link && other.peer.listenPort !== null)
      .map(other => ({ node: other.peer.name, port: other.peer.listenPort }));
    if (others.length) link.connection.sendControl({ type: 'peers', peers: others });
  }

  /** A control message from the linked peer `from`; anything but a `peers` list is ignored. */
  onControl(from: string, message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const { type, peers } = message as { type?: unknown; peers?: unknown };
    if (type !== 'peers' || !Array.isArray(peers)) return;
    let dropped = 0;
    for (const entry of peers.slice(0, MAX_PEER_ENTRIES) as unknown[]) {
      const peer = this.parseEntry(from, entry);
      if (!peer || peer.node === this.hooks.self || this.hooks.known(peer.node)) continue;
      if (this.hooks.admits && !this.hooks.admits(peer.node)) continue;
      if (this.dials >= MAX_TRANSITIVE_DIALS) {
        dropped++;
        continue;
      }
      this.dial(from, peer);
    }
    if (dropped > 0) this.logger.debug?.(M.transitiveDropped(from, dropped, MAX_TRANSITIVE_DIALS));
  }

  /** A valid peer out of one entry, or `undefined` (logged at debug level when malformed). */
  private parseEntry(from: string, entry: unknown): Peer | undefined {
    if (typeof entry !== 'object' || entry === null) return undefined;
    const { node, port } = entry as { node?: unknown; port?: unknown };
    if (typeof node !== 'string' || (port !== undefined && typeof port !== 'number')) {
      return undefined;
    }
    try {
      return toPeer(port === undefined ? { node } : { node, port });
    } catch (error) {
      this.logger.debug?.(M.badPeerEntry(from, toError(error).message));
      return undefined;
    }
  }

  private dial(from: string, peer: Peer): void {
    this.dials++;
    let dial: Promise<boolean>;
    try {
      dial = this.hooks.connect(peer, AbortSignal.timeout(this.hooks.dialTimeoutMs));
    } catch (error) {
      dial = Promise.reject(toError(error));
    }
    dial
      .catch((error: unknown) =>
        this.logger.debug?.(M.transitiveFailed(peer.node, from, toError(error).message)),
      )
      .finally(() => this.dials--);
  }
}
