/**
 * Shared by the handshake unit specs (src/distribution/tcp/handshake/*.spec.ts): both sides built
 * with test defaults, an in-memory run of one against the other, a hand-driven acceptor (as an
 * impostor or a newer node would be), and malformed messages.
 */
import { jest } from '@jest/globals';
import { FrameType, FRAME_HEADER_BYTES } from '../../src/distribution/tcp/frame-codec.js';
import {
  AcceptorHandshake,
  type AcceptorHandshakeOptions,
} from '../../src/distribution/tcp/handshake/acceptor.js';
import type {
  HandshakeIdentity,
  HandshakeResult,
  HandshakeStep,
} from '../../src/distribution/tcp/handshake/handshake.types.js';
import {
  InitiatorHandshake,
  type InitiatorHandshakeOptions,
} from '../../src/distribution/tcp/handshake/initiator.js';
import { decodeHandshakeMessage } from '../../src/distribution/tcp/handshake/message-decoder.js';
import { encodeHandshakeMessage } from '../../src/distribution/tcp/handshake/message-encoder.js';
import type {
  ChallengeMessage,
  HandshakeMessage,
  HelloMessage,
} from '../../src/distribution/tcp/handshake/message-schema.js';
import { handshakeDigest } from '../../src/distribution/tcp/handshake/transcript.js';
import { HandshakeError } from '../../src/distribution/tcp/tcp.errors.js';

/** The cookie both test sides use unless told otherwise. */
export const COOKIE = 'monster-cookie';

/** A test identity; names starting with `a` get the `a1...` incarnation, others `b2...`. */
export function identity(name: string, over: Partial<HandshakeIdentity> = {}): HandshakeIdentity {
  return {
    name,
    incarnation: name.startsWith('a') ? 'a1a1a1a1a1a1a1a1' : 'b2b2b2b2b2b2b2b2',
    listenPort: 4370,
    hidden: false,
    heartbeatMs: 1_000,
    failureTimeoutMs: 5_000,
    ...over,
  };
}

/** An initiator named `a@10.0.0.1` dialling `b@10.0.0.2`. */
export function initiator(over: Partial<InitiatorHandshakeOptions> = {}): InitiatorHandshake {
  return new InitiatorHandshake({
    self: identity('a@10.0.0.1'),
    cookie: COOKIE,
    expectedName: 'b@10.0.0.2',
    ...over,
  });
}

/** The type of an acceptor's `decide`. */
export type Decide = AcceptorHandshakeOptions['decide'];

/** An acceptor named `b@10.0.0.2` (port 4371) with a mock `decide` that accepts. */
export function acceptor(over: Partial<AcceptorHandshakeOptions> = {}) {
  const decide = jest.fn<Decide>(() => ({ ok: true }));
  const handshake = new AcceptorHandshake({
    self: identity('b@10.0.0.2', { listenPort: 4371 }),
    cookie: COOKIE,
    decide,
    ...over,
  });
  return { handshake, decide: (over.decide as jest.Mock<Decide> | undefined) ?? decide };
}

/** The payload of a single Handshake frame. */
export function payloadOf(frame: Buffer): Buffer {
  expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
  expect(frame[4]).toBe(FrameType.Handshake);
  return frame.subarray(FRAME_HEADER_BYTES);
}

/** The messages a step sends. */
export function sent(step: HandshakeStep): HandshakeMessage[] {
  return (step.send ?? []).map(f => decodeHandshakeMessage(payloadOf(f)));
}

/** The one message a step sends, which must be of `kind`. */
export function only<K extends HandshakeMessage['kind']>(
  step: HandshakeStep,
  kind: K,
): Extract<HandshakeMessage, { kind: K }> {
  const messages = sent(step);
  expect(messages.map(m => m.kind)).toEqual([kind]);
  return messages[0] as Extract<HandshakeMessage, { kind: K }>;
}

/** One side's outcome in {@link run}. */
export interface Side {
  done?: HandshakeResult;
  error?: HandshakeError;
}

/**
 * Runs an initiator against an acceptor in memory, as the connection would: write `send`, stop
 * feeding a side once it finished (its connection closes). Returns each side's outcome and every
 * message on the wire.
 */
export async function run(a: InitiatorHandshake, b: AcceptorHandshake) {
  const wire: { from: 'A' | 'B'; payload: Buffer; message: HandshakeMessage }[] = [];
  const sideA: Side = {};
  const sideB: Side = {};
  const toB: Buffer[] = [];
  const toA: Buffer[] = [];
  const settle = (side: Side, step: HandshakeStep, out: Buffer[]) => {
    out.push(...(step.send ?? []));
    if (step.done) side.done = step.done;
    if (step.error) side.error = step.error;
  };
  const finished = (side: Side) => side.done !== undefined || side.error !== undefined;
  settle(sideA, a.start(), toB);
  while (toB.length > 0 || toA.length > 0) {
    for (const frame of toB.splice(0)) {
      const payload = payloadOf(frame);
      wire.push({ from: 'A', payload, message: decodeHandshakeMessage(payload) });
      if (!finished(sideB)) settle(sideB, await b.receive(payload), toA);
    }
    for (const frame of toA.splice(0)) {
      const payload = payloadOf(frame);
      wire.push({ from: 'B', payload, message: decodeHandshakeMessage(payload) });
      if (!finished(sideA)) settle(sideA, a.receive(payload), toB);
    }
  }
  return { a: sideA, b: sideB, wire, kinds: wire.map(w => `${w.from}:${w.message.kind}`) };
}

/** Asserts that `side` failed with a HandshakeError of this code, reason and direction. */
export function expectFailure(
  side: Side,
  code: string,
  reason: string,
  byPeer: boolean,
): HandshakeError {
  expect(side.done).toBeUndefined();
  expect(side.error).toBeInstanceOf(HandshakeError);
  expect(side.error).toMatchObject({ code, reason, byPeer });
  return side.error!;
}

/** Fixed nonces, so a handshake can be reproduced byte for byte. */
export function fixedRandom(fill: number) {
  return (size: number) => Buffer.alloc(size, fill);
}

/** A valid hello from `a@10.0.0.1` to `b@10.0.0.2`, for hand-driven initiators. */
export function hello(over: Partial<HelloMessage> = {}): HelloMessage {
  return {
    kind: 'hello',
    versionMin: 1,
    versionMax: 1,
    name: 'a@10.0.0.1',
    incarnation: 'a1a1a1a1a1a1a1a1',
    listenPort: 4370,
    hidden: false,
    heartbeatMs: 1_000,
    failureTimeoutMs: 5_000,
    expectedName: 'b@10.0.0.2',
    capabilities: [],
    ...over,
  };
}

/** One encoded field: `id: u8 | length: u16 BE | value`. */
export function field(id: number, value: Buffer): Buffer {
  const header = Buffer.alloc(3);
  header[0] = id;
  header.writeUInt16BE(value.length, 1);
  return Buffer.concat([header, value]);
}

/** Appends fields with ids unknown to this version to an encoded message. */
export function withExtraFields(payload: Buffer): Buffer {
  return Buffer.concat([
    payload,
    field(200, Buffer.from('future field')),
    field(255, Buffer.alloc(0)),
    field(99, Buffer.alloc(300, 1)),
  ]);
}

/**
 * Plays the acceptor by hand (as an impostor or a newer node would), using the wire helpers: the
 * challenge to send (`extra` appends unknown fields), and `transcriptFor(nonceA)` to compute the
 * ack's MAC under any cookie. It never checks the initiator's MAC.
 */
export function handAcceptor(
  helloPayload: Buffer,
  over: Partial<ChallengeMessage> = {},
  extra = false,
) {
  const h = decodeHandshakeMessage(helloPayload) as HelloMessage;
  const challenge: ChallengeMessage = { kind: 'challenge', ...handAcceptorChallenge(), ...over };
  let payload = encodeHandshakeMessage(challenge);
  if (extra) payload = withExtraFields(payload);
  const transcriptFor = (nonceA: Buffer) => ({
    version: challenge.version,
    initiatorName: h.name,
    acceptorName: challenge.name,
    initiatorIncarnation: h.incarnation,
    acceptorIncarnation: challenge.incarnation,
    initiatorNonce: nonceA,
    acceptorNonce: challenge.nonce,
    helloDigest: handshakeDigest(helloPayload),
    challengeDigest: handshakeDigest(payload),
  });
  return { payload, transcriptFor };
}

/** The fields of the hand-driven acceptor's challenge. */
export function handAcceptorChallenge(): Omit<ChallengeMessage, 'kind'> {
  return {
    version: 1,
    name: 'b@10.0.0.2',
    incarnation: 'b2b2b2b2b2b2b2b2',
    listenPort: 4371,
    hidden: false,
    heartbeatMs: 1_000,
    failureTimeoutMs: 5_000,
    capabilities: [],
    nonce: Buffer.alloc(32, 0xbb),
  };
}

/** Malformed handshake payloads, each named for `it.each`; every side must refuse them all. */
export function malformedPayloads(): [string, Buffer][] {
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const helloBytes = encodeHandshakeMessage(hello());
  /** Replaces field `id` of the valid hello by `value` (or drops it when undefined). */
  const helloWith = (id: number, value?: Buffer) => {
    const parts = [helloBytes.subarray(0, 1)];
    let offset = 1;
    while (offset < helloBytes.length) {
      const fid = helloBytes[offset]!;
      const length = helloBytes.readUInt16BE(offset + 1);
      if (fid !== id) parts.push(helloBytes.subarray(offset, offset + 3 + length));
      offset += 3 + length;
    }
    if (value !== undefined) parts.push(field(id, value));
    return Buffer.concat(parts);
  };

  return [
    ['an empty payload', Buffer.alloc(0)],
    ['an unknown message kind', Buffer.from([0])],
    ['another unknown message kind', Buffer.from([9, 1, 0, 0])],
    ['a truncated field header', Buffer.concat([helloBytes, Buffer.from([1, 0])])],
    ['a truncated field', helloBytes.subarray(0, helloBytes.length - 1)],
    ['an oversize payload', Buffer.concat([helloBytes, field(200, Buffer.alloc(9_000))])],
    ['a repeated field', Buffer.concat([helloBytes, field(1, u16(1))])],
    ['a missing name', helloWith(4)],
    ['a missing expected name', helloWith(10)],
    ['a missing hidden flag', helloWith(7)],
    ['a wrong-size version', helloWith(1, Buffer.from([1]))],
    ['version 0', helloWith(1, u16(0))],
    ['an empty version range', helloWith(1, u16(5))],
    ['an invalid node name', helloWith(4, Buffer.from('no at sign'))],
    ['a node name over 255 bytes', helloWith(4, Buffer.from(`a@${'h'.repeat(300)}`))],
    ['non-ASCII in a node name', helloWith(4, Buffer.from('a\u00e9@host'))],
    ['an empty incarnation', helloWith(5, Buffer.alloc(0))],
    ['an incarnation over 32 characters', helloWith(5, Buffer.from('x'.repeat(33)))],
    ['a control character in the incarnation', helloWith(5, Buffer.from('ab\ncd'))],
    ['a hidden flag of 2', helloWith(7, Buffer.from([2]))],
    ['a zero heartbeat', helloWith(8, Buffer.alloc(4))],
    ['listen port 0', helloWith(6, u16(0))],
    ['truncated capabilities', helloWith(11, Buffer.from([5, 0x61]))],
    ['an empty capability', helloWith(11, Buffer.from([0]))],
    [
      'more than 32 capabilities',
      helloWith(
        11,
        Buffer.concat(Array.from({ length: 33 }, (_, i) => Buffer.from([1, 0x41 + (i % 26)]))),
      ),
    ],
  ];
}
