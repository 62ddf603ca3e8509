/**
 * The checks both sides make on the other's opening message (the initiator on the challenge, the
 * acceptor on the hello), and what they agree on when it passes. Nothing here is authenticated
 * yet: the MACs that follow bind these messages.
 */
import { DEFAULT_NAMESPACE } from '../../../core/index.js';
import { TcpMessages } from '../tcp.messages.js';
import { HandshakeMessages as M } from './handshake.messages.js';
import type { CheckedOptions } from './handshake-options.js';
import type { HandshakeIdentity, HandshakeResult } from './handshake.types.js';
import { type Refusal, refuse } from './refusal.js';

/** An opening message (a hello or a challenge) as the checks read it; its name is canonical. */
export interface Opening extends HandshakeIdentity {
  /** The versions the sender speaks: a hello's range, or the one version a challenge chose. */
  readonly versionMin: number;
  readonly versionMax: number;
  readonly capabilities: readonly string[];
  /** Absent when the sender does not announce the namespace capability: it is `default`. */
  readonly namespace?: string;
  /** Absent when the sender does not announce the `started` capability (an older release). */
  readonly startedAt?: number;
}

/** Which side checks, and the name the initiator dialled (its own option, or the hello's). */
export interface OpeningContext {
  readonly role: 'initiator' | 'acceptor';
  readonly dialled: string;
}

/** The verdict on an opening message: refuse, or go on with what both sides agreed. */
export type OpeningVerdict =
  | { readonly ok: true; readonly agreed: HandshakeResult }
  | { readonly ok: false; readonly refusal: Refusal };

/**
 * Checks, in this order: a common version, that the acceptor is the node dialled, that a node is
 * not talking to itself (same name and incarnation), that both are in the same namespace (a side
 * without the namespace capability is in `default`), and that both use the same timings. On
 * success, the version is the highest both speak and the capabilities those both announce; the
 * peer carries its start time when it announced one.
 */
export function checkOpening(
  checked: CheckedOptions,
  opening: Opening,
  { role, dialled }: OpeningContext,
): OpeningVerdict {
  const { self, versions } = checked;
  const peer = opening.name;
  const refused = (refusal: Refusal): OpeningVerdict => ({ ok: false, refusal });

  const version = Math.min(opening.versionMax, versions.max);
  if (version < Math.max(opening.versionMin, versions.min)) {
    return refused(
      refuse(
        'ERR_VERSION_MISMATCH',
        TcpMessages.versionMismatch(
          peer,
          M.versionRange(versions.min, versions.max),
          M.versionRange(opening.versionMin, opening.versionMax),
        ),
        'version',
        peer,
        { versionMin: versions.min, versionMax: versions.max },
      ),
    );
  }
  const acceptorName = role === 'initiator' ? peer : self.name;
  if (dialled !== acceptorName) {
    return refused(
      refuse(
        'ERR_NAME_MISMATCH',
        role === 'initiator'
          ? TcpMessages.nameMismatch(dialled, peer)
          : TcpMessages.nameMismatchAcceptor(self.name, dialled, peer),
        'name-mismatch',
        peer,
        { name: self.name },
      ),
    );
  }
  if (peer === self.name && opening.incarnation === self.incarnation) {
    return refused(
      refuse('ERR_HANDSHAKE_REFUSED', TcpMessages.selfConnection(self.name), 'self', self.name),
    );
  }
  const ourNamespace = checked.namespace ?? DEFAULT_NAMESPACE;
  const theirNamespace = opening.namespace ?? DEFAULT_NAMESPACE;
  if (theirNamespace !== ourNamespace) {
    return refused(
      refuse(
        'ERR_NAMESPACE_MISMATCH',
        M.namespaceMismatch(peer, ourNamespace, theirNamespace),
        'namespace',
        peer,
        { namespace: ourNamespace },
      ),
    );
  }
  if (
    opening.heartbeatMs !== self.heartbeatMs ||
    opening.failureTimeoutMs !== self.failureTimeoutMs
  ) {
    return refused(
      refuse(
        'ERR_TIMING_MISMATCH',
        TcpMessages.timingMismatch(peer, self, opening),
        'timing',
        peer,
        {
          heartbeatMs: self.heartbeatMs,
          failureTimeoutMs: self.failureTimeoutMs,
        },
      ),
    );
  }
  const theirs = new Set(opening.capabilities);
  return {
    ok: true,
    agreed: {
      peer: {
        name: peer,
        incarnation: opening.incarnation,
        listenPort: opening.listenPort,
        hidden: opening.hidden,
        ...(opening.startedAt === undefined ? {} : { startedAt: opening.startedAt }),
      },
      version,
      capabilities: checked.capabilities.filter(c => theirs.has(c)),
    },
  };
}
