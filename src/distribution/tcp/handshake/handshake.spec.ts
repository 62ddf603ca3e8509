import fc from 'fast-check';
import { HandshakeError } from '../tcp.errors.js';
import { HANDSHAKE_MAX_PAYLOAD_BYTES } from './handshake.constants.js';
import { handshakeTimeoutError } from './handshake-failures.js';
import {
  AcceptorHandshake,
  DEFAULT_HANDSHAKE_STEP_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TOTAL_TIMEOUT_MS,
  HANDSHAKE_MAX_FRAME_BYTES,
  type HandshakeStep,
  InitiatorHandshake,
} from './index.js';
import type { ChallengeMessage } from './message-schema.js';
import {
  acceptor,
  COOKIE,
  expectFailure,
  fixedRandom,
  identity,
  initiator,
  payloadOf,
  run,
  sent,
} from '../../../../test/support/handshake-harness.js';

// An initiator against an acceptor, end to end in memory. The checks of each part have their own
// specs: opening.spec.ts, transcript.spec.ts, initiator.spec.ts, acceptor.spec.ts.
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
  });

  describe('out of order', () => {
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

  describe('properties', () => {
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
