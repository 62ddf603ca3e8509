import { MessageTooLargeError, NodeDownError, QueueFullError } from '../../distribution/index.js';
import { NatsPayloadTooLargeError } from '../connection/index.js';
import { NatsTransport, type NatsTransportOptions, type TransportLink } from './nats-transport.js';

/**
 * The transport over a fake link: the cases here (a full client buffer, a publish refused
 * mid-message, routing) cannot be produced on demand by a real server; delivery over a real one
 * is in nats.dist.spec.ts.
 */
function harness(options: Partial<NatsTransportOptions> = {}) {
  const published: [string, string][] = [];
  const sent: string[] = [];
  const link = {
    connected: true,
    pending: 0,
    failAfter: Infinity,
    publish(subject: string, payload: Uint8Array) {
      if (published.length >= this.failAfter) {
        this.connected = false;
        throw new Error('not connected');
      }
      published.push([subject, Buffer.from(payload).toString()]);
    },
    pendingBytes() {
      return this.pending;
    },
  };
  const members = new Map([['a@h', 'inc-a']]);
  const transport = new NatsTransport({
    link: () => link as TransportLink,
    // two payloads per message: to check they go in order on one subject
    writer: { encode: (to, parts) => [Buffer.from(`${to}:1`), Buffer.from(`${parts.join('')}`)] },
    inbox: incarnation => `gc.default.n.${incarnation}`,
    memberIncarnation: node => members.get(node),
    members: () => [...members.keys()],
    maxMessageBytes: 10,
    maxQueueBytes: 20,
    sent: (node, bytes, payloads) => sent.push(`${node} ${bytes} ${payloads}`),
    ...options,
  });
  return { transport, link, published, sent, members };
}

const parts = (text: string) => [Buffer.from(text)];

describe('NatsTransport', () => {
  it("publishes a member's message to its start's inbox, payloads in order", () => {
    const h = harness();
    h.transport.send('a@h', parts('hi'));
    h.transport.send('a@h', parts('there'));
    expect(h.published).toEqual([
      ['gc.default.n.inc-a', 'inc-a:1'],
      ['gc.default.n.inc-a', 'hi'],
      ['gc.default.n.inc-a', 'inc-a:1'],
      ['gc.default.n.inc-a', 'there'],
    ]);
    expect(h.sent).toEqual(['a@h 2 2', 'a@h 5 2']);
  });

  it('refuses an unknown node with NodeDownError naming it', () => {
    const h = harness();
    const send = () => h.transport.send('x@h', parts('hi'));
    expect(send).toThrow(NodeDownError);
    expect(send).toThrow(expect.objectContaining({ node: 'x@h' }));
    expect(() => h.transport.check('x@h', 1)).toThrow(NodeDownError);
    expect(h.published).toEqual([]);
  });

  it('answers a node known only from its verified frames, until that start is forgotten', () => {
    const h = harness();
    h.transport.learn('b@h', 'inc-b');
    h.transport.send('b@h', parts('re'));
    expect(h.published.at(-1)).toEqual(['gc.default.n.inc-b', 're']);
    h.transport.forget('b@h', 'other');
    expect(h.transport.incarnationOf('b@h')).toBe('inc-b');
    h.transport.forget('b@h', 'inc-b');
    expect(() => h.transport.send('b@h', parts('re'))).toThrow(NodeDownError);
  });

  it("prefers a member's tracked start over one learned from frames", () => {
    const h = harness();
    h.transport.learn('a@h', 'inc-old');
    expect(h.transport.incarnationOf('a@h')).toBe('inc-a');
  });

  it('forgets the least recently heard sender at its bound', () => {
    const h = harness({ maxLearned: 2 });
    h.transport.learn('b@h', 'b');
    h.transport.learn('c@h', 'c');
    h.transport.learn('b@h', 'b');
    h.transport.learn('d@h', 'd');
    expect(h.transport.incarnationOf('c@h')).toBeUndefined();
    expect(h.transport.incarnationOf('b@h')).toBe('b');
    expect(h.transport.incarnationOf('d@h')).toBe('d');
  });

  it('refuses every node with NodeDownError while cut off from NATS', () => {
    const h = harness();
    h.link.connected = false;
    expect(() => h.transport.send('a@h', parts('hi'))).toThrow(
      expect.objectContaining({ code: 'ERR_NODE_DOWN', node: 'a@h' }),
    );
    expect(() => h.transport.check('a@h', 1)).toThrow(NodeDownError);
  });

  it('refuses every node before the link is open', () => {
    const h = harness({ link: () => undefined });
    expect(() => h.transport.send('a@h', parts('hi'))).toThrow(NodeDownError);
  });

  it('turns a publish refused mid-message (the link just dropped) into NodeDownError', () => {
    const h = harness();
    h.link.failAfter = 1;
    expect(() => h.transport.send('a@h', parts('hi'))).toThrow(NodeDownError);
    expect(h.sent).toEqual([]);
  });

  it('passes on a publish failure while connected (not a transport condition)', () => {
    const h = harness();
    h.link.publish = () => {
      throw new TypeError('bug');
    };
    expect(() => h.transport.send('a@h', parts('hi'))).toThrow(TypeError);
  });

  it('refuses a message over maxMessageBytes, before and at send', () => {
    const h = harness();
    expect(() => h.transport.check('a@h', 11)).toThrow(MessageTooLargeError);
    expect(() => h.transport.send('a@h', [Buffer.alloc(6), Buffer.alloc(5)])).toThrow(
      expect.objectContaining({ code: 'ERR_MESSAGE_TOO_LARGE', bytes: 11, limit: 10 }),
    );
    expect(() => h.transport.check('a@h', 10)).not.toThrow();
  });

  it('refuses with QueueFullError while the client holds too much unsent', () => {
    const h = harness();
    h.link.pending = 15;
    expect(() => h.transport.send('a@h', parts('123456'))).toThrow(QueueFullError);
    expect(() => h.transport.check('a@h', 5)).not.toThrow();
    h.link.pending = 0;
    expect(() => h.transport.send('a@h', parts('123456'))).not.toThrow();
  });

  it('works with a link that cannot tell its unsent bytes', () => {
    const h = harness();
    const { pendingBytes: _, ...plain } = h.link;
    const transport = new NatsTransport({
      link: () => plain as TransportLink,
      writer: { encode: (_to, p) => [...p] },
      inbox: i => i,
      memberIncarnation: () => 'i',
      members: () => ['a@h'],
      maxMessageBytes: 10,
      maxQueueBytes: 10,
    });
    expect(() => transport.send('a@h', parts('x'))).not.toThrow();
  });

  it('lists the members and takes headers', () => {
    const h = harness();
    expect(h.transport.members()).toEqual(['a@h']);
    expect(h.transport.headers()).toBe(true);
  });

  it('cuts a message again once when the server refuses a payload as too large, then gives up as node down', () => {
    let tooLarge = 1;
    let encodes = 0;
    const published: string[] = [];
    const link = {
      connected: true,
      publish(_subject: string, payload: Uint8Array) {
        if (tooLarge-- > 0)
          throw new NatsPayloadTooLargeError('too large', { bytes: payload.length, maxPayload: 1 });
        published.push(Buffer.from(payload).toString());
      },
    };
    const h = harness({
      link: () => link,
      writer: { encode: (_to, p) => (encodes++, [Buffer.concat(p)]) },
    });
    h.transport.send('a@h', parts('hi'));
    expect(encodes).toBe(2);
    expect(published).toEqual(['hi']);
    tooLarge = 2;
    expect(() => h.transport.send('a@h', parts('hi'))).toThrow(NodeDownError);
  });
});
