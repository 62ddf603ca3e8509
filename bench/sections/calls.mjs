// Section `calls`: a call to whichever of 3 serving processes serves `echo`, from a fourth
// process, over loopback; per stack 4 processes, warmed up first, the stacks rotated per
// repetition. CPU per call counts all four processes; `spread_max_over_mean` is the busiest
// server's share of the cell's calls over the mean share (1.0 when perfectly even).
// - ours-call: ServiceCaller.call('echo', payload), round-robin (bench/lib/stacks/ours-calls.mjs);
// - ours-request: the same nodes, plain messaging.request rotated over the 3 by hand;
// - moleculer-call: broker.call('bench.echo', payload), RoundRobin (moleculer-calls.mjs).
import { fmt, freePorts, sizeLabel } from '../lib/common.mjs';
import { MAX_COUNT, WARM_CAP_FACTOR } from '../lib/options.mjs';
import { startChild, startLoaded, stopAll } from '../lib/procs.mjs';
import { CALL_STACKS, STACK_NAMES } from '../lib/records.mjs';
import { rotate, serverMicros } from './messaging.mjs';

/** The labels of a stack's processes: `count` servers, then the caller. */
const labelsOf = (stack, count) => [
  ...Array.from({ length: count }, (_, i) => `${stack}-srv${i}`),
  `${stack}-caller`,
];

/**
 * Starts the servers and the caller of one stack (or takes those `started` by --parallel-start,
 * servers first); the caller is ready when it sees them all.
 */
async function startGroup(stack, count, started) {
  const group = { stack, servers: [], caller: undefined };
  try {
    if (started) {
      group.servers.push(...started.slice(0, count));
      group.caller = started[count];
    } else {
      const labels = labelsOf(stack, count);
      for (const label of labels.slice(0, count))
        group.servers.push(await startChild(label, { flags: [] }));
      group.caller = await startChild(labels[count], { flags: [] });
    }
    // every node listens on a port known beforehand and lists all four (static discovery, or
    // Moleculer's static urls)
    const ports = await freePorts(count + 1);
    const moleculer = stack === 'moleculer-call';
    const all = ports.map((port, i) =>
      moleculer
        ? { nodeID: i < count ? `msrv${i}` : 'mcli', port }
        : { node: i < count ? `srv${i}@127.0.0.1` : 'cli@127.0.0.1', port },
    );
    const id = n => (moleculer ? { nodeID: n.nodeID } : { name: n.node });
    await Promise.all(
      group.servers.map((s, i) =>
        s.call('callServe', { stack, ...id(all[i]), port: all[i].port, all }, 30_000),
      ),
    );
    const connect = { ...id(all[count]), port: all[count].port, all };
    const ready = await group.caller.call(
      'callConnect',
      { stack, servers: count, ...connect },
      45_000,
    );
    if (ready.servers !== count)
      throw new Error(`${stack}: the caller sees ${ready.servers} of ${count} servers`);
    return group;
  } catch (error) {
    await stopAll([...group.servers, group.caller], 1_000);
    throw error;
  }
}

const processes = group => [...group.servers, group.caller];

/** Warms every group up (JIT, buffers, connections) before the first measured cell. */
async function warmUp(ctx, groups) {
  const warm = { maxCount: MAX_COUNT, warmMs: 0 };
  const { warmMs, warmCount } = ctx.config;
  const capMs = warmMs * WARM_CAP_FACTOR;
  for (const group of groups) {
    await group.caller.call('rr', { ...warm, size: 1024, window: 10, ms: warmMs * 3 }, 60_000);
    await group.caller.call('rr', { ...warm, size: 32, window: 1, ms: warmMs * 2 }, 60_000);
    const by = { size: 32, window: 100, count: warmCount, capMs };
    const r = await group.caller.call('warm', by, capMs + 60_000);
    if (r.count < warmCount)
      ctx.progress(
        `warm-up   ${STACK_NAMES[group.stack]}: only ${r.count} of ${warmCount} calls in ${fmt(r.elapsedMs / 1000, 1)} s (a busy machine?): its first cells may measure code the JIT has not optimized yet`,
      );
  }
}

/** The busiest server's calls over the mean, from the servers' counts before and after. */
function spread(before, after) {
  const counts = after.map((n, i) => n - before[i]);
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  return mean > 0 ? Math.max(...counts) / mean : null;
}

/** One cell: a warm-up, then the measured run. */
async function callCell(ctx, group, size, window, rep) {
  const { config, sample } = ctx;
  const cell = { size, window, warmMs: 0, maxCount: MAX_COUNT };
  const all = (cmd, args) => Promise.all(group.servers.map(s => s.call(cmd, args)));
  await group.caller.call('rr', { ...cell, ms: config.warmMs }, config.warmMs + 60_000);
  const [u0, n0] = [await all('usage', { gc: false }), await all('served')];
  const r = await group.caller.call('rr', { ...cell, ms: config.cellMs }, config.cellMs + 60_000);
  const [u1, n1] = [await all('usage', { gc: false }), await all('served')];
  const servers = u0.reduce((sum, s0, i) => sum + serverMicros(s0, u1[i]), 0);
  const cpu = r.count ? (r.cpuMicros + servers) / r.count : null;
  const even = spread(n0, n1);
  const params = { inFlight: window, payloadBytes: size, servers: group.servers.length };
  const s = (metric, unit, value) => sample('call', group.stack, metric, unit, params, value);
  s('cpu_per_call', 'µs', cpu);
  const rec = s('calls_per_s', '1/s', r.errors > 0 && r.count === 0 ? null : r.perSecond);
  s('p50_latency', 'ms', r.p50);
  s('p99_latency', 'ms', r.p99);
  s('spread_max_over_mean', 'ratio', even);
  if (r.errors || r.lost)
    rec.notes.push(`${r.errors} errors, ${r.lost} lost: ${r.firstError ?? ''}`.slice(0, 200));
  ctx.progress(
    `call      ${String(window).padStart(3)} in flight  ${sizeLabel(size).padStart(6)}  ${STACK_NAMES[group.stack].padEnd(29)} rep ${rep + 1}/${config.reps}  ${fmt(r.perSecond, 0).padStart(9)}/s  p50 ${fmt(r.p50, 3)} ms  p99 ${fmt(r.p99, 3)} ms  CPU ${fmt(cpu, 1)} µs/call  spread ${fmt(even, 2)}${r.errors ? `  (${r.errors} errors)` : ''}`,
  );
}

/**
 * Runs the `calls` section if it was asked for, for each of its stacks that was.
 * @param {import('../lib/context.mjs').BenchContext} ctx
 */
export async function run(ctx) {
  const { config } = ctx;
  if (!ctx.options.sections.has('calls')) return;
  const stacks = CALL_STACKS.filter(s => ctx.options.stacks.includes(s));
  if (stacks.length === 0) return;
  const groups = [];
  const count = config.callsServers;
  try {
    let started;
    if (ctx.options.parallelStart) {
      ctx.progress(`starting ${stacks.length * (count + 1)} processes at once (--parallel-start)`);
      const children = await startLoaded(
        stacks.flatMap(stack => labelsOf(stack, count).map(label => ({ label, stack }))),
      );
      started = stacks.map((_, i) => children.slice(i * (count + 1), (i + 1) * (count + 1)));
    }
    for (const [i, stack] of stacks.entries()) {
      ctx.progress(`starting ${STACK_NAMES[stack]}: ${count} servers and a caller`);
      try {
        groups.push(await startGroup(stack, count, started?.[i]));
      } catch (error) {
        // the processes started at once for the stacks not yet grouped stop too
        await stopAll(started?.slice(i + 1).flat() ?? [], ctx.grace(1_000));
        throw error;
      }
    }
    await warmUp(ctx, groups);
    for (const size of config.callsSizes)
      for (const window of config.callsInFlight)
        for (let rep = 0; rep < config.reps; rep++)
          for (const group of rotate(groups, rep)) await callCell(ctx, group, size, window, rep);
  } finally {
    await stopAll(groups.flatMap(processes), ctx.grace(1_000));
  }
}
