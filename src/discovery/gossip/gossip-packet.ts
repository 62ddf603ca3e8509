/**
 * The gossip announcement on the wire, and its authentication. Pure: no socket, no clock.
 *
 * ```
 * 0  magic "GCG1" (4) | 4 version u8 = 1 | 5 flags u8 (bit 0: leaving) | 6 port u16 BE
 * 8  incarnation u64 BE | 16 counter u64 BE
 * 24 nsLen u8 | namespace (1-64 bytes UTF-8) | nameLen u8 | node name (1-255 bytes UTF-8)
 * .. mac (16) = HMAC-SHA256(key, every byte before it), first 16 bytes
 * ```
 *
 * The MAC covers the whole packet, not only incarnation and counter, so a captured MAC cannot be
 * spliced onto another name, port or namespace.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidConfigError } from '../../core/index.js';
import { GossipMessages } from './gossip.messages.js';

/**
 * The HKDF label of the gossip key: `context.deriveKey(GOSSIP_KEY_LABEL)`, or the same derivation
 * of the `secret` option. Its own label, so a gossip MAC can never pass for another use of the key.
 */
export const GOSSIP_KEY_LABEL = 'gen-cluster gossip v1';

/** What one node announces. */
export interface GossipAnnouncement {
  /** Random per start of the sender (u64); a new one means a restart. */
  readonly incarnation: bigint;
  /** Per incarnation, +1 per announcement (u64), so a replayed packet is not news. */
  readonly counter: bigint;
  /** The sender's cluster namespace (1-64 bytes). */
  readonly namespace: string;
  /** The sender's node name, `name@host` (1-255 bytes). */
  readonly node: string;
  /** The sender's dist port (1-65535). */
  readonly port: number;
  /** Set in the last announcement of a node that stops: drop it at once. */
  readonly leaving: boolean;
}

/** The answer of {@link decodeAnnouncement}. */
export type DecodedAnnouncement =
  | { readonly ok: true; readonly announcement: GossipAnnouncement }
  | { readonly ok: false; readonly reason: 'malformed' | 'badMac' };

const MAGIC = 0x47434731; // "GCG1"
const VERSION = 1;
const FLAG_LEAVING = 0x01;
const HEADER = 24;
const MAC_LENGTH = 16;
const MAX_NAMESPACE = 64;
const MAX_NAME = 255;
const MAX_U64 = 2n ** 64n - 1n;
/** Header, one length byte and at least one byte for each string, MAC. */
const MIN_PACKET = HEADER + 1 + 1 + 1 + 1 + MAC_LENGTH;
/** The largest packet: {@link MAX_PACKET} bytes, so a receive buffer of it takes any valid one. */
export const MAX_PACKET = HEADER + 1 + MAX_NAMESPACE + 1 + MAX_NAME + MAC_LENGTH;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The packet announcing `a`, signed with `key`.
 * @throws InvalidConfigError when a field does not fit the layout (a namespace over 64 bytes, a
 * name over 255 bytes, a port outside 1-65535, a number outside u64).
 */
export function encodeAnnouncement(a: GossipAnnouncement, key: Buffer): Buffer {
  const namespace = Buffer.from(a.namespace, 'utf8');
  const node = Buffer.from(a.node, 'utf8');
  const refuse = (field: string, value: unknown, accepted: string) =>
    new InvalidConfigError(GossipMessages.unencodable(field, value, accepted), { option: field });
  if (namespace.length < 1 || namespace.length > MAX_NAMESPACE)
    throw refuse('namespace', a.namespace, `1 to ${MAX_NAMESPACE} bytes of UTF-8`);
  if (node.length < 1 || node.length > MAX_NAME)
    throw refuse('node', a.node, `1 to ${MAX_NAME} bytes of UTF-8`);
  if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65_535)
    throw refuse('port', a.port, 'a port from 1 to 65535');
  for (const [field, value] of [
    ['incarnation', a.incarnation],
    ['counter', a.counter],
  ] as const) {
    if (typeof value !== 'bigint' || value < 0n || value > MAX_U64)
      throw refuse(field, value, 'a bigint from 0 to 2^64-1');
  }
  const size = HEADER + 1 + namespace.length + 1 + node.length + MAC_LENGTH;
  const packet = Buffer.alloc(size);
  packet.writeUInt32BE(MAGIC, 0);
  packet.writeUInt8(VERSION, 4);
  packet.writeUInt8(a.leaving ? FLAG_LEAVING : 0, 5);
  packet.writeUInt16BE(a.port, 6);
  packet.writeBigUInt64BE(a.incarnation, 8);
  packet.writeBigUInt64BE(a.counter, 16);
  let at = HEADER;
  packet.writeUInt8(namespace.length, at++);
  at += namespace.copy(packet, at);
  packet.writeUInt8(node.length, at++);
  at += node.copy(packet, at);
  mac(key, packet.subarray(0, at)).copy(packet, at);
  return packet;
}

/**
 * Reads and authenticates one packet, cheapest checks first: the length bounds, magic, version
 * and flags, the two length bytes against the packet's size, then the MAC (constant time), and
 * only then the strings and the port. Nothing is allocated but the MAC before it passes. Never
 * throws.
 */
export function decodeAnnouncement(packet: Buffer, key: Buffer): DecodedAnnouncement {
  const length = packet.length;
  if (length < MIN_PACKET || length > MAX_PACKET) return MALFORMED;
  if (packet.readUInt32BE(0) !== MAGIC || packet[4] !== VERSION) return MALFORMED;
  const flags = packet[5]!;
  if ((flags & ~FLAG_LEAVING) !== 0) return MALFORMED;
  const namespaceLength = packet[HEADER]!;
  if (namespaceLength < 1 || namespaceLength > MAX_NAMESPACE) return MALFORMED;
  const nameAt = HEADER + 1 + namespaceLength;
  if (nameAt + 1 + 1 + MAC_LENGTH > length) return MALFORMED;
  const nameLength = packet[nameAt]!;
  const macAt = nameAt + 1 + nameLength;
  if (nameLength < 1 || macAt + MAC_LENGTH !== length) return MALFORMED;
  if (!timingSafeEqual(mac(key, packet.subarray(0, macAt)), packet.subarray(macAt))) return BAD_MAC;
  const port = packet.readUInt16BE(6);
  if (port === 0) return MALFORMED;
  let namespace: string;
  let node: string;
  try {
    namespace = utf8.decode(packet.subarray(HEADER + 1, nameAt));
    node = utf8.decode(packet.subarray(nameAt + 1, macAt));
  } catch {
    return MALFORMED;
  }
  return {
    ok: true,
    announcement: {
      incarnation: packet.readBigUInt64BE(8),
      counter: packet.readBigUInt64BE(16),
      namespace,
      node,
      port,
      leaving: (flags & FLAG_LEAVING) !== 0,
    },
  };
}

const MALFORMED = { ok: false, reason: 'malformed' } as const;
const BAD_MAC = { ok: false, reason: 'badMac' } as const;

function mac(key: Buffer, signed: Buffer): Buffer {
  return createHmac('sha256', key).update(signed).digest().subarray(0, MAC_LENGTH);
}
