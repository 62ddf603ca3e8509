// What a run measures and how long it is expected to take. The full run is kept to about 30
// minutes (issue 19; later issues add stacks) by three rules, applied here:
// - the cells of the `rr` and `oneway` sections each stack runs: gen-cluster and the reference
//   stacks (raw, raw coalesced, minimal JSON RPC) run the whole grid; Moleculer and Nest TCP, the
//   competitors of the tables, every size at 1 and 100 in flight (not 10); every other stack only
//   the cells its targets in bench/targets.mjs compare (a gate at 100 in flight runs at 100 in
//   flight, and no one-way cell unless a target names one). `--all-cells` runs the whole grid for
//   every stack; so do the quick run (the smoke run covers every cell) and a run given
//   `--in-flight` or `--sizes` (the grid asked for);
// - the slow sections of clusters run fewer repetitions (failover 3 fresh clusters, not 5);
// - the estimate below is printed when a run starts, and the hard deadline follows it: 35 minutes
//   for the full run, longer only when the options ask for more than the full set.
// The estimate's constants come from the durations of recorded runs (bench/results/latest.json
// `merged[].durationS`): a full `rr` run of 10 pairs × 27 cells × 3 repetitions took 698 s, the
// full `calls` run 107 s, the full `large` + `failure` run 72 s, a failover run of 5 clusters 135 s
// on a busy machine.
import { TARGETS } from '../targets.mjs';
import { expand } from './evaluate-targets.mjs';
import { CALL_STACKS } from './records.mjs';

/** The stacks that run every cell of the grid in a full run. */
export const FULL_GRID_STACKS = ['ours', 'raw', 'raw-coalesced', 'json-rpc'];

/** The competitors of the tables: every size, at these in-flight windows, and every one-way size. */
export const TABLE_STACKS = { moleculer: [1, 100], nest: [1, 100] };

/** The full run's cap, and its hard deadline (the run is aborted past it). */
export const FULL_RUN_CAP_MIN = 30;
export const FULL_RUN_DEADLINE_MIN = 35;

/** Request/response cells `{ size, window }` and one-way sizes the targets compare `stack` in. */
function targetCells(stack, config) {
  const rr = [];
  const oneway = [];
  for (const target of TARGETS) {
    if (!target.stacks.includes(stack)) continue;
    for (const params of expand(target, config)) {
      if (target.record === 'request-response')
        rr.push({ size: params.payloadBytes, window: params.inFlight });
      else if (target.record === 'one-way') oneway.push(params.payloadBytes);
    }
  }
  return { rr, oneway };
}

/**
 * The cells `stack` runs in this run: `rr` as `{ size, window }` in the grid's order, `oneway` as
 * sizes. `config.cells` is 'all' (every stack the whole grid) or 'used' (the rules above).
 */
export function cellsOf(stack, config) {
  const grid = config.sizes.flatMap(size => config.inFlight.map(window => ({ size, window })));
  if (config.cells !== 'used' || FULL_GRID_STACKS.includes(stack))
    return { rr: grid, oneway: config.onewaySizes };
  if (TABLE_STACKS[stack])
    return {
      rr: grid.filter(c => TABLE_STACKS[stack].includes(c.window)),
      oneway: config.onewaySizes,
    };
  const used = targetCells(stack, config);
  return {
    rr: grid.filter(c => used.rr.some(u => u.size === c.size && u.window === c.window)),
    oneway: config.onewaySizes.filter(size => used.oneway.includes(size)),
  };
}

/** Whether `stack` runs the cell (`window` undefined: the one-way cell of `size`). */
export const runsCell = (plan, size, window) =>
  window === undefined
    ? plan.oneway.includes(size)
    : plan.rr.some(c => c.size === size && c.window === window);

/** The pair stacks of the messaging sections that have a cell to run in the sections asked for. */
export function pairStacks(options) {
  const { sections, stacks, config } = options;
  return stacks
    .filter(s => !CALL_STACKS.includes(s))
    .filter(s => {
      const plan = cellsOf(s, config);
      return (
        (sections.has('rr') && plan.rr.length > 0) ||
        (sections.has('oneway') && plan.oneway.length > 0)
      );
    });
}

// Seconds each kind of work takes, from the recorded runs (see the header).
const PAIR_START_S = 1.5; // two processes started, the stack imported, connected
const CELL_EXTRA_S = 0.05; // IPC, CPU usage of both processes
const ONEWAY_EXTRA_S = 0.2; // the count barriers, the receiver catching up
const GROUP_START_S = 3; // the calls section's 3 servers and caller
const SPAWN_S = { ours: 0.45, moleculer: 0.85 }; // per process of a cluster, formed
const SIGSTOP_S = { ours: 5.5, moleculer: 9 }; // ours detects in 4-6 s, Moleculer never (9 s wait)
const FAILOVER_REP_S = 25; // 5 sample processes started one by one, kill -9, SIGSTOP
const LARGE_MB_PER_S = 300; // the large flood's rate on this machine

/** Seconds a pair's or group's warm-up takes: the timed rounds, then up to warmCount round trips. */
const warmUpS = c => (5 * c.warmMs) / 1000 + Math.min(c.warmCount / 20_000, (25 * c.warmMs) / 1000);

/**
 * The expected duration of a run with `options` (parsed by ./options.mjs), in seconds, by
 * section, from the cells it will run and the constants above.
 * @returns {{ totalS: number, sections: Record<string, number> }}
 */
export function estimateRun(options) {
  const { sections, stacks, config: c } = options;
  const has = s => sections.has(s);
  const out = {};
  const cellS = (c.warmMs + c.cellMs) / 1000;
  const pairs = pairStacks(options);
  if (pairs.length) {
    const rr = has('rr') ? pairs.reduce((n, s) => n + cellsOf(s, c).rr.length, 0) : 0;
    const ow = has('oneway') ? pairs.reduce((n, s) => n + cellsOf(s, c).oneway.length, 0) : 0;
    out.start = pairs.length * (PAIR_START_S + warmUpS(c));
    if (rr) out.rr = rr * c.reps * (cellS + CELL_EXTRA_S);
    if (ow) out.oneway = ow * c.reps * (cellS + ONEWAY_EXTRA_S);
  }
  const groups = CALL_STACKS.filter(s => stacks.includes(s)).length;
  if (has('calls') && groups)
    out.calls =
      groups * (GROUP_START_S + warmUpS(c)) +
      groups * c.callsSizes.length * c.callsInFlight.length * c.reps * (cellS + CELL_EXTRA_S);
  out.clusters = clustersS(options);
  if (has('broadcast') && stacks.includes('ours'))
    out.broadcast =
      c.broadcastNodes * SPAWN_S.ours + c.broadcastSizes.length * c.reps * (c.cellMs / 1000 + 0.2);
  if (has('memory') && stacks.includes('ours')) out.memory = 3 + c.memoryConnections * 0.03;
  if (has('refresh') && stacks.includes('ours'))
    out.refresh = 2 + c.refreshReps * c.refreshSizes.reduce((s, n) => s + n * 5e-5, 0);
  if (has('large')) {
    const floodS = (c.largeMessages * c.largeBytes) / 1e6 / LARGE_MB_PER_S;
    const structuredS = c.largeStructuredMiB.reduce((s, m) => s + m, 0) * c.largeStructuredReps;
    out.large = 8 + (c.largeBaselineMs + c.largeSettleMs) / 1000 + floodS + 0.1 * structuredS + 1;
  }
  if (has('failover')) out.failover = c.failoverNodes.length * c.failoverReps * FAILOVER_REP_S;
  const sectionsS = Object.fromEntries(Object.entries(out).filter(([, s]) => s > 0));
  const totalS = Object.values(sectionsS).reduce((a, b) => a + b, 0);
  return { totalS, sections: sectionsS };
}

/** Seconds of the formation, failure and cost sections (clusters formed one after the other). */
function clustersS({ sections, stacks, config: c, sigstop }) {
  const has = s => sections.has(s);
  if (!has('formation') && !has('failure') && !has('cost')) return 0;
  const reps = has('formation') ? c.formationReps : 1;
  let seconds = 0;
  const cluster = (stack, n, { kill, stop, idle }) =>
    SPAWN_S[stack] * n +
    0.5 +
    (kill ? 1 : 0) +
    (stop && sigstop ? SIGSTOP_S[stack] : 0) +
    (idle ? 1.7 + c.idleMs / 1000 : 0);
  for (const stack of ['ours', 'moleculer']) {
    if (!stacks.includes(stack)) continue;
    const sizes = new Set();
    if (has('formation'))
      for (const n of stack === 'ours' ? c.formationNodes : c.moleculerFormationNodes) sizes.add(n);
    if (has('failure')) for (const n of [...c.killNodes, ...c.stopNodes]) sizes.add(n);
    if (has('cost') && stack === 'ours') sizes.add(c.idleNodes);
    const largest = Math.max(...sizes);
    for (const n of sizes)
      for (let rep = 0; rep < reps; rep++)
        seconds += cluster(stack, n, {
          kill: has('failure') && c.killNodes.includes(n),
          stop: has('failure') && c.stopNodes.includes(n),
          idle: has('cost') && rep === 0 && n === (stack === 'ours' ? c.idleNodes : largest),
        });
  }
  return seconds;
}

/** "19 min (rr 9.3, oneway 2.9, ...)" */
export function describeEstimate({ totalS, sections }) {
  const parts = Object.entries(sections).map(([name, s]) => `${name} ${(s / 60).toFixed(1)}`);
  return `${(totalS / 60).toFixed(1)} min (${parts.join(', ')} min)`;
}
