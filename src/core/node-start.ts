/**
 * A node's start time as peers learn it: the TCP dist carries it in the handshake (capability
 * `started`), other dists in their presence announcements; either way it reaches the engine as
 * `peer.meta.startedAt` on `nodeUp`. Leadership orders members by it.
 */
import type { Peer } from './peer.js';

/** The `Peer.meta` key of a node's start time (milliseconds since the epoch, an integer). */
export const STARTED_AT_META = 'startedAt';

/** The start time `peer` announced, or `undefined` (an older node, or a dist without it). */
export function startedAtOf(peer: Peer | undefined): number | undefined {
  const value = peer?.meta?.[STARTED_AT_META];
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}
