import {
  type LinkAdmission,
  type NodeDownReason,
  type Peer,
  STARTED_AT_META,
} from '../../core/index.js';
import type { Connection, ConnectionLimits } from './connection.js';
import type { HandshakePeer } from './handshake/index.js';
import type { ResolvedTls } from './tls-options.js';

/** Everything the mesh needs, resolved. */
export interface MeshOptions extends ConnectionLimits {
  readonly self: string;
  readonly cookie: Buffer;
  /** Port to listen on (0: ephemeral); also the port dialled for peers that came without one. */
  readonly port: number;
  /** Address to listen on; `undefined` for all interfaces. */
  readonly bind: string | undefined;
  readonly hidden: boolean;
  /**
   * The cluster namespace, told in every handshake; peers of another one are refused. `undefined`:
   * none is told, as by a node of a version without namespaces (it counts as `default`).
   */
  readonly namespace?: string;
  /**
   * This node's start time (ms since the epoch), told in every handshake with the `started`
   * capability. `undefined`: none is told, as by a node of a release before it (it never leads).
   */
  readonly startedAt?: number;
  readonly transitive: boolean;
  readonly maxPendingHandshakes: number;
  readonly maxPendingHandshakesPerIp: number;
  /**
   * Resolves a host name before dialling (DNS settings of the cluster) to its addresses, IPv4
   * first; `undefined`: the system's. The dialler tries them all (Happy Eyeballs), so a node
   * listening on one family of a dual-stack name is reached.
   */
  readonly lookup?: (host: string) => Promise<readonly string[]>;
  /** TLS (and mutual TLS) on every link, inbound and outbound; `undefined`: plain TCP. */
  readonly tls?: ResolvedTls;
}

/** What the mesh reports upwards. */
export interface MeshEvents {
  nodeUp(peer: Peer): void;
  nodeDown(node: string, reason: NodeDownReason): void;
  message(from: string, bytes: Buffer): void;
  /**
   * The last link of a hidden node (a tool) closed. Hidden nodes are never members, so this is
   * not a `nodeDown`; messaging still needs it, to fail requests pending on that node and abort
   * the signals of the requests it was having handled.
   */
  hiddenDown?(node: string): void;
  /** The engine's admission of links (see `DistContext.admission`); every node when unset. */
  readonly admission?: LinkAdmission;
}

/** An authenticated link: its connection and the peer it proved to be. */
export interface Link {
  readonly connection: Connection;
  readonly peer: HandshakePeer;
}

/**
 * The peer of a link as membership reports it: with its listen port when it has one, and its
 * start time as `meta.startedAt` when it announced one (a peer of an older release has no meta).
 */
export function peerOf(peer: HandshakePeer): Peer {
  return {
    node: peer.name,
    ...(peer.listenPort === null ? {} : { port: peer.listenPort }),
    ...(peer.startedAt === undefined ? {} : { meta: { [STARTED_AT_META]: peer.startedAt } }),
  };
}
