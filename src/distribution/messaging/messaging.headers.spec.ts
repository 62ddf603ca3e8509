import type { MessageHeaders, MessagingInstrumentation } from '../../core/index.js';
import { A, B, C, MemoryNetwork, settle } from '../../../test/support/messaging-harness.js';
import { until } from '../../../test/support/wait.js';
import { EnvelopeKind, encodeEnvelope } from './envelope.js';
import { encodeHeaders } from './envelope-headers.js';
import type { Messaging } from './messaging.js';

/** Hooks that carry `headers` out and keep what came in, by topic. */
function carrying(headers: MessageHeaders | (() => MessageHeaders)) {
  const received: { topic: string; from: string; headers: MessageHeaders | undefined }[] = [];
  const hooks: MessagingInstrumentation = {
    outgoing: () => ({
      headers: typeof headers === 'function' ? headers() : headers,
      end: () => undefined,
    }),
    incoming: (info, carried) => {
      received.push({ topic: info.topic, from: info.from, headers: carried });
      return undefined;
    },
  };
  return { hooks, received };
}

describe('Messaging headers on the wire', () => {
  let network: MemoryNetwork;
  let a: Messaging;
  let b: Messaging;
  let c: Messaging;

  beforeEach(() => {
    network = new MemoryNetwork();
    // A's links: B announced the headers capability, C did not (an older version).
    a = network.add(A, { transport: { ...network.transport(A), headers: node => node === B } });
    b = network.add(B, { transport: { ...network.transport(B), headers: () => true } });
    c = network.add(C);
  });

  afterEach(() => network.close());

  it('carries headers to a peer that takes them (kinds 6 and 5) and drops them for one that does not (kinds 2 and 1)', async () => {
    const out = carrying({ traceparent: '00-abc-def-01' });
    a.instrument(out.hooks);
    const atB = carrying({});
    const atC = carrying({});
    b.instrument(atB.hooks);
    c.instrument(atC.hooks);
    for (const node of [b, c]) {
      node.on('ask', () => 'answer');
      node.on('note', () => undefined);
    }
    await expect(a.request(B, 'ask', 1)).resolves.toBe('answer');
    await expect(a.request(C, 'ask', 1)).resolves.toBe('answer');
    a.send(B, 'note', 1);
    a.send(C, 'note', 1);
    a.broadcast('note', 2);
    await until(() => atB.received.length === 3 && atC.received.length === 3, 2_000);
    expect(atB.received.map(r => r.headers)).toEqual([
      { traceparent: '00-abc-def-01' },
      { traceparent: '00-abc-def-01' },
      { traceparent: '00-abc-def-01' },
    ]);
    expect(atC.received.map(r => r.headers)).toEqual([undefined, undefined, undefined]);
    const fromA = network.sent.filter(m => m.from === A);
    const toB = fromA.filter(m => m.to === B).map(m => m.envelope);
    const toC = fromA.filter(m => m.to === C).map(m => m.envelope);
    expect(toB.every(e => e.headers !== undefined)).toBe(true);
    expect(toC.every(e => e.headers === undefined)).toBe(true);
    // responses carry none, even from a node whose hooks set headers
    b.instrument(carrying({ other: 'x' }).hooks);
    await a.request(B, 'ask', 1);
    const responses = network.sent.filter(m => m.from === B);
    expect(responses.length).toBeGreaterThan(0);
    expect(responses.every(m => m.envelope.headers === undefined)).toBe(true);
  });

  it('sends a message whose hooks set no header as kind 1 or 2', async () => {
    a.instrument(carrying({}).hooks);
    b.on('ask', () => 'answer');
    await a.request(B, 'ask', 1);
    a.send(B, 'ask', 1);
    const toB = network.sent.filter(m => m.from === A && m.to === B);
    expect(toB).toHaveLength(2);
    expect(toB.every(m => m.envelope.headers === undefined)).toBe(true);
  });

  it('drops headers over a bound, logs it once, and still sends the message', async () => {
    const out = carrying(() => ({ big: 'x'.repeat(5000) }));
    a.instrument(out.hooks);
    const atB = carrying({});
    b.instrument(atB.hooks);
    b.on('ask', () => 'answer');
    await expect(a.request(B, 'ask', 1)).resolves.toBe('answer');
    await expect(a.request(B, 'ask', 2)).resolves.toBe('answer');
    expect(atB.received.map(r => r.headers)).toEqual([undefined, undefined]);
    const dropped = network.logger(A).lines.filter(l => l.message.includes('were dropped'));
    expect(dropped).toHaveLength(1);
    expect(dropped[0].level).toBe('warn');
  });

  it('drops only the headers that break a bound, keeping the trace context, and logs once', async () => {
    const out = carrying(() => ({
      traceparent: '00-abc-def-01',
      baggage: 'x'.repeat(5000),
      Upper: 'v',
      count: 1 as never,
      tracestate: 'k=v',
    }));
    a.instrument(out.hooks);
    const atB = carrying({});
    b.instrument(atB.hooks);
    b.on('ask', () => 'answer');
    b.on('note', () => undefined);
    await expect(a.request(B, 'ask', 1)).resolves.toBe('answer');
    a.send(B, 'note', 1);
    a.broadcast('note', 2, { nodes: [B] });
    await until(() => atB.received.length === 3, 2_000);
    const kept = { traceparent: '00-abc-def-01', tracestate: 'k=v' };
    expect(atB.received.map(r => ({ ...r.headers }))).toEqual([kept, kept, kept]);
    const dropped = network.logger(A).lines.filter(l => l.message.includes('were dropped'));
    expect(dropped).toHaveLength(1);
    expect(dropped[0].level).toBe('warn');
  });

  it('keeps the block within 8 KiB and 16 headers by dropping the last ones', async () => {
    const big = 'x'.repeat(4000);
    let headers: MessageHeaders = { traceparent: 't', one: big, two: big, three: big };
    a.instrument(carrying(() => headers).hooks);
    const atB = carrying({});
    b.instrument(atB.hooks);
    b.on('ask', () => 'answer');
    await a.request(B, 'ask', 1);
    expect({ ...atB.received[0].headers }).toEqual({ traceparent: 't', one: big, two: big });
    const many: Record<string, string> = {};
    for (let index = 0; index < 20; index++) many[`k${index}`] = String(index);
    headers = many;
    await a.request(B, 'ask', 2);
    expect(Object.keys(atB.received[1].headers ?? {})).toEqual(
      Array.from({ length: 16 }, (_, index) => `k${index}`),
    );
  });

  it('refuses malformed headers as a bad envelope when a hook reads them, and reads none without', async () => {
    let handled = 0;
    b.on('note', () => void handled++);
    const bad = Buffer.from([1, 1, 0x4b, 0, 1, 0x76]); // key "K": not lower-case
    const message = Buffer.concat(
      encodeEnvelope(EnvelopeKind.Send, 0, 'note', Buffer.from([0xc0]), bad),
    );
    b.receive(A, message);
    await until(() => handled === 1, 2_000);
    b.instrument(carrying({}).hooks);
    b.receive(A, message);
    await settle();
    expect(handled).toBe(1);
    expect(network.logger(B).has('warn', 'Bad message headers')).toBe(true);
    const good = encodeHeaders({ k: 'v' });
    b.receive(
      A,
      Buffer.concat(encodeEnvelope(EnvelopeKind.Send, 0, 'note', Buffer.from([0xc0]), good)),
    );
    await until(() => handled === 2, 2_000);
  });
});
