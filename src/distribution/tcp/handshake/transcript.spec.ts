import { timingSafeEqual } from 'node:crypto';
import { HandshakeError } from '../tcp.errors.js';
import { encodeHandshakeMessage } from './message-encoder.js';
import { freshNonce, macEquals } from './transcript.js';
import type { HandshakeStep } from './handshake.types.js';
import {
  acceptor,
  expectFailure,
  fixedRandom,
  handAcceptor,
  initiator,
  only,
  payloadOf,
  run,
  sent,
  withExtraFields,
} from '../../../../test/support/handshake-harness.js';

describe('transcript', () => {
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

  describe('freshNonce', () => {
    it('copies a nonce of the right size', () => {
      const source = Buffer.alloc(32, 9);
      const nonce = freshNonce(() => source);
      expect(nonce).toEqual(source);
      source.fill(0);
      expect(nonce).toEqual(Buffer.alloc(32, 9));
    });

    it.each([
      ['3 bytes', Buffer.alloc(3)],
      ['33 bytes', Buffer.alloc(33)],
      ['a string', 'x'.repeat(32)],
      ['undefined', undefined],
    ])('refuses a source returning %s with a typed HandshakeError (internal)', (_what, value) => {
      let thrown: unknown;
      try {
        freshNonce(() => value as Buffer);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(HandshakeError);
      expect(thrown).toMatchObject({
        code: 'ERR_HANDSHAKE_REFUSED',
        reason: 'internal',
        byPeer: false,
      });
      expect((thrown as Error).message).toContain('randomBytes');
    });
  });
});
