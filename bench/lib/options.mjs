// The benchmark's command line: which sections and stacks run, and the configuration of the run
// (the CI smoke run of `--quick` or the full run, then the overrides given on the command line).
//
//   node bench/run.mjs [--quick] [--only rr,oneway,broadcast,formation,failure,cost,memory,refresh,large,calls,failover]
//                      [--stacks ours,nest-on,nest-decorated,raw,raw-coalesced,json-rpc,moleculer,nest,
//                               ours-ms,ours-metrics,ours-otel-idle,ours-call,ours-request,
//                               moleculer-call,nats,moleculer-nats]
//                      [--reps N] [--cell-ms MS]
//                      [--in-flight 1,10,100] [--sizes 32,1024,65536] [--nodes 3,8,16,32]
//                      [--refresh-sizes 10,100,1000,10000] [--connections 200]
//                      [--out FILE] [--merge] [--cpu-prof] [--no-sigstop]
//                      [--warm-count N] [--parallel-start] [--all-cells] [--estimate]
//                      [--large-messages N] [--large-mib MIB] [--large-in-flight N]
//                      [--large-baseline-ms MS] [--large-structured-mib 1,4,16]
import { join, resolve } from 'node:path';
import { ALL_STACKS } from './records.mjs';

/** Every section, in the order `--only` names them. */
export const ALL_SECTIONS = [
  'rr',
  'oneway',
  'broadcast',
  'formation',
  'failure',
  'cost',
  'memory',
  'refresh',
  'large',
  'calls',
  'failover',
];

/** The record names each section writes (the `name` of its records), for `--merge`. */
export const SECTION_RECORDS = Object.freeze({
  rr: ['request-response'],
  oneway: ['one-way'],
  broadcast: ['broadcast'],
  formation: ['formation'],
  failure: ['failure-kill9', 'failure-sigstop'],
  cost: ['idle-cost'],
  memory: ['memory-per-connection'],
  refresh: ['refresh'],
  large: ['large-unloaded', 'large-flood', 'large-refused', 'large-structured'],
  calls: ['call'],
  failover: ['failover-kill9', 'failover-sigstop'],
});

/** Heartbeat and failure timeout of our nodes (the library's defaults). */
export const HEARTBEAT_MS = 1_000;
export const FAILURE_TIMEOUT_MS = 5_000;

/** The cases of refused sends the `large` section times (the `case` param of its records). */
export const REFUSAL_CASES = Object.freeze({
  tooLarge: 'Buffer over maxMessageBytes (16 MiB)',
  queueFull: 'Buffer to a full queue (128 MiB)',
  structured: 'structured payload over the size limit',
});

/** The warm-up by count of a request/response pair stops at warmCount round trips or this × warmMs. */
export const WARM_CAP_FACTOR = 25;

/** Most messages one cell may count, whatever the time: every loop is bounded in count too. */
export const MAX_COUNT = 20_000_000;

/**
 * The configuration of a CI smoke run (`--quick`) or a full run, written once: `pick(quick,
 * full)` where the two differ. The object is recorded as `config` in the results file.
 */
export function baseConfig(quick) {
  const pick = (whenQuick, whenFull) => (quick ? whenQuick : whenFull);
  return {
    reps: pick(1, 3),
    cellMs: pick(400, 2_000),
    warmMs: pick(120, 400),
    // round trips (100 in flight) each request/response pair makes before its first cell, however
    // long they take (up to WARM_CAP_FACTOR × warmMs): the JIT optimizes a function after some
    // thousands of calls, and on a busy machine a warm-up by time alone left code unoptimized
    // (several times the CPU per round trip of a warm process)
    warmCount: 30_000,
    // the cells of `rr` and `oneway` each stack runs: 'all' of the grid, or 'used' (the full run:
    // the cells its targets and tables use, see bench/lib/plan.mjs), so the full run fits its cap
    cells: pick('all', 'used'),
    inFlight: [1, 10, 100],
    sizes: [32, 1024, 65536],
    onewaySizes: [32, 1024, 65536],
    broadcastNodes: pick(4, 8),
    broadcastSizes: pick([32], [32, 1024]),
    formationNodes: pick([3, 8, 16], [3, 8, 16, 32]),
    moleculerFormationNodes: pick([3], [3, 8]),
    formationReps: pick(1, 3),
    killNodes: pick([3], [3, 8]),
    stopNodes: [3],
    idleNodes: 16,
    idleMs: pick(2_000, 5_000),
    memoryConnections: pick(50, 200),
    refreshSizes: [10, 100, 1_000, 10_000],
    // fresh clusters per size (each: the first refresh, then refreshSteadyReps steady ones)
    refreshReps: pick(1, 3),
    refreshSteadyReps: pick(3, 5),
    // section `large`: A floods B with largeMessages Buffers of largeBytes, largeInFlight at a
    // time, while 1 KiB requests go from A to B and C every largeProbeIntervalMs
    largeMessages: pick(20, 100),
    largeBytes: 32 * 1024 * 1024,
    largeInFlight: 2,
    largeBaselineMs: pick(3_000, 10_000),
    largeProbeIntervalMs: 10,
    // after the flood, so that a false nodeDown it caused late is counted (failure timeout + 1 s)
    largeSettleMs: pick(2_000, FAILURE_TIMEOUT_MS + HEARTBEAT_MS),
    largeRefusalReps: pick(2, 5),
    largeRefusalCalls: pick(10, 20),
    largeRefusedStructuredMiB: 20,
    largeStructuredMiB: pick([1, 4], [1, 4, 16]),
    largeStructuredReps: pick(3, 5),
    // section `calls`: 3 serving processes and a caller, per stack (keys named after the section,
    // so that --merge keeps them with its records)
    callsServers: 3,
    callsSizes: [32, 1024],
    callsInFlight: [1, 100],
    // section `failover`: sample processes per cluster, and fresh clusters (each: kill -9, SIGSTOP)
    failoverNodes: [5],
    // 3 fresh clusters, the fewest a median and its min–max need (5 took 2 of the full run's
    // 30 minutes; see bench/lib/plan.mjs)
    failoverReps: pick(1, 3),
  };
}

/** Reads `--name value`, `--name=value` and bare `--name` flags from `argv`. */
export function argReader(argv) {
  const flag = name => argv.includes(`--${name}`);
  const option = (name, fallback) => {
    const i = argv.findIndex(a => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return fallback;
    return argv[i].includes('=') ? argv[i].slice(argv[i].indexOf('=') + 1) : argv[i + 1];
  };
  const list = (name, fallback) => {
    const value = option(name, undefined);
    return value === undefined ? fallback : value.split(',').filter(Boolean);
  };
  return { flag, option, list };
}

/** Applies the command-line overrides to `config`, keeping the node counts consistent. */
function applyOverrides(config, { flag, option, list }) {
  if (option('nodes')) {
    const nodes = list('nodes').map(Number);
    const smallest = Math.min(...nodes);
    const kept = counts => counts.filter(n => nodes.includes(n));
    config.formationNodes = nodes;
    config.moleculerFormationNodes = kept(config.moleculerFormationNodes);
    config.killNodes = kept(config.killNodes);
    config.stopNodes = kept(config.stopNodes);
    if (config.killNodes.length === 0) config.killNodes = [smallest];
    if (config.stopNodes.length === 0) config.stopNodes = [smallest];
    if (config.moleculerFormationNodes.length === 0) config.moleculerFormationNodes = [smallest];
    config.idleNodes = Math.max(...nodes);
    config.broadcastNodes = Math.max(3, Math.min(config.broadcastNodes, Math.max(...nodes)));
  }
  // a grid asked for on the command line is run whole, for every stack
  if (flag('all-cells') || option('in-flight') || option('sizes')) config.cells = 'all';
  if (option('refresh-sizes')) config.refreshSizes = list('refresh-sizes').map(Number);
  if (option('connections')) config.memoryConnections = Math.max(1, Number(option('connections')));
  if (option('in-flight')) config.inFlight = config.callsInFlight = list('in-flight').map(Number);
  if (option('sizes'))
    config.sizes = config.onewaySizes = config.callsSizes = list('sizes').map(Number);
  if (option('reps')) config.reps = config.formationReps = Math.max(1, Number(option('reps')));
  if (option('warm-count')) config.warmCount = Math.max(0, Number(option('warm-count')));
  if (option('large-messages'))
    config.largeMessages = Math.max(1, Number(option('large-messages')));
  if (option('large-mib'))
    config.largeBytes = Math.round(Number(option('large-mib')) * 1024 * 1024);
  if (option('large-in-flight'))
    config.largeInFlight = Math.max(1, Number(option('large-in-flight')));
  if (option('large-baseline-ms'))
    config.largeBaselineMs = Math.max(200, Number(option('large-baseline-ms')));
  if (option('large-structured-mib'))
    config.largeStructuredMiB = list('large-structured-mib').map(Number);
  if (option('cell-ms')) {
    config.cellMs = Math.max(50, Number(option('cell-ms')));
    config.warmMs = Math.min(config.warmMs, Math.round(config.cellMs / 3));
  }
  return config;
}

/**
 * @typedef {object} BenchOptions
 * @property {boolean} quick the CI smoke run (`--quick`): one repetition of short cells, every cell
 * @property {Set<string>} sections the sections to run (`--only`)
 * @property {string[]} stacks the stacks to run (`--stacks`), known ones only
 * @property {string} out the results file (`--out`)
 * @property {boolean} cpuProf write CPU profiles of our processes (`--cpu-prof`)
 * @property {boolean} sigstop measure SIGSTOP detection (off with `--no-sigstop`)
 * @property {boolean} merge keep the other sections' records of the results file (`--merge`)
 * @property {boolean} parallelStart start the processes of the `rr`/`oneway` pairs and of the
 *   `calls` groups all at once, each importing its stack, before they are connected one stack
 *   at a time (`--parallel-start`): start-up is not measured there, so only the run gets shorter
 *   (the clusters of `formation` still start as they are timed)
 * @property {boolean} estimate print the expected duration and exit (`--estimate`)
 * @property {ReturnType<typeof baseConfig>} config the run's configuration, as recorded
 * @property {number} hardDeadlineMs the whole run is aborted after this long (bench/run.mjs
 *   lengthens it when the estimate of a run larger than the full set needs more)
 * @property {number} refreshLimitMs the longest the refresh measurement may take
 */

/**
 * The options of one run from its arguments (`process.argv.slice(2)`); `benchDir` is bench/,
 * where the default results file is.
 * @returns {BenchOptions}
 */
export function parseOptions(argv, benchDir) {
  const args = argReader(argv);
  const quick = args.flag('quick');
  return {
    quick,
    sections: new Set(args.list('only', ALL_SECTIONS)),
    stacks: args.list('stacks', ALL_STACKS).filter(s => ALL_STACKS.includes(s)),
    out: resolve(args.option('out', join(benchDir, 'results', 'latest.json'))),
    cpuProf: args.flag('cpu-prof'),
    sigstop: !args.flag('no-sigstop'),
    merge: args.flag('merge'),
    parallelStart: args.flag('parallel-start'),
    estimate: args.flag('estimate'),
    config: applyOverrides(baseConfig(quick), args),
    // the full run's deadline, FULL_RUN_DEADLINE_MIN of bench/lib/plan.mjs (not imported: plan
    // imports the targets, which import this file)
    hardDeadlineMs: (quick ? 8 : 35) * 60_000,
    refreshLimitMs: quick ? 40_000 : 120_000,
  };
}
