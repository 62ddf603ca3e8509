import fc from 'fast-check';
import { HandshakeError } from '../tcp.errors.js';
import { decodeHandshakeMessage } from './message-decoder.js';
import { encodeHandshakeMessage } from './message-encoder.js';
import { MAX_STARTED_AT_AHEAD_MS } from './handshake.constants.js';
import type { HandshakeMessage, HelloMessage } from './message-schema.js';
import { field, hello } from '../../../../test/support/handshake-harness.js';

/** The receiver's clock in the properties. */
const NOW = 1_800_000_000_000;

/**
 * A hello with the start time field and its capability (last, keeping the 31 capabilities before
 * it, so `namespace` stays), or with neither.
 */
function withStartedAt(startedAt: number | undefined, message: HelloMessage): HelloMessage {
  const capabilities = message.capabilities.filter(c => c !== 'started');
  if (startedAt === undefined) return { ...message, capabilities };
  return { ...message, capabilities: [...capabilities.slice(-31), 'started'], startedAt };
}

describe('decodeHandshakeMessage', () => {
  it('ignores fields of other message kinds', () => {
    const payload = Buffer.concat([
      encodeHandshakeMessage({ kind: 'ack', mac: Buffer.alloc(32) }),
      // a 'reason' field (id 14) with an invalid value, irrelevant to an ack
      Buffer.from([14, 0, 2, 0xff, 0x00]),
    ]);
    expect(decodeHandshakeMessage(payload)).toEqual({ kind: 'ack', mac: Buffer.alloc(32) });
  });

  describe('malformed input', () => {
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
          namespace: fc.option(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), { nil: undefined }),
          // Up to a day ahead of the receiver's clock (a fixed one: the decoder is given it).
          startedAt: fc.option(fc.integer({ min: 1, max: NOW + MAX_STARTED_AT_AHEAD_MS }), {
            nil: undefined,
          }),
        })
        .map(r =>
          withStartedAt(r.startedAt, {
            ...hello(),
            versionMin: r.versionMin,
            versionMax: r.versionMin + r.span,
            listenPort: r.listenPort,
            hidden: r.hidden,
            heartbeatMs: r.heartbeatMs,
            failureTimeoutMs: r.failureTimeoutMs,
            incarnation: r.incarnation,
            // The namespace field goes with its capability, and only with it.
            ...(r.namespace === undefined
              ? { capabilities: r.capabilities.filter(c => c !== 'namespace') }
              : {
                  capabilities: [
                    ...r.capabilities.filter(c => c !== 'namespace').slice(0, 31),
                    'namespace',
                  ],
                  namespace: r.namespace,
                }),
          }),
        ),
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
        .record({
          reason: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/),
          namespace: fc.option(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), { nil: undefined }),
        })
        .map(({ reason, namespace }) =>
          namespace === undefined
            ? { kind: 'refused' as const, reason }
            : { kind: 'refused' as const, reason, namespace },
        ),
    );

    it('decodes what it encodes', () => {
      fc.assert(
        fc.property(messageArb, message => {
          expect(decodeHandshakeMessage(encodeHandshakeMessage(message), NOW)).toEqual(message);
        }),
        { seed: 1, numRuns: 300 },
      );
    });
  });
});
