/**
 * The presence announcement on the wire, and its authentication. Pure: no socket, no clock.
 *
 * ```
 * off  size  field
 * 0    4     magic "GCNP" (0x47434e50)
 * 4    1     version = 1
 * 5    1     kind: 0 alive, 1 hello, 2 reply, 3 leaving
 * 6    2     port u16 BE (0 for the dist)
 * 8    8     incarnation (the 16 hex characters as 8 bytes)
 * 16   8     counter u64 BE (a safe integer)
 * 24   8     startedAt u64 BE, ms since the epoch (a safe integer)
 * 32   8     to: the destination start's incarnation for a `reply` (the asker's) and a directed
 *            `hello`; 8 zero bytes for a broadcast (`alive`, `hello`, `leaving`)
 * 40   1     nameLen (1-255)
 * 41   n     node name, UTF-8
 * 41+n 2     extLen u16 BE (0 in version 1; at most 1024)
 * 43+n e     extensions: version 1 writes none and skips them (room for capabilities a later
 *            release announces without breaking this one)
 * ..   16    MAC = HMAC-SHA256(key, every byte before it), first 16 bytes
 * ```
 *
 * The MAC covers the whole packet, so a captured MAC cannot be spliced onto another name, port,
 * kind, start or destination: a `reply` recorded for one start of a node proves nothing to another
 * start (the dist makes a start a member only on a `reply` carrying its own current incarnation).
 */
import { isUtf8 } from 'node:buffer';
import { type KeyObject, timingSafeEqual } from 'node:crypto';
import { InvalidConfigError } from '../../core/index.js';
import { ProtocolMessages } from './protocol.messages.js';
import {
  INCARNATION_BYTES,
  MAC_BYTES,
  asBuffer,
  checkIncarnation,
  isSafeFrom,
  macOf,
  readSafeU64,
  writeSafeU64,
} from './wire.js';

/** What a presence announcement says. */
export type PresenceKind = 'alive' | 'hello' | 'reply' | 'leaving';

/** One node start's announcement. */
export interface PresenceAnnouncement {
  /**
   * `alive`: the periodic heartbeat; `hello`: the first of a start (receivers answer with a
   * `reply` to the sender's inbox, so a newcomer learns everyone in one round trip); `leaving`:
   * a graceful stop.
   */
  readonly kind: PresenceKind;
  /** The sender's node name (1-255 bytes of UTF-8). */
  readonly node: string;
  /** The sender's start: 16 lowercase hex characters ({@link newIncarnation}). */
  readonly incarnation: string;
  /** Per incarnation, strictly increasing; a safe integer. */
  readonly counter: number;
  /** When the sender started, in ms since the epoch. */
  readonly startedAt: number;
  /** The TCP port for NatsDiscovery (1-65535); 0 for the dist. */
  readonly port: number;
  /**
   * The destination start (16 hex characters): for a `reply`, the incarnation of the start whose
   * `hello` it answers; for a `hello` sent to one start's inbox, that start. Unset (8 zero bytes
   * on the wire) for a broadcast.
   */
  readonly to?: string;
}

/** The answer of {@link decodePresence}. */
export type PresenceDecode =
  | { readonly ok: true; readonly announcement: PresenceAnnouncement }
  | { readonly ok: false; readonly reason: 'malformed' | 'badMac' | 'version' };

/** "GCNP": gen-cluster NATS presence. */
export const PRESENCE_MAGIC = 0x47434e50;
const VERSION = 1;
const KINDS: readonly PresenceKind[] = ['alive', 'hello', 'reply', 'leaving'];
const KIND_CODES: Readonly<Record<PresenceKind, number>> = {
  alive: 0,
  hello: 1,
  reply: 2,
  leaving: 3,
};
const TO_AT = 32;
const NAME_AT = 41;
const NO_DESTINATION = Buffer.alloc(INCARNATION_BYTES);
const MAX_NAME = 255;
const MAX_EXTENSIONS = 1_024;
/** Header, a one-byte name, the extension length, MAC. */
const MIN_PACKET = NAME_AT + 1 + 2 + MAC_BYTES;
/** Header, the longest name, the most extensions, MAC. */
export const MAX_PRESENCE_BYTES = NAME_AT + MAX_NAME + 2 + MAX_EXTENSIONS + MAC_BYTES;

/**
 * The packet announcing `a`, signed with `key`.
 * @throws InvalidConfigError when a field does not fit the layout (a name over 255 bytes, a port
 *   outside 0-65535, a counter or start time that is not a safe non-negative integer, an
 *   incarnation that is not 16 lowercase hex characters, an unknown kind).
 */
export function encodePresence(a: PresenceAnnouncement, key: Buffer | KeyObject): Buffer {
  const refuse = (field: string, value: unknown, accepted: string) =>
    new InvalidConfigError(ProtocolMessages.unencodable(field, value, accepted), { option: field });
  const kind = KIND_CODES[a.kind];
  if (typeof kind !== 'number') throw refuse('kind', a.kind, KINDS.join(', '));
  const nameLength = typeof a.node === 'string' ? Buffer.byteLength(a.node, 'utf8') : 0;
  if (nameLength < 1 || nameLength > MAX_NAME)
    throw refuse('node', a.node, `1 to ${MAX_NAME} bytes of UTF-8`);
  checkIncarnation('incarnation', a.incarnation);
  if (a.to !== undefined) checkIncarnation('to', a.to);
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65_535)
    throw refuse('port', a.port, 'a port from 0 to 65535');
  if (!isSafeFrom(a.counter, 0)) throw refuse('counter', a.counter, 'a safe integer from 0');
  if (!isSafeFrom(a.startedAt, 0)) throw refuse('startedAt', a.startedAt, 'a safe integer from 0');
  const macAt = NAME_AT + nameLength + 2;
  const packet = Buffer.allocUnsafe(macAt + MAC_BYTES);
  packet.writeUInt32BE(PRESENCE_MAGIC, 0);
  packet[4] = VERSION;
  packet[5] = kind;
  packet.writeUInt16BE(a.port, 6);
  packet.write(a.incarnation, 8, INCARNATION_BYTES, 'hex');
  writeSafeU64(packet, a.counter, 16);
  writeSafeU64(packet, a.startedAt, 24);
  if (a.to === undefined) NO_DESTINATION.copy(packet, TO_AT);
  else packet.write(a.to, TO_AT, INCARNATION_BYTES, 'hex');
  packet[NAME_AT - 1] = nameLength;
  packet.write(a.node, NAME_AT, nameLength, 'utf8');
  packet.writeUInt16BE(0, macAt - 2);
  macOf(key, packet.subarray(0, macAt)).copy(packet, macAt);
  return packet;
}

/**
 * Reads and authenticates one packet, cheapest checks first: the magic, the version (a later
 * version is `version`, not `malformed`, so it can be counted apart during a rolling upgrade), the
 * lengths against the packet's size, then the MAC (constant time), and only then the kind, the
 * numbers and the name. Nothing but the MAC is allocated before it passes. Never throws.
 */
export function decodePresence(bytes: Uint8Array, key: Buffer | KeyObject): PresenceDecode {
  const length = bytes.length;
  if (length < 5) return MALFORMED;
  const packet = asBuffer(bytes);
  if (packet.readUInt32BE(0) !== PRESENCE_MAGIC) return MALFORMED;
  if (packet[4] !== VERSION) return VERSION_REFUSED;
  if (length < MIN_PACKET || length > MAX_PRESENCE_BYTES) return MALFORMED;
  const nameLength = packet[NAME_AT - 1]!;
  const extensionsAt = NAME_AT + nameLength + 2;
  if (nameLength < 1 || extensionsAt + MAC_BYTES > length) return MALFORMED;
  const extensions = packet.readUInt16BE(extensionsAt - 2);
  const macAt = extensionsAt + extensions;
  if (extensions > MAX_EXTENSIONS || macAt + MAC_BYTES !== length) return MALFORMED;
  if (!timingSafeEqual(macOf(key, packet.subarray(0, macAt)), packet.subarray(macAt)))
    return BAD_MAC;
  const kind = KINDS[packet[5]!];
  const counter = readSafeU64(packet, 16);
  const startedAt = readSafeU64(packet, 24);
  if (kind === undefined || counter < 0 || startedAt < 0) return MALFORMED;
  const name = packet.subarray(NAME_AT, NAME_AT + nameLength);
  if (!isUtf8(name)) return MALFORMED;
  const announcement: PresenceAnnouncement = {
    kind,
    node: name.toString('utf8'),
    incarnation: packet.toString('hex', 8, 16),
    counter,
    startedAt,
    port: packet.readUInt16BE(6),
  };
  if (packet.compare(NO_DESTINATION, 0, INCARNATION_BYTES, TO_AT, NAME_AT - 1) === 0)
    return { ok: true, announcement };
  return {
    ok: true,
    announcement: { ...announcement, to: packet.toString('hex', TO_AT, NAME_AT - 1) },
  };
}

/**
 * Whether `bytes` starts like a presence packet (its magic), not a frame: an inbox receives both
 * (messages, and `reply`s answering this node's `hello`). Says nothing of its validity.
 */
export function isPresencePayload(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 &&
    bytes[0] === 0x47 &&
    bytes[1] === 0x43 &&
    bytes[2] === 0x4e &&
    bytes[3] === 0x50
  );
}

const MALFORMED = { ok: false, reason: 'malformed' } as const;
const BAD_MAC = { ok: false, reason: 'badMac' } as const;
const VERSION_REFUSED = { ok: false, reason: 'version' } as const;
