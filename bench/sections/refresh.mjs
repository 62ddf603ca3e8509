// Section `refresh`: the cost of one discovery refresh as the discovered set grows (up to 10,000
// peers), in one process of ours with an in-process dist that connects at once. For each size, on
// a fresh cluster: the first refresh (discover every peer and connect them all), then steady
// refreshes (nothing changes); `refreshReps` times (3 in the full run), so that each figure is a
// median with its min–max. Then the cost per peer at each size, and how it grows from 1,000 peers
// to the largest set (issue 19: "keep it linear"; 1.0 is linear, 2.0 twice the cost per peer).
import { fmt, summarize } from '../lib/common.mjs';
import { startChild, stopAll } from '../lib/procs.mjs';

const DIST = 'instant connect (in-process)';
/** The size the growth of the per-peer cost is measured from. */
const GROWTH_FROM = 1_000;

/** Records the per-peer cost at each size and its growth from GROWTH_FROM to the largest size. */
function perPeer(ctx, firsts, steadies) {
  const medians = new Map();
  for (const [size, values] of firsts) {
    const params = { peers: size, dist: DIST };
    const first = values.filter(v => v !== null);
    const steady = steadies.get(size) ?? [];
    for (const v of first)
      ctx.sample('refresh', 'ours', 'first_refresh_us_per_peer', 'µs', params, (v * 1000) / size);
    for (const v of steady)
      ctx.sample('refresh', 'ours', 'steady_refresh_us_per_peer', 'µs', params, (v * 1000) / size);
    medians.set(size, {
      first: summarize(first).median,
      steady: summarize(steady).median,
    });
  }
  const largest = Math.max(...medians.keys());
  const from = medians.get(GROWTH_FROM);
  const to = medians.get(largest);
  if (!from || !to || largest <= GROWTH_FROM) return;
  const params = { peers: largest, relativeTo: GROWTH_FROM, dist: DIST };
  for (const kind of ['first', 'steady']) {
    if (!from[kind] || to[kind] == null) continue;
    const growth = to[kind] / largest / (from[kind] / GROWTH_FROM);
    ctx.sample('refresh', 'ours', `${kind}_refresh_per_peer_growth`, 'ratio', params, growth);
    ctx.progress(
      `refresh   ${kind} refresh per peer at ${largest} peers / at ${GROWTH_FROM}: ${fmt(growth, 2)}× (1.00: linear)`,
    );
  }
}

/**
 * Runs the `refresh` section if it was asked for and our stack is in the run.
 * @param {import('../lib/context.mjs').BenchContext} ctx
 */
export async function run(ctx) {
  if (!ctx.options.sections.has('refresh') || !ctx.options.stacks.includes('ours')) return;
  const limitMs = ctx.options.refreshLimitMs;
  const reps = ctx.config.refreshReps ?? 1;
  const firsts = new Map(); // size -> first refresh ms of each rep (null: not done)
  const steadies = new Map(); // size -> every steady refresh ms
  let child;
  try {
    child = await startChild('ours-refresh');
    for (let rep = 0; rep < reps; rep++) {
      const onEvent = e => {
        if (e.ev !== 'refresh') return;
        const params = { peers: e.size, dist: DIST };
        const first = ctx.sample(
          'refresh',
          'ours',
          'first_refresh_connect_all_ms',
          'ms',
          params,
          e.firstMs,
        );
        if (e.timedOut) first.notes.push(`not done within ${limitMs / 1000} s`);
        for (const v of e.steady)
          ctx.sample('refresh', 'ours', 'steady_refresh_ms', 'ms', params, v);
        firsts.set(e.size, [...(firsts.get(e.size) ?? []), e.firstMs]);
        steadies.set(e.size, [...(steadies.get(e.size) ?? []), ...e.steady]);
        ctx.progress(
          `refresh   ${String(e.size).padStart(6)} peers  rep ${rep + 1}/${reps}  first (connect all) ${e.timedOut ? `> ${limitMs / 1000} s` : `${fmt(e.firstMs, 1)} ms`}  steady ${fmt(summarize(e.steady).median, 2)} ms`,
        );
      };
      // listening before the command is sent: its events cannot arrive earlier
      child.listeners.add(onEvent);
      try {
        await child.call(
          'refreshScale',
          {
            sizes: ctx.config.refreshSizes,
            steadyReps: ctx.config.refreshSteadyReps,
            timeoutMs: limitMs,
          },
          limitMs + 30_000,
        );
      } catch (error) {
        ctx.progress(`refresh: ${error.message.split('\n')[0]}`);
        break;
      } finally {
        child.listeners.delete(onEvent);
      }
    }
    perPeer(ctx, firsts, steadies);
  } finally {
    await stopAll([child], ctx.grace(300));
  }
}
