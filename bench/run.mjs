#!/usr/bin/env node
// `npm run bench`: this library beside raw sockets, Moleculer's TCP transporter and
// @nestjs/microservices TCP, in one run on this machine, loopback only. Prints progress and a
// table, writes bench/results/latest.json, and the ratios the project's targets are about.
//
//   node bench/run.mjs [--quick] [--only rr,oneway,broadcast,formation,failure,cost,memory,refresh]
//                      [--stacks ours,raw,raw-coalesced,moleculer,nest] [--reps N] [--cell-ms MS]
//                      [--in-flight 1,10,100] [--sizes 32,1024,65536] [--nodes 3,8,16,32]
//                      [--refresh-sizes 10,100,1000,10000] [--connections 200]
//                      [--out FILE] [--cpu-prof] [--no-sigstop]
//   --cpu-prof writes V8 CPU profiles of our processes to bench/results/prof/ (summarize them
//   with `node bench/prof-summary.mjs bench/results/prof/<file>.cpuprofile`).
//
// Needs the build (`npm run build`): our side is imported from dist/src/index.js.
// Every process is a child of this one (bench/child.mjs, loopback guard preloaded) and is killed
// by pid when done, on exit and on SIGINT/SIGTERM; every loop is bounded in time and count, and
// the whole run has a hard deadline.
import { readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import './lib/guard.mjs';
import { fmt, freePorts, now, sizeLabel, sleep, summarize } from './lib/common.mjs';
import { childFlags, killAll, startChild, stopAll } from './lib/procs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const require = createRequire(import.meta.url);

// --- options ---------------------------------------------------------------------------------

const argv = process.argv.slice(2);
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

const QUICK = flag('quick');
const ALL_SECTIONS = [
  'rr',
  'oneway',
  'broadcast',
  'formation',
  'failure',
  'cost',
  'memory',
  'refresh',
];
const SECTIONS = new Set(list('only', ALL_SECTIONS));
const ALL_STACKS = ['ours', 'raw', 'raw-coalesced', 'moleculer', 'nest'];
const STACKS = list('stacks', ALL_STACKS).filter(s => ALL_STACKS.includes(s));
const OUT = resolve(option('out', join(here, 'results', 'latest.json')));
const CPU_PROF = flag('cpu-prof');

/** Heartbeat and failure timeout of our nodes (the library's defaults). */
const HEARTBEAT_MS = 1_000;
const FAILURE_TIMEOUT_MS = 5_000;

const config = QUICK
  ? {
      reps: 1,
      cellMs: 400,
      warmMs: 120,
      inFlight: [1, 10, 100],
      sizes: [32, 1024, 65536],
      onewaySizes: [32, 1024, 65536],
      broadcastNodes: 4,
      broadcastSizes: [32],
      formationNodes: [3, 8, 16],
      moleculerFormationNodes: [3],
      formationReps: 1,
      killNodes: [3],
      stopNodes: [3],
      idleNodes: 16,
      idleMs: 2_000,
      memoryConnections: 50,
      refreshSizes: [10, 100, 1_000, 10_000],
      refreshSteadyReps: 3,
    }
  : {
      reps: 3,
      cellMs: 2_000,
      warmMs: 400,
      inFlight: [1, 10, 100],
      sizes: [32, 1024, 65536],
      onewaySizes: [32, 1024, 65536],
      broadcastNodes: 8,
      broadcastSizes: [32, 1024],
      formationNodes: [3, 8, 16, 32],
      moleculerFormationNodes: [3, 8],
      formationReps: 3,
      killNodes: [3, 8],
      stopNodes: [3],
      idleNodes: 16,
      idleMs: 5_000,
      memoryConnections: 200,
      refreshSizes: [10, 100, 1_000, 10_000],
      refreshSteadyReps: 5,
    };
if (option('nodes')) {
  config.formationNodes = list('nodes').map(Number);
  config.moleculerFormationNodes = config.moleculerFormationNodes.filter(n =>
    config.formationNodes.includes(n),
  );
  config.killNodes = config.killNodes.filter(n => config.formationNodes.includes(n));
  config.stopNodes = config.stopNodes.filter(n => config.formationNodes.includes(n));
  if (config.killNodes.length === 0) config.killNodes = [Math.min(...config.formationNodes)];
  if (config.stopNodes.length === 0) config.stopNodes = [Math.min(...config.formationNodes)];
  if (config.moleculerFormationNodes.length === 0)
    config.moleculerFormationNodes = [Math.min(...config.formationNodes)];
  config.idleNodes = Math.max(...config.formationNodes);
  config.broadcastNodes = Math.max(
    3,
    Math.min(config.broadcastNodes, Math.max(...config.formationNodes)),
  );
}
if (option('refresh-sizes')) config.refreshSizes = list('refresh-sizes').map(Number);
if (option('connections')) config.memoryConnections = Math.max(1, Number(option('connections')));
if (option('in-flight')) config.inFlight = list('in-flight').map(Number);
if (option('sizes')) config.sizes = config.onewaySizes = list('sizes').map(Number);
if (option('reps')) config.reps = config.formationReps = Math.max(1, Number(option('reps')));
if (option('cell-ms')) {
  config.cellMs = Math.max(50, Number(option('cell-ms')));
  config.warmMs = Math.min(config.warmMs, Math.round(config.cellMs / 3));
}
/** Most messages one cell may count, whatever the time: every loop is bounded in count too. */
const MAX_COUNT = 20_000_000;
const HARD_DEADLINE_MS = (QUICK ? 6 : 40) * 60_000;

if (CPU_PROF) {
  const dir = join(here, 'results', 'prof');
  mkdirSync(dir, { recursive: true });
  childFlags.byLabel = label =>
    label.startsWith('ours') ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

const hardDeadline = setTimeout(() => {
  process.stderr.write(
    `bench: hard deadline of ${HARD_DEADLINE_MS / 60_000} min reached, aborting\n`,
  );
  killAll();
  process.exit(2);
}, HARD_DEADLINE_MS);
hardDeadline.unref();

if (!existsSync(join(root, 'dist', 'src', 'index.js'))) {
  process.stderr.write('bench: dist/src/index.js is missing; run "npm run build" first\n');
  process.exit(1);
}

// --- records ---------------------------------------------------------------------------------

const STACK_NAMES = {
  ours: 'gen-cluster',
  raw: 'raw net.Socket',
  'raw-coalesced': 'raw net.Socket, coalesced',
  moleculer: 'moleculer TCP',
  nest: '@nestjs/microservices TCP',
};
/** Samples by key, summarized into records at the end. */
const samples = new Map();
const sample = (name, stack, metric, unit, params, value) => {
  const key = JSON.stringify([name, stack, metric, unit, params]);
  if (!samples.has(key))
    samples.set(key, { name, stack, metric, unit, params, values: [], notes: [] });
  samples.get(key).values.push(value);
  return samples.get(key);
};

const startedAt = performance.now();
const elapsed = () => `${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)}s`;
const progress = line => process.stderr.write(`${elapsed()}  ${line}\n`);

// --- 1 and 2: request/response and one-way, pairs of processes -------------------------------

async function startPair(stack) {
  const name = stack === 'raw-coalesced' ? 'raw' : stack;
  const coalesce = stack === 'raw-coalesced';
  const server = await startChild(`${stack}-server`, { flags: [] });
  const client = await startChild(`${stack}-client`, { flags: [] });
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
const rotate = (items, by) => items.map((_, i) => items[(i + by) % items.length]);

async function messagingSections() {
  const want = ['rr', 'oneway'].filter(s => SECTIONS.has(s));
  if (want.length === 0 || STACKS.length === 0) return;
  const pairs = [];
  try {
    for (const stack of STACKS) {
      progress(`starting ${STACK_NAMES[stack]} pair`);
      pairs.push(await startPair(stack));
    }
    // Warm every pair up (JIT, buffers, connections) before the first measured cell.
    for (const pair of pairs) {
      const warm = { maxCount: MAX_COUNT, warmMs: 0 };
      await pair.client.call(
        'rr',
        { ...warm, size: 1024, window: 10, ms: config.warmMs * 3 },
        60_000,
      );
      await pair.client.call('rr', { ...warm, size: 32, window: 1, ms: config.warmMs * 2 }, 60_000);
    }
    const runMs = config.cellMs;
    if (SECTIONS.has('rr')) {
      for (const size of config.sizes) {
        for (const window of config.inFlight) {
          for (let rep = 0; rep < config.reps; rep++) {
            for (const pair of rotate(pairs, rep)) {
              // warm-up, then the measured run with the CPU time both processes spent on it
              await pair.client.call(
                'rr',
                { size, window, ms: config.warmMs, warmMs: 0, maxCount: MAX_COUNT },
                config.warmMs + 60_000,
              );
              const s0 = await pair.server.call('usage', { gc: false });
              const r = await pair.client.call(
                'rr',
                { size, window, ms: runMs, warmMs: 0, maxCount: MAX_COUNT },
                runMs + 60_000,
              );
              const s1 = await pair.server.call('usage', { gc: false });
              const serverMicros = s1.cpu.user + s1.cpu.system - s0.cpu.user - s0.cpu.system;
              const params = { inFlight: window, payloadBytes: size };
              sample(
                'request-response',
                pair.stack,
                'cpu_per_round_trip',
                'µs',
                params,
                r.count ? (r.cpuMicros + serverMicros) / r.count : null,
              );
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
                rec.notes.push(
                  `${r.errors} errors, ${r.lost} lost: ${r.firstError ?? ''}`.slice(0, 200),
                );
              progress(
                `rr        ${String(window).padStart(3)} in flight  ${sizeLabel(size).padStart(6)}  ${STACK_NAMES[pair.stack].padEnd(27)} rep ${rep + 1}/${config.reps}  ${fmt(r.perSecond, 0).padStart(9)}/s  p50 ${fmt(r.p50, 3)} ms  p99 ${fmt(r.p99, 3)} ms  CPU ${fmt(r.count ? (r.cpuMicros + serverMicros) / r.count : null, 1)} µs/rt${r.errors ? `  (${r.errors} errors)` : ''}`,
              );
            }
          }
        }
      }
    }
    if (SECTIONS.has('oneway')) {
      for (const size of config.onewaySizes) {
        for (let rep = 0; rep < config.reps; rep++) {
          for (const pair of rotate(pairs, rep)) {
            await pair.client.call(
              'oneway',
              { size, ms: config.warmMs, warmMs: 0, maxCount: MAX_COUNT },
              config.warmMs + 120_000,
            );
            const s0 = await pair.server.call('usage', { gc: false });
            const r = await pair.client.call(
              'oneway',
              { size, ms: runMs, warmMs: 0, maxCount: MAX_COUNT },
              runMs + 120_000,
            );
            const s1 = await pair.server.call('usage', { gc: false });
            const serverMicros = s1.cpu.user + s1.cpu.system - s0.cpu.user - s0.cpu.system;
            const perSecond = (r.received / r.elapsedMs) * 1000;
            const params = { payloadBytes: size };
            sample(
              'one-way',
              pair.stack,
              'cpu_per_message',
              'µs',
              params,
              r.received ? (r.cpuMicros + serverMicros) / r.received : null,
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
            progress(
              `one-way   ${sizeLabel(size).padStart(6)}  ${STACK_NAMES[pair.stack].padEnd(27)} rep ${rep + 1}/${config.reps}  ${fmt(perSecond, 0).padStart(10)} msg/s  ${fmt((perSecond * size) / 1e6, 1)} MB/s${r.received !== r.sent ? `  (sent ${r.sent}, received ${r.received})` : ''}`,
            );
          }
        }
      }
    }
  } finally {
    await stopAll(
      pairs.flatMap(p => [p.server, p.client]),
      CPU_PROF ? 8_000 : 1_000,
    );
  }
}

// --- 3 and 4: clusters of processes: formation, broadcast, failure detection, idle cost -------

const procIo = pid => {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    const get = key => Number(new RegExp(`^${key}: (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
    return { wchar: get('wchar'), rchar: get('rchar') };
  } catch {
    return null;
  }
};
const loopbackTx = () => {
  try {
    const line = readFileSync('/proc/net/dev', 'utf8')
      .split('\n')
      .find(l => l.trim().startsWith('lo:'));
    return Number(line.split(':')[1].trim().split(/\s+/)[8]);
  } catch {
    return NaN;
  }
};

/** Starts an N-node cluster, one process per node, and waits until every node sees every other. */
async function startCluster(stack, n, rep) {
  const ports = await freePorts(n);
  const names = ports.map((_, i) => (stack === 'ours' ? `n${i + 1}@127.0.0.1` : `n${i + 1}`));
  const all = names.map((name, i) => ({ nodeID: name, port: ports[i] }));
  const peers = names.map((name, i) => `${name}:${ports[i]}`);
  const tSpawn = now();
  const nodes = new Array(n);
  const ups = await Promise.all(
    names.map(async (name, i) => {
      const child = await startChild(`${stack}-n${i + 1}`);
      nodes[i] = child;
      const args =
        stack === 'ours'
          ? { stack, name, port: ports[i], peers }
          : { stack, nodeID: name, port: ports[i], all };
      return child.call('node', args, 60_000);
    }),
  ).catch(async error => {
    await stopAll(nodes, 500);
    throw error;
  });
  const lastUp = Math.max(...ups.map(u => u.t));
  const limit = 20_000 + n * 1_000;
  const formed = await Promise.all(
    nodes.map(c => c.waitEvent(e => e.ev === 'members' && e.n >= n - 1, limit)),
  );
  const ok = formed.every(Boolean);
  if (!ok) {
    const seen = nodes.map(c => c.events.filter(e => e.ev === 'members').at(-1)?.n ?? 0);
    progress(
      `${stack} cluster of ${n} did not form within ${limit / 1000} s: members seen per node ${seen.join(',')}`,
    );
  }
  const formedAt = ok ? Math.max(...formed.map(e => e.t)) : null;
  return {
    stack,
    n,
    rep,
    nodes,
    names,
    ok,
    afterLastUp: ok ? formedAt - lastUp : null,
    afterSpawn: ok ? formedAt - tSpawn : null,
    startMs: ups.map(u => u.t - u.t0),
  };
}

/** Time until every survivor reported `victim` down, after `signal`; null if not within `waitMs`. */
async function detection(cluster, victimIndex, signal, waitMs) {
  const victim = cluster.nodes[victimIndex];
  const name = cluster.names[victimIndex];
  const survivors = cluster.nodes.filter((c, i) => i !== victimIndex && !c.exited && !c.faulted);
  const t0 = now();
  victim.signal(signal);
  victim.faulted = signal;
  const seen = await Promise.all(
    survivors.map(c => c.waitEvent(e => e.ev === 'down' && e.node === name && e.t >= t0, waitMs)),
  );
  const all = seen.every(Boolean);
  return {
    ms: all ? Math.max(...seen.map(e => e.t)) - t0 : null,
    first: seen.some(Boolean) ? Math.min(...seen.filter(Boolean).map(e => e.t)) - t0 : null,
    reasons: [...new Set(seen.filter(Boolean).map(e => e.reason))],
    detectedBy: seen.filter(Boolean).length,
    survivors: survivors.length,
  };
}

async function idleCost(cluster) {
  const { nodes, n, stack } = cluster;
  await sleep(1_500); // let the formation chatter settle
  const u0 = await Promise.all(nodes.map(c => c.call('usage', { gc: true })));
  await sleep(200);
  const c0 = await Promise.all(nodes.map(c => c.call('usage', { gc: false })));
  const io0 = nodes.map(c => procIo(c.pid));
  const lo0 = loopbackTx();
  const t0 = performance.now();
  await sleep(config.idleMs);
  const io1 = nodes.map(c => procIo(c.pid));
  const lo1 = loopbackTx();
  const seconds = (performance.now() - t0) / 1000;
  const c1 = await Promise.all(nodes.map(c => c.call('usage', { gc: false })));
  const cpu = c1.map(
    (u, i) =>
      (u.cpu.user + u.cpu.system - c0[i].cpu.user - c0[i].cpu.system) /
      1e6 /
      ((u.t - c0[i].t) / 1000),
  );
  const written = io0.every(Boolean) ? io1.map((io, i) => (io.wchar - io0[i].wchar) / seconds) : [];
  const params = { nodes: n, windowMs: config.idleMs };
  const meanOf = xs => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  sample('idle-cost', stack, 'cpu_percent_per_node', '%', params, meanOf(cpu) * 100);
  // bytes each node process wrote (wchar of /proc/PID/io: its sockets, nothing else while idle)
  sample(
    'idle-cost',
    stack,
    'bytes_written_per_s_per_node',
    'B/s',
    params,
    written.length ? meanOf(written) : null,
  );
  sample(
    'idle-cost',
    stack,
    'machine_loopback_bytes_per_s_per_node',
    'B/s',
    params,
    Number.isFinite(lo1 - lo0) ? (lo1 - lo0) / seconds / n : null,
  ).notes.push(
    "all of the machine's loopback traffic (headers included) / nodes: other processes count too",
  );
  sample(
    'idle-cost',
    stack,
    'heap_used_bytes_per_node',
    'B',
    params,
    meanOf(u0.map(u => u.mem.heapUsed)),
  );
  sample('idle-cost', stack, 'rss_bytes_per_node', 'B', params, meanOf(u0.map(u => u.mem.rss)));
  progress(
    `idle      ${STACK_NAMES[stack].padEnd(27)} ${n} nodes  CPU ${fmt(meanOf(cpu) * 100, 3)} %/node  ${fmt(meanOf(written), 0)} B/s written/node  lo ${fmt((lo1 - lo0) / seconds / n, 0)} B/s/node  RSS ${fmt(meanOf(u0.map(u => u.mem.rss)) / 2 ** 20, 1)} MiB/node`,
  );
}

async function clusterSections() {
  const doFormation = SECTIONS.has('formation');
  const doFailure = SECTIONS.has('failure');
  const doCost = SECTIONS.has('cost');
  const doBroadcast = SECTIONS.has('broadcast') && STACKS.includes('ours');
  const withMoleculer = STACKS.includes('moleculer');
  const plans = [];
  const ns = new Set();
  if (STACKS.includes('ours')) {
    if (doFormation) for (const n of config.formationNodes) ns.add(n);
    if (doFailure) for (const n of [...config.killNodes, ...config.stopNodes]) ns.add(n);
    if (doCost) ns.add(config.idleNodes);
  }
  const molNs = new Set();
  if (withMoleculer) {
    if (doFormation) for (const n of config.moleculerFormationNodes) molNs.add(n);
    if (doFailure) for (const n of [...config.killNodes, ...config.stopNodes]) molNs.add(n);
  }
  // Interleaved: for each size, ours then Moleculer, repetition by repetition.
  for (const n of [...new Set([...ns, ...molNs])].sort((a, b) => a - b)) {
    const reps = doFormation ? config.formationReps : 1;
    for (let rep = 0; rep < reps; rep++) {
      if (ns.has(n)) plans.push({ stack: 'ours', n, rep });
      if (molNs.has(n)) plans.push({ stack: 'moleculer', n, rep });
    }
  }
  for (const plan of plans) {
    let cluster;
    try {
      cluster = await startCluster(plan.stack, plan.n, plan.rep);
      const params = { nodes: plan.n, discovery: 'static' };
      const rec = sample(
        'formation',
        plan.stack,
        'after_last_process_up_ms',
        'ms',
        params,
        cluster.afterLastUp,
      );
      sample('formation', plan.stack, 'after_first_spawn_ms', 'ms', params, cluster.afterSpawn);
      if (!cluster.ok) rec.notes.push('did not form within the limit');
      progress(
        `formation ${STACK_NAMES[plan.stack].padEnd(27)} ${String(plan.n).padStart(2)} nodes  rep ${plan.rep + 1}  ${cluster.ok ? `${fmt(cluster.afterLastUp, 1)} ms after the last process was up, ${fmt(cluster.afterSpawn, 0)} ms after the first spawn` : 'DID NOT FORM'}`,
      );
      if (!cluster.ok) continue;
      if (
        doCost &&
        plan.rep === 0 &&
        ((plan.stack === 'ours' && plan.n === config.idleNodes) ||
          (plan.stack === 'moleculer' && plan.n === Math.max(...molNs)))
      )
        await idleCost(cluster);
      if (doFailure && config.killNodes.includes(plan.n)) {
        const d = await detection(cluster, plan.n - 1, 'SIGKILL', 10_000);
        const r = sample(
          'failure-kill9',
          plan.stack,
          'detected_by_every_survivor_ms',
          'ms',
          { nodes: plan.n },
          d.ms,
        );
        r.notes.push(...d.reasons.filter(x => !r.notes.includes(x)));
        progress(
          `kill -9   ${STACK_NAMES[plan.stack].padEnd(27)} ${String(plan.n).padStart(2)} nodes  ${d.ms === null ? `not detected by all (${d.detectedBy}/${d.survivors}) within 10 s` : `${fmt(d.ms, 1)} ms until all ${d.survivors} survivors reported it (${d.reasons.join(', ')})`}`,
        );
      }
      if (doFailure && config.stopNodes.includes(plan.n) && !flag('no-sigstop')) {
        const waitMs = FAILURE_TIMEOUT_MS + HEARTBEAT_MS + 3_000;
        const d = await detection(cluster, plan.n - 2, 'SIGSTOP', waitMs);
        const params = {
          nodes: plan.n,
          heartbeatMs: HEARTBEAT_MS,
          failureTimeoutMs: FAILURE_TIMEOUT_MS,
          windowMs: [FAILURE_TIMEOUT_MS - HEARTBEAT_MS, FAILURE_TIMEOUT_MS + HEARTBEAT_MS],
          waitedMs: waitMs,
        };
        if (plan.stack === 'moleculer') {
          delete params.heartbeatMs;
          delete params.failureTimeoutMs;
          delete params.windowMs;
        }
        const r = sample('failure-sigstop', plan.stack, 'declared_down_ms', 'ms', params, d.ms);
        if (d.ms === null) r.notes.push(`not detected within ${waitMs / 1000} s`);
        progress(
          `SIGSTOP   ${STACK_NAMES[plan.stack].padEnd(27)} ${String(plan.n).padStart(2)} nodes  ${d.ms === null ? `not declared down within ${waitMs / 1000} s (${d.detectedBy}/${d.survivors})` : `${fmt(d.ms, 0)} ms (${d.reasons.join(', ')})`}`,
        );
      }
    } catch (error) {
      progress(`${plan.stack} cluster of ${plan.n} failed: ${error.message.split('\n')[0]}`);
      sample(
        'formation',
        plan.stack,
        'after_last_process_up_ms',
        'ms',
        { nodes: plan.n, discovery: 'static' },
        null,
      ).notes.push(error.message.split('\n')[0]);
    } finally {
      await stopAll(cluster?.nodes ?? [], CPU_PROF ? 8_000 : 300);
    }
  }
  if (doBroadcast) await broadcastSection();
}

async function broadcastSection() {
  const n = config.broadcastNodes;
  let cluster;
  try {
    cluster = await startCluster('ours', n, 0);
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
        sample('broadcast', 'ours', 'deliveries_per_s', '1/s', params, deliveries);
        sample('broadcast', 'ours', 'broadcasts_per_s', '1/s', params, deliveries / r.receivers);
        progress(
          `broadcast ${STACK_NAMES.ours.padEnd(27)} to ${r.receivers} peers ${sizeLabel(size).padStart(6)}  rep ${rep + 1}/${config.reps}  ${fmt(deliveries, 0)} deliveries/s  (${fmt(deliveries / r.receivers, 0)} broadcasts/s)`,
        );
      }
    }
  } catch (error) {
    progress(`broadcast failed: ${error.message.split('\n')[0]}`);
  } finally {
    await stopAll(cluster?.nodes ?? [], CPU_PROF ? 8_000 : 300);
  }
}

// --- 5: memory per connection, and one refresh as the discovered set grows --------------------

async function memorySection() {
  if (!STACKS.includes('ours')) return;
  const m = config.memoryConnections;
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
    const heap =
      (u => u.mem.heapUsed + u.mem.external)(after) -
      (u => u.mem.heapUsed + u.mem.external)(before);
    sample('memory-per-connection', 'ours', 'heap_and_external_bytes', 'B', params, heap / m);
    // RSS is left out: after a full GC it moves by more than the links take.
    progress(
      `memory    ${STACK_NAMES.ours.padEnd(27)} ${m} links  ${fmt(heap / m / 1024, 1)} KiB heap+external per connection (accepting side)`,
    );
  } catch (error) {
    progress(`memory per connection failed: ${error.message.split('\n')[0]}`);
  } finally {
    await stopAll([spokes, hub], CPU_PROF ? 8_000 : 500);
  }
}

async function refreshSection() {
  if (!STACKS.includes('ours')) return;
  let child;
  try {
    child = await startChild('ours-refresh');
    const limitMs = QUICK ? 40_000 : 120_000;
    const call = child.call(
      'refreshScale',
      { sizes: config.refreshSizes, steadyReps: config.refreshSteadyReps, timeoutMs: limitMs },
      limitMs + 30_000,
    );
    const seen = new Set();
    const onEvent = e => {
      if (e.ev !== 'refresh' || seen.has(e.size)) return;
      seen.add(e.size);
      const params = { peers: e.size, dist: 'instant connect (in-process)' };
      const r = sample('refresh', 'ours', 'first_refresh_connect_all_ms', 'ms', params, e.firstMs);
      if (e.timedOut) r.notes.push(`not done within ${limitMs / 1000} s`);
      const steady = summarize(e.steady);
      const s = sample('refresh', 'ours', 'steady_refresh_ms', 'ms', params, steady.median);
      s.range = steady;
      progress(
        `refresh   ${String(e.size).padStart(6)} peers  first (connect all) ${e.timedOut ? `> ${limitMs / 1000} s` : `${fmt(e.firstMs, 1)} ms`}  steady ${fmt(steady.median, 2)} ms`,
      );
    };
    child.listeners.add(onEvent);
    for (const e of child.events) onEvent(e);
    await call.catch(error => progress(`refresh: ${error.message.split('\n')[0]}`));
  } finally {
    await stopAll([child], CPU_PROF ? 8_000 : 300);
  }
}

// --- report ----------------------------------------------------------------------------------

function machine() {
  const cpus = os.cpus();
  const version = pkg => {
    try {
      return JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')).version;
    } catch {
      return null;
    }
  };
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg().map(x => +x.toFixed(2)),
    versions: {
      'gen-cluster': JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version,
      moleculer: version('moleculer'),
      '@nestjs/microservices': version('@nestjs/microservices'),
    },
  };
}

function buildRecords() {
  const records = [];
  for (const s of samples.values()) {
    const sum = s.range && s.values.length === 1 ? s.range : summarize(s.values);
    const params = { ...s.params, min: sum.min, max: sum.max, runs: sum.runs || s.values.length };
    if (s.values.some(v => v === null)) params.missing = s.values.filter(v => v === null).length;
    if (s.notes.length) params.notes = [...new Set(s.notes)].slice(0, 5);
    records.push({
      name: s.name,
      stack: STACK_NAMES[s.stack] ?? s.stack,
      metric: s.metric,
      value: sum.median,
      unit: s.unit,
      params,
    });
  }
  return records;
}

const find = (records, name, stack, metric, params = {}) =>
  records.find(
    r =>
      r.name === name &&
      r.stack === STACK_NAMES[stack] &&
      r.metric === metric &&
      Object.entries(params).every(([k, v]) => r.params[k] === v),
  );

function ratios(records) {
  const out = [];
  const ratio = (label, a, b, target, compare = '>=') => {
    const value = a?.value != null && b?.value ? a.value / b.value : null;
    out.push({
      label,
      value,
      target,
      compare,
      met: value === null ? null : compare === '>=' ? value >= target : value <= target,
    });
  };
  const absolute = (label, record, target, compare = '<=', unit = 'ms', extra = {}) => {
    if (!record) return;
    const value = record?.value ?? null;
    out.push({
      label,
      value,
      target,
      compare,
      unit,
      met: value === null ? false : compare === '<=' ? value <= target : value >= target,
      ...extra,
    });
  };
  const rr = (stack, inFlight, payloadBytes) =>
    find(records, 'request-response', stack, 'round_trips_per_s', { inFlight, payloadBytes });
  for (const size of config.sizes)
    ratio(
      `request/response 1 in flight ${sizeLabel(size)}: gen-cluster / raw echo`,
      rr('ours', 1, size),
      rr('raw', 1, size),
      0.85,
    );
  for (const size of config.sizes)
    ratio(
      `request/response 100 in flight ${sizeLabel(size)}: gen-cluster / Moleculer`,
      rr('ours', 100, size),
      rr('moleculer', 100, size),
      5,
    );
  for (const size of config.sizes)
    ratio(
      `request/response 100 in flight ${sizeLabel(size)}: gen-cluster / Nest TCP`,
      rr('ours', 100, size),
      rr('nest', 100, size),
      4,
    );
  const ow = (stack, payloadBytes) =>
    find(records, 'one-way', stack, 'messages_per_s', { payloadBytes });
  for (const size of config.onewaySizes)
    ratio(
      `one-way ${sizeLabel(size)}: gen-cluster / coalesced raw`,
      ow('ours', size),
      ow('raw-coalesced', size),
      size <= 1024 ? 0.5 : 0,
    );
  for (const n of config.killNodes)
    absolute(
      `kill -9 detected by every survivor, ${n} nodes (gen-cluster)`,
      find(records, 'failure-kill9', 'ours', 'detected_by_every_survivor_ms', { nodes: n }),
      50,
    );
  for (const n of config.killNodes)
    absolute(
      `kill -9 detected by every survivor, ${n} nodes (Moleculer)`,
      find(records, 'failure-kill9', 'moleculer', 'detected_by_every_survivor_ms', { nodes: n }),
      50,
      '<=',
      'ms',
      { informative: true },
    );
  for (const n of config.stopNodes) {
    const ours = find(records, 'failure-sigstop', 'ours', 'declared_down_ms', { nodes: n });
    if (!ours) continue;
    const hi = FAILURE_TIMEOUT_MS + HEARTBEAT_MS;
    out.push({
      label: `SIGSTOP declared down, ${n} nodes (gen-cluster), window ${FAILURE_TIMEOUT_MS - HEARTBEAT_MS}-${hi} ms`,
      value: ours?.value ?? null,
      target: hi,
      compare: '<=',
      unit: 'ms',
      met:
        ours?.value != null &&
        ours.params.max <= hi &&
        ours.params.min >= FAILURE_TIMEOUT_MS - HEARTBEAT_MS &&
        !ours.params.missing,
    });
    const mol = find(records, 'failure-sigstop', 'moleculer', 'declared_down_ms', { nodes: n });
    if (mol)
      out.push({
        label: `SIGSTOP declared down, ${n} nodes (Moleculer)`,
        value: mol.value,
        target: null,
        unit: 'ms',
        met: null,
        informative: true,
        note: mol.value === null ? `never (waited ${mol.params.waitedMs / 1000} s)` : undefined,
      });
  }
  absolute(
    'formation of 16 processes (static) after the last one is up',
    find(records, 'formation', 'ours', 'after_last_process_up_ms', { nodes: 16 }),
    1_000,
  );
  return out.filter(r => r.value !== null || r.unit || r.informative);
}

function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => String(r[i]).length)));
  const line = cells => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

const range = r =>
  r.params.runs > 1
    ? ` [${fmt(r.params.min, r.unit === 'ms' ? 3 : 0)}–${fmt(r.params.max, r.unit === 'ms' ? 3 : 0)}]`
    : '';
const shortRange = (r, digits) =>
  r?.params.runs > 1 ? ` [${fmt(r.params.min, digits)}–${fmt(r.params.max, digits)}]` : '';

function printTables(records, ratioRows) {
  const out = [];
  const byName = name => records.filter(r => r.name === name);
  const rr = byName('request-response');
  if (rr.length) {
    const rows = [];
    for (const size of config.sizes)
      for (const window of config.inFlight)
        for (const stack of STACKS) {
          const rate = find(records, 'request-response', stack, 'round_trips_per_s', {
            inFlight: window,
            payloadBytes: size,
          });
          if (!rate) continue;
          const p50 = find(records, 'request-response', stack, 'p50_latency', {
            inFlight: window,
            payloadBytes: size,
          });
          const p99 = find(records, 'request-response', stack, 'p99_latency', {
            inFlight: window,
            payloadBytes: size,
          });
          const cpu = find(records, 'request-response', stack, 'cpu_per_round_trip', {
            inFlight: window,
            payloadBytes: size,
          });
          rows.push([
            window,
            sizeLabel(size),
            STACK_NAMES[stack],
            `${fmt(rate.value, 0)}${shortRange(rate, 0)}`,
            fmt(p50?.value, 3),
            fmt(p99?.value, 3),
            fmt(cpu?.value, 1),
          ]);
        }
    out.push(
      'Request/response (median [min–max] of runs; CPU: both processes, per round trip)\n' +
        table(
          ['in flight', 'payload', 'stack', 'round trips/s', 'p50 ms', 'p99 ms', 'CPU µs'],
          rows,
        ),
    );
  }
  const ow = byName('one-way').filter(r => r.metric === 'messages_per_s');
  if (ow.length) {
    const rows = ow.map(r => {
      const mb = find(
        records,
        'one-way',
        Object.keys(STACK_NAMES).find(k => STACK_NAMES[k] === r.stack),
        'payload_megabytes_per_s',
        { payloadBytes: r.params.payloadBytes },
      );
      const cpu = find(
        records,
        'one-way',
        Object.keys(STACK_NAMES).find(k => STACK_NAMES[k] === r.stack),
        'cpu_per_message',
        { payloadBytes: r.params.payloadBytes },
      );
      return [
        sizeLabel(r.params.payloadBytes),
        r.stack,
        `${fmt(r.value, 0)}${shortRange(r, 0)}`,
        fmt(mb?.value, 1),
        fmt(cpu?.value, 2),
      ];
    });
    out.push(
      'One-way messages (CPU: both processes, per message)\n' +
        table(['payload', 'stack', 'messages/s', 'MB/s', 'CPU µs'], rows),
    );
  }
  const bc = byName('broadcast').filter(r => r.metric === 'deliveries_per_s');
  if (bc.length)
    out.push(
      'Broadcast fan-out\n' +
        table(
          ['nodes', 'payload', 'stack', 'deliveries/s', 'broadcasts/s'],
          bc.map(r => [
            r.params.nodes,
            sizeLabel(r.params.payloadBytes),
            r.stack,
            `${fmt(r.value, 0)}${shortRange(r, 0)}`,
            fmt(
              find(records, 'broadcast', 'ours', 'broadcasts_per_s', {
                payloadBytes: r.params.payloadBytes,
              })?.value,
              0,
            ),
          ]),
        ),
    );
  const fm = byName('formation').filter(r => r.metric === 'after_last_process_up_ms');
  if (fm.length) {
    const rows = fm
      .sort((a, b) => a.params.nodes - b.params.nodes || a.stack.localeCompare(b.stack))
      .map(r => {
        const spawn = records.find(
          x =>
            x.name === 'formation' &&
            x.stack === r.stack &&
            x.metric === 'after_first_spawn_ms' &&
            x.params.nodes === r.params.nodes,
        );
        return [
          r.params.nodes,
          r.stack,
          `${fmt(r.value, 1)}${shortRange(r, 1)}`,
          `${fmt(spawn?.value, 0)}${shortRange(spawn, 0)}`,
          r.params.notes?.join('; ') ?? '',
        ];
      });
    out.push(
      'Formation, static discovery (every node sees every other)\n' +
        table(
          ['nodes', 'stack', 'ms after last process up', 'ms after first spawn', 'notes'],
          rows,
        ),
    );
  }
  const fd = [...byName('failure-kill9'), ...byName('failure-sigstop')];
  if (fd.length)
    out.push(
      'Failure detection (time until every survivor reports the node down)\n' +
        table(
          ['fault', 'nodes', 'stack', 'ms', 'notes'],
          fd.map(r => [
            r.name === 'failure-kill9' ? 'kill -9' : 'SIGSTOP',
            r.params.nodes,
            r.stack,
            r.value === null ? 'not detected' : `${fmt(r.value, 1)}${shortRange(r, 1)}`,
            [
              r.params.windowMs ? `window ${r.params.windowMs.join('–')} ms` : '',
              ...(r.params.notes ?? []),
            ]
              .filter(Boolean)
              .join('; '),
          ]),
        ),
    );
  const cost = [...byName('idle-cost'), ...byName('memory-per-connection'), ...byName('refresh')];
  if (cost.length)
    out.push(
      'Cost\n' +
        table(
          ['measure', 'stack', 'params', 'value'],
          cost.map(r => [
            `${r.name} ${r.metric}`,
            r.stack,
            r.name === 'refresh'
              ? `${r.params.peers} peers`
              : r.name === 'idle-cost'
                ? `${r.params.nodes} nodes`
                : `${r.params.connections} links`,
            `${r.value === null ? '—' : fmt(r.value, r.unit === 'ms' || r.unit === '%' ? 3 : 0)} ${r.unit}${range(r)}${r.params.notes ? ` (${r.params.notes.join('; ')})` : ''}`,
          ]),
        ),
    );
  if (ratioRows.length)
    out.push(
      'Targets\n' +
        table(
          ['figure', 'value', 'target', 'met'],
          ratioRows.map(r => [
            r.label,
            r.value === null
              ? (r.note ?? 'not detected')
              : r.unit
                ? `${fmt(r.value, 1)} ${r.unit}`
                : `${fmt(r.value, 2)}×`,
            r.target === null || r.target === 0
              ? '—'
              : `${r.compare} ${r.unit ? `${fmt(r.target, 0)} ${r.unit}` : `${r.target}×`}`,
            r.informative || r.target === 0 ? '(info)' : r.met ? 'yes' : 'NO',
          ]),
        ),
    );
  return out.join('\n\n');
}

// --- main --------------------------------------------------------------------------------------

async function main() {
  progress(
    `gen-cluster bench${QUICK ? ' (quick)' : ''}: sections ${[...SECTIONS].join(', ')}; stacks ${STACKS.join(', ')}; ${config.reps} rep(s) of ${config.cellMs} ms per cell`,
  );
  const date = new Date().toISOString();
  try {
    if (SECTIONS.has('refresh')) await refreshSection();
    if (SECTIONS.has('memory')) await memorySection();
    await messagingSections();
    await clusterSections();
  } finally {
    killAll();
  }
  const records = buildRecords();
  const ratioRows = ratios(records);
  for (const r of ratioRows)
    records.push({
      name: 'target',
      stack: 'gen-cluster',
      metric: r.label,
      value: r.value,
      unit: r.unit ?? 'ratio',
      params: {
        target: r.target,
        compare: r.compare,
        met: r.met,
        ...(r.informative ? { informative: true } : {}),
        ...(r.note ? { note: r.note } : {}),
      },
    });
  const result = {
    machine: machine(),
    node: process.version,
    date,
    quick: QUICK,
    durationS: +((performance.now() - startedAt) / 1000).toFixed(1),
    config,
    records,
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\n${printTables(records, ratioRows)}\n\n`);
  process.stdout.write(
    `machine: ${result.machine.cpu}, ${result.machine.cores} cores, ${result.machine.memoryGiB} GiB, node ${process.version}; ${result.durationS} s; written ${OUT}\n`,
  );
}

main().then(
  () => process.exit(0),
  error => {
    process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
    killAll();
    process.exit(1);
  },
);
