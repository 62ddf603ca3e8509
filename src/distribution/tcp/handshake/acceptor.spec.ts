import { jest } from '@jest/globals';
import { HandshakeError } from '../tcp.errors.js';
import type { HandshakeDecision } from './acceptor.js';
import { InitiatorHandshake } from './initiator.js';
import type { HandshakePeer, HandshakeStep } from './handshake.types.js';
import { encodeHandshakeMessage } from './message-encoder.js';
import type { HandshakeMessage } from './message-schema.js';
import { handshakeDigest, handshakeMac, macEquals } from './transcript.js';
import {
  acceptor,
  COOKIE,
  type Decide,
  expectFailure,
  handAcceptorChallenge,
  hello,
  identity,
  initiator,
  malformedPayloads,
  only,
  payloadOf,
  run,
  sent,
  withExtraFields,
} from '../../../../test/support/handshake-harness.js';

describe('AcceptorHandshake', () => {
  describe('wrong cookie', () => {
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

  describe('name checks', () => {
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

    it('reports a decision that is not an { ok } object as a typed error, naming what came', async () => {
      const { handshake: b } = acceptor({
        decide: () => ({ allowed: true }) as unknown as HandshakeDecision,
      });
      const { b: sideB } = await run(initiator(), b);
      const error = expectFailure(sideB, 'ERR_HANDSHAKE_REFUSED', 'internal', false);
      expect(error.message).toContain('allowed');
      expect(error.cause).toBeInstanceOf(HandshakeError);
      expect(error.cause).toMatchObject({ code: 'ERR_HANDSHAKE_REFUSED', reason: 'internal' });
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
  });

  describe('malformed input', () => {
    const cases = malformedPayloads();

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
  });
});
