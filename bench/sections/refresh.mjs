// Section `refresh`: the cost of one discovery refresh as the discovered set grows, in one
// process of ours with an in-process dist that connects at once. For each size: the first
// refresh (which connects every peer), then the median of steady refreshes (nothing changes).
import { fmt, summarize } from '../lib/common.mjs';
import { startChild, stopAll } from '../lib/procs.mjs';

/**
 * Runs the `refresh` section if it was asked for and our stack is in the run.
 * @param {import('../lib/context.mjs').BenchContext} ctx
 */
export async function run(ctx) {
  if (!ctx.options.sections.has('refresh') || !ctx.options.stacks.includes('ours')) return;
  const limitMs = ctx.options.refreshLimitMs;
  let child;
  try {
    child = await startChild('ours-refresh');
    const call = child.call(
      'refreshScale',
      {
        sizes: ctx.config.refreshSizes,
        steadyReps: ctx.config.refreshSteadyReps,
        timeoutMs: limitMs,
      },
      limitMs + 30_000,
    );
    const seen = new Set();
    const onEvent = e => {
      if (e.ev !== 'refresh' || seen.has(e.size)) return;
      seen.add(e.size);
      const params = { peers: e.size, dist: 'instant connect (in-process)' };
      const first = ctx.sample(
        'refresh',
        'ours',
        'first_refresh_connect_all_ms',
        'ms',
        params,
        e.firstMs,
      );
      if (e.timedOut) first.notes.push(`not done within ${limitMs / 1000} s`);
      const steady = summarize(e.steady);
      const s = ctx.sample('refresh', 'ours', 'steady_refresh_ms', 'ms', params, steady.median);
      s.range = steady;
      ctx.progress(
        `refresh   ${String(e.size).padStart(6)} peers  first (connect all) ${e.timedOut ? `> ${limitMs / 1000} s` : `${fmt(e.firstMs, 1)} ms`}  steady ${fmt(steady.median, 2)} ms`,
      );
    };
    child.listeners.add(onEvent);
    for (const e of child.events) onEvent(e);
    await call.catch(error => ctx.progress(`refresh: ${error.message.split('\n')[0]}`));
  } finally {
    await stopAll([child], ctx.grace(300));
  }
}
