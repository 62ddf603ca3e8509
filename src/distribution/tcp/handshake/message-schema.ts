/**
 * The handshake messages, their wire codes and their fields, as the encoder and the decoder both
 * see them. The byte layout is described in docs/protocol.md ("Messages", "Fields").
 */
import type { HandshakeFailureReason } from '../tcp.errors.js';
import type { HandshakeIdentity } from './handshake.types.js';

/**
 * The capability of the cluster namespace. A hello or challenge that announces it carries the
 * `namespace` field; one that does not comes from a node that predates namespaces, whose
 * namespace is `default`.
 */
export const NAMESPACE_CAPABILITY = 'namespace';

/**
 * The capability of the start time. A hello or challenge that announces it carries the
 * `startedAt` field (u64, ms since the epoch); one that does not comes from a node of an older
 * release, which never leads.
 */
export const STARTED_CAPABILITY = 'started';

/**
 * `hello`, initiator to acceptor: the initiator's identity and timings (its name canonical), the
 * versions it speaks and the name it dialled.
 */
export interface HelloMessage extends HandshakeIdentity {
  readonly kind: 'hello';
  /** Oldest version the initiator speaks. */
  readonly versionMin: number;
  /** Newest version the initiator speaks. */
  readonly versionMax: number;
  /** The name the initiator dialled. */
  readonly expectedName: string;
  readonly capabilities: readonly string[];
  /** The initiator's namespace; present exactly when it announces {@link NAMESPACE_CAPABILITY}. */
  readonly namespace?: string;
  /** The initiator's start time; present exactly when it announces {@link STARTED_CAPABILITY}. */
  readonly startedAt?: number;
}

/**
 * `challenge`, acceptor to initiator: the acceptor's identity and timings (its name canonical),
 * the version it chose and its nonce.
 */
export interface ChallengeMessage extends HandshakeIdentity {
  readonly kind: 'challenge';
  /** The version the acceptor chose. */
  readonly version: number;
  readonly capabilities: readonly string[];
  /** The acceptor's namespace; present exactly when it announces {@link NAMESPACE_CAPABILITY}. */
  readonly namespace?: string;
  /** The acceptor's start time; present exactly when it announces {@link STARTED_CAPABILITY}. */
  readonly startedAt?: number;
  /** The acceptor's fresh nonce. */
  readonly nonce: Buffer;
}

/** `reply`, initiator to acceptor. */
export interface ReplyMessage {
  readonly kind: 'reply';
  /** The initiator's fresh nonce. */
  readonly nonce: Buffer;
  /** Any length on the wire; a wrong length simply fails verification. */
  readonly mac: Buffer;
}

/** `ack`, acceptor to initiator. */
export interface AckMessage {
  readonly kind: 'ack';
  /** The acceptor's proof; any length on the wire, like the reply's. */
  readonly mac: Buffer;
}

/** `refused`, either way: the sender gives up, with a reason and optional facts for the log. */
export interface RefusedMessage {
  readonly kind: 'refused';
  readonly reason: HandshakeFailureReason;
  /** With `version`: the versions the refusing side speaks. */
  readonly versionMin?: number;
  readonly versionMax?: number;
  /** With `timing`: the refusing side's values. */
  readonly heartbeatMs?: number;
  readonly failureTimeoutMs?: number;
  /** With `name-mismatch`: the refusing side's actual name. */
  readonly name?: string;
  /** With `namespace`: the refusing side's namespace. */
  readonly namespace?: string;
}

/** Any handshake message. */
export type HandshakeMessage =
  HelloMessage | ChallengeMessage | ReplyMessage | AckMessage | RefusedMessage;

/** The name of a message kind. */
export type MessageKind = HandshakeMessage['kind'];

/** The wire code of each kind: the first byte of a message. */
export const MESSAGE_KIND_CODE = { hello: 1, challenge: 2, reply: 3, ack: 4, refused: 5 } as const;

/** The kind of each wire code (code 0 is no kind). */
export const MESSAGE_KIND_BY_CODE = ['', 'hello', 'challenge', 'reply', 'ack', 'refused'] as const;

/** Field ids, one numbering shared by all kinds. */
export const FIELD = {
  versionMin: 1,
  versionMax: 2,
  version: 3,
  name: 4,
  incarnation: 5,
  listenPort: 6,
  hidden: 7,
  heartbeatMs: 8,
  failureTimeoutMs: 9,
  expectedName: 10,
  capabilities: 11,
  nonce: 12,
  mac: 13,
  reason: 14,
  namespace: 15,
  startedAt: 16,
} as const;

/** The name of a field. */
export type FieldName = keyof typeof FIELD;

/** The fields of the sender's identity and timings, which a hello and a challenge share. */
const SENDER_FIELDS = [
  FIELD.name,
  FIELD.incarnation,
  FIELD.listenPort,
  FIELD.hidden,
  FIELD.heartbeatMs,
  FIELD.failureTimeoutMs,
];

/** The fields each kind reads; a decoder skips every other field, so newer peers may add some. */
export const FIELDS_OF_KIND: Record<MessageKind, ReadonlySet<number>> = {
  hello: new Set([
    FIELD.versionMin,
    FIELD.versionMax,
    ...SENDER_FIELDS,
    FIELD.expectedName,
    FIELD.capabilities,
    FIELD.namespace,
    FIELD.startedAt,
  ]),
  challenge: new Set([
    FIELD.version,
    ...SENDER_FIELDS,
    FIELD.capabilities,
    FIELD.namespace,
    FIELD.startedAt,
    FIELD.nonce,
  ]),
  reply: new Set([FIELD.nonce, FIELD.mac]),
  ack: new Set([FIELD.mac]),
  refused: new Set([
    FIELD.reason,
    FIELD.versionMin,
    FIELD.versionMax,
    FIELD.heartbeatMs,
    FIELD.failureTimeoutMs,
    FIELD.name,
    FIELD.namespace,
  ]),
};
