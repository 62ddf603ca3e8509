import { jest } from '@jest/globals';
import { timingSafeEqual } from 'node:crypto';
import fc from 'fast-check';
import { InvalidConfigError, InvalidNodeNameError } from '../../core/errors.js';
import { FrameType, FRAME_HEADER_BYTES } from './frame-codec.js';
import {
  AcceptorHandshake,
  DEFAULT_HANDSHAKE_STEP_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TOTAL_TIMEOUT_MS,
  HANDSHAKE_MAX_FRAME_BYTES,
  HANDSHAKE_MAX_PAYLOAD_BYTES,
  InitiatorHandshake,
  decodeHandshakeMessage,
  encodeHandshakeMessage,
  handshakeDigest,
  handshakeMac,
  handshakeTimeoutError,
  macEquals,
  type AcceptorHandshakeOptions,
  type ChallengeMessage,
  type HandshakeDecision,
  type HandshakeIdentity,
  type HandshakeMessage,
  type HandshakePeer,
  type HandshakeResult,
  type HandshakeStep,
  type HelloMessage,
  type InitiatorHandshakeOptions,
} from './handshake.js';
import { HandshakeError } from './tcp.errors.js';

const COOKIE = 'monster-cookie';

function identity(name: string, over: Partial<HandshakeIdentity> = {}): HandshakeIdentity {
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

function initiator(over: Partial<InitiatorHandshakeOptions> = {}): InitiatorHandshake {
  return new InitiatorHandshake({
    self: identity('a@10.0.0.1'),
    cookie: COOKIE,
    expectedName: 'b@10.0.0.2',
    ...over,
  });
}

type Decide = AcceptorHandshakeOptions['decide'];

function acceptor(over: Partial<AcceptorHandshakeOptions> = {}) {
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
function payloadOf(frame: Buffer): Buffer {
  expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
  expect(frame[4]).toBe(FrameType.Handshake);
  return frame.subarray(FRAME_HEADER_BYTES);
}

function sent(step: HandshakeStep): HandshakeMessage[] {
  return (step.send ?? []).map(f => decodeHandshakeMessage(payloadOf(f)));
}

/** The one message a step sends, which must be of `kind`. */
function only<K extends HandshakeMessage['kind']>(
  step: HandshakeStep,
  kind: K,
): Extract<HandshakeMessage, { kind: K }> {
  const messages = sent(step);
  expect(messages.map(m => m.kind)).toEqual([kind]);
  return messages[0] as Extract<HandshakeMessage, { kind: K }>;
}

interface Side {
  done?: HandshakeResult;
  error?: HandshakeError;
}

/**
 * Runs an initiator against an acceptor in memory, as the connection would: write `send`, stop
 * feeding a side once it finished (its connection closes). Returns each side's outcome and every
 * message on the wire.
 */
async function run(a: InitiatorHandshake, b: AcceptorHandshake) {
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

function expectFailure(side: Side, code: string, reason: string, byPeer: boolean): HandshakeError {
  expect(side.done).toBeUndefined();
  expect(side.error).toBeInstanceOf(HandshakeError);
  expect(side.error).toMatchObject({ code, reason, byPeer });
  return side.error!;
}

/** Fixed nonces, so a handshake can be reproduced byte for byte. */
function fixedRandom(fill: number) {
  return (size: number) => Buffer.alloc(size, fill);
}

/** A valid hello from `a@10.0.0.1` to `b@10.0.0.2`, for hand-driven initiators. */
function hello(over: Partial<HelloMessage> = {}): HelloMessage {
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

/** Appends fields with ids unknown to this version to an encoded message. */
function withExtraFields(payload: Buffer): Buffer {
  const extra = (id: number, value: Buffer) => {
    const header = Buffer.alloc(3);
    header[0] = id;
    header.writeUInt16BE(value.length, 1);
    return Buffer.concat([header, value]);
  };
  return Buffer.concat([
    payload,
    extra(200, Buffer.from('future field')),
    extra(255, Buffer.alloc(0)),
    extra(99, Buffer.alloc(300, 1)),
  ]);
}

/**
 * Plays the acceptor by hand (as an impostor or a newer node would), using the exported wire
 * helpers. `cookie` is what it uses for its own MAC; it never checks the initiator's.
 */
function handAcceptor(helloPayload: Buffer, over: Partial<ChallengeMessage> = {}, extra = false) {
  const h = decodeHandshakeMessage(helloPayload) as HelloMessage;
  const challenge: ChallengeMessage = {
    kind: 'challenge',
    version: 1,
    name: 'b@10.0.0.2',
    incarnation: 'b2b2b2b2b2b2b2b2',
    listenPort: 4371,
    hidden: false,
    heartbeatMs: 1_000,
    failureTimeoutMs: 5_000,
    capabilities: [],
    nonce: Buffer.alloc(32, 0xbb),
    ...over,
  };
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

describe('handshake', () => {
  it('exports the deadlines the connection enforces and the pre-auth frame limit', () => {
    expect(DEFAULT_HANDSHAKE_STEP_TIMEOUT_MS).toBe(5_000);
    expect(DEFAULT_HANDSHAKE_TOTAL_TIMEOUT_MS).toBe(10_000);
    expect(HANDSHAKE_MAX_FRAME_BYTES).toBe(HANDSHAKE_MAX_PAYLOAD_BYTES + 1);
    const error = handshakeTimeoutError('b@10.0.0.2', 'awaiting-challenge', 5_000);
    expect(error).toMatchObject({ code: 'ERR_HANDSHAKE_TIMEOUT', reason: 'timeout' });
    expect(error.message).toContain('awaiting-challenge');
  });

  describe('success', () => {
    it('establishes both sides with each other’s identity, the version and shared capabilities', async () => {
      const a = initiator({ capabilities: ['fragments', 'compression', 'a-only'] });
      const { handshake: b, decide } = acceptor({
        capabilities: ['b-only', 'compression', 'fragments'],
      });
      const { a: sideA, b: sideB, kinds, wire } = await run(a, b);
      expect(kinds).toEqual(['A:hello', 'B:challenge', 'A:reply', 'B:ack']);
      expect(sideA.error).toBeUndefined();
      expect(sideB.error).toBeUndefined();
      expect(sideA.done).toEqual({
        peer: {
          name: 'b@10.0.0.2',
          incarnation: 'b2b2b2b2b2b2b2b2',
          listenPort: 4371,
          hidden: false,
        },
        version: 1,
        capabilities: ['fragments', 'compression'],
      });
      expect(sideB.done).toEqual({
        peer: {
          name: 'a@10.0.0.1',
          incarnation: 'a1a1a1a1a1a1a1a1',
          listenPort: 4370,
          hidden: false,
        },
        version: 1,
        capabilities: ['compression', 'fragments'],
      });
      expect(decide).toHaveBeenCalledTimes(1);
      expect(decide).toHaveBeenCalledWith(sideB.done!.peer);
      expect(a.state).toBe('done');
      expect(b.state).toBe('done');
      // The cookie never crosses the wire.
      const all = Buffer.concat(wire.map(w => w.payload));
      expect(all.includes(Buffer.from(COOKIE))).toBe(false);
      // Fresh 32-byte nonces and 32-byte MACs.
      const challenge = wire[1]!.message as ChallengeMessage;
      const reply = wire[2]!.message as { nonce: Buffer; mac: Buffer };
      expect(challenge.nonce).toHaveLength(32);
      expect(reply.nonce).toHaveLength(32);
      expect(reply.mac).toHaveLength(32);
      expect(reply.nonce.equals(challenge.nonce)).toBe(false);
    });

    it('works the other way round, for a hidden node without a listen port, with a Buffer cookie', async () => {
      const a = new InitiatorHandshake({
        self: identity('b@10.0.0.2', { hidden: true, listenPort: null }),
        cookie: Buffer.from(COOKIE),
        expectedName: 'a@10.0.0.1',
      });
      const b = new AcceptorHandshake({
        self: identity('a@10.0.0.1', { listenPort: null }),
        cookie: COOKIE,
        decide: () => ({ ok: true }),
      });
      const { a: sideA, b: sideB } = await run(a, b);
      expect(sideA.done?.peer).toEqual({
        name: 'a@10.0.0.1',
        incarnation: 'a1a1a1a1a1a1a1a1',
        listenPort: null,
        hidden: false,
      });
      expect(sideB.done?.peer).toEqual({
        name: 'b@10.0.0.2',
        incarnation: 'b2b2b2b2b2b2b2b2',
        listenPort: null,
        hidden: true,
      });
      expect(sideA.done?.capabilities).toEqual([]);
    });

    it('compares names in canonical form (host case, trailing dot, a port in the name)', async () => {
      const a = new InitiatorHandshake({
        self: identity('a@Host-A.Example.'),
        cookie: COOKIE,
        expectedName: 'b@HOST-B.example:4371',
      });
      const b = new AcceptorHandshake({
        self: identity('b@host-b.example'),
        cookie: COOKIE,
        decide: () => ({ ok: true }),
      });
      const { a: sideA, b: sideB } = await run(a, b);
      expect(sideA.done?.peer.name).toBe('b@host-b.example');
      expect(sideB.done?.peer.name).toBe('a@host-a.example');
    });

    it('negotiates the highest common version', async () => {
      const a = initiator({ versions: { min: 1, max: 3 } });
      const { handshake: b } = acceptor({ versions: { min: 1, max: 2 } });
      const { a: sideA, b: sideB, wire } = await run(a, b);
      expect(sideA.done?.version).toBe(2);
      expect(sideB.done?.version).toBe(2);
      expect((wire[1]!.message as ChallengeMessage).version).toBe(2);
    });

    it('uses a fresh nonce per handshake', async () => {
      const first = await run(initiator(), acceptor().handshake);
      const second = await run(initiator(), acceptor().handshake);
      const nonces = [first, second].flatMap(r => [
        (r.wire[1]!.message as ChallengeMessage).nonce.toString('hex'),
        (r.wire[2]!.message as { nonce: Buffer }).nonce.toString('hex'),
      ]);
      expect(new Set(nonces).size).toBe(4);
    });
  });

  describe('wrong cookie', () => {
    it('initiator with a wrong cookie: the acceptor refuses (bad-cookie) without asking the mesh', async () => {
      const a = initiator({ cookie: 'not-the-cookie' });
      const { handshake: b, decide } = acceptor();
      const { a: sideA, b: sideB, kinds } = await run(a, b);
      expect(kinds).toEqual(['A:hello', 'B:challenge', 'A:reply', 'B:refused']);
      const onB = expectFailure(sideB, 'ERR_BAD_COOKIE', 'bad-cookie', false);
      expect(onB.peer).toBe('a@10.0.0.1');
      expectFailure(sideA, 'ERR_BAD_COOKIE', 'bad-cookie', true);
      expect(decide).not.toHaveBeenCalled();
      for (const error of [sideA.error!, sideB.error!]) {
        expect(error.message).not.toContain('not-the-cookie');
        expect(error.message).not.toContain(COOKIE);
      }
    });

    it('acceptor with a wrong cookie: it cannot verify the initiator, so it refuses first', async () => {
      const { handshake: b, decide } = acceptor({ cookie: 'other' });
      const { a: sideA, b: sideB } = await run(initiator(), b);
      expectFailure(sideB, 'ERR_BAD_COOKIE', 'bad-cookie', false);
      expectFailure(sideA, 'ERR_BAD_COOKIE', 'bad-cookie', true);
      expect(decide).not.toHaveBeenCalled();
    });

    it('acceptor that skips the check and acks with a wrong cookie: the initiator detects the bad macB', () => {
      const a = initiator();
      const helloPayload = payloadOf(a.start().send![0]!);
      const impostor = handAcceptor(helloPayload);
      const replyStep = a.receive(impostor.payload);
      const reply = only(replyStep, 'reply');
      const mac = handshakeMac('wrong-cookie', 'acceptor', impostor.transcriptFor(reply.nonce));
      const step = a.receive(encodeHandshakeMessage({ kind: 'ack', mac }));
      expect(step.done).toBeUndefined();
      expect(step.send).toBeUndefined();
      expectFailure(step, 'ERR_BAD_COOKIE', 'bad-cookie', false);
      expect(a.state).toBe('failed');
    });

    it('the same hand-driven acceptor with the right cookie succeeds (the harness is sound)', () => {
      const a = initiator();
      const helloPayload = payloadOf(a.start().send![0]!);
      const impostor = handAcceptor(helloPayload);
      const reply = only(a.receive(impostor.payload), 'reply');
      const transcript = impostor.transcriptFor(reply.nonce);
      expect(macEquals(reply.mac, handshakeMac(COOKIE, 'initiator', transcript))).toBe(true);
      const step = a.receive(
        encodeHandshakeMessage({ kind: 'ack', mac: handshakeMac(COOKIE, 'acceptor', transcript) }),
      );
      expect(step.done?.peer.name).toBe('b@10.0.0.2');
    });

    it.each([0, 1, 31, 33, 64, 1000])(
      'treats an ack MAC of %p bytes as a bad cookie, never an exception',
      length => {
        const a = initiator();
        const impostor = handAcceptor(payloadOf(a.start().send![0]!));
        a.receive(impostor.payload);
        const step = a.receive(
          encodeHandshakeMessage({ kind: 'ack', mac: Buffer.alloc(length, 7) }),
        );
        expectFailure(step, 'ERR_BAD_COOKIE', 'bad-cookie', false);
      },
    );

    it.each([0, 16, 31, 33, 200])(
      'treats a reply MAC of %p bytes as a bad cookie at the acceptor',
      length => {
        const { handshake: b, decide } = acceptor();
        b.receive(encodeHandshakeMessage(hello()));
        const step = b.receive(
          encodeHandshakeMessage({
            kind: 'reply',
            nonce: Buffer.alloc(32, 1),
            mac: Buffer.alloc(length),
          }),
        ) as HandshakeStep;
        expectFailure(step, 'ERR_BAD_COOKIE', 'bad-cookie', false);
        expect(sent(step)).toEqual([{ kind: 'refused', reason: 'bad-cookie' }]);
        expect(decide).not.toHaveBeenCalled();
      },
    );
  });

  describe('replay and reflection', () => {
    it('rejects a recorded reply replayed to a new acceptor (fresh nonceB)', async () => {
      const recorded = await run(initiator(), acceptor().handshake);
      expect(recorded.a.done).toBeDefined();
      const helloPayload = recorded.wire[0]!.payload;
      const replyPayload = recorded.wire[2]!.payload;
      const { handshake: b, decide } = acceptor();
      expect(sent(b.receive(helloPayload) as HandshakeStep)[0]!.kind).toBe('challenge');
      const step = (await b.receive(replyPayload)) as HandshakeStep;
      expectFailure(step, 'ERR_BAD_COOKIE', 'bad-cookie', false);
      expect(decide).not.toHaveBeenCalled();
    });

    it('rejects the acceptor’s own ack MAC reflected as a reply MAC (direction label)', async () => {
      // Same nonceB both times, so the transcripts are identical and only the label differs.
      const recorded = await run(
        initiator(),
        acceptor({ randomBytes: fixedRandom(0x42) }).handshake,
      );
      expect(recorded.b.done).toBeDefined();
      const helloPayload = recorded.wire[0]!.payload;
      const reply = recorded.wire[2]!.message as { nonce: Buffer; mac: Buffer };
      const ack = recorded.wire[3]!.message as { mac: Buffer };

      const { handshake: b, decide } = acceptor({ randomBytes: fixedRandom(0x42) });
      const challenge = b.receive(helloPayload) as HandshakeStep;
      expect(payloadOf(challenge.send![0]!)).toEqual(recorded.wire[1]!.payload);
      const step = (await b.receive(
        encodeHandshakeMessage({ kind: 'reply', nonce: reply.nonce, mac: ack.mac }),
      )) as HandshakeStep;
      expectFailure(step, 'ERR_BAD_COOKIE', 'bad-cookie', false);
      expect(decide).not.toHaveBeenCalled();
    });

    it('rejects the initiator’s own reply MAC reflected as an ack MAC', () => {
      const a = initiator();
      const impostor = handAcceptor(payloadOf(a.start().send![0]!));
      const reply = only(a.receive(impostor.payload), 'reply');
      const step = a.receive(encodeHandshakeMessage({ kind: 'ack', mac: reply.mac }));
      expectFailure(step, 'ERR_BAD_COOKIE', 'bad-cookie', false);
    });

    it('rejects a reply whose MAC was computed over a tampered hello (transcript binds it)', async () => {
      // A man in the middle adds fields to A's hello; B accepts the tampered hello...
      const a = initiator();
      const helloPayload = payloadOf(a.start().send![0]!);
      const { handshake: b } = acceptor();
      const tampered = withExtraFields(helloPayload);
      const challenge = b.receive(tampered) as HandshakeStep;
      // ...and A answers the challenge, but its MAC covers the hello it really sent.
      const replyStep = a.receive(payloadOf(challenge.send![0]!));
      const step = (await b.receive(payloadOf(replyStep.send![0]!))) as HandshakeStep;
      expectFailure(step, 'ERR_BAD_COOKIE', 'bad-cookie', false);
    });
  });

  describe('name checks', () => {
    it('refuses a hello that dialled another name (acceptor check)', async () => {
      const a = initiator({ expectedName: 'c@10.0.0.2' });
      const { handshake: b, decide } = acceptor();
      const { a: sideA, b: sideB, kinds } = await run(a, b);
      expect(kinds).toEqual(['A:hello', 'B:refused']);
      expectFailure(sideB, 'ERR_NAME_MISMATCH', 'name-mismatch', false);
      const onA = expectFailure(sideA, 'ERR_NAME_MISMATCH', 'name-mismatch', true);
      expect(onA.message).toContain('c@10.0.0.2');
      expect(onA.message).toContain('b@10.0.0.2');
      expect(decide).not.toHaveBeenCalled();
    });

    it('refuses a challenge from a node with another name (initiator check)', () => {
      const a = initiator();
      const impostor = handAcceptor(payloadOf(a.start().send![0]!), { name: 'c@10.0.0.2' });
      const step = a.receive(impostor.payload);
      const error = expectFailure(step, 'ERR_NAME_MISMATCH', 'name-mismatch', false);
      expect(error.message).toContain('c@10.0.0.2');
      expect(sent(step)).toEqual([
        { kind: 'refused', reason: 'name-mismatch', name: 'a@10.0.0.1' },
      ]);
    });

    it('refuses a node dialling itself (same name and incarnation)', async () => {
      const self = identity('a@10.0.0.1');
      const a = new InitiatorHandshake({ self, cookie: COOKIE, expectedName: 'a@10.0.0.1' });
      const decide = jest.fn<Decide>(() => ({ ok: true }));
      const b = new AcceptorHandshake({ self, cookie: COOKIE, decide });
      const { a: sideA, b: sideB } = await run(a, b);
      expectFailure(sideB, 'ERR_HANDSHAKE_REFUSED', 'self', false);
      expectFailure(sideA, 'ERR_HANDSHAKE_REFUSED', 'self', true);
      expect(decide).not.toHaveBeenCalled();
    });

    it('initiator refuses a challenge echoing its own name and incarnation', () => {
      const a = new InitiatorHandshake({
        self: identity('a@10.0.0.1'),
        cookie: COOKIE,
        expectedName: 'a@10.0.0.1',
      });
      const impostor = handAcceptor(payloadOf(a.start().send![0]!), {
        name: 'a@10.0.0.1',
        incarnation: 'a1a1a1a1a1a1a1a1',
      });
      expectFailure(a.receive(impostor.payload), 'ERR_HANDSHAKE_REFUSED', 'self', false);
    });

    it('refuses, after authentication and without asking the mesh, a peer claiming the acceptor’s own name', async () => {
      const a = new InitiatorHandshake({
        self: identity('b@10.0.0.2', { incarnation: 'another-start' }),
        cookie: COOKIE,
        expectedName: 'b@10.0.0.2',
      });
      const { handshake: b, decide } = acceptor();
      const { a: sideA, b: sideB, kinds } = await run(a, b);
      expect(kinds).toEqual(['A:hello', 'B:challenge', 'A:reply', 'B:refused']);
      expectFailure(sideB, 'ERR_DUPLICATE_NODE_NAME', 'duplicate-name', false);
      expectFailure(sideA, 'ERR_DUPLICATE_NODE_NAME', 'duplicate-name', true);
      expect(decide).not.toHaveBeenCalled();
    });
  });

  describe('mesh decision', () => {
    it('gives a newcomer with a duplicate name a definite ERR_DUPLICATE_NODE_NAME', async () => {
      const decide = jest.fn<Decide>(() => ({ ok: false, reason: 'duplicate-name' }));
      const { handshake: b } = acceptor({ decide });
      const { a: sideA, b: sideB, kinds } = await run(initiator(), b);
      expect(kinds).toEqual(['A:hello', 'B:challenge', 'A:reply', 'B:refused']);
      const onA = expectFailure(sideA, 'ERR_DUPLICATE_NODE_NAME', 'duplicate-name', true);
      expect(onA.message).toContain('a@10.0.0.1');
      expectFailure(sideB, 'ERR_DUPLICATE_NODE_NAME', 'duplicate-name', false);
      expect(decide).toHaveBeenCalledWith({
        name: 'a@10.0.0.1',
        incarnation: 'a1a1a1a1a1a1a1a1',
        listenPort: 4370,
        hidden: false,
      } satisfies HandshakePeer);
    });

    it.each(['simultaneous', 'already-connected', 'some-future-reason'])(
      'passes a %s refusal to the initiator as ERR_HANDSHAKE_REFUSED with that reason',
      async reason => {
        const { handshake: b } = acceptor({ decide: () => ({ ok: false, reason }) });
        const { a: sideA, b: sideB } = await run(initiator(), b);
        const onA = expectFailure(sideA, 'ERR_HANDSHAKE_REFUSED', reason, true);
        expect(onA.message).toContain(reason);
        expectFailure(sideB, 'ERR_HANDSHAKE_REFUSED', reason, false);
      },
    );

    it('sends a generic reason when decide gives one that is not a short token', async () => {
      const { handshake: b } = acceptor({
        decide: () => ({ ok: false, reason: 'Not A Token\n' + 'x'.repeat(100) }),
      });
      const { a: sideA } = await run(initiator(), b);
      expectFailure(sideA, 'ERR_HANDSHAKE_REFUSED', 'refused', true);
    });

    it('supports an async decide that accepts', async () => {
      const decide = jest.fn<Decide>(async () => {
        await new Promise(resolve => setImmediate(resolve));
        return { ok: true };
      });
      const { handshake: b } = acceptor({ decide });
      const { a: sideA, b: sideB } = await run(initiator(), b);
      expect(sideA.done?.peer.name).toBe('b@10.0.0.2');
      expect(sideB.done?.peer.name).toBe('a@10.0.0.1');
      expect(decide).toHaveBeenCalledTimes(1);
    });

    it('returns a promise only from the reply that triggers an async decide', async () => {
      let release!: (d: HandshakeDecision) => void;
      const decide = jest.fn<Decide>(() => new Promise<HandshakeDecision>(r => (release = r)));
      const { handshake: b } = acceptor({ decide });
      const a = initiator();
      const challenge = b.receive(payloadOf(a.start().send![0]!));
      expect(challenge).not.toBeInstanceOf(Promise);
      const reply = a.receive(payloadOf((challenge as HandshakeStep).send![0]!));
      const pending = b.receive(payloadOf(reply.send![0]!));
      expect(pending).toBeInstanceOf(Promise);
      expect(b.state).toBe('deciding');
      release({ ok: true });
      const step = await pending;
      expect(step.done?.peer.name).toBe('a@10.0.0.1');
      expect(a.receive(payloadOf(step.send![0]!)).done?.peer.name).toBe('b@10.0.0.2');
    });

    it('supports an async decide that refuses', async () => {
      const { handshake: b } = acceptor({
        decide: () => Promise.resolve({ ok: false, reason: 'duplicate-name' } as const),
      });
      const { a: sideA } = await run(initiator(), b);
      expectFailure(sideA, 'ERR_DUPLICATE_NODE_NAME', 'duplicate-name', true);
    });

    it.each([
      ['rejects', () => Promise.reject(new Error('mesh closed'))],
      [
        'throws',
        () => {
          throw new Error('mesh closed');
        },
      ],
      ['returns garbage', () => null as unknown as HandshakeDecision],
    ])('refuses (reason internal) when decide %s, never throwing', async (_what, decide) => {
      const { handshake: b } = acceptor({ decide: decide as Decide });
      const { a: sideA, b: sideB } = await run(initiator(), b);
      expectFailure(sideB, 'ERR_HANDSHAKE_REFUSED', 'internal', false);
      expectFailure(sideA, 'ERR_HANDSHAKE_REFUSED', 'internal', true);
    });

    it('fails a handshake that receives a message while deciding; the decision then resolves to that failure', async () => {
      let release!: (d: HandshakeDecision) => void;
      const { handshake: b } = acceptor({
        decide: () => new Promise<HandshakeDecision>(r => (release = r)),
      });
      const a = initiator();
      const helloPayload = payloadOf(a.start().send![0]!);
      const challenge = b.receive(helloPayload) as HandshakeStep;
      const reply = payloadOf(a.receive(payloadOf(challenge.send![0]!)).send![0]!);
      const pending = b.receive(reply) as Promise<HandshakeStep>;
      const intruding = b.receive(reply) as HandshakeStep;
      expectFailure(intruding, 'ERR_PROTOCOL', 'protocol', false);
      release({ ok: true });
      const late = await pending;
      expect(late.send).toBeUndefined();
      expect(late.done).toBeUndefined();
      expect(late.error).toBe(intruding.error);
    });
  });

  describe('timing and version checks', () => {
    it('refuses a heartbeat mismatch, naming both values on both sides', async () => {
      const a = initiator({ self: identity('a@10.0.0.1', { heartbeatMs: 2_000 }) });
      const { handshake: b, decide } = acceptor();
      const { a: sideA, b: sideB, kinds } = await run(a, b);
      expect(kinds).toEqual(['A:hello', 'B:refused']);
      for (const error of [
        expectFailure(sideA, 'ERR_TIMING_MISMATCH', 'timing', true),
        expectFailure(sideB, 'ERR_TIMING_MISMATCH', 'timing', false),
      ]) {
        expect(error.message).toContain('heartbeatMs=2000');
        expect(error.message).toContain('heartbeatMs=1000');
      }
      expect(decide).not.toHaveBeenCalled();
    });

    it('refuses a failure-timeout mismatch', async () => {
      const { handshake: b } = acceptor({
        self: identity('b@10.0.0.2', { failureTimeoutMs: 15_000 }),
      });
      const { a: sideA } = await run(initiator(), b);
      const error = expectFailure(sideA, 'ERR_TIMING_MISMATCH', 'timing', true);
      expect(error.message).toContain('failureTimeoutMs=5000');
      expect(error.message).toContain('failureTimeoutMs=15000');
    });

    it('initiator refuses a challenge with other timings', () => {
      const a = initiator();
      const impostor = handAcceptor(payloadOf(a.start().send![0]!), { heartbeatMs: 250 });
      const step = a.receive(impostor.payload);
      expect(expectFailure(step, 'ERR_TIMING_MISMATCH', 'timing', false).message).toContain(
        'heartbeatMs=250',
      );
      expect(sent(step)[0]).toMatchObject({
        kind: 'refused',
        reason: 'timing',
        heartbeatMs: 1_000,
      });
    });

    it('refuses when the version ranges do not overlap', async () => {
      const a = initiator({ versions: { min: 2, max: 3 } });
      const { handshake: b } = acceptor();
      const { a: sideA, b: sideB, kinds } = await run(a, b);
      expect(kinds).toEqual(['A:hello', 'B:refused']);
      const onA = expectFailure(sideA, 'ERR_VERSION_MISMATCH', 'version', true);
      expect(onA.message).toContain('versions 2-3');
      expect(onA.message).toContain('version 1');
      expectFailure(sideB, 'ERR_VERSION_MISMATCH', 'version', false);
    });

    it('initiator refuses a challenge choosing a version it does not speak', () => {
      const a = initiator();
      const impostor = handAcceptor(payloadOf(a.start().send![0]!), { version: 7 });
      expectFailure(a.receive(impostor.payload), 'ERR_VERSION_MISMATCH', 'version', false);
    });
  });

  describe('forward compatibility', () => {
    it('acceptor ignores unknown fields and unknown capabilities in a hello', async () => {
      const { handshake: b, decide } = acceptor({ capabilities: ['fragments'] });
      const helloPayload = withExtraFields(
        encodeHandshakeMessage(hello({ capabilities: ['fragments', 'x-quantum', 'v9-feature'] })),
      );
      const challengeStep = b.receive(helloPayload) as HandshakeStep;
      const challenge = only(challengeStep, 'challenge');
      expect(challenge.kind).toBe('challenge');
      const nonceA = Buffer.alloc(32, 0xaa);
      const transcript = {
        version: 1,
        initiatorName: 'a@10.0.0.1',
        acceptorName: 'b@10.0.0.2',
        initiatorIncarnation: 'a1a1a1a1a1a1a1a1',
        acceptorIncarnation: challenge.incarnation,
        initiatorNonce: nonceA,
        acceptorNonce: challenge.nonce,
        helloDigest: handshakeDigest(helloPayload),
        challengeDigest: handshakeDigest(payloadOf(challengeStep.send![0]!)),
      };
      const reply = withExtraFields(
        encodeHandshakeMessage({
          kind: 'reply',
          nonce: nonceA,
          mac: handshakeMac(COOKIE, 'initiator', transcript),
        }),
      );
      const step = (await b.receive(reply)) as HandshakeStep;
      expect(step.error).toBeUndefined();
      expect(step.done?.capabilities).toEqual(['fragments']);
      expect(decide).toHaveBeenCalledTimes(1);
      const ack = only(step, 'ack');
      expect(macEquals(ack.mac, handshakeMac(COOKIE, 'acceptor', transcript))).toBe(true);
    });

    it('initiator ignores unknown fields and unknown capabilities in a challenge and an ack', () => {
      const a = initiator({ capabilities: ['fragments'] });
      const impostor = handAcceptor(
        payloadOf(a.start().send![0]!),
        { capabilities: ['x-quantum', 'fragments'] },
        true,
      );
      const reply = only(a.receive(impostor.payload), 'reply');
      const transcript = impostor.transcriptFor(reply.nonce);
      const ack = withExtraFields(
        encodeHandshakeMessage({ kind: 'ack', mac: handshakeMac(COOKIE, 'acceptor', transcript) }),
      );
      const step = a.receive(ack);
      expect(step.error).toBeUndefined();
      expect(step.done?.capabilities).toEqual(['fragments']);
    });

    it('ignores fields of other message kinds', () => {
      const payload = Buffer.concat([
        encodeHandshakeMessage({ kind: 'ack', mac: Buffer.alloc(32) }),
        // a 'reason' field (id 14) with an invalid value, irrelevant to an ack
        Buffer.from([14, 0, 2, 0xff, 0x00]),
      ]);
      expect(decodeHandshakeMessage(payload)).toEqual({ kind: 'ack', mac: Buffer.alloc(32) });
    });

    it('accepts a refusal reason it does not know', () => {
      const a = initiator();
      a.start();
      const step = a.receive(encodeHandshakeMessage({ kind: 'refused', reason: 'v2.maintenance' }));
      expectFailure(step, 'ERR_HANDSHAKE_REFUSED', 'v2.maintenance', true);
    });
  });

  describe('malformed input', () => {
    const field = (id: number, value: Buffer) => {
      const header = Buffer.alloc(3);
      header[0] = id;
      header.writeUInt16BE(value.length, 1);
      return Buffer.concat([header, value]);
    };
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

    const cases: [string, Buffer][] = [
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

    it.each(cases)('acceptor refuses %s with ERR_PROTOCOL, without throwing', (_what, payload) => {
      const { handshake: b, decide } = acceptor();
      let step!: HandshakeStep;
      expect(() => {
        step = b.receive(payload) as HandshakeStep;
      }).not.toThrow();
      expectFailure(step, 'ERR_PROTOCOL', 'protocol', false);
      expect(sent(step)).toEqual([{ kind: 'refused', reason: 'protocol' }]);
      expect(b.state).toBe('failed');
      expect(decide).not.toHaveBeenCalled();
    });

    it.each(cases)('initiator refuses %s with ERR_PROTOCOL, without throwing', (_what, payload) => {
      const a = initiator();
      a.start();
      let step!: HandshakeStep;
      expect(() => {
        step = a.receive(payload);
      }).not.toThrow();
      expectFailure(step, 'ERR_PROTOCOL', 'protocol', false);
    });

    it.each([
      [
        'a reply with a short nonce',
        Buffer.concat([Buffer.from([3]), field(12, Buffer.alloc(31)), field(13, Buffer.alloc(32))]),
      ],
      ['a reply without a MAC', Buffer.concat([Buffer.from([3]), field(12, Buffer.alloc(32))])],
      [
        'a refusal with a non-token reason',
        Buffer.concat([Buffer.from([5]), field(14, Buffer.from('Bad Reason'))]),
      ],
    ])('rejects %s', (_what, payload) => {
      expect(() => decodeHandshakeMessage(payload)).toThrow(
        expect.objectContaining({ code: 'ERR_PROTOCOL' }),
      );
    });

    it('decodes only by throwing HandshakeError (ERR_PROTOCOL)', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), bytes => {
          try {
            decodeHandshakeMessage(Buffer.from(bytes));
          } catch (error) {
            expect(error).toBeInstanceOf(HandshakeError);
            expect((error as HandshakeError).code).toBe('ERR_PROTOCOL');
          }
        }),
        { seed: 1, numRuns: 1_000 },
      );
    });
  });

  describe('out of order', () => {
    it('acceptor refuses anything but a hello first', () => {
      for (const message of [
        { kind: 'reply', nonce: Buffer.alloc(32), mac: Buffer.alloc(32) },
        { kind: 'ack', mac: Buffer.alloc(32) },
        { kind: 'challenge', ...handAcceptorChallenge() },
      ] as HandshakeMessage[]) {
        const { handshake: b } = acceptor();
        const step = b.receive(encodeHandshakeMessage(message)) as HandshakeStep;
        const error = expectFailure(step, 'ERR_PROTOCOL', 'protocol', false);
        expect(error.message).toContain(message.kind);
      }
    });

    it('acceptor refuses a second hello', () => {
      const { handshake: b } = acceptor();
      b.receive(encodeHandshakeMessage(hello()));
      const step = b.receive(encodeHandshakeMessage(hello())) as HandshakeStep;
      expectFailure(step, 'ERR_PROTOCOL', 'protocol', false);
    });

    it('acceptor fails, without answering, when the initiator refuses', () => {
      const { handshake: b } = acceptor();
      b.receive(encodeHandshakeMessage(hello()));
      const step = b.receive(
        encodeHandshakeMessage({
          kind: 'refused',
          reason: 'timing',
          heartbeatMs: 9,
          failureTimeoutMs: 9,
        }),
      ) as HandshakeStep;
      expect(step.send).toBeUndefined();
      expectFailure(step, 'ERR_TIMING_MISMATCH', 'timing', true);
    });

    it('initiator refuses a message before start()', () => {
      const a = initiator();
      expectFailure(a.receive(encodeHandshakeMessage(hello())), 'ERR_PROTOCOL', 'protocol', false);
    });

    it('initiator refuses an ack before the challenge, and a hello at any time', () => {
      for (const message of [
        { kind: 'ack', mac: Buffer.alloc(32) },
        hello(),
        { kind: 'reply', nonce: Buffer.alloc(32), mac: Buffer.alloc(32) },
      ] as HandshakeMessage[]) {
        const a = initiator();
        a.start();
        const step = a.receive(encodeHandshakeMessage(message));
        expectFailure(step, 'ERR_PROTOCOL', 'protocol', false);
        expect(sent(step)).toEqual([{ kind: 'refused', reason: 'protocol' }]);
      }
    });

    it('initiator refuses a second challenge', () => {
      const a = initiator();
      const impostor = handAcceptor(payloadOf(a.start().send![0]!));
      a.receive(impostor.payload);
      expectFailure(a.receive(impostor.payload), 'ERR_PROTOCOL', 'protocol', false);
    });

    it('refuses start() twice', () => {
      const a = initiator();
      a.start();
      expectFailure(a.start(), 'ERR_PROTOCOL', 'protocol', false);
    });

    it('answers every call after done or error with ERR_PROTOCOL, sending nothing', async () => {
      const ok = await run(initiator(), acceptor().handshake);
      expect(ok.a.done).toBeDefined();
      const failed = await run(initiator({ cookie: 'wrong' }), acceptor().handshake);
      expect(failed.a.error).toBeDefined();
      const a1 = initiator();
      const { handshake: b1 } = acceptor();
      const r1 = await run(a1, b1);
      expect(r1.a.done).toBeDefined();
      const a2 = initiator({ cookie: 'wrong' });
      const { handshake: b2 } = acceptor();
      const r2 = await run(a2, b2);
      expect(r2.b.error).toBeDefined();
      for (const handshake of [a1, b1, a2, b2]) {
        for (const payload of ok.wire.map(w => w.payload).concat(Buffer.from([1, 2, 3]))) {
          const step = (await handshake.receive(payload)) as HandshakeStep;
          expect(step.send).toBeUndefined();
          expect(step.done).toBeUndefined();
          expectFailure(step, 'ERR_PROTOCOL', 'protocol', false);
        }
      }
      expectFailure(a1.start(), 'ERR_PROTOCOL', 'protocol', false);
      expect(a1.state).toBe('done');
      expect(b2.state).toBe('failed');
    });
  });

  describe('configuration', () => {
    it('throws InvalidNodeNameError for a malformed own or expected name', () => {
      expect(() => initiator({ self: identity('not a name') })).toThrow(InvalidNodeNameError);
      expect(() => initiator({ expectedName: 'b@' })).toThrow(InvalidNodeNameError);
      expect(() => acceptor({ self: identity('@host') })).toThrow(InvalidNodeNameError);
    });

    it.each([
      ['an empty cookie', { cookie: '' }],
      ['an empty Buffer cookie', { cookie: Buffer.alloc(0) }],
      ['a long incarnation', { self: identity('a@10.0.0.1', { incarnation: 'x'.repeat(33) }) }],
      ['an empty incarnation', { self: identity('a@10.0.0.1', { incarnation: '' }) }],
      ['a zero heartbeat', { self: identity('a@10.0.0.1', { heartbeatMs: 0 }) }],
      ['a fractional timeout', { self: identity('a@10.0.0.1', { failureTimeoutMs: 1.5 }) }],
      ['port 0', { self: identity('a@10.0.0.1', { listenPort: 0 }) }],
      ['a name over 255 bytes', { self: identity(`${'a'.repeat(200)}@${'h'.repeat(60)}`) }],
      ['a capability with a space', { capabilities: ['two words'] }],
      ['33 capabilities', { capabilities: Array.from({ length: 33 }, (_, i) => `c${i}`) }],
      ['an empty version range', { versions: { min: 2, max: 1 } }],
      ['version 0', { versions: { min: 0, max: 1 } }],
    ] as [string, Partial<InitiatorHandshakeOptions>][])(
      'throws InvalidConfigError for %s',
      (_what, over) => {
        let thrown: unknown;
        try {
          initiator(over);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(InvalidConfigError);
        expect((thrown as Error).message).not.toContain(COOKIE);
      },
    );

    it('reports a failing nonce source as an error, not a throw', () => {
      const a = initiator({ randomBytes: () => Buffer.alloc(3) });
      const impostor = handAcceptor(payloadOf(a.start().send![0]!));
      const step = a.receive(impostor.payload);
      expect(step.error).toBeInstanceOf(HandshakeError);
      expect(step.error?.reason).toBe('internal');
    });
  });

  describe('macEquals', () => {
    it('compares in constant time, exactly once, and never throws on a wrong length', () => {
      const expected = Buffer.alloc(32, 5);
      expect(macEquals(Buffer.alloc(32, 5), expected)).toBe(true);
      expect(macEquals(Buffer.alloc(32, 6), expected)).toBe(false);
      for (const length of [0, 1, 31, 33, 64]) {
        expect(macEquals(Buffer.alloc(length, 5), expected)).toBe(false);
      }
      expect(timingSafeEqual(Buffer.alloc(32), Buffer.alloc(32))).toBe(true);
    });
  });

  describe('properties', () => {
    const messageArb: fc.Arbitrary<HandshakeMessage> = fc.oneof(
      fc
        .record({
          versionMin: fc.integer({ min: 1, max: 5 }),
          span: fc.integer({ min: 0, max: 5 }),
          listenPort: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null }),
          hidden: fc.boolean(),
          heartbeatMs: fc.integer({ min: 1, max: 0xffff_ffff }),
          failureTimeoutMs: fc.integer({ min: 1, max: 0xffff_ffff }),
          incarnation: fc.stringMatching(/^[\x21-\x7e]{1,32}$/),
          capabilities: fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,64}$/), { maxLength: 32 }),
        })
        .map(r => ({
          ...hello(),
          versionMin: r.versionMin,
          versionMax: r.versionMin + r.span,
          listenPort: r.listenPort,
          hidden: r.hidden,
          heartbeatMs: r.heartbeatMs,
          failureTimeoutMs: r.failureTimeoutMs,
          incarnation: r.incarnation,
          capabilities: r.capabilities,
        })),
      fc
        .record({
          nonce: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          mac: fc.uint8Array({ maxLength: 64 }),
        })
        .map(r => ({
          kind: 'reply' as const,
          nonce: Buffer.from(r.nonce),
          mac: Buffer.from(r.mac),
        })),
      fc
        .stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/)
        .map(reason => ({ kind: 'refused' as const, reason })),
    );

    it('decodes what it encodes', () => {
      fc.assert(
        fc.property(messageArb, message => {
          expect(decodeHandshakeMessage(encodeHandshakeMessage(message))).toEqual(message);
        }),
        { seed: 1, numRuns: 300 },
      );
    });

    it('never throws on random bytes fed to a fresh acceptor or initiator', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 1_024 }), fc.boolean(), (bytes, asAcceptor) => {
          const payload = Buffer.from(bytes);
          if (asAcceptor) {
            const { handshake: b, decide } = acceptor();
            const step = b.receive(payload);
            expect(step).not.toBeInstanceOf(Promise);
            expect((step as HandshakeStep).error).toBeInstanceOf(HandshakeError);
            expect(decide).not.toHaveBeenCalled();
          } else {
            const a = initiator();
            a.start();
            expect(a.receive(payload).error).toBeInstanceOf(HandshakeError);
          }
        }),
        { seed: 1, numRuns: 1_000 },
      );
    });

    it('never throws on mutated valid messages at any step, and never authenticates them', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 2 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 4,
          }),
          fc.nat(),
          (stepIndex, flips, cut) => {
            // A clean exchange, then one message corrupted (bytes flipped, then maybe truncated).
            const a = initiator({ randomBytes: fixedRandom(1) });
            const { handshake: b, decide } = acceptor({ randomBytes: fixedRandom(2) });
            const helloPayload = payloadOf(a.start().send![0]!);
            const corrupt = (payload: Buffer) => {
              const copy = Buffer.from(payload);
              for (const [at, value] of flips) copy[at % copy.length] = value;
              return cut % 3 === 0 ? copy.subarray(0, cut % (copy.length + 1)) : copy;
            };
            if (stepIndex === 0) {
              const step = b.receive(corrupt(helloPayload)) as HandshakeStep;
              expect(step.done).toBeUndefined();
              return;
            }
            const challenge = payloadOf((b.receive(helloPayload) as HandshakeStep).send![0]!);
            if (stepIndex === 1) {
              const step = a.receive(corrupt(challenge));
              if (step.error === undefined) expect(sent(step)[0]!.kind).toBe('reply');
              return;
            }
            const reply = payloadOf(a.receive(challenge).send![0]!);
            const mutated = corrupt(reply);
            const step = b.receive(mutated) as HandshakeStep;
            expect(step).not.toBeInstanceOf(Promise);
            if (!mutated.equals(reply)) {
              expect(step.done).toBeUndefined();
              expect(decide).not.toHaveBeenCalled();
            }
          },
        ),
        { seed: 1, numRuns: 500 },
      );
    });
  });
});

function handAcceptorChallenge(): Omit<ChallengeMessage, 'kind'> {
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
