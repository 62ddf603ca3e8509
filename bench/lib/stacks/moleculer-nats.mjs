// Moleculer (devDependency) with its NATS transporter, on the benchmark's nats-server (the same
// one as gen-cluster's NATS dist in the run): transporter `nats://127.0.0.1:<port>` through the
// `nats` 2.x client (devDependency), Moleculer's defaults otherwise: its own balancer (requests
// go to the chosen node's subject `MOL-bench.REQ.<nodeID>`, no NATS queue groups), JSON
// serializer, heartbeats every 10 s, logger off, metrics and tracing off; requestTimeout 10 s
// (its default is 0: wait forever). One broker per process, as with the TCP transporter.
import { createRequire } from 'node:module';
import { payloadOf } from '../common.mjs';

const require = createRequire(import.meta.url);
const { ServiceBroker } = require('moleculer');

export function createBroker({ nodeID, natsUrl }) {
  if (!natsUrl) throw new Error('moleculer-nats: no natsUrl (the run starts nats-server)');
  return new ServiceBroker({
    nodeID,
    namespace: 'bench',
    logger: process.env.BENCH_MOLECULER_LOG
      ? { type: 'Console', options: { level: process.env.BENCH_MOLECULER_LOG } }
      : false,
    requestTimeout: 10_000,
    transporter: natsUrl,
  });
}

export async function serve({ natsUrl }) {
  let received = 0;
  const broker = createBroker({ nodeID: 'mnsrv', natsUrl });
  broker.createService({
    name: 'bench',
    actions: {
      echo: ctx => ctx.params,
      count: () => received,
    },
    events: {
      'bench.sink'() {
        received++;
      },
    },
  });
  await broker.start();
  return { node: 'mnsrv' };
}

export async function connect({ natsUrl }) {
  const broker = createBroker({ nodeID: 'mncli', natsUrl });
  await broker.start();
  await broker.waitForServices(['bench'], 20_000);
  let payload = payloadOf(32);
  const client = {
    prepare(size) {
      payload = payloadOf(size);
    },
    issue(cb) {
      broker.call('bench.echo', payload).then(() => cb(), cb);
    },
    barrier: () => broker.call('bench.count', null, { timeout: 60_000 }),
    /**
     * As with the TCP transporter: emits flow-controlled by a request after every batch (about
     * 1 MiB), so the sender never runs ahead of the receiver by more than that (nats-server
     * would otherwise cut the receiver off as a slow consumer).
     */
    async oneway(ms, maxCount, size) {
      const batch = Math.min(4096, Math.max(16, Math.floor((1024 * 1024) / size)));
      const end = performance.now() + ms;
      let sent = 0;
      while (sent < maxCount && performance.now() < end) {
        for (let i = 0; i < batch && sent < maxCount; i++, sent++) {
          const p = broker.emit('bench.sink', payload);
          if (p && typeof p.catch === 'function') p.catch(() => undefined);
        }
        await client.barrier();
      }
      return sent;
    },
    close: () => broker.stop(),
  };
  return client;
}
