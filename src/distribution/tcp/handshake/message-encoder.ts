/**
 * Encodes handshake messages: a kind byte, then `id: u8 | length: u16 BE | value` fields (see
 * docs/protocol.md). Optional fields without a value are left out.
 */
import { encodeFrame, FrameType } from '../frame-codec.js';
import { HANDSHAKE_MAX_PAYLOAD_BYTES, MAX_U16 } from './handshake.constants.js';
import { internalError } from './handshake-failures.js';
import { HandshakeMessages as M } from './handshake.messages.js';
import {
  type ChallengeMessage,
  FIELD as F,
  type HandshakeMessage,
  type HelloMessage,
  MESSAGE_KIND_CODE,
} from './message-schema.js';

/** Longest item of a string list: its length is one byte. */
const MAX_LIST_ITEM_BYTES = 0xff;

class MessageWriter {
  private readonly parts: Buffer[];

  constructor(private readonly kind: HandshakeMessage['kind']) {
    this.parts = [Buffer.of(MESSAGE_KIND_CODE[kind])];
  }

  bytes(id: number, value: Buffer): this {
    if (value.length > MAX_U16) throw internalError(M.fieldTooLong(id, value.length, MAX_U16));
    const header = Buffer.allocUnsafe(3);
    header[0] = id;
    header.writeUInt16BE(value.length, 1);
    this.parts.push(header, value);
    return this;
  }

  u16(id: number, value: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(value, 0);
    return this.bytes(id, b);
  }

  u32(id: number, value: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(value, 0);
    return this.bytes(id, b);
  }

  /** A u64 from a safe integer; the only numbers a JavaScript peer can read back exactly. */
  u64(id: number, value: number): this {
    if (!Number.isSafeInteger(value) || value < 0)
      throw internalError(M.fieldOutOfRange(id, value, Number.MAX_SAFE_INTEGER));
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt(value), 0);
    return this.bytes(id, b);
  }

  flag(id: number, value: boolean): this {
    return this.bytes(id, Buffer.of(value ? 1 : 0));
  }

  text(id: number, value: string): this {
    return this.bytes(id, Buffer.from(value, 'utf8'));
  }

  list(id: number, values: readonly string[]): this {
    const items = values.map(v => Buffer.from(v, 'utf8'));
    const out = Buffer.allocUnsafe(items.reduce((n, b) => n + 1 + b.length, 0));
    let offset = 0;
    for (const item of items) {
      if (item.length > MAX_LIST_ITEM_BYTES)
        throw internalError(M.listItemTooLong(id, item.length, MAX_LIST_ITEM_BYTES));
      out[offset++] = item.length;
      item.copy(out, offset);
      offset += item.length;
    }
    return this.bytes(id, out);
  }

  end(): Buffer {
    const payload = Buffer.concat(this.parts);
    if (payload.length > HANDSHAKE_MAX_PAYLOAD_BYTES) {
      throw internalError(
        M.ownMessageTooLarge(this.kind, payload.length, HANDSHAKE_MAX_PAYLOAD_BYTES),
      );
    }
    return payload;
  }
}

/** The fields of the sender's identity and timings, which a hello and a challenge share. */
function writeSender(w: MessageWriter, message: HelloMessage | ChallengeMessage): void {
  w.text(F.name, message.name).text(F.incarnation, message.incarnation);
  if (message.listenPort !== null) w.u16(F.listenPort, message.listenPort);
  w.flag(F.hidden, message.hidden);
  w.u32(F.heartbeatMs, message.heartbeatMs).u32(F.failureTimeoutMs, message.failureTimeoutMs);
}

/**
 * The capabilities field (left out when there are none), then the fields of the capabilities
 * that have one: the namespace, the start time.
 */
function writeCapabilities(w: MessageWriter, message: HelloMessage | ChallengeMessage): void {
  if (message.capabilities.length > 0) w.list(F.capabilities, message.capabilities);
  if (message.namespace !== undefined) w.text(F.namespace, message.namespace);
  if (message.startedAt !== undefined) w.u64(F.startedAt, message.startedAt);
}

/**
 * Encodes a handshake message into a frame payload (wrap it with
 * `encodeFrame(FrameType.Handshake, payload)`, or use {@link encodeHandshakeFrame}). Values are
 * assumed valid: the handshake classes validate their configuration up front.
 * @throws HandshakeError (`ERR_HANDSHAKE_REFUSED`, reason `internal`) when a value does not fit
 * its field or the message exceeds `HANDSHAKE_MAX_PAYLOAD_BYTES`.
 */
export function encodeHandshakeMessage(message: HandshakeMessage): Buffer {
  const w = new MessageWriter(message.kind);
  switch (message.kind) {
    case 'hello':
      w.u16(F.versionMin, message.versionMin).u16(F.versionMax, message.versionMax);
      writeSender(w, message);
      w.text(F.expectedName, message.expectedName);
      writeCapabilities(w, message);
      break;
    case 'challenge':
      w.u16(F.version, message.version);
      writeSender(w, message);
      writeCapabilities(w, message);
      w.bytes(F.nonce, message.nonce);
      break;
    case 'reply':
      w.bytes(F.nonce, message.nonce).bytes(F.mac, message.mac);
      break;
    case 'ack':
      w.bytes(F.mac, message.mac);
      break;
    case 'refused':
      w.text(F.reason, message.reason);
      if (message.versionMin !== undefined) w.u16(F.versionMin, message.versionMin);
      if (message.versionMax !== undefined) w.u16(F.versionMax, message.versionMax);
      if (message.heartbeatMs !== undefined) w.u32(F.heartbeatMs, message.heartbeatMs);
      if (message.failureTimeoutMs !== undefined)
        w.u32(F.failureTimeoutMs, message.failureTimeoutMs);
      if (message.name !== undefined) w.text(F.name, message.name);
      if (message.namespace !== undefined) w.text(F.namespace, message.namespace);
      break;
  }
  return w.end();
}

/**
 * A handshake message as a whole frame, ready to write.
 * @throws HandshakeError as {@link encodeHandshakeMessage}.
 */
export function encodeHandshakeFrame(message: HandshakeMessage): Buffer {
  return encodeFrame(FrameType.Handshake, encodeHandshakeMessage(message));
}
