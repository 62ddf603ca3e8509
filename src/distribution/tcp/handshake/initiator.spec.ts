import { HandshakeError } from '../tcp.errors.js';
import type { HandshakeStep } from './handshake.types.js';
import { encodeHandshakeMessage } from './message-encoder.js';
import type { HandshakeMessage } from './message-schema.js';
import { handshakeMac, macEquals } from './transcript.js';
import {
  COOKIE,
  expectFailure,
  handAcceptor,
  hello,
  initiator,
  malformedPayloads,
  only,
  payloadOf,
  sent,
  withExtraFields,
} from '../../../../test/support/handshake-harness.js';

describe('InitiatorHandshake', () => {
  describe('wrong cookie', () => {
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
  });

  describe('forward compatibility', () => {
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

    it('accepts a refusal reason it does not know', () => {
      const a = initiator();
      a.start();
      const step = a.receive(encodeHandshakeMessage({ kind: 'refused', reason: 'v2.maintenance' }));
      expectFailure(step, 'ERR_HANDSHAKE_REFUSED', 'v2.maintenance', true);
    });
  });

  describe('malformed input', () => {
    const cases = malformedPayloads();

    it.each(cases)('initiator refuses %s with ERR_PROTOCOL, without throwing', (_what, payload) => {
      const a = initiator();
      a.start();
      let step!: HandshakeStep;
      expect(() => {
        step = a.receive(payload);
      }).not.toThrow();
      expectFailure(step, 'ERR_PROTOCOL', 'protocol', false);
    });
  });

  describe('out of order', () => {
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
  });

  describe('configuration', () => {
    it('reports a failing nonce source as an error, not a throw', () => {
      const a = initiator({ randomBytes: () => Buffer.alloc(3) });
      const impostor = handAcceptor(payloadOf(a.start().send![0]!));
      const step = a.receive(impostor.payload);
      expect(step.error).toBeInstanceOf(HandshakeError);
      expect(step.error?.reason).toBe('internal');
    });
  });
});
