// This library on its NATS dist, as an application uses it without Nest: a GenCluster whose
// discovery is the NATS dist's own presence (dist.discovery()), on the benchmark's nats-server
// (the same one as Moleculer's NATS transporter in the run), imported from the build (dist/src,
// or BENCH_DIST). Defaults unless stated: msgpack payloads, HMAC on every message, heartbeat
// 1 s, failure timeout 5 s.
import { distUrl, messagingClient } from '../common.mjs';
import { natsDistClass } from '../nats-dist.mjs';
import { COOKIE, quiet } from './ours.mjs';

const { GenCluster } = await import(distUrl('index.js'));
const NatsDist = await natsDistClass();

const SERVER = 'nsrv@127.0.0.1';

async function startNode({ name, natsUrl }) {
  if (!natsUrl) throw new Error('ours-nats: no natsUrl (the run starts nats-server)');
  // BENCH_NATS_MESSAGE_AUTH=none: the dist's messageAuth option, to see what the HMAC costs
  const messageAuth = process.env.BENCH_NATS_MESSAGE_AUTH;
  const dist = new NatsDist({
    servers: natsUrl,
    cookie: COOKIE,
    ...(messageAuth ? { messageAuth } : {}),
  });
  const cluster = new GenCluster({
    node: name,
    discovery: dist.discovery(),
    dist,
    logger: quiet(name),
  });
  await cluster.start();
  let received = 0;
  dist.messaging.on('echo', p => p);
  dist.messaging.on('sink', () => {
    received++;
  });
  dist.messaging.on('count', () => received);
  return { cluster, dist };
}

export async function serve({ natsUrl }) {
  await startNode({ name: SERVER, natsUrl });
  return { node: SERVER };
}

export async function connect({ natsUrl }) {
  const node = await startNode({ name: 'ncli@127.0.0.1', natsUrl });
  await node.cluster.waitForMembers(1, { timeoutMs: 15_000 });
  const messaging = node.dist.messaging;
  const client = messagingClient(messaging, SERVER, () => node.cluster.stop());
  let payload;
  const prepare = client.prepare;
  client.prepare = size => {
    prepare(size);
    payload = { d: 'x'.repeat(size) };
  };
  /**
   * The same flow control as Moleculer's NATS stack (a request after every batch of about
   * 1 MiB), so that both NATS stacks are measured alike and neither receiver is cut off by
   * nats-server as a slow consumer; a full queue (ERR_QUEUE_FULL) makes it wait for the batch.
   */
  client.oneway = async (ms, maxCount, size) => {
    const batch = Math.min(4096, Math.max(16, Math.floor((1024 * 1024) / size)));
    const end = performance.now() + ms;
    let sent = 0;
    while (sent < maxCount && performance.now() < end) {
      try {
        for (let i = 0; i < batch && sent < maxCount; i++) {
          messaging.send(SERVER, 'sink', payload);
          sent++;
        }
      } catch (error) {
        if (error?.code !== 'ERR_QUEUE_FULL') throw error;
      }
      await client.barrier();
    }
    return sent;
  };
  return client;
}
