import {
  A,
  B,
  C,
  D,
  MemoryNetwork,
  countingCodec,
  settle,
  thrown,
} from '../../../test/support/messaging-harness.js';
import { until } from '../../../test/support/wait.js';
import { QueueFullError } from './messaging.errors.js';

/** A, B, C and D, each recording what its "news" receivers get; A counts its encodes. */
function cluster() {
  const net = new MemoryNetwork();
  const { codec, counts } = countingCodec();
  const a = net.add(A, { codec });
  const got: string[] = [];
  for (const [name, node] of [
    ['a', a],
    ['b', net.add(B, { codec })],
    ['c', net.add(C, { codec })],
    ['d', net.add(D, { codec })],
  ] as const)
    node.subscribe('news', (payload, context) =>
      got.push(`${name} ${String(payload)} from ${context.from}`),
    );
  counts.encodes = 0;
  return { net, a, got, counts };
}

describe('Messaging.broadcast with nodes', () => {
  it('sends to the listed members only, encoding the payload once', async () => {
    const { net, a, got, counts } = cluster();
    try {
      expect(a.broadcast('news', 'hi', { nodes: [B, C, B] })).toBe(2);
      expect(counts.encodes).toBe(1);
      await until(() => got.length === 2, 5_000, 'b and c');
      await settle();
      expect(got.sort()).toEqual([`b hi from ${A}`, `c hi from ${A}`]);
    } finally {
      net.close();
    }
  });

  it('includes this node when listed, delivered locally after the call returns, still one encode', async () => {
    const { net, a, got, counts } = cluster();
    try {
      expect(a.broadcast('news', 'me too', { nodes: [A, D] })).toBe(2);
      expect(got).toEqual([]); // never synchronously inside the call
      expect(counts.encodes).toBe(1);
      await until(() => got.length === 2, 5_000, 'a and d');
      expect(got.sort()).toEqual([`a me too from ${A}`, `d me too from ${A}`]);
      expect(net.sent.filter(sent => sent.to === A)).toEqual([]); // self never reaches the transport
      // only itself: encoded for itself, nothing sent
      got.length = 0;
      expect(a.broadcast('news', 'alone', { nodes: [A] })).toBe(1);
      await until(() => got.length === 1, 5_000, 'a alone');
      expect(got).toEqual([`a alone from ${A}`]);
    } finally {
      net.close();
    }
  });

  it('skips listed nodes that are not connected members; none left encodes nothing', async () => {
    const { net, a, got, counts } = cluster();
    try {
      net.down.add(C);
      expect(a.broadcast('news', 1, { nodes: ['x@10.9.9.9', C, B] })).toBe(1);
      expect(a.broadcast('news', 2, { nodes: ['x@10.9.9.9', C] })).toBe(0);
      expect(a.broadcast('news', 3, { nodes: [] })).toBe(0);
      expect(counts.encodes).toBe(1);
      await until(() => got.length === 1, 5_000, 'b');
      await settle();
      expect(got).toEqual([`b 1 from ${A}`]);
    } finally {
      net.close();
    }
  });

  it('skips and logs a listed member whose transport refuses the message', async () => {
    const { net, a, got } = cluster();
    try {
      net.failure = { from: A, to: B, error: new QueueFullError('queue full', { node: B }) };
      expect(a.broadcast('news', 'x', { nodes: [B, C] })).toBe(1);
      await until(() => got.length === 1, 5_000, 'c');
      expect(got).toEqual([`c x from ${A}`]);
      expect(net.logger(A).has('warn', `not queued for ${B}`)).toBe(true);
    } finally {
      net.close();
    }
  });

  it('without nodes, still reaches every member but itself', async () => {
    const { net, a, got } = cluster();
    try {
      expect(a.broadcast('news', 'all')).toBe(3);
      expect(a.broadcast('news', 'all too', {})).toBe(3);
      await until(() => got.length === 6, 5_000, 'b, c and d twice');
      await settle();
      expect(got.some(line => line.startsWith('a '))).toBe(false);
    } finally {
      net.close();
    }
  });

  it('refuses nodes that are not an array of node names, sending nothing', () => {
    const { net, a, counts } = cluster();
    try {
      for (const nodes of ['b', [B, ''], [B, 7], null])
        expect(thrown(() => a.broadcast('news', 1, { nodes: nodes as never }))).toMatchObject({
          code: 'ERR_INVALID_CONFIG',
          option: 'nodes',
        });
      expect(counts.encodes).toBe(0);
      expect(net.sent).toEqual([]);
    } finally {
      net.close();
    }
  });
});
