import { stopAll } from '../support/nodes.js';
import { type FloodResult, type PayloadNode, startPayloadNodes } from '../support/payload-nodes.js';

/**
 * Issue 12, large messages (scenario 10), with three real processes: A sends 100 Buffers of
 * 32 MiB to B as requests, 2 in flight, while C is connected to both. Binary payloads pass
 * through the codec without being copied or scanned, so no node's event loop is held long enough
 * for a false nodeDown: every message is delivered and no node sees one. The longest event-loop
 * delay of each node is printed (figures for the docs come from `npm run bench` on a quiet
 * machine).
 */
const COUNT = 100;
const MIB = 32;

describe('a flood of large binary messages across three processes', () => {
  let a: PayloadNode;
  let b: PayloadNode;
  let c: PayloadNode;

  beforeAll(async () => {
    [a, b, c] = await startPayloadNodes('flood', ['127.0.0.31', '127.0.0.32', '127.0.0.33']);
  }, 60_000);
  afterAll(stopAll);

  it(`delivers ${COUNT} × ${MIB} MiB from A to B with 2 in flight, without a nodeDown on any node`, async () => {
    const flood = await a.get<FloodResult>(
      `/flood?to=${b.name}&count=${COUNT}&mib=${MIB}&inflight=2`,
      300_000,
    );
    const states = await Promise.all([a, b, c].map(node => node.state()));
    process.stdout.write(
      `large-messages flood: ${COUNT} × ${MIB} MiB in ${Math.round(flood.ms)} ms; longest event-loop delay A ${states[0]!.maxLoopDelayMs} ms, B ${states[1]!.maxLoopDelayMs} ms, C ${states[2]!.maxLoopDelayMs} ms\n`,
    );
    expect(flood).toMatchObject({ ok: COUNT, errors: 0 });
    expect(states[1]).toMatchObject({ big: COUNT, bigBytes: COUNT * MIB * 1024 * 1024 });
    for (const state of states) expect(state.downs).toEqual({});
    for (const node of [a, b, c]) {
      expect(node.process.exitCode).toBeUndefined();
      expect(await node.process.members()).toHaveLength(2);
    }
  }, 300_000);
});
