/**
 * The handshake of the TCP dist: an authenticated, mutual challenge-response over a shared cookie,
 * modelled on Erlang distribution's handshake but with HMAC-SHA256 over a transcript, 32-byte
 * nonces and a direction label. The cookie never crosses the wire.
 *
 * ```
 * A (initiator, dialled)                               B (acceptor)
 *   hello     versions, name, incarnation, port, hidden, timings, expectedName, capabilities  ->
 *          <- challenge  version, name, incarnation, port, hidden, timings, capabilities, nonceB
 *   reply     nonceA, macA = HMAC(cookie, transcript("initiator"))                           ->
 *                      B checks macA, then asks the mesh (`decide`) whether to keep the link
 *          <- ack        macB = HMAC(cookie, transcript("acceptor"))     (or `refused` + reason)
 *   A checks macB: established.
 * ```
 *
 * Each message is the payload of one {@link FrameType.Handshake} frame. This file is pure: no
 * sockets, no timers. The connection enforces the deadlines
 * ({@link DEFAULT_HANDSHAKE_STEP_TIMEOUT_MS}, {@link DEFAULT_HANDSHAKE_TOTAL_TIMEOUT_MS}) and
 * should decode handshake frames with `maxFrameBytes` = {@link HANDSHAKE_MAX_FRAME_BYTES}.
 *
 * ## Wire encoding of a message
 * `kind: u8` (1 hello, 2 challenge, 3 reply, 4 ack, 5 refused), then fields, each
 * `id: u8 | length: u16 BE | value`. Integers are big-endian; strings are bytes (names and
 * tokens are ASCII); a string list is a sequence of `length: u8 | bytes`. Fields a kind does not
 * know (newer peers) are skipped; a known field twice, a missing required field, a wrong size, a
 * truncated field or a payload above {@link HANDSHAKE_MAX_PAYLOAD_BYTES} is malformed.
 *
 * ## Transcript
 * Each MAC is HMAC-SHA256(cookie, T(label)), where T is the concatenation of `length: u32 BE |
 * bytes` for: `"gen-cluster/1"`, the label (`"initiator"` for macA, `"acceptor"` for macB), the
 * chosen version (u16 BE), A's name, B's name, A's incarnation, B's incarnation, nonceA, nonceB,
 * SHA-256 of the hello payload and SHA-256 of the challenge payload. Fresh nonces defeat replay,
 * the label defeats reflection, and hashing both opening messages binds everything negotiated in
 * them (versions, timings, capabilities, flags, unknown fields) against tampering in transit.
 */
import {
  createHash,
  createHmac,
  randomBytes as cryptoRandomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { InvalidConfigError } from '../../core/errors.js';
import { CoreMessages } from '../../core/messages.js';
import { nodeKey } from '../../core/peer.js';
import { encodeFrame, FrameType } from './frame-codec.js';
import {
  HandshakeError,
  type HandshakeErrorCode,
  type HandshakeFailureReason,
} from './tcp.errors.js';
import { TcpMessages } from './tcp.messages.js';

/** Handshake protocol version spoken by this release. */
export const HANDSHAKE_PROTOCOL_VERSION = 1;
/** Deadline for each handshake step, enforced by the connection. */
export const DEFAULT_HANDSHAKE_STEP_TIMEOUT_MS = 5_000;
/** Deadline for the whole handshake, enforced by the connection. */
export const DEFAULT_HANDSHAKE_TOTAL_TIMEOUT_MS = 10_000;
/** Largest handshake message payload accepted (and sent). */
export const HANDSHAKE_MAX_PAYLOAD_BYTES = 8 * 1024;
/** `maxFrameBytes` for a frame decoder before authentication: a handshake message and its type. */
export const HANDSHAKE_MAX_FRAME_BYTES = HANDSHAKE_MAX_PAYLOAD_BYTES + 1;
/** Size of each nonce. */
export const HANDSHAKE_NONCE_BYTES = 32;
/** Size of each MAC (HMAC-SHA256). */
export const HANDSHAKE_MAC_BYTES = 32;
/** Longest node name, in bytes. */
export const MAX_NODE_NAME_BYTES = 255;
/** Longest incarnation, in characters (printable ASCII). */
export const MAX_INCARNATION_CHARS = 32;
/** Most capabilities one side may announce. */
export const MAX_CAPABILITIES = 32;
/** Longest capability, in characters (printable ASCII). */
export const MAX_CAPABILITY_CHARS = 64;

const PROTOCOL_TAG = 'gen-cluster/1';
const MAX_U32 = 0xffff_ffff;
const INCARNATION = /^[\x21-\x7e]{1,32}$/;
const CAPABILITY = /^[\x21-\x7e]{1,64}$/;
const REASON = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** This node as the handshake presents it. */
export interface HandshakeIdentity {
  /** `name@host`; sent in canonical form (see `nodeKey`). */
  readonly name: string;
  /** This start of the node: 1 to 32 printable ASCII characters, e.g. random 64-bit hex. */
  readonly incarnation: string;
  /** The dist port this node listens on, or `null` when it does not listen. */
  readonly listenPort: number | null;
  /** A tool connection that is not a cluster member. */
  readonly hidden: boolean;
  /** Heartbeat interval; all nodes must agree. */
  readonly heartbeatMs: number;
  /** Failure timeout; all nodes must agree. */
  readonly failureTimeoutMs: number;
}

/** The remote node as the handshake learnt it. */
export interface HandshakePeer {
  /** Canonical `name@host`. */
  readonly name: string;
  readonly incarnation: string;
  readonly listenPort: number | null;
  readonly hidden: boolean;
}

/** An established handshake. */
export interface HandshakeResult {
  /** The authenticated peer. */
  readonly peer: HandshakePeer;
  /** The protocol version chosen for the connection. */
  readonly version: number;
  /** Capabilities both sides announced (in this side's order); unknown ones are dropped. */
  readonly capabilities: string[];
}

/**
 * What to do after feeding the handshake: write `send` (whole frames) first, then close the
 * connection on `error`, or hand it over as established on `done`.
 */
export interface HandshakeStep {
  readonly send?: Buffer[];
  readonly done?: HandshakeResult;
  readonly error?: HandshakeError;
}

/** The mesh's verdict on an authenticated inbound connection. */
export type HandshakeDecision =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: 'duplicate-name' | 'simultaneous' | 'already-connected' | (string & {});
    };

/** Supported protocol versions (inclusive range). */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

interface CommonOptions {
  /** This node. */
  readonly self: HandshakeIdentity;
  /** The shared secret; never sent, logged or put in an error. */
  readonly cookie: string | Buffer;
  /** Capabilities to announce (at most 32, each 1-64 printable ASCII characters). */
  readonly capabilities?: readonly string[];
  /** Source of nonces; default `crypto.randomBytes`. */
  readonly randomBytes?: (size: number) => Buffer;
  /** Versions spoken; default `{ min: 1, max: 1 }` (for tests and rolling upgrades). */
  readonly versions?: VersionRange;
}

/** Options of an {@link InitiatorHandshake}. */
export interface InitiatorHandshakeOptions extends CommonOptions {
  /** The name of the node dialled; the handshake fails unless the acceptor has this name. */
  readonly expectedName: string;
}

/** Options of an {@link AcceptorHandshake}. */
export interface AcceptorHandshakeOptions extends CommonOptions {
  /**
   * Called once the initiator has proved the cookie, never before: may the link be kept? Sync or
   * async. Not called for a peer claiming this node's own name (refused as `duplicate-name`).
   */
  readonly decide: (peer: HandshakePeer) => HandshakeDecision | PromiseLike<HandshakeDecision>;
}

/** Where an initiator stands. */
export type InitiatorState = 'new' | 'awaiting-challenge' | 'awaiting-ack' | 'done' | 'failed';
/** Where an acceptor stands. */
export type AcceptorState = 'awaiting-hello' | 'awaiting-reply' | 'deciding' | 'done' | 'failed';

// ---------------------------------------------------------------------------------------------
// Messages

/** `hello`, initiator to acceptor. */
export interface HelloMessage {
  readonly kind: 'hello';
  readonly versionMin: number;
  readonly versionMax: number;
  readonly name: string;
  readonly incarnation: string;
  readonly listenPort: number | null;
  readonly hidden: boolean;
  readonly heartbeatMs: number;
  readonly failureTimeoutMs: number;
  /** The name the initiator dialled. */
  readonly expectedName: string;
  readonly capabilities: readonly string[];
}

/** `challenge`, acceptor to initiator. */
export interface ChallengeMessage {
  readonly kind: 'challenge';
  readonly version: number;
  readonly name: string;
  readonly incarnation: string;
  readonly listenPort: number | null;
  readonly hidden: boolean;
  readonly heartbeatMs: number;
  readonly failureTimeoutMs: number;
  readonly capabilities: readonly string[];
  readonly nonce: Buffer;
}

/** `reply`, initiator to acceptor. */
export interface ReplyMessage {
  readonly kind: 'reply';
  readonly nonce: Buffer;
  /** Any length on the wire; a wrong length simply fails verification. */
  readonly mac: Buffer;
}

/** `ack`, acceptor to initiator. */
export interface AckMessage {
  readonly kind: 'ack';
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
}

/** Any handshake message. */
export type HandshakeMessage =
  HelloMessage | ChallengeMessage | ReplyMessage | AckMessage | RefusedMessage;

const KIND = { hello: 1, challenge: 2, reply: 3, ack: 4, refused: 5 } as const;
const KIND_NAME = ['', 'hello', 'challenge', 'reply', 'ack', 'refused'] as const;

/** Field ids; shared by all kinds. */
const F = {
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
} as const;

const FIELDS_OF: Record<HandshakeMessage['kind'], ReadonlySet<number>> = {
  hello: new Set([
    F.versionMin,
    F.versionMax,
    F.name,
    F.incarnation,
    F.listenPort,
    F.hidden,
    F.heartbeatMs,
    F.failureTimeoutMs,
    F.expectedName,
    F.capabilities,
  ]),
  challenge: new Set([
    F.version,
    F.name,
    F.incarnation,
    F.listenPort,
    F.hidden,
    F.heartbeatMs,
    F.failureTimeoutMs,
    F.capabilities,
    F.nonce,
  ]),
  reply: new Set([F.nonce, F.mac]),
  ack: new Set([F.mac]),
  refused: new Set([
    F.reason,
    F.versionMin,
    F.versionMax,
    F.heartbeatMs,
    F.failureTimeoutMs,
    F.name,
  ]),
};

class MessageWriter {
  private readonly parts: Buffer[];

  constructor(kind: number) {
    this.parts = [Buffer.of(kind)];
  }

  bytes(id: number, value: Buffer): this {
    if (value.length > 0xffff) throw new RangeError(`handshake field ${id} is too long`);
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
      if (item.length > 0xff) throw new RangeError(`handshake list item is too long`);
      out[offset++] = item.length;
      item.copy(out, offset);
      offset += item.length;
    }
    return this.bytes(id, out);
  }

  end(): Buffer {
    const payload = Buffer.concat(this.parts);
    if (payload.length > HANDSHAKE_MAX_PAYLOAD_BYTES)
      throw new RangeError(`handshake message of ${payload.length} bytes is too large`);
    return payload;
  }
}

/**
 * Encodes a handshake message into a frame payload (wrap it with
 * `encodeFrame(FrameType.Handshake, payload)`). Values are assumed valid (the handshake classes
 * validate their configuration up front).
 * @throws RangeError when a value does not fit its field.
 */
export function encodeHandshakeMessage(message: HandshakeMessage): Buffer {
  const w = new MessageWriter(KIND[message.kind]);
  switch (message.kind) {
    case 'hello':
      w.u16(F.versionMin, message.versionMin).u16(F.versionMax, message.versionMax);
      w.text(F.name, message.name).text(F.incarnation, message.incarnation);
      if (message.listenPort !== null) w.u16(F.listenPort, message.listenPort);
      w.flag(F.hidden, message.hidden);
      w.u32(F.heartbeatMs, message.heartbeatMs).u32(F.failureTimeoutMs, message.failureTimeoutMs);
      w.text(F.expectedName, message.expectedName);
      if (message.capabilities.length > 0) w.list(F.capabilities, message.capabilities);
      break;
    case 'challenge':
      w.u16(F.version, message.version);
      w.text(F.name, message.name).text(F.incarnation, message.incarnation);
      if (message.listenPort !== null) w.u16(F.listenPort, message.listenPort);
      w.flag(F.hidden, message.hidden);
      w.u32(F.heartbeatMs, message.heartbeatMs).u32(F.failureTimeoutMs, message.failureTimeoutMs);
      if (message.capabilities.length > 0) w.list(F.capabilities, message.capabilities);
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
      break;
  }
  return w.end();
}

function malformed(why: string, cause?: unknown): HandshakeError {
  return new HandshakeError(
    'ERR_PROTOCOL',
    TcpMessages.malformed(why),
    { reason: 'protocol', byPeer: false },
    cause === undefined ? undefined : { cause },
  );
}

class FieldReader {
  constructor(
    private readonly fields: Map<number, Buffer>,
    private readonly kind: string,
  ) {}

  private raw(id: number, what: string, required: boolean): Buffer | undefined {
    const value = this.fields.get(id);
    if (value === undefined && required) throw malformed(`${this.kind} lacks ${what}`);
    return value;
  }

  private sized(id: number, what: string, required: boolean, size: number): Buffer | undefined {
    const value = this.raw(id, what, required);
    if (value !== undefined && value.length !== size)
      throw malformed(`${this.kind} ${what} has ${value.length} bytes, expected ${size}`);
    return value;
  }

  u16(id: number, what: string, required: true): number;
  u16(id: number, what: string, required: false): number | undefined;
  u16(id: number, what: string, required: boolean): number | undefined {
    return this.sized(id, what, required, 2)?.readUInt16BE(0);
  }

  u32(id: number, what: string, required: true): number;
  u32(id: number, what: string, required: false): number | undefined;
  u32(id: number, what: string, required: boolean): number | undefined {
    return this.sized(id, what, required, 4)?.readUInt32BE(0);
  }

  positive(id: number, what: string): number {
    const value = this.u32(id, what, true);
    if (value === 0) throw malformed(`${this.kind} ${what} is 0`);
    return value;
  }

  version(id: number, what: string): number {
    const value = this.u16(id, what, true);
    if (value === 0) throw malformed(`${this.kind} ${what} is 0`);
    return value;
  }

  port(): number | null {
    const value = this.u16(F.listenPort, 'listen port', false);
    if (value === 0) throw malformed(`${this.kind} listen port is 0`);
    return value ?? null;
  }

  flag(id: number, what: string): boolean {
    const value = this.sized(id, what, true, 1)![0];
    if (value !== 0 && value !== 1) throw malformed(`${this.kind} ${what} is not 0 or 1`);
    return value === 1;
  }

  name(id: number, what: string, required: true): string;
  name(id: number, what: string, required: false): string | undefined;
  name(id: number, what: string, required: boolean): string | undefined {
    const value = this.raw(id, what, required);
    if (value === undefined) return undefined;
    if (value.length === 0 || value.length > MAX_NODE_NAME_BYTES)
      throw malformed(`${this.kind} ${what} must have 1 to ${MAX_NODE_NAME_BYTES} bytes`);
    try {
      return nodeKey(value.toString('latin1'));
    } catch (error) {
      throw malformed(`${this.kind} ${what} is not a valid node name`, error);
    }
  }

  incarnation(): string {
    const text = this.raw(F.incarnation, 'incarnation', true)!.toString('latin1');
    if (!INCARNATION.test(text))
      throw malformed(`${this.kind} incarnation must be 1 to 32 printable ASCII characters`);
    return text;
  }

  nonce(): Buffer {
    return Buffer.from(this.sized(F.nonce, 'nonce', true, HANDSHAKE_NONCE_BYTES)!);
  }

  mac(): Buffer {
    return Buffer.from(this.raw(F.mac, 'mac', true)!);
  }

  reason(): string {
    const text = this.raw(F.reason, 'reason', true)!.toString('latin1');
    if (!REASON.test(text)) throw malformed(`${this.kind} reason is not a short token`);
    return text;
  }

  capabilities(): string[] {
    const value = this.raw(F.capabilities, 'capabilities', false);
    if (value === undefined) return [];
    const out: string[] = [];
    let offset = 0;
    while (offset < value.length) {
      const length = value[offset++]!;
      if (length === 0 || offset + length > value.length)
        throw malformed(`${this.kind} capabilities are truncated`);
      const text = value.toString('latin1', offset, offset + length);
      offset += length;
      if (!CAPABILITY.test(text))
        throw malformed(`${this.kind} capability is not 1 to 64 printable ASCII characters`);
      if (out.length === MAX_CAPABILITIES)
        throw malformed(`${this.kind} announces more than ${MAX_CAPABILITIES} capabilities`);
      out.push(text);
    }
    return out;
  }
}

/**
 * Decodes a handshake frame payload. Unknown fields are skipped; see the module documentation for
 * what is malformed.
 * @throws HandshakeError `ERR_PROTOCOL` (reason `protocol`) on malformed input, nothing else.
 */
export function decodeHandshakeMessage(payload: Buffer): HandshakeMessage {
  if (payload.length > HANDSHAKE_MAX_PAYLOAD_BYTES)
    throw malformed(`${payload.length} bytes exceed the ${HANDSHAKE_MAX_PAYLOAD_BYTES}-byte limit`);
  if (payload.length === 0) throw malformed('empty message');
  const kind = KIND_NAME[payload[0]!];
  if (kind === undefined || kind === '') throw malformed(`unknown message kind ${payload[0]}`);
  const wanted = FIELDS_OF[kind];
  const fields = new Map<number, Buffer>();
  let offset = 1;
  while (offset < payload.length) {
    if (payload.length - offset < 3) throw malformed(`${kind} has a truncated field header`);
    const id = payload[offset]!;
    const length = payload.readUInt16BE(offset + 1);
    offset += 3;
    if (payload.length - offset < length) throw malformed(`${kind} has a truncated field`);
    if (wanted.has(id)) {
      if (fields.has(id)) throw malformed(`${kind} repeats field ${id}`);
      fields.set(id, payload.subarray(offset, offset + length));
    }
    offset += length;
  }
  const r = new FieldReader(fields, kind);
  switch (kind) {
    case 'hello': {
      const versionMin = r.version(F.versionMin, 'minimum version');
      const versionMax = r.version(F.versionMax, 'maximum version');
      if (versionMin > versionMax) throw malformed('hello has an empty version range');
      return {
        kind,
        versionMin,
        versionMax,
        name: r.name(F.name, 'name', true),
        incarnation: r.incarnation(),
        listenPort: r.port(),
        hidden: r.flag(F.hidden, 'hidden flag'),
        heartbeatMs: r.positive(F.heartbeatMs, 'heartbeatMs'),
        failureTimeoutMs: r.positive(F.failureTimeoutMs, 'failureTimeoutMs'),
        expectedName: r.name(F.expectedName, 'expected name', true),
        capabilities: r.capabilities(),
      };
    }
    case 'challenge':
      return {
        kind,
        version: r.version(F.version, 'version'),
        name: r.name(F.name, 'name', true),
        incarnation: r.incarnation(),
        listenPort: r.port(),
        hidden: r.flag(F.hidden, 'hidden flag'),
        heartbeatMs: r.positive(F.heartbeatMs, 'heartbeatMs'),
        failureTimeoutMs: r.positive(F.failureTimeoutMs, 'failureTimeoutMs'),
        capabilities: r.capabilities(),
        nonce: r.nonce(),
      };
    case 'reply':
      return { kind, nonce: r.nonce(), mac: r.mac() };
    case 'ack':
      return { kind, mac: r.mac() };
    case 'refused': {
      const message: {
        -readonly [K in keyof RefusedMessage]: RefusedMessage[K];
      } = { kind, reason: r.reason() };
      const versionMin = r.u16(F.versionMin, 'minimum version', false);
      const versionMax = r.u16(F.versionMax, 'maximum version', false);
      const heartbeatMs = r.u32(F.heartbeatMs, 'heartbeatMs', false);
      const failureTimeoutMs = r.u32(F.failureTimeoutMs, 'failureTimeoutMs', false);
      const name = r.name(F.name, 'name', false);
      if (versionMin !== undefined) message.versionMin = versionMin;
      if (versionMax !== undefined) message.versionMax = versionMax;
      if (heartbeatMs !== undefined) message.heartbeatMs = heartbeatMs;
      if (failureTimeoutMs !== undefined) message.failureTimeoutMs = failureTimeoutMs;
      if (name !== undefined) message.name = name;
      return message;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Transcript and MAC

/** The facts both MACs bind. */
export interface HandshakeTranscript {
  readonly version: number;
  readonly initiatorName: string;
  readonly acceptorName: string;
  readonly initiatorIncarnation: string;
  readonly acceptorIncarnation: string;
  readonly initiatorNonce: Buffer;
  readonly acceptorNonce: Buffer;
  /** SHA-256 of the hello payload as sent. */
  readonly helloDigest: Buffer;
  /** SHA-256 of the challenge payload as sent. */
  readonly challengeDigest: Buffer;
}

/** SHA-256 of a message payload, as bound into the transcript. */
export function handshakeDigest(payload: Buffer): Buffer {
  return createHash('sha256').update(payload).digest();
}

/** HMAC-SHA256(cookie, transcript(label)); see the module documentation. */
export function handshakeMac(
  cookie: string | Buffer,
  label: 'initiator' | 'acceptor',
  t: HandshakeTranscript,
): Buffer {
  const version = Buffer.allocUnsafe(2);
  version.writeUInt16BE(t.version, 0);
  const hmac = createHmac('sha256', cookie);
  const field = (value: Buffer | string) => {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE(bytes.length, 0);
    hmac.update(length).update(bytes);
  };
  field(PROTOCOL_TAG);
  field(label);
  field(version);
  field(t.initiatorName);
  field(t.acceptorName);
  field(t.initiatorIncarnation);
  field(t.acceptorIncarnation);
  field(t.initiatorNonce);
  field(t.acceptorNonce);
  field(t.helloDigest);
  field(t.challengeDigest);
  return hmac.digest();
}

/**
 * Constant-time MAC comparison that never throws: a received MAC of the wrong length is compared
 * against a zero buffer of the right length (so exactly one `timingSafeEqual` runs either way)
 * and then fails.
 */
export function macEquals(received: Buffer, expected: Buffer): boolean {
  const sameLength = received.length === expected.length;
  const candidate = sameLength ? received : Buffer.alloc(expected.length);
  const equal = timingSafeEqual(candidate, expected);
  return equal && sameLength;
}

// ---------------------------------------------------------------------------------------------
// Shared machinery

interface Checked {
  readonly self: HandshakeIdentity;
  readonly cookie: Buffer;
  readonly capabilities: readonly string[];
  readonly versions: VersionRange;
  readonly random: (size: number) => Buffer;
}

function checkOptions(options: CommonOptions): Checked {
  const { self } = options;
  const name = nodeKey(self.name);
  if (Buffer.byteLength(name) > MAX_NODE_NAME_BYTES)
    throw new InvalidConfigError(TcpMessages.nameTooLong(name));
  if (typeof self.incarnation !== 'string' || !INCARNATION.test(self.incarnation)) {
    throw new InvalidConfigError(
      CoreMessages.invalidOption(
        'incarnation',
        self.incarnation,
        'a string of 1 to 32 printable ASCII characters',
      ),
    );
  }
  if (
    self.listenPort !== null &&
    !(Number.isInteger(self.listenPort) && self.listenPort >= 1 && self.listenPort <= 65535)
  ) {
    throw new InvalidConfigError(CoreMessages.invalidPort(self.listenPort));
  }
  if (typeof self.hidden !== 'boolean')
    throw new InvalidConfigError(CoreMessages.invalidOption('hidden', self.hidden, 'a boolean'));
  for (const option of ['heartbeatMs', 'failureTimeoutMs'] as const) {
    const value = self[option];
    if (!Number.isInteger(value) || value < 1 || value > MAX_U32) {
      throw new InvalidConfigError(
        CoreMessages.invalidOption(option, value, 'an integer from 1 to 4294967295'),
      );
    }
  }
  const cookie =
    typeof options.cookie === 'string'
      ? Buffer.from(options.cookie, 'utf8')
      : Buffer.isBuffer(options.cookie)
        ? Buffer.from(options.cookie)
        : Buffer.alloc(0);
  if (cookie.length === 0) throw new InvalidConfigError(TcpMessages.cookieInvalid());
  const capabilities = options.capabilities ?? [];
  if (
    capabilities.length > MAX_CAPABILITIES ||
    !capabilities.every(c => typeof c === 'string' && CAPABILITY.test(c))
  ) {
    throw new InvalidConfigError(
      CoreMessages.invalidOption(
        'capabilities',
        capabilities,
        `at most ${MAX_CAPABILITIES} strings of 1 to ${MAX_CAPABILITY_CHARS} printable ASCII characters`,
      ),
    );
  }
  const versions = options.versions ?? {
    min: HANDSHAKE_PROTOCOL_VERSION,
    max: HANDSHAKE_PROTOCOL_VERSION,
  };
  if (
    !Number.isInteger(versions.min) ||
    !Number.isInteger(versions.max) ||
    versions.min < 1 ||
    versions.max > 0xffff ||
    versions.min > versions.max
  ) {
    throw new InvalidConfigError(
      CoreMessages.invalidOption(
        'versions',
        versions,
        '{ min, max } with 1 <= min <= max <= 65535',
      ),
    );
  }
  return {
    self: { ...self, name },
    cookie,
    capabilities: [...new Set(capabilities)],
    versions: { min: versions.min, max: versions.max },
    random: options.randomBytes ?? cryptoRandomBytes,
  };
}

function frame(message: HandshakeMessage): Buffer {
  return encodeFrame(FrameType.Handshake, encodeHandshakeMessage(message));
}

function freshNonce(random: (size: number) => Buffer): Buffer {
  const nonce = random(HANDSHAKE_NONCE_BYTES);
  if (!Buffer.isBuffer(nonce) || nonce.length !== HANDSHAKE_NONCE_BYTES)
    throw new RangeError(`randomBytes did not return ${HANDSHAKE_NONCE_BYTES} bytes`);
  return Buffer.from(nonce);
}

function rangeText(min: number, max: number): string {
  return min === max ? `version ${min}` : `versions ${min}-${max}`;
}

function shared(ours: readonly string[], theirs: readonly string[]): string[] {
  const set = new Set(theirs);
  return ours.filter(c => set.has(c));
}

function asHandshakeError(error: unknown): HandshakeError {
  if (error instanceof HandshakeError) return error;
  return new HandshakeError(
    'ERR_HANDSHAKE_REFUSED',
    TcpMessages.internal(error),
    { reason: 'internal', byPeer: false },
    { cause: error },
  );
}

const REFUSAL_CODES: Record<string, HandshakeErrorCode> = {
  'bad-cookie': 'ERR_BAD_COOKIE',
  version: 'ERR_VERSION_MISMATCH',
  timing: 'ERR_TIMING_MISMATCH',
  'name-mismatch': 'ERR_NAME_MISMATCH',
  'duplicate-name': 'ERR_DUPLICATE_NODE_NAME',
  protocol: 'ERR_PROTOCOL',
};

/** The error for a `refused` message received from `node`. */
function refusedError(message: RefusedMessage, node: string, checked: Checked): HandshakeError {
  const { reason } = message;
  const code = REFUSAL_CODES[reason] ?? 'ERR_HANDSHAKE_REFUSED';
  const details = { reason, peer: node, byPeer: true };
  const { self, versions } = checked;
  let text: string;
  switch (code) {
    case 'ERR_BAD_COOKIE':
      text = TcpMessages.badCookieRefused(node);
      break;
    case 'ERR_VERSION_MISMATCH':
      text = TcpMessages.versionMismatch(
        node,
        rangeText(versions.min, versions.max),
        message.versionMin !== undefined && message.versionMax !== undefined
          ? rangeText(message.versionMin, message.versionMax)
          : undefined,
      );
      break;
    case 'ERR_TIMING_MISMATCH':
      text = TcpMessages.timingMismatch(
        node,
        self,
        message.heartbeatMs !== undefined && message.failureTimeoutMs !== undefined
          ? { heartbeatMs: message.heartbeatMs, failureTimeoutMs: message.failureTimeoutMs }
          : undefined,
      );
      break;
    case 'ERR_NAME_MISMATCH':
      text = TcpMessages.nameMismatch(node, message.name);
      break;
    case 'ERR_DUPLICATE_NODE_NAME':
      text = TcpMessages.duplicateName(self.name);
      break;
    default:
      text =
        reason === 'self'
          ? TcpMessages.selfConnection(self.name)
          : TcpMessages.refusedByPeer(node, reason);
  }
  return new HandshakeError(code, text, details);
}

/** A local refusal: the error, and the `refused` message telling the peer why. */
interface Refusal {
  readonly error: HandshakeError;
  readonly message: RefusedMessage;
}

function refuse(
  code: HandshakeErrorCode,
  text: string,
  reason: HandshakeFailureReason,
  peer: string,
  extra: Omit<RefusedMessage, 'kind' | 'reason'> = {},
): Refusal {
  return {
    error: new HandshakeError(code, text, { reason, peer, byPeer: false }),
    message: { kind: 'refused', reason, ...extra },
  };
}

/** Refuses a peer whose heartbeat or failure timeout differs from ours. */
function checkTimings(
  checked: Checked,
  peer: string,
  theirs: { heartbeatMs: number; failureTimeoutMs: number },
): Refusal | undefined {
  const { self } = checked;
  if (
    theirs.heartbeatMs === self.heartbeatMs &&
    theirs.failureTimeoutMs === self.failureTimeoutMs
  ) {
    return undefined;
  }
  return refuse(
    'ERR_TIMING_MISMATCH',
    TcpMessages.timingMismatch(peer, self, theirs),
    'timing',
    peer,
    { heartbeatMs: self.heartbeatMs, failureTimeoutMs: self.failureTimeoutMs },
  );
}

/** The step of a local refusal: tell the peer why (best effort), then fail. */
function refusalStep(refusal: Refusal): HandshakeStep {
  try {
    return { send: [frame(refusal.message)], error: refusal.error };
  } catch {
    return { error: refusal.error };
  }
}

function selfRefusal(checked: Checked): Refusal {
  return refuse(
    'ERR_HANDSHAKE_REFUSED',
    TcpMessages.selfConnection(checked.self.name),
    'self',
    checked.self.name,
  );
}

// ---------------------------------------------------------------------------------------------
// Initiator

/**
 * The dialling side of a handshake. Call {@link InitiatorHandshake.start} once, write what it
 * returns, then feed each received handshake frame payload to {@link InitiatorHandshake.receive}.
 * Never throws once constructed.
 */
export class InitiatorHandshake {
  private current: InitiatorState = 'new';
  private readonly checked: Checked;
  private readonly expectedName: string;
  private helloDigest: Buffer | undefined;
  private transcript: HandshakeTranscript | undefined;
  private result: HandshakeResult | undefined;

  /**
   * @throws InvalidNodeNameError when `self.name` or `expectedName` is malformed.
   * @throws InvalidConfigError when another option is out of range.
   */
  constructor(options: InitiatorHandshakeOptions) {
    this.checked = checkOptions(options);
    this.expectedName = nodeKey(options.expectedName);
    if (Buffer.byteLength(this.expectedName) > MAX_NODE_NAME_BYTES)
      throw new InvalidConfigError(TcpMessages.nameTooLong(this.expectedName));
  }

  /** Where the handshake stands. */
  get state(): InitiatorState {
    return this.current;
  }

  /** Builds the `hello` frame. */
  start(): HandshakeStep {
    if (this.current === 'done' || this.current === 'failed') return over(this.expectedName);
    if (this.current !== 'new') return this.fail(unexpectedError(TcpMessages.alreadyStarted()));
    try {
      const { self, versions, capabilities } = this.checked;
      const hello = encodeHandshakeMessage({
        kind: 'hello',
        versionMin: versions.min,
        versionMax: versions.max,
        name: self.name,
        incarnation: self.incarnation,
        listenPort: self.listenPort,
        hidden: self.hidden,
        heartbeatMs: self.heartbeatMs,
        failureTimeoutMs: self.failureTimeoutMs,
        expectedName: this.expectedName,
        capabilities,
      });
      this.helloDigest = handshakeDigest(hello);
      this.current = 'awaiting-challenge';
      return { send: [encodeFrame(FrameType.Handshake, hello)] };
    } catch (error) {
      return this.fail(asHandshakeError(error));
    }
  }

  /** Feeds the payload of a received handshake frame. Never throws. */
  receive(payload: Buffer): HandshakeStep {
    if (this.current === 'done' || this.current === 'failed') return over(this.expectedName);
    try {
      if (this.current === 'new') return this.fail(unexpectedError(TcpMessages.notStarted()));
      const message = decodeHandshakeMessage(payload);
      if (message.kind === 'refused')
        return this.fail(refusedError(message, this.expectedName, this.checked));
      if (this.current === 'awaiting-challenge' && message.kind === 'challenge')
        return this.onChallenge(message, payload);
      if (this.current === 'awaiting-ack' && message.kind === 'ack') return this.onAck(message);
      return this.refuseWith(
        refuse(
          'ERR_PROTOCOL',
          TcpMessages.unexpected(message.kind, this.current),
          'protocol',
          this.expectedName,
        ),
      );
    } catch (error) {
      const failure = asHandshakeError(error);
      return failure.reason === 'protocol'
        ? this.refuseWith({ error: failure, message: { kind: 'refused', reason: 'protocol' } })
        : this.fail(failure);
    }
  }

  private onChallenge(challenge: ChallengeMessage, payload: Buffer): HandshakeStep {
    const { self, versions } = this.checked;
    const peer = challenge.name;
    if (challenge.version < versions.min || challenge.version > versions.max) {
      return this.refuseWith(
        refuse(
          'ERR_VERSION_MISMATCH',
          TcpMessages.versionMismatch(
            peer,
            rangeText(versions.min, versions.max),
            rangeText(challenge.version, challenge.version),
          ),
          'version',
          peer,
          { versionMin: versions.min, versionMax: versions.max },
        ),
      );
    }
    if (peer !== this.expectedName) {
      return this.refuseWith(
        refuse(
          'ERR_NAME_MISMATCH',
          TcpMessages.nameMismatch(this.expectedName, peer),
          'name-mismatch',
          peer,
          { name: self.name },
        ),
      );
    }
    if (peer === self.name && challenge.incarnation === self.incarnation)
      return this.refuseWith(selfRefusal(this.checked));
    const timing = checkTimings(this.checked, peer, challenge);
    if (timing) return this.refuseWith(timing);

    const nonce = freshNonce(this.checked.random);
    this.transcript = {
      version: challenge.version,
      initiatorName: self.name,
      acceptorName: peer,
      initiatorIncarnation: self.incarnation,
      acceptorIncarnation: challenge.incarnation,
      initiatorNonce: nonce,
      acceptorNonce: challenge.nonce,
      helloDigest: this.helloDigest!,
      challengeDigest: handshakeDigest(payload),
    };
    this.result = {
      peer: {
        name: peer,
        incarnation: challenge.incarnation,
        listenPort: challenge.listenPort,
        hidden: challenge.hidden,
      },
      version: challenge.version,
      capabilities: shared(this.checked.capabilities, challenge.capabilities),
    };
    const mac = handshakeMac(this.checked.cookie, 'initiator', this.transcript);
    this.current = 'awaiting-ack';
    return { send: [frame({ kind: 'reply', nonce, mac })] };
  }

  private onAck(ack: AckMessage): HandshakeStep {
    const expected = handshakeMac(this.checked.cookie, 'acceptor', this.transcript!);
    const peer = this.result!.peer.name;
    if (!macEquals(ack.mac, expected)) {
      return this.fail(
        new HandshakeError('ERR_BAD_COOKIE', TcpMessages.badCookieFromAcceptor(peer), {
          reason: 'bad-cookie',
          peer,
          byPeer: false,
        }),
      );
    }
    this.current = 'done';
    this.transcript = undefined;
    return { done: this.result! };
  }

  private refuseWith(refusal: Refusal): HandshakeStep {
    this.current = 'failed';
    this.transcript = undefined;
    return refusalStep(refusal);
  }

  private fail(error: HandshakeError): HandshakeStep {
    this.current = 'failed';
    this.transcript = undefined;
    return { error };
  }
}

// ---------------------------------------------------------------------------------------------
// Acceptor

interface AcceptorPending {
  readonly peer: HandshakePeer;
  readonly version: number;
  readonly capabilities: string[];
  readonly nonce: Buffer;
  readonly helloDigest: Buffer;
  readonly challengeDigest: Buffer;
}

/**
 * The accepting side of a handshake: feed each received handshake frame payload to
 * {@link AcceptorHandshake.receive}. Before the initiator proves the cookie it holds only this
 * object (nothing keyed by the claimed name), and `decide` is asked only after that proof.
 * Never throws once constructed; the returned promise (when `decide` is async) never rejects.
 */
export class AcceptorHandshake {
  private current: AcceptorState = 'awaiting-hello';
  private readonly checked: Checked;
  private readonly decide: AcceptorHandshakeOptions['decide'];
  private pending: AcceptorPending | undefined;
  private failure: HandshakeError | undefined;

  /**
   * @throws InvalidNodeNameError when `self.name` is malformed.
   * @throws InvalidConfigError when another option is out of range.
   */
  constructor(options: AcceptorHandshakeOptions) {
    this.checked = checkOptions(options);
    this.decide = options.decide;
  }

  /** Where the handshake stands. */
  get state(): AcceptorState {
    return this.current;
  }

  /**
   * Feeds the payload of a received handshake frame. Returns a promise only when `decide` returned
   * one; if the handshake fails while `decide` runs, the promise resolves to that failure.
   */
  receive(payload: Buffer): HandshakeStep | Promise<HandshakeStep> {
    const claimed = this.pending?.peer.name ?? 'an unknown node';
    if (this.current === 'done' || this.current === 'failed') return over(claimed);
    try {
      const message = decodeHandshakeMessage(payload);
      if (message.kind === 'refused')
        return this.fail(refusedError(message, claimed, this.checked));
      if (this.current === 'awaiting-hello' && message.kind === 'hello')
        return this.onHello(message, payload);
      if (this.current === 'awaiting-reply' && message.kind === 'reply')
        return this.onReply(message);
      return this.refuseWith(
        refuse(
          'ERR_PROTOCOL',
          TcpMessages.unexpected(message.kind, this.current),
          'protocol',
          claimed,
        ),
      );
    } catch (error) {
      const failure = asHandshakeError(error);
      return failure.reason === 'protocol'
        ? this.refuseWith({ error: failure, message: { kind: 'refused', reason: 'protocol' } })
        : this.fail(failure);
    }
  }

  private onHello(hello: HelloMessage, payload: Buffer): HandshakeStep {
    const { self, versions, capabilities } = this.checked;
    const claimed = hello.name;
    const version = Math.min(hello.versionMax, versions.max);
    if (version < Math.max(hello.versionMin, versions.min)) {
      return this.refuseWith(
        refuse(
          'ERR_VERSION_MISMATCH',
          TcpMessages.versionMismatch(
            claimed,
            rangeText(versions.min, versions.max),
            rangeText(hello.versionMin, hello.versionMax),
          ),
          'version',
          claimed,
          { versionMin: versions.min, versionMax: versions.max },
        ),
      );
    }
    if (hello.expectedName !== self.name) {
      return this.refuseWith(
        refuse(
          'ERR_NAME_MISMATCH',
          TcpMessages.nameMismatchAcceptor(self.name, hello.expectedName, claimed),
          'name-mismatch',
          claimed,
          { name: self.name },
        ),
      );
    }
    if (claimed === self.name && hello.incarnation === self.incarnation)
      return this.refuseWith(selfRefusal(this.checked));
    const timing = checkTimings(this.checked, claimed, hello);
    if (timing) return this.refuseWith(timing);

    const nonce = freshNonce(this.checked.random);
    const challenge = encodeHandshakeMessage({
      kind: 'challenge',
      version,
      name: self.name,
      incarnation: self.incarnation,
      listenPort: self.listenPort,
      hidden: self.hidden,
      heartbeatMs: self.heartbeatMs,
      failureTimeoutMs: self.failureTimeoutMs,
      capabilities,
      nonce,
    });
    this.pending = {
      peer: {
        name: claimed,
        incarnation: hello.incarnation,
        listenPort: hello.listenPort,
        hidden: hello.hidden,
      },
      version,
      capabilities: shared(capabilities, hello.capabilities),
      nonce,
      helloDigest: handshakeDigest(payload),
      challengeDigest: handshakeDigest(challenge),
    };
    this.current = 'awaiting-reply';
    return { send: [encodeFrame(FrameType.Handshake, challenge)] };
  }

  private onReply(reply: ReplyMessage): HandshakeStep | Promise<HandshakeStep> {
    const { self, cookie } = this.checked;
    const pending = this.pending!;
    const peer = pending.peer.name;
    const transcript: HandshakeTranscript = {
      version: pending.version,
      initiatorName: peer,
      acceptorName: self.name,
      initiatorIncarnation: pending.peer.incarnation,
      acceptorIncarnation: self.incarnation,
      initiatorNonce: reply.nonce,
      acceptorNonce: pending.nonce,
      helloDigest: pending.helloDigest,
      challengeDigest: pending.challengeDigest,
    };
    if (!macEquals(reply.mac, handshakeMac(cookie, 'initiator', transcript))) {
      return this.refuseWith(
        refuse('ERR_BAD_COOKIE', TcpMessages.badCookieFromInitiator(peer), 'bad-cookie', peer),
      );
    }
    // Authenticated from here on.
    if (peer === self.name) return this.reject(peer, 'duplicate-name');
    this.current = 'deciding';
    let decision: HandshakeDecision | PromiseLike<HandshakeDecision>;
    try {
      decision = this.decide(pending.peer);
    } catch (error) {
      return this.decideFailed(peer, error);
    }
    if (isPromiseLike(decision)) {
      return Promise.resolve(decision).then(
        d => this.decided(d, transcript),
        (error: unknown) => this.decideFailed(peer, error),
      );
    }
    return this.decided(decision, transcript);
  }

  private decided(decision: HandshakeDecision, transcript: HandshakeTranscript): HandshakeStep {
    if (this.current !== 'deciding') return { error: this.failure! };
    const pending = this.pending!;
    const peer = pending.peer.name;
    try {
      if (typeof decision !== 'object' || decision === null || typeof decision.ok !== 'boolean')
        throw new TypeError('decide returned no { ok } object');
      if (!decision.ok) {
        const reason =
          typeof decision.reason === 'string' && REASON.test(decision.reason)
            ? decision.reason
            : 'refused';
        return this.reject(peer, reason);
      }
      const ack = frame({
        kind: 'ack',
        mac: handshakeMac(this.checked.cookie, 'acceptor', transcript),
      });
      this.current = 'done';
      this.pending = undefined;
      return {
        send: [ack],
        done: { peer: pending.peer, version: pending.version, capabilities: pending.capabilities },
      };
    } catch (error) {
      return this.decideFailed(peer, error);
    }
  }

  private decideFailed(peer: string, error: unknown): HandshakeStep {
    if (this.current !== 'deciding') return { error: this.failure! };
    return this.refuseWith({
      error: new HandshakeError(
        'ERR_HANDSHAKE_REFUSED',
        TcpMessages.decideFailed(peer, error),
        { reason: 'internal', peer, byPeer: false },
        { cause: error },
      ),
      message: { kind: 'refused', reason: 'internal' },
    });
  }

  /** Refuses an authenticated peer. */
  private reject(peer: string, reason: string): HandshakeStep {
    const duplicate = reason === 'duplicate-name';
    return this.refuseWith(
      refuse(
        duplicate ? 'ERR_DUPLICATE_NODE_NAME' : 'ERR_HANDSHAKE_REFUSED',
        duplicate ? TcpMessages.duplicateName(peer) : TcpMessages.refusedByUs(peer, reason),
        reason,
        peer,
      ),
    );
  }

  private refuseWith(refusal: Refusal): HandshakeStep {
    this.settleFailure(refusal.error);
    return refusalStep(refusal);
  }

  private fail(error: HandshakeError): HandshakeStep {
    this.settleFailure(error);
    return { error };
  }

  private settleFailure(error: HandshakeError): void {
    this.current = 'failed';
    this.failure = error;
    this.pending = undefined;
  }
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function unexpectedError(text: string): HandshakeError {
  return new HandshakeError('ERR_PROTOCOL', text, { reason: 'protocol', byPeer: false });
}

function over(peer: string): HandshakeStep {
  return {
    error: new HandshakeError('ERR_PROTOCOL', TcpMessages.over(), {
      reason: 'protocol',
      peer,
      byPeer: false,
    }),
  };
}

/**
 * The error a connection reports when a handshake deadline passes (the deadlines live in the
 * connection, not here). `stage` is the handshake's `state`.
 */
export function handshakeTimeoutError(peer: string, stage: string, ms: number): HandshakeError {
  return new HandshakeError('ERR_HANDSHAKE_TIMEOUT', TcpMessages.timeout(peer, stage, ms), {
    reason: 'timeout',
    peer,
    byPeer: false,
  });
}
