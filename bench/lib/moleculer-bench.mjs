// What the Moleculer stacks (TCP and NATS transporters) share: the logger setting, the `bench`
// service a server hosts, and the client measuring it.
import { payloadOf } from './common.mjs';

/** Logger off, unless BENCH_MOLECULER_LOG names a level. */
export const moleculerLogger = () =>
  process.env.BENCH_MOLECULER_LOG
    ? { type: 'Console', options: { level: process.env.BENCH_MOLECULER_LOG } }
    : false;

/** The `bench` service: `echo`, `count` (of the `bench.sink` events received). */
export function createBenchService(broker) {
  let received = 0;
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
}

/**
 * The client of the `bench` service through a started broker (waits for the service). Moleculer
 * has no send-side back-pressure: emits are flow-controlled by a request after every batch
 * (about 1 MiB), so the sender never runs ahead of the receiver by more than that (on NATS,
 * nats-server would otherwise cut the receiver off as a slow consumer).
 */
export async function benchClient(broker) {
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
