/**
 * Joining a real node (TCP on loopback, in this process) whose `$gc.sys.info` answer is malformed:
 * the CLI joins anyway, and a join that fails after the node started stops it.
 */
import { jest } from '@jest/globals';
import { GenCluster, type MessageHandler, type MessagingDistStrategy } from '../core/index.js';
import { createCluster } from '../config/index.js';
import { SYSTEM_TOPICS } from '../primitives/index.js';
import { JoinedCluster, joinCluster } from './join.js';

jest.setTimeout(30_000);

const COOKIE = 'join-spec-cookie-0123456789';
const A = 'a@127.0.0.1';

/** A node answering `$gc.sys.info` with `answer`; returns it and its seed. */
async function nodeAnswering(answer: unknown): Promise<{ cluster: GenCluster; seed: string }> {
  const cluster = createCluster({
    node: A,
    discovery: { strategy: 'static', nodes: [] },
    dist: { strategy: 'tcp', port: 0, portMapper: false, cookie: COOKIE, bind: '127.0.0.1' },
    logger: { log: () => undefined, warn: () => undefined, error: () => undefined },
  });
  const dist = cluster.strategies.dist as MessagingDistStrategy & { port: number | null };
  const on = dist.messaging.on.bind(dist.messaging) as (
    topic: string,
    handler: MessageHandler,
    options: { internal: boolean },
  ) => () => void;
  on(SYSTEM_TOPICS.info, () => answer, { internal: true });
  await cluster.start();
  return { cluster, seed: `${A}:${dist.port!}` };
}

const join = (seed: string) =>
  joinCluster({ seeds: [seed], timeoutMs: 3_000, env: { GEN_CLUSTER_COOKIE: COOKIE }, pid: 1 });

describe('joinCluster against a node with a malformed info answer', () => {
  let node: GenCluster | undefined;
  afterEach(async () => {
    jest.restoreAllMocks();
    await node?.stop();
    node = undefined;
  });

  it.each([
    ['peers not a list', { peers: 'b@127.0.0.1' }],
    ['a null peer', { peers: [null] }],
    ['a peer with a bad name', { peers: [{ node: 'no host' }] }],
    ['no info at all', null],
  ])('joins anyway: %s', async (_title, answer) => {
    const started = await nodeAnswering(answer);
    node = started.cluster;
    const joined = await join(started.seed);
    try {
      expect(joined.members()).toEqual([A]);
    } finally {
      await joined.leave();
    }
  });

  it('stops its node when the expansion after joining fails', async () => {
    const started = await nodeAnswering({ peers: [] });
    node = started.cluster;
    jest.spyOn(JoinedCluster.prototype, 'expand').mockRejectedValueOnce(new Error('expand failed'));
    const stop = jest.spyOn(GenCluster.prototype, 'stop');
    await expect(join(started.seed)).rejects.toThrow('expand failed');
    expect(stop).toHaveBeenCalledTimes(1);
    expect(stop.mock.contexts[0]).not.toBe(node);
  });
});
