import { InvalidConfigError } from '../../../core/index.js';
import { HandshakeError } from '../tcp.errors.js';
import { MAX_STARTED_AT_AHEAD_MS } from './handshake.constants.js';
import type { HandshakeStep } from './handshake.types.js';
import { InitiatorHandshake } from './initiator.js';
import { decodeHandshakeMessage } from './message-decoder.js';
import { encodeHandshakeMessage } from './message-encoder.js';
import { type ChallengeMessage, FIELD, type HelloMessage } from './message-schema.js';
import { handshakeMac } from './transcript.js';
import {
  acceptor,
  COOKIE,
  expectFailure,
  field,
  handAcceptor,
  hello,
  identity,
  initiator,
  only,
  payloadOf,
  run,
} from '../../../../test/support/handshake-harness.js';

// The start time, negotiated as the capability `started` with field 16 (u64 ms since the epoch).
// A side whose identity has no `startedAt` announces neither, as a node of a release before it
// does (leadership never picks such a node); the harness's default sides play that release.
const A_STARTED = 1_700_000_000_000;
const B_STARTED = 1_700_000_000_123;

const newerInitiator = (over: Parameters<typeof initiator>[0] = {}) =>
  initiator({ self: identity('a@10.0.0.1', { startedAt: A_STARTED }), ...over });
const newerAcceptor = (over: Parameters<typeof acceptor>[0] = {}) =>
  acceptor({ self: identity('b@10.0.0.2', { listenPort: 4371, startedAt: B_STARTED }), ...over });

/** A u64 big-endian value. */
const u64 = (value: bigint) => {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(value);
  return bytes;
};

describe('handshake: start time (capability "started", field 16)', () => {
  describe('two nodes that both announce it', () => {
    it('link, agree on the capability, and each learns the other’s start time', async () => {
      const { handshake: b, decide } = newerAcceptor();
      const { a: sideA, b: sideB, kinds, wire } = await run(newerInitiator(), b);
      expect(kinds).toEqual(['A:hello', 'B:challenge', 'A:reply', 'B:ack']);
      expect(sideA.done?.capabilities).toEqual(['started']);
      expect(sideB.done?.capabilities).toEqual(['started']);
      expect(sideA.done?.peer).toEqual({
        name: 'b@10.0.0.2',
        incarnation: 'b2b2b2b2b2b2b2b2',
        listenPort: 4371,
        hidden: false,
        startedAt: B_STARTED,
      });
      expect(sideB.done?.peer).toMatchObject({ name: 'a@10.0.0.1', startedAt: A_STARTED });
      // The acceptor's mesh is asked with the start time already known.
      expect(decide).toHaveBeenCalledWith(expect.objectContaining({ startedAt: A_STARTED }));
      const [h, c] = wire.map(w => w.message) as [HelloMessage, ChallengeMessage];
      expect(h).toMatchObject({ capabilities: ['started'], startedAt: A_STARTED });
      expect(c).toMatchObject({ capabilities: ['started'], startedAt: B_STARTED });
    });

    it('keep their other capabilities and the namespace beside it, "started" last', async () => {
      const a = newerInitiator({ namespace: 'ns-1', capabilities: ['headers', 'a-only'] });
      const b = newerAcceptor({ namespace: 'ns-1', capabilities: ['headers'] }).handshake;
      const { a: sideA, b: sideB, wire } = await run(a, b);
      expect(sideA.done?.capabilities).toEqual(['headers', 'namespace', 'started']);
      expect(sideB.done?.capabilities).toEqual(['headers', 'namespace', 'started']);
      expect(wire[0]!.message).toMatchObject({ namespace: 'ns-1', startedAt: A_STARTED });
    });

    it('accept the same start time on both sides (the name breaks the tie later)', async () => {
      const a = initiator({ self: identity('a@10.0.0.1', { startedAt: B_STARTED }) });
      const { a: sideA, b: sideB } = await run(a, newerAcceptor().handshake);
      expect(sideA.done?.peer.startedAt).toBe(B_STARTED);
      expect(sideB.done?.peer.startedAt).toBe(B_STARTED);
    });
  });

  describe('a node that announces it and one that does not (an older release)', () => {
    it('link when the older node dials; the newer one learns no start time', async () => {
      const { a: sideA, b: sideB, wire } = await run(initiator(), newerAcceptor().handshake);
      expect(sideA.done?.capabilities).toEqual([]);
      expect(sideB.done?.capabilities).toEqual([]);
      expect(sideB.done?.peer).not.toHaveProperty('startedAt');
      expect(wire[0]!.message).not.toHaveProperty('startedAt');
      // The newer side still told its own, which an older node skips as an unknown field.
      expect(wire[1]!.message).toMatchObject({ startedAt: B_STARTED });
    });

    it('link when the newer node dials an older acceptor; no start time for it', () => {
      const a = newerInitiator();
      const { payload, transcriptFor } = handAcceptor(payloadOf(a.start().send![0]!));
      expect(decodeHandshakeMessage(payload)).not.toHaveProperty('startedAt');
      const reply = only(a.receive(payload), 'reply');
      const step = a.receive(
        encodeHandshakeMessage({
          kind: 'ack',
          mac: handshakeMac(COOKIE, 'acceptor', transcriptFor(reply.nonce)),
        }),
      );
      expect(step.error).toBeUndefined();
      expect(step.done?.capabilities).toEqual([]);
      expect(step.done?.peer).not.toHaveProperty('startedAt');
    });
  });

  describe('the startedAt field on the wire', () => {
    it('is a u64, big-endian, after the capabilities', () => {
      const payload = encodeHandshakeMessage(
        hello({ capabilities: ['started'], startedAt: 0x0102_0304_0506 }),
      );
      const tail = Buffer.concat([
        Buffer.from([FIELD.startedAt, 0, 8]),
        Buffer.from([0, 0, 1, 2, 3, 4, 5, 6]),
      ]);
      expect(payload.subarray(payload.length - tail.length)).toEqual(tail);
    });

    it('is read only when its capability is announced: without it, the peer has no start time', async () => {
      const payload = Buffer.concat([
        encodeHandshakeMessage(hello()),
        field(FIELD.startedAt, u64(BigInt(A_STARTED))),
      ]);
      expect(decodeHandshakeMessage(payload)).not.toHaveProperty('startedAt');
      const { handshake: b } = newerAcceptor();
      const challenge = only(b.receive(payload) as HandshakeStep, 'challenge');
      expect(challenge.startedAt).toBe(B_STARTED);
    });

    it('accepts a start time up to exactly one day ahead of the receiver’s clock', () => {
      const now = 1_800_000_000_000;
      const at = (startedAt: number) =>
        encodeHandshakeMessage(hello({ capabilities: ['started'], startedAt }));
      expect(decodeHandshakeMessage(at(now + MAX_STARTED_AT_AHEAD_MS), now)).toMatchObject({
        startedAt: now + MAX_STARTED_AT_AHEAD_MS,
      });
      expect(decodeHandshakeMessage(at(1), now)).toMatchObject({ startedAt: 1 });
      expect(decodeHandshakeMessage(at(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER)).toEqual(
        expect.objectContaining({ startedAt: Number.MAX_SAFE_INTEGER }),
      );
      expect(() => decodeHandshakeMessage(at(now + MAX_STARTED_AT_AHEAD_MS + 1), now)).toThrow(
        expect.objectContaining({ code: 'ERR_PROTOCOL', reason: 'protocol' }),
      );
    });

    const announcing = (startedAt: Buffer | undefined, extra: Buffer[] = []) =>
      Buffer.concat([
        encodeHandshakeMessage(hello({ capabilities: ['started'] })),
        ...(startedAt === undefined ? [] : [field(FIELD.startedAt, startedAt)]),
        ...extra,
      ]);
    const malformedStarts: [string, () => Buffer][] = [
      ['the capability without the field', () => announcing(undefined)],
      ['a start time of 0', () => announcing(u64(0n))],
      ['a start time of 2^53', () => announcing(u64(2n ** 53n))],
      ['a start time of 2^64 - 1', () => announcing(u64(2n ** 64n - 1n))],
      [
        'a start time two days ahead',
        () => announcing(u64(BigInt(Date.now() + 2 * MAX_STARTED_AT_AHEAD_MS))),
      ],
      ['a 4-byte start time', () => announcing(Buffer.from([0, 0, 0, 1]))],
      ['an empty start time', () => announcing(Buffer.alloc(0))],
      [
        'a repeated start time',
        () => announcing(u64(1n), [field(FIELD.startedAt, u64(BigInt(A_STARTED)))]),
      ],
    ];

    it.each(malformedStarts)(
      'the acceptor refuses a hello with %s as malformed',
      (_what, payload) => {
        const { handshake: b, decide } = newerAcceptor();
        const step = b.receive(payload()) as HandshakeStep;
        expectFailure(step, 'ERR_PROTOCOL', 'protocol', false);
        expect(only(step, 'refused')).toEqual({ kind: 'refused', reason: 'protocol' });
        expect(decide).not.toHaveBeenCalled();
      },
    );

    it.each([
      ['0', u64(0n)],
      ['two days ahead', u64(BigInt(Date.now() + 2 * MAX_STARTED_AT_AHEAD_MS))],
      ['2^53', u64(2n ** 53n)],
    ])('the initiator refuses a challenge with a start time of %s as malformed', (_what, value) => {
      const a = newerInitiator();
      const helloPayload = payloadOf(a.start().send![0]!);
      const { payload } = handAcceptor(helloPayload, { capabilities: ['started'] });
      const step = a.receive(Buffer.concat([payload, field(FIELD.startedAt, value)]));
      expectFailure(step, 'ERR_PROTOCOL', 'protocol', false);
      expect(only(step, 'refused')).toEqual({ kind: 'refused', reason: 'protocol' });
    });

    it('names the start time in the malformed message', () => {
      const far = Date.now() + 3 * MAX_STARTED_AT_AHEAD_MS;
      let thrown: unknown;
      try {
        decodeHandshakeMessage(announcing(u64(BigInt(far))));
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(HandshakeError);
      expect((thrown as Error).message).toMatch(
        new RegExp(`hello startedAt ${far} is \\d+ ms ahead`),
      );
      expect(() => decodeHandshakeMessage(announcing(u64(0n)))).toThrow(/startedAt is not a time/);
    });

    it('is bound by the MACs: a start time rewritten in flight fails the handshake', async () => {
      // A man in the middle without the cookie makes the initiator look older than it is (to win
      // leadership for it); the opening checks pass, the acceptor's MAC check does not.
      const a = newerInitiator();
      const { handshake: b, decide } = newerAcceptor();
      const original = decodeHandshakeMessage(payloadOf(a.start().send![0]!)) as HelloMessage;
      const forged = encodeHandshakeMessage({ ...original, startedAt: 1 });
      const challengeStep = b.receive(forged) as HandshakeStep;
      const replyStep = a.receive(payloadOf(challengeStep.send![0]!));
      expect(replyStep.error).toBeUndefined();
      const verdict = (await b.receive(payloadOf(replyStep.send![0]!))) as HandshakeStep;
      expectFailure(verdict, 'ERR_BAD_COOKIE', 'bad-cookie', false);
      expect(decide).not.toHaveBeenCalled();
    });
  });

  describe('options', () => {
    const build =
      (startedAt: unknown, over: Record<string, unknown> = {}) =>
      () =>
        new InitiatorHandshake({
          self: identity('a@10.0.0.1', { startedAt: startedAt as number }),
          cookie: COOKIE,
          expectedName: 'b@10.0.0.2',
          ...over,
        });
    const caps = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);

    it.each([
      ['0', 0],
      ['a negative time', -1],
      ['a fraction', 1.5],
      ['2^53', 2 ** 53],
      ['a string', '1700000000000'],
      ['NaN', Number.NaN],
    ])('refuses a start time of %s, naming the option', (_what, value) => {
      expect(build(value)).toThrow(InvalidConfigError);
      expect(build(value)).toThrow(/startedAt/);
    });

    it('refuses "started" among the capabilities: the start time announces it', () => {
      expect(build(A_STARTED, { capabilities: ['started'] })).toThrow(InvalidConfigError);
      expect(build(undefined, { capabilities: ['started'] })).toThrow(
        /capabilities without "started": self.startedAt announces it/,
      );
    });

    it('keeps a place for it among the 32 capabilities', () => {
      expect(build(A_STARTED, { capabilities: caps(31) })).not.toThrow();
      expect(build(A_STARTED, { capabilities: caps(32) })).toThrow(InvalidConfigError);
      expect(build(A_STARTED, { namespace: 'ns', capabilities: caps(30) })).not.toThrow();
      expect(build(A_STARTED, { namespace: 'ns', capabilities: caps(31) })).toThrow(
        InvalidConfigError,
      );
    });

    it('accepts 1 and Number.MAX_SAFE_INTEGER', () => {
      expect(build(1)).not.toThrow();
      expect(build(Number.MAX_SAFE_INTEGER)).not.toThrow();
    });
  });
});
