/**
 * What the TCP dist tells metrics and health checks: handshake refusals counted by reason (both
 * directions), each link's queue and socket counters, and whether the listener still accepts.
 * Counting only; nothing here is on the hot path of a message.
 */
import type { Server } from 'node:net';
import type { DistHealth, DistStats, LinkStats } from '../../core/index.js';
import type { Link } from './mesh.types.js';
import { type HandshakeError, TlsError } from './tcp.errors.js';
import { TcpHealthMessages as M } from './tcp-stats.messages.js';

/**
 * The reasons refusals are counted under, so that the counters stay bounded whatever a peer
 * sends: the cookie handshake's reasons (ours and those a peer's `refused` message reports),
 * `certificate-name`, the TLS failures as `tls-<reason>`, `capacity` (over the pre-authentication
 * caps) and `other` for anything else (a newer peer's reason).
 */
export const REFUSAL_REASONS = [
  'bad-cookie',
  'version',
  'timing',
  'name-mismatch',
  'namespace',
  'duplicate-name',
  'self',
  'not-discovered',
  'stopping',
  'protocol',
  'timeout',
  'internal',
  'certificate-name',
  'tls',
  'tls-no-certificate',
  'tls-untrusted-certificate',
  'tls-certificate-expired',
  'tls-version',
  'tls-not-tls',
  'tls-timeout',
  'tls-closed',
  'tls-handshake-failure',
  'capacity',
  'other',
] as const;

/** One of {@link REFUSAL_REASONS}. */
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

const KNOWN: ReadonlySet<string> = new Set(REFUSAL_REASONS);

/** Tie-breaks of two links to one node: normal operation, not refusals. */
const TIE_BREAKS: ReadonlySet<string> = new Set(['simultaneous', 'already-connected']);

/**
 * The reason a failed handshake counts under, or `undefined` for a tie-break (not a refusal).
 */
export function refusalReason(failure: HandshakeError | TlsError): RefusalReason | undefined {
  if (failure instanceof TlsError) {
    if (failure.reason === 'certificate-name' || failure.reason === 'tls') return failure.reason;
    return known(`tls-${failure.reason}`);
  }
  if (TIE_BREAKS.has(failure.reason)) return undefined;
  return known(failure.reason);
}

function known(reason: string): RefusalReason {
  return KNOWN.has(reason) ? (reason as RefusalReason) : 'other';
}

/** Counters of one TCP dist. */
export class TcpStats {
  private readonly refusals = new Map<RefusalReason, number>();

  /** Counts a failed handshake (ours or the peer's refusal); tie-breaks are not counted. */
  refused(failure: HandshakeError | TlsError | 'capacity'): void {
    const reason = failure === 'capacity' ? failure : refusalReason(failure);
    if (reason !== undefined) this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
  }

  /** Refusals by reason since the dist started; reasons never seen are absent. */
  handshakeRefusals(): Record<string, number> {
    return Object.fromEntries(this.refusals);
  }

  /** The links and the refusals, for `DistStrategy.stats()`. */
  snapshot(links: readonly Link[]): DistStats {
    return { links: links.map(linkStats), handshakeRefusals: this.handshakeRefusals() };
  }
}

/** One link's counters: its send queue and its socket's bytes since it opened. */
export function linkStats({ connection, peer }: Link): LinkStats {
  const { messages, bytes } = connection.queued;
  return {
    node: peer.name,
    hidden: peer.hidden,
    queuedBytes: bytes,
    queuedMessages: messages,
    bytesIn: connection.socket.bytesRead,
    bytesOut: connection.socket.bytesWritten,
  };
}

/**
 * Whether the listener still accepts. It is lost when the listening socket closes, or fails and is
 * no longer listening, after a successful listen and before the mesh stopped it (`leave()`,
 * `close()`): a stop asked for is not a failure, so liveness stays up while a node shuts down.
 * Before `listen()` nothing is lost. An 'error' while the server still listens is not a loss:
 * Node's `net.Server` reports a failed accept (EMFILE, ENFILE, ENOBUFS) that way and keeps
 * accepting, and liveness must not go down for good on a passing shortage of descriptors.
 */
export class ListenerHealth {
  private lost: string | undefined;
  private stopped = false;

  /** Watches a listening server. */
  watch(server: Server): void {
    server.on('error', error => {
      if (!server.listening) this.lose(M.listenerFailed(error.message));
    });
    server.on('close', () => this.lose(M.listenerClosed()));
  }

  /** The mesh stops the listener on purpose: what follows is not a loss. */
  stop(): void {
    this.stopped = true;
  }

  /** `listening: false` with the reason once lost. */
  get health(): DistHealth {
    return this.lost === undefined ? { listening: true } : { listening: false, reason: this.lost };
  }

  private lose(reason: string): void {
    if (!this.stopped) this.lost ??= reason;
  }
}
