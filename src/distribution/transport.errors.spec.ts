import { jest } from '@jest/globals';
import { until } from '../../test/support/wait.js';
import { type ClusterLogger, type DiscoveryStrategy, GenCluster } from '../core/index.js';
import { TcpDist, type TcpDistOptions, createPayloadCodec } from './index.js';
import { MessageTooLargeError, NodeDownError, QueueFullError } from './transport.errors.js';
import { TransportMessages } from './transport.messages.js';

/** A discovery that always answers `peers`. */
const fixed = (peers: string[]): DiscoveryStrategy => ({ name: 'fixed', peers: () => peers });

const silent: ClusterLogger = {
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

describe('transport errors', () => {
  it('keep their code, node, topic and cause', () => {
    const cause = new Error('socket closed');
    const down = new NodeDownError(TransportMessages.nodeDown('b@h', 'sum'), {
      node: 'b@h',
      topic: 'sum',
      cause,
    });
    expect(down).toMatchObject({ name: 'NodeDownError', code: 'ERR_NODE_DOWN', node: 'b@h' });
    expect(down.topic).toBe('sum');
    expect(down.cause).toBe(cause);
    expect(down.message).toContain('"sum"');
    const full = new QueueFullError(TransportMessages.queueFull('b@h'), { node: 'b@h' });
    expect(full).toMatchObject({ name: 'QueueFullError', code: 'ERR_QUEUE_FULL', node: 'b@h' });
    const large = new MessageTooLargeError(TransportMessages.messageTooLarge('b@h', 10, 5), {
      node: 'b@h',
      bytes: 10,
      limit: 5,
    });
    expect(large).toMatchObject({
      name: 'MessageTooLargeError',
      code: 'ERR_MESSAGE_TOO_LARGE',
      node: 'b@h',
      bytes: 10,
      limit: 5,
    });
  });

  it('say whether retrying can help: back-pressure and a node down yes, too large never', () => {
    expect(new QueueFullError('full').retryable).toBe(true);
    expect(new NodeDownError('down', { node: 'b@h' }).retryable).toBe(true);
    expect(new MessageTooLargeError('big', { node: 'b@h', bytes: 2, limit: 1 }).retryable).toBe(
      false,
    );
  });

  // Regression: the TCP dist threw NodeDownError without `node` for a node that is not connected,
  // so users got `node: undefined`.
  describe('from the TCP dist', () => {
    const clusters: GenCluster[] = [];
    afterEach(async () => {
      await Promise.all(clusters.splice(0).map(cluster => cluster.stop()));
    });

    async function start(
      name: string,
      peers: string[] = [],
      options: TcpDistOptions = {},
    ): Promise<TcpDist> {
      const dist = new TcpDist({
        cookie: 'transport-errors-spec',
        portMapper: false,
        heartbeatMs: 200,
        failureTimeoutMs: 1_000,
        ...options,
      });
      const cluster = new GenCluster({
        node: `${name}@127.0.0.1`,
        discovery: fixed(peers),
        dist,
        logger: silent,
        refreshIntervalMs: 200,
      });
      clusters.push(cluster);
      await cluster.start();
      return dist;
    }

    it('names the node that is not connected, on send and on request', async () => {
      const a = await start('a');
      const ghost = 'ghost@127.0.0.1';
      let sent: unknown;
      try {
        a.messaging.send(ghost, 't', 1);
      } catch (error) {
        sent = error;
      }
      expect(sent).toBeInstanceOf(NodeDownError);
      expect(sent).toMatchObject({ code: 'ERR_NODE_DOWN', node: ghost });
      const requested = await a.messaging.request(ghost, 't', 1).catch((error: unknown) => error);
      expect(requested).toBeInstanceOf(NodeDownError);
      expect(requested).toMatchObject({ code: 'ERR_NODE_DOWN', node: ghost });
    });

    it('names the node and the topic of a request pending when its node goes down', async () => {
      const b = await start('b');
      const a = await start('a', [`b@127.0.0.1:${b.port}`]);
      b.messaging.on('slow', () => new Promise(() => undefined));
      await until(() => a.members().length === 1, 5_000, 'a link to b');
      const pending = a.messaging
        .request('b@127.0.0.1', 'slow', 1, { timeoutMs: 30_000 })
        .catch((error: unknown) => error);
      await clusters[0].stop();
      const error = await pending;
      expect(error).toBeInstanceOf(NodeDownError);
      expect(error).toMatchObject({ code: 'ERR_NODE_DOWN', node: 'b@127.0.0.1', topic: 'slow' });
    });

    it('refuses a message over maxMessageBytes as ERR_MESSAGE_TOO_LARGE, a binary one unencoded', async () => {
      const limit = 64 * 1024;
      const b = await start('b', [], { maxMessageBytes: limit });
      const codec = createPayloadCodec('msgpack');
      const a = await start('a', [`b@127.0.0.1:${b.port}`], { maxMessageBytes: limit, codec });
      const got: number[] = [];
      b.messaging.on<Buffer>('bytes', payload => {
        got.push(payload.length);
      });
      await until(() => a.members().length === 1, 5_000, 'a link to b');
      const encode = jest.spyOn(codec, 'encode');
      const node = 'b@127.0.0.1';
      const refusals: unknown[] = [];
      for (const payload of [Buffer.alloc(limit + 1), { text: 'x'.repeat(limit) }]) {
        try {
          a.messaging.send(node, 'bytes', payload);
        } catch (error) {
          refusals.push(error);
        }
      }
      expect(refusals).toHaveLength(2);
      for (const error of refusals) {
        expect(error).toBeInstanceOf(MessageTooLargeError);
        expect(error).toMatchObject({
          code: 'ERR_MESSAGE_TOO_LARGE',
          retryable: false,
          node,
          limit,
        });
      }
      expect(refusals[0]).toMatchObject({ bytes: limit + 1 });
      // The Buffer was refused on its size alone; only the structured payload was encoded.
      expect(encode).toHaveBeenCalledTimes(1);
      const requested = await a.messaging
        .request(node, 'bytes', Buffer.alloc(limit + 1))
        .catch((error: unknown) => error);
      expect(requested).toMatchObject({ code: 'ERR_MESSAGE_TOO_LARGE', retryable: false });
      expect(encode).toHaveBeenCalledTimes(1);
      // The link is unharmed: a message within the limit still goes through.
      a.messaging.send(node, 'bytes', Buffer.alloc(1_000));
      await until(() => got.length === 1, 5_000, 'the small message at b');
      expect(got).toEqual([1_000]);
    });
  });
});
