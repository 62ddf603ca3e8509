// Moleculer (devDependency) with its NATS transporter, on the benchmark's nats-server (the same
// one as gen-cluster's NATS dist in the run): transporter `nats://127.0.0.1:<port>` through the
// `nats` 2.x client (devDependency), Moleculer's defaults otherwise: its own balancer (requests
// go to the chosen node's subject `MOL-bench.REQ.<nodeID>`, no NATS queue groups), JSON
// serializer, heartbeats every 10 s, logger off, metrics and tracing off; requestTimeout 10 s
// (its default is 0: wait forever). One broker per process, as with the TCP transporter.
import { createRequire } from 'node:module';
import { benchClient, createBenchService, moleculerLogger } from '../moleculer-bench.mjs';

const require = createRequire(import.meta.url);
const { ServiceBroker } = require('moleculer');

export function createBroker({ nodeID, natsUrl }) {
  if (!natsUrl) throw new Error('moleculer-nats: no natsUrl (the run starts nats-server)');
  return new ServiceBroker({
    nodeID,
    namespace: 'bench',
    logger: moleculerLogger(),
    requestTimeout: 10_000,
    transporter: natsUrl,
  });
}

export async function serve({ natsUrl }) {
  const broker = createBroker({ nodeID: 'mnsrv', natsUrl });
  createBenchService(broker);
  await broker.start();
  return { node: 'mnsrv' };
}

export async function connect({ natsUrl }) {
  const broker = createBroker({ nodeID: 'mncli', natsUrl });
  await broker.start();
  return benchClient(broker);
}
