import { settle } from '../../../test/support/messaging-harness.js';
import { Delivery, type DeliveryContext } from './delivery.js';
import { EnvelopeKind, decodeEnvelope } from './envelope.js';
import { MessagingStats } from './messaging-stats.js';
import { createPayloadCodec } from './payload-codec.js';

const SELF = 'a@127.0.0.1';
const PEER = 'b@127.0.0.1';

/** A Delivery over a transport that records what it is handed, and a dispatcher that records. */
function delivery(overrides: Partial<DeliveryContext> = {}) {
  const sent: { node: string; bytes: Buffer }[] = [];
  const checked: { node: string; minBytes: number }[] = [];
  const dispatched: {
    from: string;
    kind: EnvelopeKind;
    id: number;
    topic: string;
    body: Buffer;
  }[] = [];
  const logs: string[] = [];
  let closed = false;
  const context: DeliveryContext = {
    self: SELF,
    transport: {
      send: (node, parts) => void sent.push({ node, bytes: Buffer.concat(parts) }),
      check: (node, minBytes) => void checked.push({ node, minBytes }),
      members: () => [PEER],
    },
    codec: createPayloadCodec(),
    stats: new MessagingStats(),
    isClosed: () => closed,
    dispatch: (from, kind, id, topic, body) =>
      void dispatched.push({ from, kind, id, topic, body }),
    log: (level, key, message) => void logs.push(`${level} ${key} ${message}`),
    ...overrides,
  };
  return {
    delivery: new Delivery(context),
    sent,
    checked,
    dispatched,
    logs,
    close: () => (closed = true),
  };
}

describe('Delivery', () => {
  it('hands a message for a peer to the transport as one envelope', () => {
    const { delivery: d, sent, dispatched } = delivery();
    d.deliver(PEER, EnvelopeKind.Request, 7, 'sum', [Buffer.from('ab'), Buffer.from('c')]);
    expect(sent).toHaveLength(1);
    expect(sent[0].node).toBe(PEER);
    expect(decodeEnvelope(sent[0].bytes)).toEqual({
      kind: EnvelopeKind.Request,
      requestId: 7,
      topic: 'sum',
      body: Buffer.from('abc'),
    });
    expect(dispatched).toEqual([]);
  });

  it('delivers a message to self in a microtask, on a copy of its own, never through the transport', async () => {
    const { delivery: d, sent, dispatched } = delivery();
    const part = Buffer.from('xyz');
    d.deliver(SELF, EnvelopeKind.Send, 0, 'news', [part]);
    expect(dispatched).toEqual([]);
    part.fill(0); // the sender reusing its buffer must not change what is delivered
    await settle(1);
    expect(dispatched).toEqual([
      { from: SELF, kind: EnvelopeKind.Send, id: 0, topic: 'news', body: Buffer.from('xyz') },
    ]);
    expect(sent).toEqual([]);
  });

  it('drops a message to self when messaging closed before the microtask ran', async () => {
    const { delivery: d, dispatched, close } = delivery();
    d.deliver(SELF, EnvelopeKind.Send, 0, 'news', [Buffer.from('x')]);
    close();
    await settle(1);
    expect(dispatched).toEqual([]);
  });

  it('logs a dispatch to self that throws, and does not throw itself', async () => {
    const { delivery: d, logs } = delivery({
      dispatch: () => {
        throw new Error('dispatch broke');
      },
    });
    expect(() => d.deliver(SELF, EnvelopeKind.Send, 0, 'news', [Buffer.from('x')])).not.toThrow();
    await settle(1);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^warn receive\|a@127\.0\.0\.1 .*dispatch broke/);
  });

  it('checks room with the lower bound of the payload, for peers only, and only when the transport can', () => {
    const { delivery: d, checked } = delivery();
    d.checkRoom(PEER, Buffer.alloc(100));
    d.checkRoom(PEER, { structured: true });
    d.checkRoom(SELF, Buffer.alloc(100));
    expect(checked).toEqual([
      { node: PEER, minBytes: 100 },
      { node: PEER, minBytes: 0 },
    ]);
    const bare = delivery({
      transport: { send: () => undefined, members: () => [PEER] },
    });
    expect(() => bare.delivery.checkRoom(PEER, Buffer.alloc(1))).not.toThrow();
  });

  it('propagates what the transport throws from send and check', () => {
    const refusal = new Error('refused');
    const { delivery: d } = delivery({
      transport: {
        send: () => {
          throw refusal;
        },
        check: () => {
          throw refusal;
        },
        members: () => [PEER],
      },
    });
    expect(() => d.deliver(PEER, EnvelopeKind.Send, 0, 't', [Buffer.from('x')])).toThrow(refusal);
    expect(() => d.checkRoom(PEER, 1)).toThrow(refusal);
  });
});
