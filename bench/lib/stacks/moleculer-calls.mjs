// Moleculer's balanced call over 3 serving brokers (section `calls`): each server broker has the
// `bench.echo` action, a fourth broker calls `broker.call('bench.echo', payload)` with Moleculer's
// default balancer, RoundRobin (registry { strategy: 'RoundRobin', preferLocal: true }: the
// caller has no local endpoint, so every call goes out). The brokers are those of moleculer.mjs
// (TCP transporter, static urls of all four, UDP discovery off, JSON serializer).
import { payloadOf, sleep } from '../common.mjs';
import { createBroker } from './moleculer.mjs';

const url = n => `127.0.0.1:${n.port}/${n.nodeID}`;
const REGISTRY = { strategy: 'RoundRobin', preferLocal: true };

/** One serving broker; `served()` counts the echo calls it answered. */
export async function serveCalls({ nodeID, port, all }) {
  let served = 0;
  const broker = createBroker({ nodeID, port, urls: all.map(url), registry: REGISTRY });
  broker.createService({
    name: 'bench',
    actions: {
      echo: ctx => {
        served++;
        return ctx.params;
      },
    },
  });
  await broker.start();
  return { port, node: nodeID, served: () => served, close: () => broker.stop() };
}

/**
 * The calling broker: started once `bench` is known and the registry lists all `servers`
 * endpoints of `bench.echo` (waitForServices returns after the first one).
 */
export async function connectCalls({ nodeID, port, all, servers, timeoutMs = 30_000 }) {
  const broker = createBroker({ nodeID, port, urls: all.map(url), registry: REGISTRY });
  await broker.start();
  await broker.waitForServices(['bench'], timeoutMs);
  const deadline = performance.now() + timeoutMs;
  const endpoints = () => broker.registry.getActionEndpoints('bench.echo')?.count() ?? 0;
  while (endpoints() < servers) {
    if (performance.now() > deadline)
      throw new Error(
        `moleculer-call: ${endpoints()} of ${servers} echo endpoints after ${timeoutMs} ms`,
      );
    await sleep(20);
  }
  let payload = payloadOf(32);
  return {
    servers: endpoints(),
    prepare(size) {
      payload = payloadOf(size);
    },
    issue(cb) {
      broker.call('bench.echo', payload).then(() => cb(), cb);
    },
    close: () => broker.stop(),
  };
}
