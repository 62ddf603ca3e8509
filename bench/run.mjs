#!/usr/bin/env node
// `npm run bench`: this library beside raw sockets, a minimal JSON RPC, Moleculer's TCP transporter
// and @nestjs/microservices TCP, in one run on this machine, loopback only. Prints progress and a
// table, writes bench/results/latest.json, and the ratios the project's targets are about
// (bench/targets.mjs). `npm run bench:docs` turns the results file into docs/benchmarks.md.
//
//   node bench/run.mjs [--quick] [--only rr,oneway,broadcast,formation,failure,cost,memory,refresh,large,calls,failover]
//                      [--stacks ours,nest-on,nest-decorated,raw,raw-coalesced,json-rpc,moleculer,nest,
//                               ours-ms,ours-metrics,ours-otel-idle,ours-call,ours-request,
//                               moleculer-call,nats,moleculer-nats] [--reps N] [--cell-ms MS]
//                      [--in-flight 1,10,100] [--sizes 32,1024,65536] [--nodes 3,8,16,32]
//                      [--refresh-sizes 10,100,1000,10000] [--connections 200]
//                      [--out FILE] [--merge] [--cpu-prof] [--no-sigstop]
//                      [--warm-count N] [--parallel-start] [--all-cells] [--estimate]
//                      [--large-messages N] [--large-mib MIB] [--large-in-flight N]
//                      [--large-baseline-ms MS] [--large-structured-mib 1,4,16]
//   --merge keeps, from the results file already at --out, the records of the sections this run
//   did not measure (and their configuration), so that one section can be measured again alone;
//   the file's `merged` lists each such run (sections, date, quick, load average).
//   --warm-count sets the round trips each pair or caller makes before its first cell (30000; the
//   warm-up stops earlier at 25 x the warm-up time); --parallel-start starts the processes of the
//   pairs and call groups all at once (each importing its stack) and then connects them stack by
//   stack: a shorter run, for the smoke test (test/soak/bench-smoke), with nothing timed differently.
//   --scale runs the scale runner instead (bench/scale.mjs: N nodes in a few processes over the
//   TCP mesh and over NATS; formation, idle CPU, traffic and memory per node; its own options,
//   written to bench/results/scale.json): `npm run bench -- --scale [--dists tcp,nats] ...`.
//   --cpu-prof writes V8 CPU profiles of our processes to bench/results/prof/ (summarize them
//   with `node bench/prof-summary.mjs bench/results/prof/<label>.<time>.cpuprofile`).
//
// The full run (`npm run bench`): medians of 3 repetitions per cell, with their min–max in the
// tables, capped at about 30 minutes (issue 19; later issues add stacks). The cap is kept by
// bench/lib/plan.mjs: gen-cluster and the references (raw, raw coalesced, minimal JSON RPC) run
// every cell; Moleculer and Nest TCP every size at 1 and 100 in flight; every other stack only the
// cells its targets compare (`--all-cells` runs the whole grid for all); the failover section
// forms 3 fresh clusters, not 5. The expected duration is printed when the run starts (with
// `--estimate`, printed and nothing run), and a full run still going after 35 minutes is aborted
// (longer only when the options ask for more than the full set); it is expected to take about
// 20 minutes. `--quick` is the CI smoke run: one repetition of short cells, every cell of every
// stack, to show that everything runs; its figures are not the benchmark's.
//
// Needs the build (`npm run build`): our side is imported from dist/src/index.js, or from another
// build named by BENCH_DIST (e.g. to compare a change with the build before it).
// Every process is a child of this one (bench/child.mjs, loopback guard preloaded) and is killed
// by pid when done, on exit and on SIGINT/SIGTERM; every loop is bounded in time and count, and
// the whole run has a hard deadline.
//
// The sections are in bench/sections/, each a `run(ctx)` that measures what was asked of it and
// adds samples to the context; the options in bench/lib/options.mjs, the tables in
// bench/lib/report.mjs.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import './lib/guard.mjs';
import { DIST_DIR } from './lib/common.mjs';
import { createContext } from './lib/context.mjs';
import { evaluateTargets, targetRecords } from './lib/evaluate-targets.mjs';
import * as failover from './lib/failover.mjs';
import { loadAverage, machine } from './lib/machine.mjs';
import { SECTION_RECORDS, parseOptions } from './lib/options.mjs';
import { FULL_RUN_CAP_MIN, describeEstimate, estimateRun } from './lib/plan.mjs';
import { childFlags, killAll } from './lib/procs.mjs';
import { formatReport } from './lib/report.mjs';
import * as broadcast from './sections/broadcast.mjs';
import * as calls from './sections/calls.mjs';
import * as cluster from './sections/cluster.mjs';
import * as largeMessages from './sections/large-messages.mjs';
import * as memory from './sections/memory.mjs';
import * as messaging from './sections/messaging.mjs';
import * as refresh from './sections/refresh.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** The sections in the order they run; each decides from the options whether it has work. */
const SECTIONS = [refresh, memory, messaging, calls, cluster, broadcast, largeMessages, failover];

/**
 * `result` merged into the results file `previous`: the records of the sections of this run
 * replace the previous ones, the other sections' records stay, with their configuration and
 * their run's machine, date and mode; this run's configuration keys that the sections share
 * with others are left as they were. Returns the merged records (targets not yet evaluated).
 */
function mergeInto(previous, result, sections) {
  const ran = new Set([...sections].flatMap(s => SECTION_RECORDS[s] ?? []));
  const kept = previous.records.filter(r => r.name !== 'target' && !ran.has(r.name));
  // each section's own configuration keys start with its name (largeMessages, ...)
  const own = Object.entries(result.config).filter(([key]) =>
    [...sections].some(s => key.startsWith(s)),
  );
  const measured = result.records.filter(r => ran.has(r.name));
  return {
    ...previous,
    config: { ...result.config, ...previous.config, ...Object.fromEntries(own) },
    merged: [
      ...(previous.merged ?? []),
      {
        sections: [...sections],
        date: result.date,
        quick: result.quick,
        durationS: result.durationS,
        loadAverageAtStart: result.machine.loadAverageAtStart,
        loadAverage: result.machine.loadAverage,
      },
    ],
    records: [...kept, ...measured],
  };
}

/** The results file at `file`, or null when there is none or it is not one. */
function readResults(file) {
  try {
    const result = JSON.parse(readFileSync(file, 'utf8'));
    return Array.isArray(result.records) && result.config && result.date ? result : null;
  } catch {
    return null;
  }
}

/** Aborts the whole run (children killed) if it is still going after `ms`; `why` says what the cap is. */
function armHardDeadline(ms, why = '') {
  const timer = setTimeout(() => {
    process.stderr.write(
      `bench: hard deadline of ${Math.round(ms / 60_000)} min reached, aborting with nothing written${why ? ` (${why})` : ''}\n`,
    );
    killAll();
    process.exit(2);
  }, ms);
  timer.unref();
}

async function main() {
  if (process.argv.includes('--scale')) {
    armHardDeadline(40 * 60_000);
    const { runScale } = await import('./scale.mjs');
    await runScale(process.argv.slice(2).filter(a => a !== '--scale'));
    return;
  }
  const options = parseOptions(process.argv.slice(2), here);
  const { config, quick, stacks } = options;
  if (options.cpuProf) {
    const dir = join(here, 'results', 'prof');
    mkdirSync(dir, { recursive: true });
    // our processes: this library alone (ours-*, nats-*) and inside Nest (nest-on-*, nest-decorated-*)
    const ours = label => /^(ours|nest-on-|nest-decorated-|nats-)/.test(label);
    // named after the process (nest-decorated-server.<time>.cpuprofile), so a profile can be found
    childFlags.byLabel = label =>
      ours(label)
        ? [
            '--cpu-prof',
            `--cpu-prof-dir=${dir}`,
            `--cpu-prof-name=${label}.${Date.now()}.cpuprofile`,
          ]
        : [];
  }
  const estimate = estimateRun(options);
  // a run asked to do more than the full set gets the time its estimate says, and a margin
  const deadlineMs = Math.max(options.hardDeadlineMs, Math.ceil(estimate.totalS * 1.4) * 1000);
  const mode = quick ? 'CI smoke run (--quick)' : 'full run';
  const expected = `expected duration about ${describeEstimate(estimate)}`;
  if (options.estimate) {
    process.stdout.write(
      `${mode}: ${expected}; hard deadline ${Math.round(deadlineMs / 60_000)} min\n`,
    );
    return;
  }
  armHardDeadline(
    deadlineMs,
    quick
      ? 'the CI smoke run'
      : `the full run is planned to fit in ${FULL_RUN_CAP_MIN} min (bench/lib/plan.mjs), ${expected}: a busy machine, or a section far slower than recorded`,
  );
  if (!existsSync(join(DIST_DIR, 'src', 'index.js'))) {
    process.stderr.write(`bench: ${DIST_DIR}/src/index.js is missing; run "npm run build" first\n`);
    process.exit(1);
  }

  const ctx = createContext(options);
  ctx.progress(
    `gen-cluster bench, ${quick ? 'CI smoke run (--quick: one repetition of short cells, not for figures)' : `full run (median of ${config.reps} repetitions, ${config.cells === 'used' ? 'the cells the targets and tables use' : 'every cell for every stack'})`}: sections ${[...options.sections].join(', ')}; stacks ${stacks.join(', ')}; ${config.reps} rep(s) of ${config.cellMs} ms per cell`,
  );
  ctx.progress(`${expected}; hard deadline ${Math.round(deadlineMs / 60_000)} min`);
  const date = new Date().toISOString();
  const loadAverageAtStart = loadAverage();
  try {
    for (const section of SECTIONS) await section.run(ctx);
  } finally {
    killAll();
  }

  const run = {
    machine: machine(root, { loadAverageAtStart }),
    node: process.version,
    date,
    quick,
    durationS: +ctx.elapsedS().toFixed(1),
    config,
    records: ctx.samples.records(),
  };
  const previous = options.merge ? readResults(options.out) : null;
  const result = previous ? mergeInto(previous, run, options.sections) : run;
  const { records } = result;
  const targetRows = evaluateTargets(records, result.config).filter(
    r => r.status !== 'not measured',
  );
  records.push(...targetRecords(targetRows));
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `\n${formatReport(records, targetRows, { config: result.config, stacks, quick: result.quick })}\n\n`,
  );
  if (previous)
    process.stdout.write(
      `merged into ${options.out}: records of ${[...options.sections].join(', ')} replaced, the others kept from the run of ${previous.date}\n`,
    );
  const m = run.machine;
  process.stdout.write(
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${process.version}; load average ${m.loadAverageAtStart.join(' / ')} at the start, ${m.loadAverage.join(' / ')} at the end; ${run.durationS} s (expected ${Math.round(estimate.totalS)} s); written ${options.out}\n`,
  );
  if (!quick && run.durationS > FULL_RUN_CAP_MIN * 60)
    process.stdout.write(
      `bench: this run took ${(run.durationS / 60).toFixed(1)} min, over the full run's cap of ${FULL_RUN_CAP_MIN} min: see bench/lib/plan.mjs\n`,
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
