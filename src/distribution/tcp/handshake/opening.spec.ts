import { jest } from '@jest/globals';
import { AcceptorHandshake } from './acceptor.js';
import { InitiatorHandshake } from './initiator.js';
import {
  acceptor,
  COOKIE,
  type Decide,
  expectFailure,
  handAcceptor,
  identity,
  initiator,
  payloadOf,
  run,
  sent,
} from '../../../../test/support/handshake-harness.js';

// The checks on the opening messages (checkOpening), as each side applies them.
describe('opening checks', () => {
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
});
