// Section `broadcast`: one node of a cluster of ours broadcasts to every other as fast as it can;
// counted as deliveries (messages received by all peers) per second. No other stack has the
// same operation, so only ours runs.
import { fmt, sizeLabel } from '../lib/common.mjs';
import { startCluster } from '../lib/cluster.mjs';
import { MAX_COUNT } from '../lib/options.mjs';
import { stopAll } from '../lib/procs.mjs';
import { STACK_NAMES } from '../lib/records.mjs';

/**
 * Runs the `broadcast` section if it was asked for and our stack is in the run.
 * @param {import('../lib/context.mjs').BenchContext} ctx
 */
export async function run(ctx) {
  if (!ctx.options.sections.has('broadcast') || !ctx.options.stacks.includes('ours')) return;
  const { config } = ctx;
  const n = config.broadcastNodes;
  let cluster;
  try {
    cluster = await startCluster(ctx, 'ours', n, 0);
    if (!cluster.ok) throw new Error('the cluster did not form');
    const sender = cluster.nodes[0];
    for (const size of config.broadcastSizes) {
      for (let rep = 0; rep < config.reps; rep++) {
        const r = await sender.call(
          'broadcast',
          { size, ms: config.cellMs, maxCount: MAX_COUNT, expect: n - 1 },
          config.cellMs + 120_000,
        );
        const params = { nodes: n, receivers: r.receivers, payloadBytes: size };
        const deliveries = (r.deliveries / r.elapsedMs) * 1000;
        ctx.sample('broadcast', 'ours', 'deliveries_per_s', '1/s', params, deliveries);
        ctx.sample(
          'broadcast',
          'ours',
          'broadcasts_per_s',
          '1/s',
          params,
          deliveries / r.receivers,
        );
        ctx.progress(
          `broadcast ${STACK_NAMES.ours.padEnd(27)} to ${r.receivers} peers ${sizeLabel(size).padStart(6)}  rep ${rep + 1}/${config.reps}  ${fmt(deliveries, 0)} deliveries/s  (${fmt(deliveries / r.receivers, 0)} broadcasts/s)`,
        );
      }
    }
  } catch (error) {
    ctx.progress(`broadcast failed: ${error.message.split('\n')[0]}`);
  } finally {
    await stopAll(cluster?.nodes ?? [], ctx.grace(300));
  }
}
