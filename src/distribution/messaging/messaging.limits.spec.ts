import { jest } from '@jest/globals';
import { MessageTooLargeError, QueueFullError } from './messaging.errors.js';
import { type MessageTransport, Messaging } from './messaging.js';
import { type PayloadCodec, createPayloadCodec } from './payload-codec.js';

const A = 'a@127.0.0.1';
const B = 'b@127.0.0.1';
const C = 'c@127.0.0.1';

/** A transport that refuses as the TCP dist does, with a message limit and a queue that may be full. */
function limitedTransport(limit: number) {
  const state = { full: new Set<string>(), sent: 0 };
  const refuse = (node: string, bytes: number) => {
    if (bytes > limit) {
      throw new MessageTooLargeError('too large', { node, bytes, limit });
    }
    if (state.full.has(node)) throw new QueueFullError('full', { node });
  };
  const transport: MessageTransport = {
    send: (node, parts) => {
      refuse(
        node,
        parts.reduce((sum, part) => sum + part.length, 0),
      );
      state.sent++;
    },
    check: refuse,
    members: () => [B, C],
  };
  return { transport, state };
}

function setup(codec: PayloadCodec, limit = 1_024) {
  const { transport, state } = limitedTransport(limit);
  const encode = jest.spyOn(codec, 'encode');
  const messaging = new Messaging({
    self: A,
    transport,
    codec,
    logger: { log: () => undefined, warn: () => undefined, error: () => undefined },
  });
  return { messaging, state, encode };
}

function thrown(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('Messaging limits before encoding', () => {
  it.each(['msgpack', 'json'] as const)(
    'refuses a binary payload over the message limit without encoding it (%s)',
    async kind => {
      const { messaging, encode } = setup(createPayloadCodec(kind));
      for (const payload of [Buffer.alloc(2_000), new Uint8Array(2_000), new Int32Array(500)]) {
        const error = thrown(() => messaging.send(B, 't', payload));
        expect(error).toBeInstanceOf(MessageTooLargeError);
        expect(error).toMatchObject({
          code: 'ERR_MESSAGE_TOO_LARGE',
          retryable: false,
          node: B,
          bytes: 2_000,
          limit: 1_024,
        });
        await expect(messaging.request(B, 't', payload)).rejects.toMatchObject({
          code: 'ERR_MESSAGE_TOO_LARGE',
        });
      }
      expect(messaging.broadcast('t', Buffer.alloc(2_000))).toBe(0);
      expect(encode).not.toHaveBeenCalled();
      messaging.close();
    },
  );

  it('refuses any payload to a full queue without encoding it, whatever its size', async () => {
    const { messaging, state, encode } = setup(createPayloadCodec('msgpack'));
    state.full.add(B);
    const structured = { list: Array.from({ length: 100 }, (_, i) => ({ i })) };
    expect(thrown(() => messaging.send(B, 't', structured))).toMatchObject({
      code: 'ERR_QUEUE_FULL',
      retryable: true,
    });
    await expect(messaging.request(B, 't', Buffer.alloc(10))).rejects.toMatchObject({
      code: 'ERR_QUEUE_FULL',
    });
    expect(encode).not.toHaveBeenCalled();
    // A broadcast encodes once for the members that have room, and skips the full one.
    expect(messaging.broadcast('t', structured)).toBe(1);
    expect(encode).toHaveBeenCalledTimes(1);
    messaging.close();
  });

  it('still refuses a structured payload over the limit after encoding it (its size is not guessed)', () => {
    const { messaging, encode } = setup(createPayloadCodec('msgpack'));
    const error = thrown(() => messaging.send(B, 't', { text: 'x'.repeat(2_000) }));
    expect(error).toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE', retryable: false });
    expect(encode).toHaveBeenCalledTimes(1);
    messaging.close();
  });

  it('does not take the bytes of a binary payload as a bound under a custom codec', () => {
    const inner = createPayloadCodec('msgpack');
    // A codec that compresses: a large Buffer of zeros may well fit once encoded.
    const squeeze: PayloadCodec = {
      name: 'squeeze',
      encode: () => Buffer.from([0]),
      decode: bytes => inner.decode(bytes),
    };
    const { messaging, state, encode } = setup(squeeze);
    messaging.send(B, 't', Buffer.alloc(2_000));
    expect(encode).toHaveBeenCalledTimes(1);
    expect(state.sent).toBe(1);
    messaging.close();
  });
});
