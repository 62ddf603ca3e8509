import { stopAll } from './nodes.js';
import { type FloodResult, type PayloadNode, startPayloadNodes } from './payload-nodes.js';

/** Size of each message of the flood. */
const MIB = 32;

/**
 * Issue 12, large messages (scenario 10), with three real processes: A sends `count` Buffers of
 * 32 MiB to B as requests, 2 in flight, while C is connected to both. Binary payloads pass
 * through the codec without being copied or scanned, so no node's event loop is held long enough
 * for a false nodeDown: every message is delivered and no node sees one. The longest event-loop
 * delay of each node is printed (figures for the docs come from `npm run bench` on a quiet
 * machine). `npm test` runs 20 messages (test/e2e/large-messages), the soak the full 100
 * (test/soak/large-messages).
 */
export function describeLargeMessageFlood(count: number, hosts: readonly string[]): void {
  describe('a flood of large binary messages across three processes', () => {
    let a: PayloadNode;
    let b: PayloadNode;
    let c: PayloadNode;

    beforeAll(async () => {
      [a, b, c] = await startPayloadNodes('flood', [...hosts]);
    }, 60_000);
    afterAll(stopAll);

    it(`delivers ${count} × ${MIB} MiB from A to B with 2 in flight, without a nodeDown on any node`, async () => {
      const flood = await a.get<FloodResult>(
        `/flood?to=${b.name}&count=${count}&mib=${MIB}&inflight=2`,
        300_000,
      );
      const states = await Promise.all([a, b, c].map(node => node.state()));
      process.stdout.write(
        `large-messages flood: ${count} × ${MIB} MiB in ${Math.round(flood.ms)} ms; longest event-loop delay A ${states[0]!.maxLoopDelayMs} ms, B ${states[1]!.maxLoopDelayMs} ms, C ${states[2]!.maxLoopDelayMs} ms\n`,
      );
      expect(flood).toMatchObject({ ok: count, errors: 0 });
      expect(states[1]).toMatchObject({ big: count, bigBytes: count * MIB * 1024 * 1024 });
      for (const state of states) expect(state.downs).toEqual({});
      for (const node of [a, b, c]) {
        expect(node.process.exitCode).toBeUndefined();
        expect(await node.process.members()).toHaveLength(2);
      }
    }, 300_000);
  });
}
