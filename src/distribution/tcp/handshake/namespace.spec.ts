import { InvalidConfigError } from '../../../core/index.js';
import { InitiatorHandshake } from './initiator.js';
import type { HandshakeStep } from './handshake.types.js';
import { decodeHandshakeMessage } from './message-decoder.js';
import { encodeHandshakeMessage } from './message-encoder.js';
import {
  type ChallengeMessage,
  FIELD,
  type HandshakeMessage,
  type HelloMessage,
} from './message-schema.js';
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
  sent,
} from '../../../../test/support/handshake-harness.js';

// The cluster namespace, negotiated as the capability `namespace` with a field of its own. A side
// built without the namespace option announces nothing, as a node of a version before namespaces
// does (it still counts itself and such peers as "default"); the hand-driven acceptor of the
// harness plays a node of that version where one must check nothing.
describe('handshake: cluster namespace', () => {
  describe('two nodes that both speak namespaces', () => {
    it('link in the same namespace, and agree on the namespace capability', async () => {
      const a = initiator({ namespace: 'payments' });
      const { handshake: b, decide } = acceptor({ namespace: 'payments' });
      const { a: sideA, b: sideB, kinds, wire } = await run(a, b);
      expect(kinds).toEqual(['A:hello', 'B:challenge', 'A:reply', 'B:ack']);
      expect(sideA.done?.capabilities).toEqual(['namespace']);
      expect(sideB.done?.capabilities).toEqual(['namespace']);
      expect(decide).toHaveBeenCalledTimes(1);
      const [h, c] = wire.map(w => w.message) as [HelloMessage, ChallengeMessage];
      expect(h).toMatchObject({ capabilities: ['namespace'], namespace: 'payments' });
      expect(c).toMatchObject({ capabilities: ['namespace'], namespace: 'payments' });
    });

    it('link in the default namespace given explicitly', async () => {
      const { a: sideA, b: sideB } = await run(
        initiator({ namespace: 'default' }),
        acceptor({ namespace: 'default' }).handshake,
      );
      expect(sideA.error).toBeUndefined();
      expect(sideB.error).toBeUndefined();
    });

    it('keep their other capabilities beside the namespace', async () => {
      const a = initiator({ namespace: 'ns-1', capabilities: ['fragments', 'a-only'] });
      const b = acceptor({ namespace: 'ns-1', capabilities: ['fragments'] }).handshake;
      const { a: sideA, b: sideB } = await run(a, b);
      expect(sideA.done?.capabilities).toEqual(['fragments', 'namespace']);
      expect(sideB.done?.capabilities).toEqual(['fragments', 'namespace']);
    });

    it('are refused at the hello when the namespaces differ, before any proof or decision', async () => {
      const a = initiator({ namespace: 'team-a' });
      const { handshake: b, decide } = acceptor({ namespace: 'team-b' });
      const { a: sideA, b: sideB, kinds, wire } = await run(a, b);
      expect(kinds).toEqual(['A:hello', 'B:refused']);
      const ours = expectFailure(sideB, 'ERR_NAMESPACE_MISMATCH', 'namespace', false);
      const theirs = expectFailure(sideA, 'ERR_NAMESPACE_MISMATCH', 'namespace', true);
      expect(ours.message).toContain('"team-a"');
      expect(ours.message).toContain('"team-b"');
      expect(ours.peer).toBe('a@10.0.0.1');
      // The refusal tells the initiator which namespace the acceptor is in, for its log.
      expect(wire[1]!.message).toEqual({
        kind: 'refused',
        reason: 'namespace',
        namespace: 'team-b',
      });
      expect(theirs.message).toContain('"team-b"');
      expect(theirs.message).toContain('"team-a"');
      expect(theirs.peer).toBe('b@10.0.0.2');
      expect(decide).not.toHaveBeenCalled();
      expect(a.state).toBe('failed');
      expect(b.state).toBe('failed');
    });

    it('are refused by the initiator when the challenge names another namespace', () => {
      const a = initiator({ namespace: 'team-a' });
      const helloPayload = payloadOf(a.start().send![0]!);
      const { payload } = handAcceptor(helloPayload, {
        capabilities: ['namespace'],
        namespace: 'team-b',
      });
      const step = a.receive(payload);
      const error = expectFailure(step, 'ERR_NAMESPACE_MISMATCH', 'namespace', false);
      expect(error.message).toContain('"team-b"');
      expect(only(step, 'refused')).toEqual({
        kind: 'refused',
        reason: 'namespace',
        namespace: 'team-a',
      });
    });
  });

  describe('a node that speaks namespaces and one that does not', () => {
    it('link when the newer node is in the default namespace (the older one dials)', async () => {
      const older = initiator();
      const { handshake: newer } = acceptor({ namespace: 'default' });
      const { a: sideA, b: sideB, wire } = await run(older, newer);
      expect(sideA.error).toBeUndefined();
      expect(sideB.error).toBeUndefined();
      // The older side announced nothing, so the capability is not agreed.
      expect(sideA.done?.capabilities).toEqual([]);
      expect(sideB.done?.capabilities).toEqual([]);
      expect(wire[0]!.message).not.toHaveProperty('namespace');
    });

    it('link when the newer node is in the default namespace (the newer one dials)', async () => {
      const { a: sideA, b: sideB } = await run(
        initiator({ namespace: 'default' }),
        acceptor().handshake,
      );
      expect(sideA.done?.capabilities).toEqual([]);
      expect(sideB.done?.capabilities).toEqual([]);
    });

    it('refuse an older initiator as "default" when the acceptor is in another namespace', async () => {
      const { handshake: newer, decide } = acceptor({ namespace: 'other' });
      const { a: sideA, b: sideB, kinds } = await run(initiator(), newer);
      expect(kinds).toEqual(['A:hello', 'B:refused']);
      const error = expectFailure(sideB, 'ERR_NAMESPACE_MISMATCH', 'namespace', false);
      expect(error.message).toContain('"default"');
      expect(error.message).toContain('"other"');
      expect(sideA.error).toBeDefined();
      expect(decide).not.toHaveBeenCalled();
    });

    it('refuse an older acceptor as "default" when the initiator is in another namespace', () => {
      // A node of a version before namespaces checks none: its challenge simply lacks the field.
      const a = initiator({ namespace: 'other' });
      const { payload } = handAcceptor(payloadOf(a.start().send![0]!));
      expect(decodeHandshakeMessage(payload)).not.toHaveProperty('namespace');
      const step = a.receive(payload);
      const error = expectFailure(step, 'ERR_NAMESPACE_MISMATCH', 'namespace', false);
      expect(error.message).toContain('"default"');
      expect(error.message).toContain('"other"');
      expect(only(step, 'refused')).toEqual({
        kind: 'refused',
        reason: 'namespace',
        namespace: 'other',
      });
    });

    it('takes a hello without any capabilities field (the older wire form) as "default"', () => {
      const legacy = encodeHandshakeMessage(hello());
      expect(legacy.includes(Buffer.from([FIELD.capabilities, 0]))).toBe(false);
      const accepting = acceptor({ namespace: 'default' }).handshake;
      expect(only(accepting.receive(legacy) as HandshakeStep, 'challenge')).toMatchObject({
        namespace: 'default',
      });
      const refusing = acceptor({ namespace: 'prod' }).handshake;
      expectFailure(
        refusing.receive(legacy) as HandshakeStep,
        'ERR_NAMESPACE_MISMATCH',
        'namespace',
        false,
      );
    });
  });

  describe('the namespace field on the wire', () => {
    it('is read only when its capability is announced: without it, the sender is "default"', () => {
      // A namespace field without the capability, as an older node would never send but a
      // confused one might: skipped, so the sender counts as default.
      const payload = Buffer.concat([
        encodeHandshakeMessage(hello()),
        field(FIELD.namespace, Buffer.from('other')),
      ]);
      expect(decodeHandshakeMessage(payload)).not.toHaveProperty('namespace');
      const b = acceptor({ namespace: 'default' }).handshake;
      expect(sent(b.receive(payload) as HandshakeStep).map(m => m.kind)).toEqual(['challenge']);
    });

    it.each([
      ['the capability without the field', encodeHello({ capabilities: ['namespace'] })],
      [
        'an empty namespace',
        Buffer.concat([
          encodeHello({ capabilities: ['namespace'] }),
          field(FIELD.namespace, Buffer.alloc(0)),
        ]),
      ],
      ['a namespace with a space', encodeHello({ capabilities: ['namespace'], namespace: 'a b' })],
      [
        'a namespace of 65 characters',
        encodeHello({ capabilities: ['namespace'], namespace: 'n'.repeat(65) }),
      ],
      [
        'a repeated namespace field',
        Buffer.concat([
          encodeHello({ capabilities: ['namespace'], namespace: 'one' }),
          field(FIELD.namespace, Buffer.from('two')),
        ]),
      ],
    ])('refuses a hello with %s as malformed', (_what, payload) => {
      const { handshake: b, decide } = acceptor({ namespace: 'default' });
      const step = b.receive(payload) as HandshakeStep;
      expectFailure(step, 'ERR_PROTOCOL', 'protocol', false);
      expect(only(step, 'refused')).toEqual({ kind: 'refused', reason: 'protocol' });
      expect(decide).not.toHaveBeenCalled();
    });

    it('is bound by the MACs: namespaces rewritten in flight fail the handshake', async () => {
      // A man in the middle without the cookie rewrites each opening message so that each side
      // sees its own namespace: both opening checks pass, and the proofs then fail.
      const a = initiator({ namespace: 'team-a' });
      const { handshake: b, decide } = acceptor({ namespace: 'team-b' });
      const rewrite = (payload: Buffer, namespace: string) =>
        encodeHandshakeMessage({ ...(decodeHandshakeMessage(payload) as HelloMessage), namespace });
      const helloPayload = rewrite(payloadOf(a.start().send![0]!), 'team-b');
      const challengeStep = b.receive(helloPayload) as HandshakeStep;
      const challengePayload = rewrite(payloadOf(challengeStep.send![0]!), 'team-a');
      const replyStep = a.receive(challengePayload);
      expect(replyStep.error).toBeUndefined();
      const verdict = (await b.receive(payloadOf(replyStep.send![0]!))) as HandshakeStep;
      expectFailure(verdict, 'ERR_BAD_COOKIE', 'bad-cookie', false);
      expect(decide).not.toHaveBeenCalled();
    });

    it('is bound by the MACs: a namespace stripped from the hello cannot be proved', () => {
      // Without the capability and field the hello reads as "default"; the digests still bind the
      // bytes the initiator sent, so an ack computed for the stripped hello does not verify.
      const a = initiator({ namespace: 'team-a' });
      const original = decodeHandshakeMessage(payloadOf(a.start().send![0]!)) as HelloMessage;
      const { namespace: _dropped, ...rest } = original;
      const stripped = encodeHandshakeMessage({ ...rest, capabilities: [] });
      const { payload, transcriptFor } = handAcceptor(stripped, {
        capabilities: ['namespace'],
        namespace: 'team-a',
      });
      const reply = only(a.receive(payload), 'reply');
      const ack = handshakeMac(COOKIE, 'acceptor', transcriptFor(reply.nonce));
      const step = a.receive(encodeHandshakeMessage({ kind: 'ack', mac: ack }));
      expectFailure(step, 'ERR_BAD_COOKIE', 'bad-cookie', false);
    });

    it('comes back in a refusal, and an unknown namespace fact is left out', () => {
      const message: HandshakeMessage = {
        kind: 'refused',
        reason: 'namespace',
        namespace: 'x.y_z-1',
      };
      expect(decodeHandshakeMessage(encodeHandshakeMessage(message))).toEqual(message);
      const without: HandshakeMessage = { kind: 'refused', reason: 'namespace' };
      expect(decodeHandshakeMessage(encodeHandshakeMessage(without))).toEqual(without);
    });

    it('names the namespace as not told when a refusal comes without it', () => {
      const a = initiator({ namespace: 'team-a' });
      a.start();
      const step = a.receive(encodeHandshakeMessage({ kind: 'refused', reason: 'namespace' }));
      const error = expectFailure(step, 'ERR_NAMESPACE_MISMATCH', 'namespace', true);
      expect(error.message).toContain('(not told)');
      expect(error.message).toContain('"team-a"');
    });
  });

  describe('options', () => {
    const build = (over: Record<string, unknown>) => () =>
      new InitiatorHandshake({
        self: identity('a@10.0.0.1'),
        cookie: COOKIE,
        expectedName: 'b@10.0.0.2',
        ...over,
      });

    it.each([
      ['an empty namespace', { namespace: '' }],
      ['a namespace with a slash', { namespace: 'a/b' }],
      ['a namespace of 65 characters', { namespace: 'n'.repeat(65) }],
      ['a namespace that is not a string', { namespace: 7 }],
      ['"namespace" among the capabilities', { capabilities: ['namespace'] }],
      [
        '32 capabilities beside a namespace',
        { namespace: 'ns', capabilities: Array.from({ length: 32 }, (_, i) => `c${i}`) },
      ],
    ])('refuses %s', (_what, over) => {
      expect(build(over)).toThrow(InvalidConfigError);
    });

    it('accepts 31 capabilities beside a namespace, and 32 without one', () => {
      const caps = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);
      expect(build({ namespace: 'ns', capabilities: caps(31) })).not.toThrow();
      expect(build({ capabilities: caps(32) })).not.toThrow();
    });

    it('names the option and the accepted form', () => {
      expect(build({ namespace: 'a b' })).toThrow(/namespace.*"a b".*letters, digits/);
    });
  });
});

/** A hello from `a@10.0.0.1`, encoded. */
function encodeHello(over: Partial<HelloMessage>): Buffer {
  return encodeHandshakeMessage(hello(over));
}
