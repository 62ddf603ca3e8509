import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CHAOS_TIMINGS, ChaosConfig } from './chaos-config.js';
import type { FaultKind } from './chaos-faults.js';
import type { ChaosInvariants, Violation } from './chaos-invariants.js';

/** What one checkpoint found. */
export interface Checkpoint {
  readonly round: number;
  /** Time from "every fault undone" to "every view equals the live set"; unset if it never did. */
  readonly convergedMs: number | undefined;
  readonly live: number;
  readonly fdMax: number;
}

/** The JSON summary of a run (also the value `runChaos` resolves with). */
export interface ChaosSummary {
  readonly mode: ChaosConfig['mode'];
  readonly seed: number;
  readonly nodes: number;
  readonly durationMs: number;
  readonly elapsedMs: number;
  readonly timings: typeof CHAOS_TIMINGS;
  readonly convergenceBoundMs: number;
  readonly faults: Record<FaultKind, number> & { readonly total: number };
  readonly convergence: {
    readonly checkpoints: number;
    readonly maxMs: number | undefined;
    readonly p50Ms: number | undefined;
  };
  readonly checkpoints: readonly Checkpoint[];
  readonly events: ChaosInvariants['events'];
  readonly maxPendingRequestMs: number;
  readonly fds: {
    readonly baselineMax: number | undefined;
    readonly slack: number;
    /** Per slot, over all its incarnations, from each one's first view on (not during start-up). */
    readonly perNode: Record<string, { first: number; max: number; last: number }>;
  };
  readonly heap: {
    readonly slackBytes: number;
    /** Post-GC heapUsed of the witnesses (first incarnation): baseline, then each checkpoint. */
    readonly witnesses: Record<string, readonly number[]>;
  };
  readonly load: { readonly start: number[]; readonly end: number[]; readonly cores: number };
  readonly violations: readonly Violation[];
  readonly crashLines: readonly string[];
  readonly logTail: readonly string[];
}

/** Builds the summary of a finished run. */
export function summarize(run: {
  config: ChaosConfig;
  boundMs: number;
  timings: typeof CHAOS_TIMINGS;
  faults: Record<FaultKind, number>;
  checkpoints: readonly Checkpoint[];
  invariants: ChaosInvariants;
  fds: ReadonlyMap<number, { first: number; max: number; last: number }>;
  baselineFds: number | undefined;
  heapSeries: ReadonlyMap<number, readonly number[]>;
  witnesses: readonly string[];
  load: { start: number[]; end: number[]; cores: number };
  elapsedMs: number;
  logTail: readonly string[];
}): ChaosSummary {
  const times = run.checkpoints
    .map(c => c.convergedMs)
    .filter((t): t is number => t !== undefined)
    .sort((a, b) => a - b);
  const total = Object.values(run.faults).reduce((a, b) => a + b, 0);
  const name = (index: number) => `n${index}`;
  return {
    mode: run.config.mode,
    seed: run.config.seed,
    nodes: run.config.nodes,
    durationMs: run.config.durationMs,
    elapsedMs: Math.round(run.elapsedMs),
    timings: run.timings,
    convergenceBoundMs: run.boundMs,
    faults: { ...run.faults, total },
    convergence: {
      checkpoints: run.checkpoints.length,
      maxMs: times.length ? times[times.length - 1] : undefined,
      p50Ms: times.length ? times[Math.floor((times.length - 1) / 2)] : undefined,
    },
    checkpoints: run.checkpoints,
    events: run.invariants.events,
    maxPendingRequestMs: run.invariants.maxPendingMs,
    fds: {
      baselineMax: run.baselineFds,
      slack: run.config.fdSlack,
      perNode: Object.fromEntries([...run.fds].map(([i, f]) => [name(i), f])),
    },
    heap: {
      slackBytes: run.config.heapSlackBytes,
      witnesses: Object.fromEntries(
        run.witnesses.map(w => {
          const index = Number(/^n(\d+)@/.exec(w)![1]);
          return [name(index), run.heapSeries.get(index) ?? []];
        }),
      ),
    },
    load: {
      start: run.load.start.map(round2),
      end: run.load.end.map(round2),
      cores: run.load.cores,
    },
    violations: run.invariants.violations,
    crashLines: run.invariants.crashLines,
    logTail: run.logTail,
  };
}

/** Writes the summary as JSON to `path` (relative to the working directory). */
export function writeSummary(summary: ChaosSummary, path: string): void {
  const target = resolve(path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, `${JSON.stringify(summary, null, 2)}\n`);
}

/** The summary as a few readable lines. */
export function formatSummary(summary: ChaosSummary): string {
  const { faults, convergence, events } = summary;
  const heap = Object.entries(summary.heap.witnesses)
    .map(([n, series]) => `${n} ${series.map(mib).join('->')}`)
    .join('; ');
  const reasons = Object.entries(events.byReason)
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
  return [
    `chaos ${summary.mode} run, seed ${summary.seed} (repeat with CHAOS_SEED=${summary.seed}), ` +
      `${(summary.elapsedMs / 1000).toFixed(0)} s in all, ${summary.durationMs / 1000} s of faults, ${summary.nodes} nodes`,
    `faults: ${faults.total} (kill -9 ${faults.kill9}, restart ${faults.restart}, SIGSTOP ${faults.pause}, partition ${faults.partition})`,
    `convergence after the last fault of each burst: ${convergence.checkpoints} checkpoints, ` +
      `max ${convergence.maxMs ?? '-'} ms, p50 ${convergence.p50Ms ?? '-'} ms (bound ${summary.convergenceBoundMs} ms)`,
    `events: ${events.nodeUp} nodeUp, ${events.nodeDown} nodeDown (${reasons}); oldest pending request ${summary.maxPendingRequestMs} ms`,
    `fds: baseline max ${summary.fds.baselineMax ?? '-'}, checkpoint max ${Math.max(0, ...summary.checkpoints.map(c => c.fdMax))} (slack ${summary.fds.slack})`,
    `post-GC heap of witnesses (MiB): ${heap} (slack ${mib(summary.heap.slackBytes)})`,
    `load average ${summary.load.start.join(' ')} at start, ${summary.load.end.join(' ')} at end, ${summary.load.cores} cores`,
    `violations: ${summary.violations.length}`,
    ...summary.violations
      .slice(0, 20)
      .map(v => `  - ${v.invariant} on ${v.node} at ${v.atS} s: ${v.detail.split('\n')[0]}`),
  ].join('\n');
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
