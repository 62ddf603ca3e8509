/**
 * The NATS subjects of one cluster namespace, and the incarnation that names a node's inbox.
 */
import { createHash, randomBytes } from 'node:crypto';
import { InvalidConfigError } from '../../core/index.js';
import { ProtocolMessages } from './protocol.messages.js';
import { checkIncarnation } from './wire.js';

/** The subjects one cluster namespace uses under a prefix. */
export interface NatsSubjects {
  /** The dist's presence broadcast: `<prefix>.<ns>.p`. */
  readonly presence: string;
  /** One node start's inbox (messages and direct presence replies): `<prefix>.<ns>.n.<inc>`. */
  inbox(incarnation: string): string;
  /** NatsDiscovery's broadcast (for the TCP mesh): `<prefix>.<ns>.dp`. */
  readonly discoveryPresence: string;
  /** One discovery start's inbox (its `reply`s): `<prefix>.<ns>.dn.<inc>`. */
  discoveryInbox(incarnation: string): string;
}

/**
 * A subject prefix: dot-separated tokens of letters, digits, `_` and `-`, at most 64 characters.
 * Narrower than NATS allows (any non-space but `.`, `*`, `>`), so a prefix never needs quoting
 * in an ACL file and never holds a wildcard.
 */
const PREFIX_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const MAX_PREFIX = 64;

/**
 * A namespace that is already one valid, readable token (no `.`, as a namespace may hold). A
 * leading `_` is kept for the hashed form, so a readable token never equals a hash of another.
 */
const READABLE_NAMESPACE = /^[A-Za-z0-9-][A-Za-z0-9_-]{0,63}$/;

/**
 * The subjects of `namespace` under `prefix`. The namespace is used as it is when it is one
 * subject token (`prod-eu`); otherwise (`acme.prod`: a dot would split it into two tokens) it is
 * `_` and the first 16 bytes of its SHA-256 in hex, so distinct namespaces never share a subject.
 * @throws InvalidConfigError naming `subjectPrefix` when the prefix is not dot-separated tokens of
 *   letters, digits, `_` and `-` (1 to 64 characters).
 */
export function natsSubjects(prefix: string, namespace: string): NatsSubjects {
  if (typeof prefix !== 'string' || prefix.length > MAX_PREFIX || !PREFIX_PATTERN.test(prefix))
    throw new InvalidConfigError(ProtocolMessages.badSubjectPrefix(prefix), {
      option: 'subjectPrefix',
    });
  const base = `${prefix}.${namespaceToken(namespace)}`;
  return Object.freeze({
    presence: `${base}.p`,
    discoveryPresence: `${base}.dp`,
    inbox(incarnation: string): string {
      // Checked: anything else could make a subject with a wildcard or a dot in it.
      checkIncarnation('incarnation', incarnation);
      return `${base}.n.${incarnation}`;
    },
    discoveryInbox(incarnation: string): string {
      checkIncarnation('incarnation', incarnation);
      return `${base}.dn.${incarnation}`;
    },
  });
}

/** The subject token of a namespace (see {@link natsSubjects}). */
export function namespaceToken(namespace: string): string {
  if (READABLE_NAMESPACE.test(namespace)) return namespace;
  return `_${createHash('sha256').update(namespace, 'utf8').digest('hex').slice(0, 32)}`;
}

/**
 * A new incarnation: 16 lowercase hex characters (8 random bytes), one per node start. It names
 * the start's inbox and ties its counters and frame sequence numbers to it.
 */
export function newIncarnation(): string {
  return randomBytes(8).toString('hex');
}
