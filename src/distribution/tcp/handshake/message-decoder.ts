/**
 * Decodes handshake messages, refusing anything malformed with one error, so that nothing a peer
 * sends before it is authenticated can throw anything else. What is malformed is listed in
 * docs/protocol.md ("What makes a message malformed").
 */
import { isClusterNamespace, NAMESPACE_FORMS, nodeKey } from '../../../core/index.js';
import {
  CAPABILITY_PATTERN,
  HANDSHAKE_MAX_PAYLOAD_BYTES,
  HANDSHAKE_NONCE_BYTES,
  INCARNATION_PATTERN,
  MAX_CAPABILITIES,
  MAX_CAPABILITY_CHARS,
  MAX_INCARNATION_CHARS,
  MAX_NODE_NAME_BYTES,
  MAX_STARTED_AT_AHEAD_MS,
  REASON_PATTERN,
} from './handshake.constants.js';
import { malformed } from './handshake-failures.js';
import type { HandshakeIdentity } from './handshake.types.js';
import { HandshakeMessages as M } from './handshake.messages.js';
import {
  FIELD,
  type FieldName,
  FIELDS_OF_KIND,
  type HandshakeMessage,
  MESSAGE_KIND_BY_CODE,
  type MessageKind,
  NAMESPACE_CAPABILITY,
  type RefusedMessage,
  STARTED_CAPABILITY,
} from './message-schema.js';

/** Reads the fields of one message, each checked for its size and form. */
class FieldReader {
  constructor(
    private readonly fields: Map<number, Buffer>,
    private readonly kind: MessageKind,
    /** The receiver's clock (ms since the epoch), which bounds a start time. */
    private readonly now: number,
  ) {}

  private raw(field: FieldName, required: boolean): Buffer | undefined {
    const value = this.fields.get(FIELD[field]);
    if (value === undefined && required)
      throw malformed(M.missingField(this.kind, M.fieldNames[field]));
    return value;
  }

  private sized(field: FieldName, required: boolean, size: number): Buffer | undefined {
    const value = this.raw(field, required);
    if (value !== undefined && value.length !== size)
      throw malformed(M.wrongFieldSize(this.kind, M.fieldNames[field], value.length, size));
    return value;
  }

  private nonZero(field: FieldName, value: number): number {
    if (value === 0) throw malformed(M.zeroField(this.kind, M.fieldNames[field]));
    return value;
  }

  u16(field: FieldName, required: true): number;
  u16(field: FieldName, required: false): number | undefined;
  u16(field: FieldName, required: boolean): number | undefined {
    return this.sized(field, required, 2)?.readUInt16BE(0);
  }

  u32(field: FieldName, required: true): number;
  u32(field: FieldName, required: false): number | undefined;
  u32(field: FieldName, required: boolean): number | undefined {
    return this.sized(field, required, 4)?.readUInt32BE(0);
  }

  /** A required u32 other than 0 (the timings). */
  positive(field: FieldName): number {
    return this.nonZero(field, this.u32(field, true));
  }

  /** A required u16 other than 0 (a version). */
  version(field: FieldName): number {
    return this.nonZero(field, this.u16(field, true));
  }

  /** The listen port: absent means `null` (the sender does not listen), 0 is malformed. */
  port(): number | null {
    const value = this.u16('listenPort', false);
    return value === undefined ? null : this.nonZero('listenPort', value);
  }

  flag(field: FieldName): boolean {
    const value = this.sized(field, true, 1)![0];
    if (value !== 0 && value !== 1) throw malformed(M.flagInvalid(this.kind, M.fieldNames[field]));
    return value === 1;
  }

  /** A node name, returned in canonical form. */
  name(field: FieldName, required: true): string;
  name(field: FieldName, required: false): string | undefined;
  name(field: FieldName, required: boolean): string | undefined {
    const value = this.raw(field, required);
    if (value === undefined) return undefined;
    if (value.length === 0 || value.length > MAX_NODE_NAME_BYTES)
      throw malformed(M.nameLength(this.kind, M.fieldNames[field], MAX_NODE_NAME_BYTES));
    try {
      return nodeKey(value.toString('latin1'));
    } catch (error) {
      throw malformed(M.nameInvalid(this.kind, M.fieldNames[field]), error);
    }
  }

  incarnation(): string {
    const text = this.raw('incarnation', true)!.toString('latin1');
    if (!INCARNATION_PATTERN.test(text))
      throw malformed(M.incarnationInvalid(this.kind, MAX_INCARNATION_CHARS));
    return text;
  }

  nonce(): Buffer {
    return Buffer.from(this.sized('nonce', true, HANDSHAKE_NONCE_BYTES)!);
  }

  mac(): Buffer {
    return Buffer.from(this.raw('mac', true)!);
  }

  reason(): string {
    const text = this.raw('reason', true)!.toString('latin1');
    if (!REASON_PATTERN.test(text)) throw malformed(M.reasonInvalid(this.kind));
    return text;
  }

  /** A namespace (core's `NAMESPACE_FORMS`). */
  namespace(required: true): string;
  namespace(required: false): string | undefined;
  namespace(required: boolean): string | undefined {
    const value = this.raw('namespace', required);
    if (value === undefined) return undefined;
    const text = value.toString('latin1');
    if (!isClusterNamespace(text)) throw malformed(M.namespaceInvalid(this.kind, NAMESPACE_FORMS));
    return text;
  }

  /**
   * A required start time: a u64 of ms since the epoch, from 1 to `Number.MAX_SAFE_INTEGER` and
   * at most {@link MAX_STARTED_AT_AHEAD_MS} ahead of the receiver's clock.
   */
  startedAt(): number {
    const value = this.sized('startedAt', true, 8)!.readBigUInt64BE(0);
    if (value === 0n || value > BigInt(Number.MAX_SAFE_INTEGER))
      throw malformed(M.startedAtInvalid(this.kind));
    const startedAt = Number(value);
    const ahead = startedAt - this.now;
    if (ahead > MAX_STARTED_AT_AHEAD_MS)
      throw malformed(M.startedAtAhead(this.kind, startedAt, ahead, MAX_STARTED_AT_AHEAD_MS));
    return startedAt;
  }

  /** A list of `length: u8 | bytes` items; absent means none. */
  capabilities(): string[] {
    const value = this.raw('capabilities', false);
    if (value === undefined) return [];
    const out: string[] = [];
    let offset = 0;
    while (offset < value.length) {
      const length = value[offset++]!;
      if (length === 0 || offset + length > value.length)
        throw malformed(M.capabilitiesTruncated(this.kind));
      const text = value.toString('latin1', offset, offset + length);
      offset += length;
      if (!CAPABILITY_PATTERN.test(text))
        throw malformed(M.capabilityInvalid(this.kind, MAX_CAPABILITY_CHARS));
      if (out.length === MAX_CAPABILITIES)
        throw malformed(M.tooManyCapabilities(this.kind, MAX_CAPABILITIES));
      out.push(text);
    }
    return out;
  }
}

/**
 * Splits a payload into its kind and the fields that kind reads. Unknown fields are skipped (a
 * newer peer may send some); a repeated known field is malformed.
 */
function splitFields(payload: Buffer): [MessageKind, Map<number, Buffer>] {
  if (payload.length > HANDSHAKE_MAX_PAYLOAD_BYTES)
    throw malformed(M.messageTooLarge(payload.length, HANDSHAKE_MAX_PAYLOAD_BYTES));
  if (payload.length === 0) throw malformed(M.emptyMessage());
  const kind = MESSAGE_KIND_BY_CODE[payload[0]!];
  if (kind === undefined || kind === '') throw malformed(M.unknownKind(payload[0]!));
  const wanted = FIELDS_OF_KIND[kind];
  const fields = new Map<number, Buffer>();
  let offset = 1;
  while (offset < payload.length) {
    if (payload.length - offset < 3) throw malformed(M.truncatedFieldHeader(kind));
    const id = payload[offset]!;
    const length = payload.readUInt16BE(offset + 1);
    offset += 3;
    if (payload.length - offset < length) throw malformed(M.truncatedField(kind));
    if (wanted.has(id)) {
      if (fields.has(id)) throw malformed(M.repeatedField(kind, id));
      fields.set(id, payload.subarray(offset, offset + length));
    }
    offset += length;
  }
  return [kind, fields];
}

/**
 * Decodes a handshake frame payload. Unknown fields are skipped.
 * @param now the receiver's clock, ms since the epoch: a start time more than a day ahead of it
 * is malformed.
 * @throws HandshakeError `ERR_PROTOCOL` (reason `protocol`) on malformed input, nothing else.
 */
export function decodeHandshakeMessage(
  payload: Buffer,
  now: number = Date.now(),
): HandshakeMessage {
  const [kind, fields] = splitFields(payload);
  const r = new FieldReader(fields, kind, now);
  switch (kind) {
    case 'hello': {
      const versionMin = r.version('versionMin');
      const versionMax = r.version('versionMax');
      if (versionMin > versionMax) throw malformed(M.emptyVersionRange(kind));
      return {
        kind,
        versionMin,
        versionMax,
        ...readSender(r),
        expectedName: r.name('expectedName', true),
        ...readCapabilities(r),
      };
    }
    case 'challenge':
      return {
        kind,
        version: r.version('version'),
        ...readSender(r),
        ...readCapabilities(r),
        nonce: r.nonce(),
      };
    case 'reply':
      return { kind, nonce: r.nonce(), mac: r.mac() };
    case 'ack':
      return { kind, mac: r.mac() };
    case 'refused':
      return decodeRefused(r);
  }
}

/** The sender's identity and timings, which a hello and a challenge share (read in this order). */
function readSender(r: FieldReader): HandshakeIdentity {
  return {
    name: r.name('name', true),
    incarnation: r.incarnation(),
    listenPort: r.port(),
    hidden: r.flag('hidden'),
    heartbeatMs: r.positive('heartbeatMs'),
    failureTimeoutMs: r.positive('failureTimeoutMs'),
  };
}

/**
 * The capabilities, and the fields of those that have one: a capability's field is read when the
 * sender announces the capability (and is then required), and skipped otherwise.
 */
function readCapabilities(r: FieldReader): {
  capabilities: string[];
  namespace?: string;
  startedAt?: number;
} {
  const capabilities = r.capabilities();
  return {
    capabilities,
    ...(capabilities.includes(NAMESPACE_CAPABILITY) ? { namespace: r.namespace(true) } : {}),
    ...(capabilities.includes(STARTED_CAPABILITY) ? { startedAt: r.startedAt() } : {}),
  };
}

/** A refusal: the reason, and whichever optional facts came with it. */
function decodeRefused(r: FieldReader): RefusedMessage {
  const message: { -readonly [K in keyof RefusedMessage]: RefusedMessage[K] } = {
    kind: 'refused',
    reason: r.reason(),
  };
  const versionMin = r.u16('versionMin', false);
  const versionMax = r.u16('versionMax', false);
  const heartbeatMs = r.u32('heartbeatMs', false);
  const failureTimeoutMs = r.u32('failureTimeoutMs', false);
  const name = r.name('name', false);
  const namespace = r.namespace(false);
  if (versionMin !== undefined) message.versionMin = versionMin;
  if (versionMax !== undefined) message.versionMax = versionMax;
  if (heartbeatMs !== undefined) message.heartbeatMs = heartbeatMs;
  if (failureTimeoutMs !== undefined) message.failureTimeoutMs = failureTimeoutMs;
  if (name !== undefined) message.name = name;
  if (namespace !== undefined) message.namespace = namespace;
  return message;
}
