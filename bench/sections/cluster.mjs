// Sections `formation`, `failure` and `cost`: clusters of processes (ours, and Moleculer beside
// it) formed with static discovery, then, on the same cluster, the idle cost per node and the
// time until every survivor reports a node killed (kill -9) or frozen (SIGSTOP).
import { fmt, sleep } from '../lib/common.mjs';
import { detection, startCluster } from '../lib/cluster.mjs';
import { loopbackTx, procIo } from '../lib/io-counters.mjs';
import { FAILURE_TIMEOUT_MS, HEARTBEAT_MS } from '../lib/options.mjs';
import { stopAll } from '../lib/procs.mjs';
import { STACK_NAMES } from '../lib/records.mjs';

const meanOf = xs => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** CPU, bytes written, loopback traffic and memory per node of a formed, idle cluster. */
async function idleCost(ctx, cluster) {
  const { nodes, n, stack } = cluster;
  const { idleMs } = ctx.config;
  await sleep(1_500); // let the formation chatter settle
  const u0 = await Promise.all(nodes.map(c => c.call('usage', { gc: true })));
  await sleep(200);
  const c0 = await Promise.all(nodes.map(c => c.call('usage', { gc: false })));
  const io0 = nodes.map(c => procIo(c.pid));
  const lo0 = loopbackTx();
  const t0 = performance.now();
  await sleep(idleMs);
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
  const params = { nodes: n, windowMs: idleMs };
  const sample = (metric, unit, value) =>
    ctx.sample('idle-cost', stack, metric, unit, params, value);
  sample('cpu_percent_per_node', '%', meanOf(cpu) * 100);
  // bytes each node process wrote (wchar of /proc/PID/io: its sockets, nothing else while idle)
  sample('bytes_written_per_s_per_node', 'B/s', written.length ? meanOf(written) : null);
  sample(
    'machine_loopback_bytes_per_s_per_node',
    'B/s',
    Number.isFinite(lo1 - lo0) ? (lo1 - lo0) / seconds / n : null,
  ).notes.push(
    "all of the machine's loopback traffic (headers included) / nodes: other processes count too",
  );
  sample('heap_used_bytes_per_node', 'B', meanOf(u0.map(u => u.mem.heapUsed)));
  sample('rss_bytes_per_node', 'B', meanOf(u0.map(u => u.mem.rss)));
  ctx.progress(
    `idle      ${STACK_NAMES[stack].padEnd(27)} ${n} nodes  CPU ${fmt(meanOf(cpu) * 100, 3)} %/node  ${fmt(meanOf(written), 0)} B/s written/node  lo ${fmt((lo1 - lo0) / seconds / n, 0)} B/s/node  RSS ${fmt(meanOf(u0.map(u => u.mem.rss)) / 2 ** 20, 1)} MiB/node`,
  );
}

/** The clusters to start: for each size, ours then Moleculer, repetition by repetition. */
function plan(ctx) {
  const { sections, stacks } = ctx.options;
  const { config } = ctx;
  const ours = new Set();
  if (stacks.includes('ours')) {
    if (sections.has('formation')) for (const n of config.formationNodes) ours.add(n);
    if (sections.has('failure'))
      for (const n of [...config.killNodes, ...config.stopNodes]) ours.add(n);
    if (sections.has('cost')) ours.add(config.idleNodes);
  }
  const moleculer = new Set();
  if (stacks.includes('moleculer')) {
    if (sections.has('formation')) for (const n of config.moleculerFormationNodes) moleculer.add(n);
    if (sections.has('failure'))
      for (const n of [...config.killNodes, ...config.stopNodes]) moleculer.add(n);
  }
  const plans = [];
  for (const n of [...new Set([...ours, ...moleculer])].sort((a, b) => a - b)) {
    const reps = sections.has('formation') ? config.formationReps : 1;
    for (let rep = 0; rep < reps; rep++) {
      if (ours.has(n)) plans.push({ stack: 'ours', n, rep });
      if (moleculer.has(n)) plans.push({ stack: 'moleculer', n, rep });
    }
  }
  return { plans, largestMoleculer: Math.max(...moleculer) };
}

/** kill -9 of the last node: a closed socket. */
async function killNine(ctx, cluster) {
  const { stack, n } = cluster;
  const d = await detection(cluster, n - 1, 'SIGKILL', 10_000);
  const params = { nodes: n };
  const r = ctx.sample('failure-kill9', stack, 'detected_by_every_survivor_ms', 'ms', params, d.ms);
  r.notes.push(...d.reasons.filter(x => !r.notes.includes(x)));
  ctx.progress(
    `kill -9   ${STACK_NAMES[stack].padEnd(27)} ${String(n).padStart(2)} nodes  ${d.ms === null ? `not detected by all (${d.detectedBy}/${d.survivors}) within 10 s` : `${fmt(d.ms, 1)} ms until all ${d.survivors} survivors reported it (${d.reasons.join(', ')})`}`,
  );
}

/** SIGSTOP of the last node but one: a silent peer, found by the heartbeat timeout. */
async function sigstop(ctx, cluster) {
  const { stack, n } = cluster;
  const waitMs = FAILURE_TIMEOUT_MS + HEARTBEAT_MS + 3_000;
  const d = await detection(cluster, n - 2, 'SIGSTOP', waitMs);
  const params =
    stack === 'moleculer'
      ? { nodes: n, waitedMs: waitMs }
      : {
          nodes: n,
          heartbeatMs: HEARTBEAT_MS,
          failureTimeoutMs: FAILURE_TIMEOUT_MS,
          windowMs: [FAILURE_TIMEOUT_MS - HEARTBEAT_MS, FAILURE_TIMEOUT_MS + HEARTBEAT_MS],
          waitedMs: waitMs,
        };
  const r = ctx.sample('failure-sigstop', stack, 'declared_down_ms', 'ms', params, d.ms);
  if (d.ms === null) r.notes.push(`not detected within ${waitMs / 1000} s`);
  ctx.progress(
    `SIGSTOP   ${STACK_NAMES[stack].padEnd(27)} ${String(n).padStart(2)} nodes  ${d.ms === null ? `not declared down within ${waitMs / 1000} s (${d.detectedBy}/${d.survivors})` : `${fmt(d.ms, 0)} ms (${d.reasons.join(', ')})`}`,
  );
}

/** Forms one planned cluster and runs on it the measurements that apply to it. */
async function runPlan(ctx, { stack, n, rep }, largestMoleculer) {
  const { sections } = ctx.options;
  const { config } = ctx;
  const formationParams = { nodes: n, discovery: 'static' };
  let cluster;
  try {
    cluster = await startCluster(ctx, stack, n, rep);
    const rec = ctx.sample(
      'formation',
      stack,
      'after_last_process_up_ms',
      'ms',
      formationParams,
      cluster.afterLastUp,
    );
    ctx.sample(
      'formation',
      stack,
      'after_first_spawn_ms',
      'ms',
      formationParams,
      cluster.afterSpawn,
    );
    if (!cluster.ok) rec.notes.push('did not form within the limit');
    ctx.progress(
      `formation ${STACK_NAMES[stack].padEnd(27)} ${String(n).padStart(2)} nodes  rep ${rep + 1}  ${cluster.ok ? `${fmt(cluster.afterLastUp, 1)} ms after the last process was up, ${fmt(cluster.afterSpawn, 0)} ms after the first spawn` : 'DID NOT FORM'}`,
    );
    if (!cluster.ok) return;
    const idleSize = stack === 'ours' ? config.idleNodes : largestMoleculer;
    if (sections.has('cost') && rep === 0 && n === idleSize) await idleCost(ctx, cluster);
    if (sections.has('failure') && config.killNodes.includes(n)) await killNine(ctx, cluster);
    if (sections.has('failure') && config.stopNodes.includes(n) && ctx.options.sigstop)
      await sigstop(ctx, cluster);
  } catch (error) {
    const reason = error.message.split('\n')[0];
    ctx.progress(`${stack} cluster of ${n} failed: ${reason}`);
    ctx
      .sample('formation', stack, 'after_last_process_up_ms', 'ms', formationParams, null)
      .notes.push(reason);
  } finally {
    await stopAll(cluster?.nodes ?? [], ctx.grace(300));
  }
}

/**
 * Runs the `formation`, `failure` and `cost` sections that were asked for.
 * @param {import('../lib/context.mjs').BenchContext} ctx
 */
export async function run(ctx) {
  const { plans, largestMoleculer } = plan(ctx);
  for (const p of plans) await runPlan(ctx, p, largestMoleculer);
}
