/**
 * The error of the gossip socket, with a stable `code` (see {@link GenClusterError}). Texts live
 * in `gossip.messages.ts`. The discovery turns it into the `DiscoveryError` `peers()` throws, whose
 * `cause` it is.
 */
import { type ErrorDetails, GenClusterError } from '../../core/index.js';

/** Codes of the gossip discovery. */
export type GossipErrorCode =
  /** The multicast socket could not bind, join the group or send (no route, no such interface). */
  'ERR_GOSSIP_SOCKET';

/** What the socket was doing when it failed. */
export type GossipSocketOperation = 'bind' | 'join' | 'send';

/** The gossip socket failed; `operation` says at what and `syscallCode` how (`ENETUNREACH`). */
export class GossipSocketError extends GenClusterError {
  declare readonly code: GossipErrorCode;
  /** What failed. */
  readonly operation: GossipSocketOperation;
  /** The system's code (`ENETUNREACH`, `ENODEV`, `EADDRNOTAVAIL`), when it gave one. */
  readonly syscallCode: string | undefined;

  constructor(
    message: string,
    details: ErrorDetails & {
      readonly operation: GossipSocketOperation;
      readonly syscallCode: string | undefined;
    },
  ) {
    super('ERR_GOSSIP_SOCKET', message, details);
    this.operation = details.operation;
    this.syscallCode = details.syscallCode;
  }
}
