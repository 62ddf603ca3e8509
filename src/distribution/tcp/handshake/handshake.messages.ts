/**
 * Texts of the handshake that `tcp.messages.ts` does not hold: why a received message is malformed
 * (each completes `TcpMessages.malformed`), why this side could not build or finish its own part,
 * a namespace mismatch either way, and the forms its option checks accept. None of them may hold
 * the cookie or a digest; names and namespaces quoted here were validated before.
 */
import type { FieldName } from './message-schema.js';

/** User-facing texts of the handshake (see the file header). */
export const HandshakeMessages = {
  // How malformed-message texts name each field.
  fieldNames: {
    versionMin: 'minimum version',
    versionMax: 'maximum version',
    version: 'version',
    name: 'name',
    incarnation: 'incarnation',
    listenPort: 'listen port',
    hidden: 'hidden flag',
    heartbeatMs: 'heartbeatMs',
    failureTimeoutMs: 'failureTimeoutMs',
    expectedName: 'expected name',
    capabilities: 'capabilities',
    nonce: 'nonce',
    mac: 'mac',
    reason: 'reason',
    namespace: 'namespace',
    startedAt: 'startedAt',
  } satisfies Record<FieldName, string>,

  // Why a received message is malformed.
  messageTooLarge: (bytes: number, max: number) => `${bytes} bytes exceed the ${max}-byte limit`,
  emptyMessage: () => 'empty message',
  unknownKind: (code: number) => `unknown message kind ${code}`,
  truncatedFieldHeader: (kind: string) => `${kind} has a truncated field header`,
  truncatedField: (kind: string) => `${kind} has a truncated field`,
  repeatedField: (kind: string, id: number) => `${kind} repeats field ${id}`,
  missingField: (kind: string, field: string) => `${kind} lacks ${field}`,
  wrongFieldSize: (kind: string, field: string, bytes: number, expected: number) =>
    `${kind} ${field} has ${bytes} bytes, expected ${expected}`,
  zeroField: (kind: string, field: string) => `${kind} ${field} is 0`,
  flagInvalid: (kind: string, field: string) => `${kind} ${field} is not 0 or 1`,
  nameLength: (kind: string, field: string, max: number) =>
    `${kind} ${field} must have 1 to ${max} bytes`,
  nameInvalid: (kind: string, field: string) => `${kind} ${field} is not a valid node name`,
  incarnationInvalid: (kind: string, max: number) =>
    `${kind} incarnation must be 1 to ${max} printable ASCII characters`,
  reasonInvalid: (kind: string) => `${kind} reason is not a short token`,
  capabilitiesTruncated: (kind: string) => `${kind} capabilities are truncated`,
  capabilityInvalid: (kind: string, max: number) =>
    `${kind} capability is not 1 to ${max} printable ASCII characters`,
  tooManyCapabilities: (kind: string, max: number) =>
    `${kind} announces more than ${max} capabilities`,
  emptyVersionRange: (kind: string) => `${kind} has an empty version range`,
  namespaceInvalid: (kind: string, forms: string) => `${kind} namespace is not ${forms}`,
  startedAtInvalid: (kind: string) =>
    `${kind} startedAt is not a time: it must be 1 to ${Number.MAX_SAFE_INTEGER} ms since the epoch`,
  startedAtAhead: (kind: string, startedAt: number, aheadMs: number, maxMs: number) =>
    `${kind} startedAt ${startedAt} is ${aheadMs} ms ahead of this node's clock (at most ${maxMs} accepted)`,

  // A namespace mismatch: this side refused the peer, or the peer refused this side.
  namespaceMismatch: (node: string, ours: string, theirs: string) =>
    `Connection with ${node} refused: it is in cluster namespace "${theirs}", this node in "${ours}". Nodes of different namespaces never join, even with the same cookie; give every node of one cluster the same GEN_CLUSTER_NAMESPACE (or namespace option).`,
  namespaceMismatchByPeer: (node: string, ours: string, theirs: string | undefined) =>
    `Node ${node} refused the connection: it is in cluster namespace ${theirs === undefined ? '(not told)' : `"${theirs}"`}, this node in "${ours}". Nodes of different namespaces never join, even with the same cookie; give every node of one cluster the same GEN_CLUSTER_NAMESPACE (or namespace option).`,

  // This side could not build or finish its own part (a bug, or a callback's bad answer).
  fieldTooLong: (id: number, bytes: number, max: number) =>
    `Could not encode handshake field ${id}: its ${bytes} bytes exceed the ${max}-byte field limit.`,
  fieldOutOfRange: (id: number, value: number, max: number) =>
    `Could not encode handshake field ${id}: ${value} is not an integer from 0 to ${max}.`,
  listItemTooLong: (id: number, bytes: number, max: number) =>
    `Could not encode handshake field ${id}: a list item of ${bytes} bytes exceeds the ${max}-byte item limit.`,
  ownMessageTooLarge: (kind: string, bytes: number, max: number) =>
    `Could not send a handshake ${kind} of ${bytes} bytes: the limit is ${max} bytes.`,
  nonceInvalid: (size: number, got: string) =>
    `The handshake's randomBytes source returned ${got}; a ${size}-byte Buffer is needed.`,
  decisionInvalid: (got: string) => `decide returned ${got}, not an { ok } object.`,

  // What the option checks accept.
  incarnationForm: (max: number) => `a string of 1 to ${max} printable ASCII characters`,
  capabilitiesForm: (count: number, chars: number) =>
    `at most ${count} strings of 1 to ${chars} printable ASCII characters`,
  versionsForm: (max: number) => `{ min, max } with 1 <= min <= max <= ${max}`,
  reservedCapability: (capability: string, announcer: string) =>
    `capabilities without "${capability}": ${announcer} announces it`,
  startedAtForm: () => `ms since the epoch, an integer from 1 to ${Number.MAX_SAFE_INTEGER}`,

  // Pieces of other texts.
  versionRange: (min: number, max: number) =>
    min === max ? `version ${min}` : `versions ${min}-${max}`,
  unknownNode: () => 'an unknown node',
} as const;
