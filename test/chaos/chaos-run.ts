import { cpus, loadavg } from 'node:os';
import { until } from '../support/wait.js';
import {
  CHAOS_TIMINGS,
  type ChaosConfig,
  convergenceBoundMs,
  nodeOptions,
  seededRandom,
} from './chaos-config.js';
import { FaultInjector } from './chaos-faults.js';
import { ChaosInvariants } from './chaos-invariants.js';
import { ChaosNetwork } from './chaos-network.js';
import { ChaosNode } from './chaos-node.js';
import { snapshotBuild } from './chaos-snapshot.js';
import { type ChaosSummary, type Checkpoint, summarize, writeSummary } from './chaos-report.js';

/** How often the scheduler looks for due faults and recoveries, and the harness for views. */
const TICK_MS = 100;
/** A converged cluster must hold still this long (no view may change) before a checkpoint passes. */
const STABLE_MS = 2_000;
/** A request may stay pending this much longer than its timeout (event-loop lag on 2 busy cores). */
const REQUEST_SLACK_MS = 5_000;
/** Chance that a killed node stays down through a checkpoint (the live set then has a hole). */
const KEEP_DOWN = 0.3;

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/**
 * One chaos run: `config.nodes` Nest processes (test/chaos/chaos-process.mjs), each in its own
 * network namespace, under random faults in bursts of `burstMs`; after each burst every fault is
 * undone and a checkpoint checks convergence, event/view consistency and fd counts; the last one
 * also checks heap growth. Resolves with the summary (violations included); it does not throw on
 * a violation, the caller asserts. The network and every process are gone when it settles.
 */
export async function runChaos(config: ChaosConfig): Promise<ChaosSummary> {
  const started = performance.now();
  const logLines: string[] = [];
  const clock = () => ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  const log = (line: string) => {
    const stamped = `[${clock()} s] ${line}`;
    logLines.push(stamped);
    if (logLines.length > 3_000) logLines.shift();
    if (config.live) process.stderr.write(`${stamped}\n`);
  };
  const random = seededRandom(config.seed);
  const bound = convergenceBoundMs();
  const load = { start: loadavg(), cores: cpus().length };
  log(
    `chaos ${config.mode}: seed ${config.seed} (CHAOS_SEED=${config.seed} repeats the fault schedule), ` +
      `${config.nodes} nodes, ${config.durationMs / 1000} s of faults in bursts of ${config.burstMs / 1000} s, ` +
      `convergence bound ${bound} ms, load ${load.start.map(l => l.toFixed(2)).join(' ')} on ${load.cores} cores`,
  );

  const invariants = new ChaosInvariants(CHAOS_TIMINGS.requestTimeoutMs, REQUEST_SLACK_MS, log);
  const build = await snapshotBuild();
  const network = await ChaosNetwork.create(config.nodes).catch(error => {
    build.remove();
    throw error;
  });
  const names = Array.from({ length: config.nodes }, (_, i) => ChaosNode.nameOf(i));
  const nodes = names.map(
    (_, i) =>
      new ChaosNode(
        i,
        network.hosts[i]!,
        names,
        nodeOptions(),
        invariants,
        CHAOS_TIMINGS.requestTimeoutMs,
        build.script,
      ),
  );
  const witnesses = new Set(
    [...nodes.keys()].sort(() => random() - 0.5).slice(0, config.witnesses),
  );
  const faults = new FaultInjector(
    nodes,
    network,
    random,
    {
      witnesses,
      maxImpaired: config.maxImpaired,
      failureTimeoutMs: CHAOS_TIMINGS.failureTimeoutMs,
      startTimeoutMs: config.startTimeoutMs,
    },
    log,
    (node, error) => invariants.violate('crash', node.name, `start failed: ${error.message}`),
  );
  const fds = new Map<number, { first: number; max: number; last: number }>();
  const sampler = setInterval(() => {
    for (const node of nodes) {
      // from the first view on: while Node loads the application it holds a file open per module
      // (over 200 at once were seen), which says nothing about the mesh
      const count = node.lastView ? node.fdCount() : undefined;
      if (count === undefined) continue;
      const entry = fds.get(node.index) ?? { first: count, max: count, last: count };
      entry.max = Math.max(entry.max, count);
      entry.last = count;
      fds.set(node.index, entry);
    }
  }, 1_000);
  const checkpoints: Checkpoint[] = [];
  const heapSeries = new Map<number, number[]>();
  let baseline: { fds: number; heap: Map<number, number> } | undefined;

  const memoryOf = async (targets: readonly ChaosNode[]) => {
    const before = new Map(targets.map(n => [n.index, invariants.memoryReports.get(n.index)]));
    for (const node of targets) node.requestMemory();
    await until(
      () => targets.every(n => invariants.memoryReports.get(n.index) !== before.get(n.index)),
      15_000,
      'memory reports',
      50,
    );
    return new Map(
      targets.map(n => [n.index, invariants.memoryReports.get(n.index)!.report.heapUsed]),
    );
  };
  const fdsNow = async (targets: readonly ChaosNode[]) => {
    const samples: number[][] = [];
    for (let i = 0; i < 3; i++) {
      samples.push(targets.map(n => n.fdCount() ?? 0));
      await sleep(200);
    }
    return targets.map((_, j) => samples.map(s => s[j]!).sort((a, b) => a - b)[1]!);
  };

  /**
   * Waits until every running node sees exactly the other running nodes and the views hold still
   * for STABLE_MS. Until the bound has passed, views may still move: a fault undone a moment ago
   * can still play out (a partition healed after nearly a failure timeout of silence, whose
   * heartbeats TCP retransmits late, ends in a `heartbeatTimeout` after the heal). So the time
   * taken is when the views last became right; a change after the bound is a flap.
   */
  const converge = async (label: string, deadlineMs: number, judge: boolean) => {
    const t0 = performance.now();
    const live = nodes.filter(n => n.state === 'running');
    const expected = (node: ChaosNode) =>
      live
        .filter(n => n !== node)
        .map(n => n.name)
        .sort()
        .join(',');
    const settled = () => live.every(n => n.lastView?.members.join(',') === expected(n));
    const hardDeadline = judge ? deadlineMs * 3 : deadlineMs;
    let settledAt: number | undefined;
    for (;;) {
      const now = performance.now();
      if (settled()) {
        settledAt ??= now;
        if (now - settledAt >= STABLE_MS) break;
      } else {
        if (judge && settledAt !== undefined && now - t0 > deadlineMs)
          invariants.violate(
            'convergence',
            label,
            `views changed again ${Math.round(now - settledAt)} ms after converging, past the bound`,
          );
        settledAt = undefined;
      }
      if (now - t0 > hardDeadline) {
        const wrong = live
          .filter(n => n.lastView?.members.join(',') !== expected(n))
          .map(n => `${n.name} sees [${n.lastView?.members.join(', ') ?? 'nothing yet'}]`);
        invariants.violate(
          'convergence',
          label,
          `no convergence held for ${STABLE_MS} ms within ${hardDeadline} ms: ${wrong.join('; ')}`,
        );
        return undefined;
      }
      await sleep(TICK_MS);
    }
    const tookMs = Math.round(settledAt - t0);
    if (judge && tookMs > deadlineMs)
      invariants.violate(
        'convergence',
        label,
        `converged after ${tookMs} ms, over the bound ${deadlineMs} ms`,
      );
    return { tookMs, live: live.length };
  };

  try {
    log(
      `starting ${config.nodes} nodes; witnesses (never killed): ${[...witnesses].map(i => names[i]).join(', ')}`,
    );
    await Promise.all(nodes.map(n => n.start(config.startTimeoutMs)));
    const formed = await converge('initial mesh', 30_000, false);
    if (!formed) throw new Error(`the initial mesh did not form:\n${logLines.join('\n')}`);
    log(`mesh of ${config.nodes} formed in ${formed.tookMs} ms`);
    const baseFds = await fdsNow(nodes);
    const baseHeap = await memoryOf(nodes);
    baseline = { fds: Math.max(...baseFds), heap: baseHeap };
    for (const [i, heap] of baseHeap) heapSeries.set(i, [heap]);
    log(
      `baseline: fds ${baseFds.join(' ')}; heap after GC (MiB) ${[...baseHeap.values()].map(mib).join(' ')}`,
    );

    let leftDown: ChaosNode[] = [];
    let remaining = config.durationMs;
    for (let round = 1; remaining > 0; round++) {
      const burst = Math.min(config.burstMs, remaining);
      remaining -= burst;
      log(`burst ${round}: ${burst / 1000} s of faults`);
      for (const node of leftDown) faults.startLater(node, faults.between(0, burst / 2));
      const endAt = performance.now() + burst;
      let nextFault = performance.now() + faults.between(...config.faultEveryMs);
      while (performance.now() < endAt) {
        await faults.recoverDue();
        if (performance.now() >= nextFault) {
          await faults.inject();
          nextFault = performance.now() + faults.between(...config.faultEveryMs);
        }
        await sleep(TICK_MS);
      }
      leftDown = await faults.recoverAll(KEEP_DOWN);
      log(`checkpoint ${round}: all faults undone; ${leftDown.length} node(s) left down`);
      const result = await converge(`checkpoint ${round}`, bound, true);
      const live = nodes.filter(n => n.state === 'running');
      if (result) for (const node of live) invariants.checkConsistency(node);
      const fdAt = await fdsNow(live);
      for (const [j, count] of fdAt.entries())
        if (count > baseline.fds + config.fdSlack)
          invariants.violate(
            'fd',
            live[j]!.name,
            `${count} open fds at checkpoint ${round}, baseline max ${baseline.fds} + ${config.fdSlack}`,
          );
      const heapNow = await memoryOf(live);
      for (const [i, heap] of heapNow)
        if (nodes[i]!.incarnation === 0) heapSeries.get(i)?.push(heap);
      checkpoints.push({
        round,
        convergedMs: result?.tookMs,
        live: live.length,
        fdMax: Math.max(...fdAt),
      });
      log(
        `checkpoint ${round}: ${result ? `converged in ${result.tookMs} ms (bound ${bound} ms)` : 'NOT converged'}, ` +
          `${live.length} live, fds max ${Math.max(...fdAt)}, violations so far ${invariants.violations.length}`,
      );
    }
    for (const index of witnesses) {
      const series = heapSeries.get(index) ?? [];
      const node = nodes[index]!;
      if (node.incarnation !== 0 || series.length < 2) continue;
      const growth = series[series.length - 1]! - series[0]!;
      if (growth > config.heapSlackBytes)
        invariants.violate(
          'heap',
          node.name,
          `post-GC heap grew ${mib(growth)} MiB (${series.map(mib).join(' -> ')}), bound ${mib(config.heapSlackBytes)} MiB`,
        );
    }
  } finally {
    clearInterval(sampler);
    await Promise.all(nodes.map(n => n.kill()));
    network.destroy();
    build.remove();
  }

  const summary = summarize({
    config,
    boundMs: bound,
    timings: CHAOS_TIMINGS,
    faults: faults.counts,
    checkpoints,
    invariants,
    fds,
    baselineFds: baseline?.fds,
    heapSeries,
    witnesses: [...witnesses].map(i => names[i]!),
    load: { ...load, end: loadavg() },
    elapsedMs: performance.now() - started,
    logTail: logLines.slice(-200),
  });
  writeSummary(summary, config.reportPath);
  log(`summary written to ${config.reportPath}`);
  return summary;
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
