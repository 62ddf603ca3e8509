// Section `memory`: what one more connection costs the accepting node. A hub of ours accepts
// links from many nodes hosted in one other process; its heap and external memory after a full
// GC, before and after, divided by the links.
import { fmt, sleep } from '../lib/common.mjs';
import { startChild, stopAll } from '../lib/procs.mjs';
import { STACK_NAMES } from '../lib/records.mjs';

/** Heap used plus external memory of a `usage` answer. */
const heapAndExternal = usage => usage.mem.heapUsed + usage.mem.external;

/**
 * Runs the `memory` section if it was asked for and our stack is in the run.
 * @param {import('../lib/context.mjs').BenchContext} ctx
 */
export async function run(ctx) {
  if (!ctx.options.sections.has('memory') || !ctx.options.stacks.includes('ours')) return;
  const m = ctx.config.memoryConnections;
  let hub;
  let spokes;
  try {
    hub = await startChild('ours-hub');
    const { port } = await hub.call('node', {
      stack: 'ours',
      name: 'hub@127.0.0.1',
      port: 0,
      peers: [],
    });
    await sleep(300);
    const before = await hub.call('usage', { gc: true });
    spokes = await startChild('ours-spokes');
    await spokes.call('many', { count: m, target: `hub@127.0.0.1:${port}` }, 120_000);
    const linked = await hub.waitEvent(e => e.ev === 'members' && e.n >= m, 30_000);
    if (!linked) throw new Error(`the hub did not see ${m} members`);
    await sleep(500);
    const after = await hub.call('usage', { gc: true });
    const params = { connections: m, side: 'accepting node' };
    const heap = heapAndExternal(after) - heapAndExternal(before);
    ctx.sample('memory-per-connection', 'ours', 'heap_and_external_bytes', 'B', params, heap / m);
    // RSS is left out: after a full GC it moves by more than the links take.
    ctx.progress(
      `memory    ${STACK_NAMES.ours.padEnd(27)} ${m} links  ${fmt(heap / m / 1024, 1)} KiB heap+external per connection (accepting side)`,
    );
  } catch (error) {
    ctx.progress(`memory per connection failed: ${error.message.split('\n')[0]}`);
  } finally {
    await stopAll([spokes, hub], ctx.grace(500));
  }
}
