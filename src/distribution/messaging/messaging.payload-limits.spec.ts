import { A, B, MemoryNetwork, rejection, thrown } from '../../../test/support/messaging-harness.js';
import { InvalidConfigError } from '../../core/index.js';
import { EnvelopeKind, encodeEnvelope } from './envelope.js';
import { PayloadError, RemoteError } from './messaging.errors.js';
import { Messaging } from './messaging.js';

const MiB = 1024 * 1024;
const transport = { send: () => undefined, members: () => [] };

/** 4 MiB of empty maps: 4 MiB of msgpack that would decode into 4 million `Map`s. */
function amplifying(): Buffer {
  const body = Buffer.alloc(4 * MiB, 0x80);
  body[0] = 0xdd;
  body.writeUInt32BE(body.length - 5, 1);
  return body;
}

describe('Messaging payload limits', () => {
  let network: MemoryNetwork;
  beforeEach(() => (network = new MemoryNetwork()));
  afterEach(() => network.close());

  it('refuses a maxStructuredPayloadBytes over maxMessageBytes, or not a positive integer', () => {
    for (const value of [2 * MiB + 1, 0, 1.5, '1'])
      expect(
        thrown(
          () =>
            new Messaging({
              self: A,
              transport,
              maxMessageBytes: 2 * MiB,
              maxStructuredPayloadBytes: value as number,
            }),
        ),
      ).toMatchObject({ code: 'ERR_INVALID_CONFIG', option: 'maxStructuredPayloadBytes' });
    expect(
      thrown(() => new Messaging({ self: A, transport, maxStructuredPayloadBytes: 0 })),
    ).toBeInstanceOf(InvalidConfigError);
    // unset, it follows a smaller message limit down
    const small = new Messaging({ self: A, transport, maxMessageBytes: 1024 });
    expect((small.codec as unknown as { maxStructuredBytes: number }).maxStructuredBytes).toBe(
      1024,
    );
  });

  it('refuses a structured send over the limit before the transport, and lets a Buffer through', async () => {
    const a = network.add(A, { maxStructuredPayloadBytes: 64 * 1024 });
    const b = network.add(B);
    const got: unknown[] = [];
    b.on('bulk', payload => void got.push(payload));
    b.on('ask', payload => (payload as Buffer).length);
    const big = { text: 'x'.repeat(100_000) };
    const error = thrown(() => a.send(B, 'bulk', big));
    expect(error).toBeInstanceOf(PayloadError);
    expect(error).toMatchObject({
      code: 'ERR_PAYLOAD_TOO_LARGE',
      retryable: false,
      limit: 64 * 1024,
    });
    expect(error.message).toMatch(/Buffer/);
    expect(await rejection(a.request(B, 'ask', big))).toMatchObject({
      code: 'ERR_PAYLOAD_TOO_LARGE',
    });
    expect(network.sent).toHaveLength(0);
    a.send(B, 'bulk', Buffer.alloc(1 * MiB, 1));
    await expect(a.request(B, 'ask', Buffer.alloc(1 * MiB))).resolves.toBe(MiB);
    expect(got).toHaveLength(1);
    expect(Buffer.isBuffer(got[0])).toBe(true);
  });

  it('answers a request whose payload would decode into too many objects with an error', async () => {
    const a = network.add(A);
    const b = network.add(B, { maxStructuredPayloadBytes: 8 * MiB });
    let called = 0;
    b.on('ask', () => ++called);
    // A peer that sends the raw bytes itself (an older or hostile sender).
    const answer = a.request(B, 'ask', 1);
    const request = network.sent.find(m => m.envelope.kind === EnvelopeKind.Request)!;
    const raw = Buffer.concat(
      encodeEnvelope(EnvelopeKind.Request, request.envelope.requestId + 1, 'ask', amplifying()),
    );
    await answer;
    const replies = network.sent.length;
    b.receive(A, raw);
    await new Promise(resolve => setImmediate(resolve));
    const reply = network.sent.slice(replies).find(m => m.to === A)!;
    expect(reply.envelope.kind).toBe(EnvelopeKind.ErrorResponse);
    expect(reply.envelope.body.toString()).toMatch(/ERR_PAYLOAD_TOO_COSTLY/);
    expect(called).toBe(1);
  });

  it('rejects a request with the remote PayloadError when the answer is too costly to decode', async () => {
    const a = network.add(A);
    const b = network.add(B);
    b.on('ask', () => 1);
    const hold = a.request(B, 'ask', 1);
    network.hold = sent => sent.envelope.kind === EnvelopeKind.Request;
    const pending = a.request(B, 'ask', 2);
    const held = network.sent.at(-1)!;
    // answer the held request with an amplifying body, as a hostile peer would
    a.receive(
      B,
      Buffer.concat(
        encodeEnvelope(EnvelopeKind.Response, held.envelope.requestId, '', amplifying()),
      ),
    );
    await hold;
    const error = await rejection(pending);
    expect(error).toBeInstanceOf(PayloadError);
    expect(error).toMatchObject({
      code: expect.stringMatching(/^ERR_PAYLOAD_TOO_(COSTLY|LARGE)$/),
    });
    expect(error).not.toBeInstanceOf(RemoteError);
  });
});
