// Moleculer (devDependency) with its TCP transporter, configured for its best loopback showing:
//   transporter: TCP, udpDiscovery: false (no UDP at all), static `urls` of 127.0.0.1:port/nodeID
//   for every node, useHostname: false (peers are dialled on the address they were listed with),
//   gossipPeriod: 1 (its minimum, 1 s; the default is 2 s), maxConnections: 64.
//   Each broker announces ipList ['127.0.0.1'] (it would announce every interface address).
//   Serializer: JSON (its default), logger off, metrics and tracing off (defaults),
//   requestTimeout 10 s (its default is 0: wait forever). Heartbeats: the TCP transporter turns
//   Moleculer's heartbeat checks off, so nothing is configurable for hang detection.
import { createRequire } from 'node:module';
import { now } from '../common.mjs';
import { benchClient, createBenchService, moleculerLogger } from '../moleculer-bench.mjs';

const require = createRequire(import.meta.url);
const { ServiceBroker } = require('moleculer');

export function createBroker({ nodeID, port, urls, registry }) {
  const broker = new ServiceBroker({
    ...(registry ? { registry } : {}),
    nodeID,
    namespace: 'bench',
    logger: moleculerLogger(),
    requestTimeout: 10_000,
    transporter: {
      type: 'TCP',
      options: {
        port,
        urls,
        udpDiscovery: false,
        useHostname: false,
        gossipPeriod: 1,
        maxConnections: 64,
      },
    },
  });
  // A node announces its interfaces' addresses (ipList) in its INFO, and peers dial ipList[0]
  // when they reconnect: announce loopback only, or Moleculer dials the machine's LAN address
  // (the loopback guard caught it doing so).
  broker.registry.nodes.localNode.ipList = ['127.0.0.1'];
  broker.registry.nodes.localNode.hostname = '127.0.0.1';
  return broker;
}

const url = (port, nodeID) => `127.0.0.1:${port}/${nodeID}`;

/** One broker of a cluster; `report` gets membership and disconnect events. */
export async function startNode({ nodeID, port, all }, report) {
  const broker = createBroker({ nodeID, port, urls: all.map(n => url(n.port, n.nodeID)) });
  const seen = new Set();
  broker.localBus.on('$node.connected', ({ node }) => {
    if (node.id === nodeID) return;
    seen.add(node.id);
    report?.({ ev: 'members', t: now(), n: seen.size });
  });
  broker.localBus.on('$node.disconnected', ({ node, unexpected }) => {
    if (!seen.delete(node.id)) return;
    report?.({
      ev: 'down',
      t: now(),
      node: node.id,
      reason: unexpected ? 'unexpected' : 'disconnected',
    });
    report?.({ ev: 'members', t: now(), n: seen.size });
  });
  await broker.start();
  return { broker };
}

export async function serve({ port, peerPort }) {
  const broker = createBroker({
    nodeID: 'msrv',
    port,
    urls: [url(port, 'msrv'), url(peerPort, 'mcli')],
  });
  createBenchService(broker);
  await broker.start();
  return { port };
}

export async function connect({ port, peerPort }) {
  const broker = createBroker({
    nodeID: 'mcli',
    port,
    urls: [url(port, 'mcli'), url(peerPort, 'msrv')],
  });
  await broker.start();
  return benchClient(broker);
}
