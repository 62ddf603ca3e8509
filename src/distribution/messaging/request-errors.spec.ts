import { A, B, MemoryNetwork, rejection, thrown } from '../../../test/support/messaging-harness.js';
import { MessageTooLargeError, NodeDownError, QueueFullError } from '../transport.errors.js';
import { PayloadError, TooManyRequestsError } from './messaging.errors.js';
import { withRequest } from './request-errors.js';

describe('errors of a refused send or request name node and topic', () => {
  let net: MemoryNetwork;
  beforeEach(() => {
    net = new MemoryNetwork();
  });
  afterEach(() => net.close());

  it('QueueFullError from the transport, on send and request', async () => {
    const a = net.add(A);
    net.add(B);
    const full = new QueueFullError('queue full');
    net.failure = { from: A, to: B, error: full };
    for (const error of [
      thrown(() => a.send(B, 'orders', 1)),
      await rejection(a.request(B, 'orders', 1)),
    ]) {
      expect(error).toBeInstanceOf(QueueFullError);
      expect(error).toMatchObject({
        code: 'ERR_QUEUE_FULL',
        message: 'queue full',
        node: B,
        topic: 'orders',
        retryable: true,
      });
      expect(error.cause).toBe(full);
    }
    expect(a.pendingRequests).toBe(0);
  });

  it('NodeDownError for a node that is not connected, on send and request', async () => {
    const a = net.add(A);
    for (const error of [
      thrown(() => a.send(B, 'orders', 1)),
      await rejection(a.request(B, 'orders', 1)),
    ]) {
      expect(error).toBeInstanceOf(NodeDownError);
      expect(error).toMatchObject({ code: 'ERR_NODE_DOWN', node: B, topic: 'orders' });
      expect(error.cause).toBeInstanceOf(NodeDownError);
    }
  });

  it('PayloadError for a payload that cannot be encoded, on send and request', async () => {
    const a = net.add(A);
    net.add(B);
    for (const error of [
      thrown(() => a.send(B, 'orders', { f: () => 1 })),
      await rejection(a.request(B, 'orders', { f: () => 1 })),
    ]) {
      expect(error).toBeInstanceOf(PayloadError);
      expect(error).toMatchObject({
        code: 'ERR_PAYLOAD_ENCODE',
        node: B,
        topic: 'orders',
        retryable: false,
      });
      expect(error.cause).toBeInstanceOf(PayloadError);
    }
  });

  it('MessageTooLargeError from the transport check, before encoding', () => {
    const a = net.add(A, {
      transport: {
        ...net.transport(A),
        check: (node, bytes) => {
          throw new MessageTooLargeError('too large', { node, bytes, limit: 10 });
        },
      },
    });
    net.add(B);
    const error = thrown(() => a.send(B, 'blobs', Buffer.alloc(100)));
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect(error).toMatchObject({ node: B, topic: 'blobs', limit: 10, retryable: false });
    expect((error as MessageTooLargeError).bytes).toBeGreaterThanOrEqual(100);
  });

  it('TooManyRequestsError on request', async () => {
    const a = net.add(A, { maxPendingRequests: 1 });
    net.add(B).on('slow', () => new Promise(() => undefined));
    void a.request(B, 'slow', 1, { timeoutMs: 60_000 }).catch(() => undefined);
    const error = await rejection(a.request(B, 'slow', 2));
    expect(error).toBeInstanceOf(TooManyRequestsError);
    expect(error).toMatchObject({
      code: 'ERR_TOO_MANY_REQUESTS',
      limit: 1,
      node: B,
      topic: 'slow',
    });
  });

  describe('withRequest', () => {
    it('returns an error that already names its topic, and other values, as they are', () => {
      const pending = new NodeDownError('down', { node: B, topic: 'x' });
      expect(withRequest(pending, B, 'y')).toBe(pending);
      const plain = new Error('plain');
      expect(withRequest(plain, B, 'y')).toBe(plain);
      expect(withRequest('text', B, 'y')).toBe('text');
    });

    it('keeps a payload error’s size details', () => {
      const large = new PayloadError('large', {
        code: 'ERR_PAYLOAD_TOO_LARGE',
        bytes: 9,
        limit: 8,
      });
      expect(withRequest(large, B, 't')).toMatchObject({
        code: 'ERR_PAYLOAD_TOO_LARGE',
        bytes: 9,
        limit: 8,
        node: B,
        topic: 't',
        cause: large,
      });
    });
  });
});
