/**
 * Validation of the options both handshake classes take, at construction, so that a handshake
 * never fails later on a value of its own (every value then fits its wire field).
 */
import { randomBytes } from 'node:crypto';
import {
  checkInteger,
  checkNamespace,
  checkOneOf,
  checkPort,
  InvalidConfigError,
  invalidOption,
  isIntegerIn,
  nodeKey,
} from '../../../core/index.js';
import { TcpMessages } from '../tcp.messages.js';
import {
  CAPABILITY_PATTERN,
  HANDSHAKE_PROTOCOL_VERSION,
  INCARNATION_PATTERN,
  MAX_CAPABILITIES,
  MAX_CAPABILITY_CHARS,
  MAX_INCARNATION_CHARS,
  MAX_NODE_NAME_BYTES,
  MAX_U16,
  MAX_U32,
} from './handshake.constants.js';
import { HandshakeMessages as M } from './handshake.messages.js';
import type { HandshakeCommonOptions, HandshakeIdentity, VersionRange } from './handshake.types.js';
import { NAMESPACE_CAPABILITY, STARTED_CAPABILITY } from './message-schema.js';

/** The options of a handshake once checked: the name canonical, the cookie as bytes. */
export interface CheckedOptions {
  readonly self: HandshakeIdentity;
  readonly cookie: Buffer;
  /**
   * Without duplicates; then `namespace` when a namespace is set, and `started` when
   * `self.startedAt` is.
   */
  readonly capabilities: readonly string[];
  /** `undefined`: none set; this side announces none and counts as `default`. */
  readonly namespace: string | undefined;
  readonly versions: VersionRange;
  readonly random: (size: number) => Buffer;
}

/**
 * A node name in canonical form, short enough for its field.
 * @throws InvalidNodeNameError when malformed; InvalidConfigError when over 255 bytes.
 */
export function checkNodeName(name: string): string {
  const canonical = nodeKey(name);
  if (Buffer.byteLength(canonical) > MAX_NODE_NAME_BYTES)
    throw new InvalidConfigError(TcpMessages.nameTooLong(canonical));
  return canonical;
}

/**
 * Checks the options both sides take.
 * @throws InvalidNodeNameError when `self.name` is malformed.
 * @throws InvalidConfigError when another option is out of range; never quoting the cookie.
 */
export function checkOptions(options: HandshakeCommonOptions): CheckedOptions {
  const { self } = options;
  const name = checkNodeName(self.name);
  if (typeof self.incarnation !== 'string' || !INCARNATION_PATTERN.test(self.incarnation))
    throw invalidOption('incarnation', self.incarnation, M.incarnationForm(MAX_INCARNATION_CHARS));
  if (self.listenPort !== null) checkPort('listenPort', self.listenPort);
  checkOneOf('hidden', self.hidden, [true, false]);
  checkInteger('heartbeatMs', self.heartbeatMs, 1, MAX_U32);
  checkInteger('failureTimeoutMs', self.failureTimeoutMs, 1, MAX_U32);
  if (self.startedAt !== undefined && !isIntegerIn(self.startedAt, 1, Number.MAX_SAFE_INTEGER))
    throw invalidOption('startedAt', self.startedAt, M.startedAtForm());
  const { namespace } = options;
  if (namespace !== undefined) checkNamespace('namespace', namespace);
  // The capabilities other options announce take places of their own.
  const implied = [
    ...(namespace === undefined ? [] : [NAMESPACE_CAPABILITY]),
    ...(self.startedAt === undefined ? [] : [STARTED_CAPABILITY]),
  ];
  const capabilities = checkCapabilities(
    options.capabilities ?? [],
    MAX_CAPABILITIES - implied.length,
  );
  return {
    self: { ...self, name },
    cookie: checkCookie(options.cookie),
    capabilities: [...capabilities, ...implied],
    namespace,
    versions: checkVersions(
      options.versions ?? { min: HANDSHAKE_PROTOCOL_VERSION, max: HANDSHAKE_PROTOCOL_VERSION },
    ),
    random: options.randomBytes ?? randomBytes,
  };
}

/** The cookie as a copy of its bytes; empty or of another type is refused. */
function checkCookie(cookie: unknown): Buffer {
  const bytes =
    typeof cookie === 'string'
      ? Buffer.from(cookie, 'utf8')
      : Buffer.isBuffer(cookie)
        ? Buffer.from(cookie)
        : Buffer.alloc(0);
  if (bytes.length === 0) throw new InvalidConfigError(TcpMessages.cookieInvalid());
  return bytes;
}

/** Capabilities other options announce, and which option that is. */
const RESERVED_CAPABILITIES: readonly (readonly [string, string])[] = [
  [NAMESPACE_CAPABILITY, 'the namespace option'],
  [STARTED_CAPABILITY, 'self.startedAt'],
];

/** The capabilities option: one that another option announces is refused. */
function checkCapabilities(capabilities: readonly string[], room: number): readonly string[] {
  for (const [reserved, announcer] of RESERVED_CAPABILITIES) {
    if (Array.isArray(capabilities) && capabilities.includes(reserved))
      throw invalidOption('capabilities', capabilities, M.reservedCapability(reserved, announcer));
  }
  if (
    capabilities.length > room ||
    !capabilities.every(c => typeof c === 'string' && CAPABILITY_PATTERN.test(c))
  ) {
    throw invalidOption(
      'capabilities',
      capabilities,
      M.capabilitiesForm(room, MAX_CAPABILITY_CHARS),
    );
  }
  return [...new Set(capabilities)];
}

function checkVersions(versions: VersionRange): VersionRange {
  if (
    !isIntegerIn(versions.min, 1, MAX_U16) ||
    !isIntegerIn(versions.max, 1, MAX_U16) ||
    versions.min > versions.max
  ) {
    throw invalidOption('versions', versions, M.versionsForm(MAX_U16));
  }
  return { min: versions.min, max: versions.max };
}
