// Sections `rr` and `oneway`: request/response and one-way messages between a pair of processes
// (a server and a client) of each stack, every pair warmed up first, the stacks rotated per
// repetition. CPU per message counts both processes. Each stack runs the cells bench/lib/plan.mjs
// gives it (in the full run, those its targets and the tables use).
// The NATS stacks (gen-cluster's NATS dist, Moleculer's NATS transporter) share one nats-server,
// started here on loopback when one of them runs and stopped at the end; their CPU per message
// counts the server's CPU time too (/proc/<pid>/stat), as it is part of their path.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DIST_DIR, fmt, freePorts, sizeLabel } from '../lib/common.mjs';
import { BenchNatsServer, natsServerBinary } from '../lib/nats-server.mjs';
import { MAX_COUNT, WARM_CAP_FACTOR } from '../lib/options.mjs';
import { startChild, startLoaded, stopAll } from '../lib/procs.mjs';
import { cellsOf, pairStacks, runsCell } from '../lib/plan.mjs';
import { NATS_STACKS, STACK_NAMES } from '../lib/records.mjs';

/** The module a stack's processes load (bench/child.mjs): both raw stacks are `raw`. */
const moduleOf = stack => (stack === 'raw-coalesced' ? 'raw' : stack);

/**
 * Starts the server and client processes of one stack (or takes the two `started` by
 * --parallel-start) and connects them.
 */
async function startPair(stack, started, nats) {
  const name = moduleOf(stack);
  const coalesce = stack === 'raw-coalesced';
  const server = started?.[0] ?? (await startChild(`${stack}-server`, { flags: [] }));
  const client = started?.[1] ?? (await startChild(`${stack}-client`, { flags: [] }));
  if (NATS_STACKS.includes(name)) {
    await server.call('serve', { stack: name, natsUrl: nats.url }, 30_000);
    await client.call('connect', { stack: name, natsUrl: nats.url }, 30_000);
    return { stack, server, client, nats };
  }
  if (name === 'moleculer' || name === 'nest') {
    const [serverPort, clientPort] = await freePorts(2);
    await server.call('serve', { stack: name, port: serverPort, peerPort: clientPort }, 30_000);
    // Moleculer: both brokers listen (static urls name both); Nest: the client dials the server
    if (name === 'moleculer')
      await client.call('connect', { stack: name, port: clientPort, peerPort: serverPort }, 30_000);
    else await client.call('connect', { stack: name, port: serverPort }, 30_000);
  } else {
    const { port } = await server.call('serve', { stack: name, coalesce }, 30_000);
    await client.call('connect', { stack: name, port, coalesce }, 30_000);
  }
  return { stack, server, client };
}

/** Rotates the order of the stacks per repetition, so none always runs first or last. */
export const rotate = (items, by) => items.map((_, i) => items[(i + by) % items.length]);

/** CPU microseconds the server process spent between two `usage` answers. */
export const serverMicros = (s0, s1) => s1.cpu.user + s1.cpu.system - s0.cpu.user - s0.cpu.system;

/**
 * The server's `usage`, with the nats-server's CPU seconds of a NATS pair (`broker`), so that
 * `pairMicros` counts the broker too.
 */
const pairUsage = async pair => {
  const usage = await pair.server.call('usage', { gc: false });
  return pair.nats ? { ...usage, broker: pair.nats.cpuSeconds() } : usage;
};

/** CPU microseconds of the server process (and of the nats-server of a NATS pair). */
const pairMicros = (s0, s1) =>
  serverMicros(s0, s1) +
  (s0.broker != null && s1.broker != null ? (s1.broker - s0.broker) * 1e6 : 0);

/**
 * The NATS stacks that can run here: nats-server installed, and gen-cluster's NatsDist in the
 * build; the others are left out with a line saying why.
 */
function natsStacks(ctx, stacks) {
  const wanted = stacks.filter(s => NATS_STACKS.includes(s));
  if (wanted.length === 0) return [];
  if (!natsServerBinary()) {
    ctx.progress(`nats-server is not installed: ${wanted.join(', ')} left out`);
    return [];
  }
  if (wanted.includes('nats') && !existsSync(join(DIST_DIR, 'src', 'nats', 'index.js'))) {
    ctx.progress(`the build has no NATS dist (dist/src/nats): gen-cluster NATS left out`);
    return wanted.filter(s => s !== 'nats');
  }
  return wanted;
}

/** Warms every pair up (JIT, buffers, connections) before the first measured cell. */
async function warmUp(ctx, pairs) {
  const warm = { maxCount: MAX_COUNT, warmMs: 0 };
  const { warmMs, warmCount } = ctx.config;
  const capMs = warmMs * WARM_CAP_FACTOR;
  for (const pair of pairs) {
    await pair.client.call('rr', { ...warm, size: 1024, window: 10, ms: warmMs * 3 }, 60_000);
    await pair.client.call('rr', { ...warm, size: 32, window: 1, ms: warmMs * 2 }, 60_000);
    const by = { size: 32, window: 100, count: warmCount, capMs };
    const r = await pair.client.call('warm', by, capMs + 60_000);
    if (r.count < warmCount)
      ctx.progress(
        `warm-up   ${STACK_NAMES[pair.stack]}: only ${r.count} of ${warmCount} round trips in ${fmt(r.elapsedMs / 1000, 1)} s (a busy machine?): its first cells may measure code the JIT has not optimized yet`,
      );
  }
}

/** One request/response cell: a warm-up, then the measured run. */
async function requestResponse(ctx, pair, size, window, rep) {
  const { config, sample } = ctx;
  const cell = { size, window, warmMs: 0, maxCount: MAX_COUNT };
  await pair.client.call('rr', { ...cell, ms: config.warmMs }, config.warmMs + 60_000);
  const s0 = await pairUsage(pair);
  const r = await pair.client.call('rr', { ...cell, ms: config.cellMs }, config.cellMs + 60_000);
  const s1 = await pairUsage(pair);
  const cpu = r.count ? (r.cpuMicros + pairMicros(s0, s1)) / r.count : null;
  const params = { inFlight: window, payloadBytes: size };
  if (pair.nats && r.count)
    sample(
      'request-response',
      pair.stack,
      'nats_server_cpu_per_round_trip',
      'µs',
      params,
      ((s1.broker - s0.broker) * 1e6) / r.count,
    );
  sample('request-response', pair.stack, 'cpu_per_round_trip', 'µs', params, cpu);
  const rec = sample(
    'request-response',
    pair.stack,
    'round_trips_per_s',
    '1/s',
    params,
    r.errors > 0 && r.count === 0 ? null : r.perSecond,
  );
  sample('request-response', pair.stack, 'p50_latency', 'ms', params, r.p50);
  sample('request-response', pair.stack, 'p99_latency', 'ms', params, r.p99);
  if (r.errors || r.lost)
    rec.notes.push(`${r.errors} errors, ${r.lost} lost: ${r.firstError ?? ''}`.slice(0, 200));
  ctx.progress(
    `rr        ${String(window).padStart(3)} in flight  ${sizeLabel(size).padStart(6)}  ${STACK_NAMES[pair.stack].padEnd(27)} rep ${rep + 1}/${config.reps}  ${fmt(r.perSecond, 0).padStart(9)}/s  p50 ${fmt(r.p50, 3)} ms  p99 ${fmt(r.p99, 3)} ms  CPU ${fmt(cpu, 1)} µs/rt${r.errors ? `  (${r.errors} errors)` : ''}`,
  );
}

/** One one-way cell: a warm-up, then the measured run. */
async function oneWay(ctx, pair, size, rep) {
  const { config, sample } = ctx;
  const cell = { size, warmMs: 0, maxCount: MAX_COUNT };
  await pair.client.call('oneway', { ...cell, ms: config.warmMs }, config.warmMs + 120_000);
  const s0 = await pairUsage(pair);
  const r = await pair.client.call(
    'oneway',
    { ...cell, ms: config.cellMs },
    config.cellMs + 120_000,
  );
  const s1 = await pairUsage(pair);
  const perSecond = (r.received / r.elapsedMs) * 1000;
  const params = { payloadBytes: size };
  sample(
    'one-way',
    pair.stack,
    'cpu_per_message',
    'µs',
    params,
    r.received ? (r.cpuMicros + pairMicros(s0, s1)) / r.received : null,
  );
  const rec = sample('one-way', pair.stack, 'messages_per_s', '1/s', params, perSecond);
  sample(
    'one-way',
    pair.stack,
    'payload_megabytes_per_s',
    'MB/s',
    params,
    (perSecond * size) / 1e6,
  );
  if (r.received !== r.sent) rec.notes.push(`sent ${r.sent}, received ${r.received}`);
  ctx.progress(
    `one-way   ${sizeLabel(size).padStart(6)}  ${STACK_NAMES[pair.stack].padEnd(27)} rep ${rep + 1}/${config.reps}  ${fmt(perSecond, 0).padStart(10)} msg/s  ${fmt((perSecond * size) / 1e6, 1)} MB/s${r.received !== r.sent ? `  (sent ${r.sent}, received ${r.received})` : ''}`,
  );
}

/**
 * Runs the `rr` and `oneway` sections that were asked for, for every stack.
 * @param {import('../lib/context.mjs').BenchContext} ctx
 */
export async function run(ctx) {
  const { sections } = ctx.options;
  const { config } = ctx;
  if (!sections.has('rr') && !sections.has('oneway')) return;
  // the pairs with a cell to run (the calls section's stacks have 3 servers and a caller)
  const wanted = pairStacks(ctx.options);
  const runnable = natsStacks(ctx, wanted);
  const stacks = wanted.filter(s => !NATS_STACKS.includes(s) || runnable.includes(s));
  if (stacks.length === 0) return;
  const pairs = [];
  let nats;
  try {
    if (runnable.length) {
      nats = await BenchNatsServer.start();
      ctx.progress(`nats-server on ${nats.url} (pid ${nats.pid}) for ${runnable.join(', ')}`);
    }
    let started;
    if (ctx.options.parallelStart) {
      ctx.progress(`starting ${stacks.length * 2} processes at once (--parallel-start)`);
      const children = await startLoaded(
        stacks.flatMap(stack => [
          { label: `${stack}-server`, stack: moduleOf(stack) },
          { label: `${stack}-client`, stack: moduleOf(stack) },
        ]),
      );
      started = stacks.map((_, i) => children.slice(2 * i, 2 * i + 2));
    }
    for (const [i, stack] of stacks.entries()) {
      ctx.progress(`starting ${STACK_NAMES[stack]} pair`);
      try {
        pairs.push(await startPair(stack, started?.[i], nats));
      } catch (error) {
        // the processes started at once for the stacks not yet paired stop too
        await stopAll(started?.slice(i).flat() ?? [], ctx.grace(1_000));
        throw error;
      }
    }
    await warmUp(ctx, pairs);
    const plans = new Map(pairs.map(p => [p, cellsOf(p.stack, config)]));
    if (config.cells === 'used') {
      const grid = config.sizes.length * config.inFlight.length;
      const partial = pairs
        .map(p => [p.stack, plans.get(p)])
        .filter(
          ([, plan]) => plan.rr.length < grid || plan.oneway.length < config.onewaySizes.length,
        )
        .map(
          ([stack, plan]) =>
            `${stack} ${plan.rr.length}/${grid} rr, ${plan.oneway.length}/${config.onewaySizes.length} one-way`,
        );
      if (partial.length)
        ctx.progress(
          `cells the targets and tables use (bench/lib/plan.mjs): ${partial.join('; ')}`,
        );
    }
    /** The pairs that run a cell, rotated for the repetition. */
    const running = (size, window, rep) =>
      rotate(
        pairs.filter(p => runsCell(plans.get(p), size, window)),
        rep,
      );
    if (sections.has('rr'))
      for (const size of config.sizes)
        for (const window of config.inFlight)
          for (let rep = 0; rep < config.reps; rep++)
            for (const pair of running(size, window, rep))
              await requestResponse(ctx, pair, size, window, rep);
    if (sections.has('oneway'))
      for (const size of config.onewaySizes)
        for (let rep = 0; rep < config.reps; rep++)
          for (const pair of running(size, undefined, rep)) await oneWay(ctx, pair, size, rep);
  } finally {
    await stopAll(
      pairs.flatMap(p => [p.server, p.client]),
      ctx.grace(1_000),
    );
    await nats?.stop();
  }
}
