#!/usr/bin/env node
// The scale runner (`npm run bench -- --scale`, or `node bench/scale.mjs` on a build): N
// GenCluster nodes in a few processes (several nodes per process), over the TCP mesh and over
// NATS, on this machine, loopback only. For each configuration it measures
// - formation: from the last process's nodes started (and from the start commands) until every
//   node sees N − 1 members;
// - idle cost over a window after formation (and a settle time): CPU of each process, of all of
//   them and of nats-server (from /proc/<pid>/stat), per node; messages and bytes each node
//   receives per second (NATS: the server's /varz out_msgs/out_bytes over N; TCP: the links'
//   bytesIn of the dist's stats(), messages not counted); RSS per node (process RSS over its
//   nodes) and heap per node; nodeDown events during the window (false downs: nothing failed);
// - the load average before and after, since other processes of the machine count too.
// Writes bench/results/scale.json (or --out) and prints a table.
//
//   node bench/scale.mjs [--dists tcp,nats] [--tcp-nodes 64,128] [--nats-nodes 200]
//                        [--procs 4] [--idle-ms 15000] [--settle-ms 3000]
//                        [--tcp-heartbeats 1000] [--nats-heartbeats 1000,2500]
//                        [--failure-factor 5] [--out FILE] [--merge]
//                        [--quiet-load 2 [--quiet-wait-s 180]]
//   (through the benchmark: `npm run bench -- --scale [same options]`)
// A slower heartbeat keeps the failure timeout at `failure-factor` × heartbeat (5 s at 1 s, the
// default, 12.5 s at 2.5 s). --merge keeps the configurations of the results file that this run
// did not measure (by dist, nodes, processes, heartbeat). --quiet-load waits before each
// configuration (at most --quiet-wait-s) until the 1-minute load average is below it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import './lib/guard.mjs';
import { fmt, freePorts, now, sleep } from './lib/common.mjs';
import { loadAverage, machine } from './lib/machine.mjs';
import {
  BenchNatsServer,
  natsServerBinary,
  procCpuSeconds,
  procRssBytes,
} from './lib/nats-server.mjs';
import { argReader } from './lib/options.mjs';
import { killAll, startChild, stopAll } from './lib/procs.mjs';
import { table } from './lib/report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const CHILD = join(here, 'scale-child.mjs');
const STACK = { tcp: 'gen-cluster TCP mesh', nats: 'gen-cluster NATS' };

export function scaleOptions(argv) {
  const { option, list, flag } = argReader(argv);
  const nums = (name, fallback) => list(name, fallback).map(Number);
  return {
    dists: list('dists', ['tcp', 'nats']),
    tcpNodes: nums('tcp-nodes', ['64', '128']),
    natsNodes: nums('nats-nodes', ['200']),
    procs: Number(option('procs', '4')),
    idleMs: Number(option('idle-ms', '15000')),
    settleMs: Number(option('settle-ms', '3000')),
    tcpHeartbeats: nums('tcp-heartbeats', ['1000']),
    natsHeartbeats: nums('nats-heartbeats', ['1000', '2500']),
    failureFactor: Number(option('failure-factor', '5')),
    out: resolve(option('out', join(here, 'results', 'scale.json'))),
    merge: flag('merge'),
    // wait (at most quietWaitS) before each configuration until the 1-minute load is below this
    quietLoad: option('quiet-load') === undefined ? null : Number(option('quiet-load')),
    quietWaitS: Number(option('quiet-wait-s', '180')),
  };
}

const sum = xs => xs.reduce((a, b) => a + b, 0);

/** Count maps added key by key. */
const mergeCounts = maps => {
  const out = {};
  for (const m of maps) for (const [k, v] of Object.entries(m)) out[k] = (out[k] ?? 0) + v;
  return out;
};
const delta = (a, b) => (a === null || b === null ? null : b - a);

/** Names (and TCP ports) of `n` nodes split over `procs` processes, contiguous blocks. */
function split(n, procs, ports) {
  const names = Array.from({ length: n }, (_, i) => `s${i + 1}@127.0.0.1`);
  const per = Math.ceil(n / procs);
  return Array.from({ length: procs }, (_, p) => ({
    names: names.slice(p * per, (p + 1) * per),
    ports: ports ? ports.slice(p * per, (p + 1) * per) : [],
  })).filter(g => g.names.length > 0);
}

/** Waits for every child's `formed` event, printing progress every 2 s; null fields if not. */
async function waitFormed(children, limitMs, progress) {
  const deadline = performance.now() + limitMs;
  const formed = children.map(c => c.waitEvent(e => e.ev === 'formed', limitMs));
  let done = false;
  const all = Promise.all(formed).then(r => {
    done = true;
    return r;
  });
  while (!done && performance.now() < deadline) {
    await Promise.race([all, sleep(2_000)]);
    if (done) break;
    const p = await Promise.all(
      children.map(c => c.call('progress', {}, 10_000).catch(() => null)),
    );
    progress(
      `  forming: members seen min ${p.map(x => x?.min ?? '?').join('/')} per process, nodes formed ${p.map(x => x?.formed ?? '?').join('/')}, nodeDown ${sum(p.map(x => x?.downs ?? 0))} ${JSON.stringify(mergeCounts(p.map(x => x?.downReasons ?? {})))}`,
    );
  }
  return all;
}

/** One configuration: start, form, settle, measure the idle window, stop. */
async function measure(cfg, progress) {
  const { dist, n, procs, heartbeatMs, failureTimeoutMs, idleMs, settleMs } = cfg;
  const record = {
    dist,
    stack: STACK[dist],
    nodes: n,
    processes: procs,
    heartbeatMs,
    failureTimeoutMs,
    idleMs,
  };
  let server;
  let children = [];
  try {
    if (dist === 'nats') server = await BenchNatsServer.start();
    const ports = dist === 'tcp' ? await freePorts(n) : null;
    const groups = split(n, procs, ports);
    const peers = ports ? ports.map((port, i) => `s${i + 1}@127.0.0.1:${port}`) : [];
    children = await Promise.all(
      groups.map((_, p) =>
        startChild(`scale-${dist}-p${p + 1}`, {
          main: CHILD,
          // BENCH_SCALE_PROF=<dir>: a V8 CPU profile of each process (bench/prof-summary.mjs)
          flags: process.env.BENCH_SCALE_PROF
            ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SCALE_PROF}`]
            : [],
        }),
      ),
    );
    await Promise.all(children.map(c => c.call('load', { dist }, 60_000)));
    // each process's RSS with the library loaded and no node yet: the base that is not per node
    await Promise.all(children.map(c => c.call('usage', { gc: true }, 30_000)));
    const rssBase = children.map(c => procRssBytes(c.pid));
    record.loadAverageAtStart = loadAverage();
    const tStart = now();
    const ups = await Promise.all(
      children.map((c, p) =>
        c.call(
          'start',
          {
            dist,
            names: groups[p].names,
            ports: groups[p].ports,
            peers,
            natsUrl: server?.url,
            heartbeatMs,
            failureTimeoutMs,
            expect: n - 1,
          },
          180_000,
        ),
      ),
    );
    const lastUp = Math.max(...ups.map(u => u.t));
    const limitMs = 60_000 + n * 500;
    const formed = await waitFormed(children, limitMs, progress);
    if (formed.some(e => !e)) {
      const p = await Promise.all(
        children.map(c => c.call('progress', {}, 10_000).catch(() => null)),
      );
      record.formed = false;
      record.notes = [
        `did not form within ${limitMs / 1000} s: members seen min ${p.map(x => x?.min ?? '?').join('/')}`,
      ];
      progress(`${record.stack} ${n} nodes: DID NOT FORM (${record.notes[0]})`);
      return record;
    }
    const formedAt = Math.max(...formed.map(e => e.t));
    record.formed = true;
    record.startMs = lastUp - tStart;
    record.formationAfterLastStartedMs = formedAt - lastUp;
    record.formationAfterStartMs = formedAt - tStart;
    progress(
      `${record.stack} ${n} nodes in ${procs} processes, heartbeat ${heartbeatMs} ms: formed ${fmt(record.formationAfterLastStartedMs, 0)} ms after the last node started (${fmt(record.formationAfterStartMs, 0)} ms after the start commands; starting took ${fmt(record.startMs, 0)} ms)`,
    );

    await sleep(settleMs);
    const mem = await Promise.all(children.map(c => c.call('usage', { gc: true }, 30_000)));
    // the idle window
    const pids = children.map(c => c.pid);
    const s0 = await Promise.all(children.map(c => c.call('stats', {}, 10_000)));
    const cpu0 = pids.map(procCpuSeconds);
    const srv0 = server ? server.cpuSeconds() : null;
    const varz0 = server ? await server.varz() : null;
    const load0 = loadAverage();
    const t0 = performance.now();
    await sleep(idleMs);
    const cpu1 = pids.map(procCpuSeconds);
    const srv1 = server ? server.cpuSeconds() : null;
    const varz1 = server ? await server.varz() : null;
    const seconds = (performance.now() - t0) / 1000;
    const s1 = await Promise.all(children.map(c => c.call('stats', {}, 10_000)));
    record.loadAverage = [load0, loadAverage()];
    const rss = pids.map(procRssBytes);

    const perProcess = cpu0.map((c, i) => (delta(c, cpu1[i]) / seconds) * 100);
    const nodesPer = groups.map(g => g.names.length);
    record.cpuPercentPerProcess = perProcess.map(x => +x.toFixed(2));
    record.cpuPercentProcesses = +sum(perProcess).toFixed(2);
    record.cpuPercentNatsServer = server ? +((delta(srv0, srv1) / seconds) * 100).toFixed(2) : null;
    record.cpuPercentTotal = +(
      record.cpuPercentProcesses + (record.cpuPercentNatsServer ?? 0)
    ).toFixed(2);
    record.cpuPercentPerNode = +(record.cpuPercentTotal / n).toFixed(4);
    record.rssBytesPerProcess = rss;
    record.rssBytesPerNode = Math.round(sum(rss.map((r, i) => r / nodesPer[i])) / rss.length);
    record.rssBaseBytesPerProcess = rssBase;
    // what a node adds: (RSS − RSS before any node started) / nodes of the process
    record.rssAddedBytesPerNode = Math.round(
      sum(rss.map((r, i) => (r - rssBase[i]) / nodesPer[i])) / rss.length,
    );
    record.heapUsedBytesPerNode = Math.round(
      sum(mem.map((m, i) => m.mem.heapUsed / nodesPer[i])) / mem.length,
    );
    if (server) {
      const v = key => varz1[key] - varz0[key];
      record.messagesReceivedPerNodePerS = +(v('out_msgs') / n / seconds).toFixed(1);
      record.bytesReceivedPerNodePerS = Math.round(v('out_bytes') / n / seconds);
      record.messagesSentPerNodePerS = +(v('in_msgs') / n / seconds).toFixed(1);
      record.bytesSentPerNodePerS = Math.round(v('in_bytes') / n / seconds);
      record.natsServer = {
        connections: varz1.connections,
        rssBytes: server.rssBytes(),
        slowConsumers: varz1.slow_consumers,
      };
    } else {
      const bytesIn = sum(s1.map(s => s.dist.bytesIn)) - sum(s0.map(s => s.dist.bytesIn));
      record.bytesReceivedPerNodePerS = Math.round(bytesIn / n / seconds);
      record.messagesReceivedPerNodePerS = null;
      record.links = sum(s1.map(s => s.dist.links));
    }
    // the dist's own counters, per node per second (whatever numbers its stats() has)
    const other = {};
    for (const key of Object.keys(s1[0]?.dist.other ?? {})) {
      const d = sum(s1.map(s => s.dist.other[key] ?? 0)) - sum(s0.map(s => s.dist.other[key] ?? 0));
      other[key] = +(d / n / seconds).toFixed(1);
    }
    if (Object.keys(other).length) record.distCountersPerNodePerS = other;
    // the same counters since the start, summed over the nodes (handshake refusals of the mesh)
    const totals = {};
    for (const key of Object.keys(s1[0]?.dist.other ?? {}))
      totals[key] = sum(s1.map(s => s.dist.other[key] ?? 0));
    if (Object.keys(totals).length) record.distCountersTotal = totals;
    record.nodeDownDuringWindow = sum(s1.map(s => s.downs)) - sum(s0.map(s => s.downs));
    // each process's event-loop delay over the window (a busy loop delays heartbeats)
    record.eventLoopDelayP99MsPerProcess = s1.map(s => +s.loop.p99Ms.toFixed(1));
    record.eventLoopDelayMaxMsPerProcess = s1.map(s => +s.loop.maxMs.toFixed(1));
    record.nodeDownTotal = sum(s1.map(s => s.downs));
    // nodeDown events by reason since the start (formation included), summed over the nodes
    record.nodeDownReasons = {};
    for (const s of s1)
      for (const [reason, count] of Object.entries(s.downReasons ?? {}))
        record.nodeDownReasons[reason] = (record.nodeDownReasons[reason] ?? 0) + count;
    record.windowS = +seconds.toFixed(2);
    progress(
      `  idle ${fmt(seconds, 1)} s: CPU ${record.cpuPercentPerProcess.map(x => fmt(x, 1)).join(' + ')} % (processes) + ${fmt(record.cpuPercentNatsServer, 1)} % (nats-server) = ${fmt(record.cpuPercentTotal, 1)} % of a core, ${fmt(record.cpuPercentPerNode, 3)} %/node; received/node ${fmt(record.messagesReceivedPerNodePerS, 0)} msg/s ${fmt(record.bytesReceivedPerNodePerS, 0)} B/s; RSS/node ${fmt(record.rssBytesPerNode / 2 ** 20, 2)} MiB; nodeDown in window ${record.nodeDownDuringWindow}; event-loop delay p99 ${record.eventLoopDelayP99MsPerProcess.join('/')} ms, max ${record.eventLoopDelayMaxMsPerProcess.join('/')} ms; load ${record.loadAverage[0].join('/')} -> ${record.loadAverage[1].join('/')}`,
    );
    return record;
  } catch (error) {
    record.formed = false;
    record.notes = [
      String(error?.message ?? error)
        .split('\n')[0]
        .slice(0, 300),
    ];
    progress(`${record.stack} ${n} nodes failed: ${record.notes[0]}`);
    return record;
  } finally {
    await Promise.allSettled(children.map(c => c.call('stop', { ms: 3_000 }, 5_000)));
    await stopAll(children, process.env.BENCH_SCALE_PROF ? 8_000 : 500);
    await server?.stop();
  }
}

export function scaleTable(results) {
  const rows = results.map(r => [
    r.stack,
    r.nodes,
    r.processes,
    `${fmt(r.heartbeatMs / 1000, 1)} / ${fmt(r.failureTimeoutMs / 1000, 1)}`,
    r.formed ? fmt(r.formationAfterLastStartedMs, 0) : 'did not form',
    r.formed ? fmt(r.cpuPercentProcesses, 1) : '—',
    r.formed ? fmt(r.cpuPercentNatsServer, 1) : '—',
    r.formed ? fmt(r.cpuPercentTotal, 1) : '—',
    r.formed ? fmt(r.cpuPercentPerNode, 3) : '—',
    r.formed ? fmt(r.messagesReceivedPerNodePerS, 0) : '—',
    r.formed ? fmt(r.bytesReceivedPerNodePerS, 0) : '—',
    r.formed ? fmt(r.rssBytesPerNode / 2 ** 20, 2) : '—',
    r.formed && r.rssAddedBytesPerNode != null ? fmt(r.rssAddedBytesPerNode / 2 ** 20, 2) : '—',
    r.formed ? String(r.nodeDownDuringWindow) : '—',
    r.loadAverage
      ? r.loadAverage[0].slice(0, 1).concat(r.loadAverage[1].slice(0, 1)).join('→')
      : '—',
  ]);
  return table(
    [
      'dist',
      'nodes',
      'procs',
      'heartbeat / failure s',
      'formation ms',
      'CPU % procs',
      'CPU % nats-server',
      'CPU % total',
      'CPU %/node',
      'msg/s in/node',
      'B/s in/node',
      'RSS MiB/node',
      'added RSS MiB/node',
      'nodeDown idle',
      'load 1m',
    ],
    rows,
  );
}

export async function runScale(argv) {
  const o = scaleOptions(argv);
  const progress = line => process.stderr.write(`${line}\n`);
  const plan = [];
  if (o.dists.includes('tcp'))
    for (const hb of o.tcpHeartbeats)
      for (const n of o.tcpNodes) plan.push({ dist: 'tcp', n, heartbeatMs: hb });
  if (o.dists.includes('nats')) {
    if (!natsServerBinary())
      progress('scale: nats-server is not installed: the NATS runs are skipped');
    else
      for (const hb of o.natsHeartbeats)
        for (const n of o.natsNodes) plan.push({ dist: 'nats', n, heartbeatMs: hb });
  }
  const date = new Date().toISOString();
  const results = [];
  for (const p of plan) {
    const cfg = {
      ...p,
      procs: Math.min(o.procs, p.n),
      failureTimeoutMs: Math.round(p.heartbeatMs * o.failureFactor),
      idleMs: o.idleMs,
      settleMs: o.settleMs,
    };
    if (o.quietLoad !== null) {
      const until = performance.now() + o.quietWaitS * 1000;
      while (loadAverage()[0] >= o.quietLoad && performance.now() < until) await sleep(5_000);
      progress(`scale: load average ${loadAverage().join(' / ')} (waited for < ${o.quietLoad})`);
    }
    progress(
      `scale: ${STACK[cfg.dist]}, ${cfg.n} nodes in ${cfg.procs} processes, heartbeat ${cfg.heartbeatMs} ms, failure timeout ${cfg.failureTimeoutMs} ms`,
    );
    results.push(await measure(cfg, progress));
  }
  const key = r => `${r.dist}/${r.nodes}/${r.processes}/${r.heartbeatMs}`;
  let all = results;
  if (o.merge) {
    try {
      const previous = JSON.parse(readFileSync(o.out, 'utf8'));
      const mine = new Set(results.map(key));
      all = [...(previous.results ?? []).filter(r => !mine.has(key(r))), ...results];
    } catch {
      // no previous file
    }
  }
  const out = {
    machine: machine(root),
    node: process.version,
    date,
    options: { ...o, out: undefined },
    results: all,
  };
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(
    `\nScale (idle window ${o.idleMs / 1000} s after formation + ${o.settleMs / 1000} s settle; CPU in % of one core; NATS messages/bytes from the server's /varz, TCP bytes from the links' counters)\n${scaleTable(all)}\n\nwritten ${o.out}\n`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const timer = setTimeout(() => {
    process.stderr.write('scale: hard deadline of 40 min reached, aborting\n');
    killAll();
    process.exit(2);
  }, 40 * 60_000);
  timer.unref();
  runScale(process.argv.slice(2)).then(
    () => process.exit(0),
    error => {
      process.stderr.write(`scale failed: ${error.stack ?? error}\n`);
      killAll();
      process.exit(1);
    },
  );
}
