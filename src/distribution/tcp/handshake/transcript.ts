/**
 * The proofs of the handshake: each side's MAC is HMAC-SHA256 under the cookie over a transcript
 * of the exchange, with fresh nonces from both sides. Why each part is there: docs/protocol.md
 * ("Transcript and MACs").
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { describeValue } from '../../../core/index.js';
import { HANDSHAKE_NONCE_BYTES } from './handshake.constants.js';
import { internalError } from './handshake-failures.js';
import { HandshakeMessages as M } from './handshake.messages.js';

/** First item of every transcript: the protocol family, so a MAC cannot serve another protocol. */
const PROTOCOL_TAG = 'gen-cluster/1';

/** The facts both MACs bind. */
export interface HandshakeTranscript {
  /** The version the acceptor chose. */
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

/**
 * HMAC-SHA256(cookie, T(label)), where T is each item as `length: u32 BE | bytes`: the protocol
 * tag, the label, the version (u16 BE), then the transcript's facts in the order declared.
 * `initiator` labels the reply's MAC, `acceptor` the ack's.
 */
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

/**
 * A fresh nonce from `random` (a copy, so the source cannot change it afterwards).
 * @throws HandshakeError (`ERR_HANDSHAKE_REFUSED`, reason `internal`) unless `random` returns a
 * Buffer of {@link HANDSHAKE_NONCE_BYTES} bytes.
 */
export function freshNonce(random: (size: number) => Buffer): Buffer {
  const nonce = random(HANDSHAKE_NONCE_BYTES);
  if (!Buffer.isBuffer(nonce) || nonce.length !== HANDSHAKE_NONCE_BYTES) {
    const got = Buffer.isBuffer(nonce) ? `${nonce.length} bytes` : describeValue(nonce);
    throw internalError(M.nonceInvalid(HANDSHAKE_NONCE_BYTES, got));
  }
  return Buffer.from(nonce);
}
