// Section `failover`: how long leadership takes to move when the leader fails. Five processes of
// the sample app (the build's sample/main.js: Nest, the library's defaults, heartbeat 1 s and
// failure timeout 5 s) on loopback with static discovery, started one after the other so that
// the first is the oldest and leads. Each repetition forms a fresh cluster, then:
// - kill -9 of the leader (a closed socket): the time from the kill to the successor's
//   `singleton sample-heartbeat started on ...` line, beside the detection, the time until that
//   node logged the old leader down (`Node down: ...`); the target is detection + <= 100 ms;
// - SIGSTOP of the new leader (a silent peer, found by the heartbeat timeout): the time to the
//   next successor's `started` line; the target is <= failure timeout + 1 s.
// Times are when each line reached this process (one machine, one clock). Also the tables of the
// section (bench/lib/report.mjs) and its bullet on the page (bench/lib/docs-page.mjs).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DIST_DIR, fmt, freePorts, sleep } from './common.mjs';

const guard = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'guard.mjs')).href;

/** The sample's timings (the library's defaults). */
const HEARTBEAT_MS = 1_000;
const FAILURE_TIMEOUT_MS = 5_000;
const SINGLETON = 'sample-heartbeat';
const COOKIE = 'bench-failover-cookie-0123456789';

const STARTED = new RegExp(`singleton ${SINGLETON} started on (\\S+) \\(term (\\d+)\\)`);
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const escaped = text => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const nodeDown = name => new RegExp(`Node down: ${escaped(name)} \\(`);

const live = new Set();
process.once('exit', () => {
  for (const node of live) node.signal('SIGKILL');
});

/** One sample process: its output lines with the time each arrived here, stopped by its pid. */
class SampleProcess {
  constructor(name, env) {
    this.name = name;
    this.lines = [];
    this.exited = false;
    this.proc = spawn(process.execPath, ['--import', guard, join(DIST_DIR, 'sample', 'main.js')], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.pid = this.proc.pid;
    live.add(this);
    this.exit = new Promise(resolve =>
      this.proc.once('exit', () => {
        this.exited = true;
        live.delete(this);
        resolve();
      }),
    );
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      let partial = '';
      stream.on('data', chunk => {
        const at = performance.now();
        partial += chunk.toString('utf8');
        let newline;
        while ((newline = partial.indexOf('\n')) >= 0) {
          this.lines.push({ text: partial.slice(0, newline).replace(ANSI, ''), at });
          partial = partial.slice(newline + 1);
        }
        if (this.lines.length > 5_000) this.lines.splice(0, 2_500);
      });
    }
  }

  /** The first line matching `pattern` that arrived at or after `since`, with its match. */
  first(pattern, since = 0) {
    for (const line of this.lines) {
      if (line.at < since) continue;
      const match = pattern.exec(line.text);
      if (match) return { ...line, match };
    }
    return undefined;
  }

  signal(signal) {
    if (this.exited) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }

  async kill() {
    this.signal('SIGKILL');
    await this.exit;
  }

  /** The output's last lines, for an error message. */
  tail(count = 15) {
    return this.lines
      .slice(-count)
      .map(l => l.text)
      .join(' | ');
  }
}

/** Polls `condition` every 10 ms until it returns a value other than undefined, or `ms` passed. */
async function waitFor(condition, ms) {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = await condition();
    if (value !== undefined) return value;
    if (performance.now() > deadline) return undefined;
    await sleep(10);
  }
}

/** `GET /cluster` of `node`: its members, or undefined while it does not answer. */
async function membersOf(node) {
  try {
    const response = await fetch(`http://127.0.0.1:${node.http}/cluster`, {
      signal: AbortSignal.timeout(1_000),
    });
    return (await response.json()).members;
  } catch {
    return undefined;
  }
}

/**
 * Starts `n` sample processes one after the other (each waits for the one before to print its
 * ready line, so their start times are in order) and waits until they form a full mesh and the
 * first runs the singleton.
 */
async function startCluster(n) {
  const ports = await freePorts(n);
  const names = ports.map((_, i) => `n${i + 1}@127.0.0.1`);
  const discovery = `static:${names.map((name, i) => `${name}:${ports[i]}`).join(',')}`;
  const nodes = [];
  try {
    for (const [i, name] of names.entries()) {
      const node = new SampleProcess(name, {
        GEN_CLUSTER_NODE: name,
        GEN_CLUSTER_PORT: String(ports[i]),
        GEN_CLUSTER_DISCOVERY: discovery,
        GEN_CLUSTER_REFRESH_INTERVAL_MS: '1000',
        GEN_CLUSTER_COOKIE: COOKIE,
        NO_COLOR: '1',
      });
      nodes.push(node);
      const ready = await waitFor(
        () => (node.exited ? null : node.first(/SAMPLE_READY (\{.*\})/)),
        30_000,
      );
      if (!ready)
        throw new Error(
          `${name} did not start (${node.exited ? 'exited' : 'no ready line'}): ${node.tail(5)}`,
        );
      node.http = JSON.parse(ready.match[1]).http;
    }
    const formed = await waitFor(async () => {
      const seen = await Promise.all(nodes.map(membersOf));
      return seen.every(m => m?.length === n - 1) || undefined;
    }, 20_000);
    if (!formed) throw new Error(`the ${n} sample processes did not form a full mesh in 20 s`);
    const leading = await waitFor(() => nodes[0].first(STARTED), FAILURE_TIMEOUT_MS + 10_000);
    if (!leading) throw new Error(`${names[0]} did not start ${SINGLETON}: ${nodes[0].tail(5)}`);
    return nodes;
  } catch (error) {
    await Promise.all(nodes.map(node => node.kill()));
    throw error;
  }
}

/**
 * Sends `signal` to `leader` and times the takeover among `others`: the first `started` line of
 * another node, and that node's `Node down` line of the leader. Null fields when none came within
 * `waitMs`.
 */
async function failover(leader, others, signal, waitMs) {
  const t0 = performance.now();
  leader.signal(signal);
  const started = await waitFor(() => {
    const lines = others.map(node => ({ node, line: node.first(STARTED, t0) }));
    return lines.filter(x => x.line).sort((a, b) => a.line.at - b.line.at)[0];
  }, waitMs);
  if (!started) return { successor: null, startedMs: null, detectionMs: null, term: null };
  const { node, line } = started;
  const down = await waitFor(() => node.first(nodeDown(leader.name), t0), 1_000);
  return {
    successor: node,
    startedMs: line.at - t0,
    detectionMs: down ? down.at - t0 : null,
    term: Number(line.match[2]),
  };
}

/** Adds the three figures of one failover to the samples, and prints them. */
function record(ctx, name, label, params, result, expected) {
  const add = (metric, value) => ctx.sample(name, 'ours', metric, 'ms', params, value);
  const { startedMs, detectionMs } = result;
  const after = startedMs !== null && detectionMs !== null ? startedMs - detectionMs : null;
  const series = add('successor_started_ms', startedMs);
  add('detection_ms', detectionMs);
  add('after_detection_ms', after);
  if (startedMs === null) series.notes.push('no successor started');
  else if (result.successor.name !== expected)
    series.notes.push(`${result.successor.name} took over, not the next-oldest ${expected}`);
  ctx.progress(
    `failover  ${label.padEnd(8)} ${params.nodes} sample processes  ${
      startedMs === null
        ? 'NO SUCCESSOR'
        : `${result.successor.name} started ${fmt(startedMs, 1)} ms after the signal, detection ${fmt(detectionMs, 1)} ms, ${fmt(after, 1)} ms after it (term ${result.term})`
    }`,
  );
}

/** A cluster that could not be started is not a failover measurement: it is tried again. */
const STARTUP_ATTEMPTS = 3;

/** One repetition: a fresh cluster, kill -9 of its leader, then SIGSTOP of the next one. */
async function repetition(ctx, n) {
  const params = {
    nodes: n,
    app: 'sample',
    heartbeatMs: HEARTBEAT_MS,
    failureTimeoutMs: FAILURE_TIMEOUT_MS,
  };
  let nodes;
  for (let attempt = 1; !nodes; attempt++) {
    try {
      nodes = await startCluster(n);
    } catch (error) {
      if (attempt >= STARTUP_ATTEMPTS) throw error;
      ctx.progress(`failover  cluster start failed, trying again: ${error.message}`);
    }
  }
  try {
    const [first, second, third] = nodes;
    const kill = await failover(first, nodes.slice(1), 'SIGKILL', FAILURE_TIMEOUT_MS + 5_000);
    record(ctx, 'failover-kill9', 'kill -9', params, kill, second.name);
    if (!kill.successor) return;
    const leader = kill.successor;
    const others = nodes.filter(node => node !== first && node !== leader);
    const stop = await failover(
      leader,
      others,
      'SIGSTOP',
      FAILURE_TIMEOUT_MS + HEARTBEAT_MS + 5_000,
    );
    record(
      ctx,
      'failover-sigstop',
      'SIGSTOP',
      params,
      stop,
      leader === second ? third.name : undefined,
    );
  } finally {
    await Promise.all(nodes.map(node => node.kill()));
  }
}

/**
 * Runs the `failover` section if it was asked for (stack `ours`).
 * @param {import('./context.mjs').BenchContext} ctx
 */
export async function run(ctx) {
  if (!ctx.options.sections.has('failover') || !ctx.options.stacks.includes('ours')) return;
  if (!existsSync(join(DIST_DIR, 'sample', 'main.js')))
    throw new Error(`${DIST_DIR}/sample/main.js is missing; run "npm run build" first`);
  const { failoverNodes, failoverReps } = ctx.config;
  for (const n of failoverNodes)
    for (let rep = 0; rep < failoverReps; rep++) {
      try {
        await repetition(ctx, n);
      } catch (error) {
        const reason = error.message;
        ctx.progress(`failover  ${n} sample processes, repetition ${rep + 1} failed: ${reason}`);
        const params = {
          nodes: n,
          app: 'sample',
          heartbeatMs: HEARTBEAT_MS,
          failureTimeoutMs: FAILURE_TIMEOUT_MS,
        };
        ctx
          .sample('failover-kill9', 'ours', 'successor_started_ms', 'ms', params, null)
          .notes.push(reason);
      }
    }
}

/** The failover table of `records` (empty rows when the section did not run). */
export function failoverSection(records) {
  const cell = r =>
    r
      ? `${fmt(r.value, 1)}${r.params.runs > 1 ? ` [${fmt(r.params.min, 1)}–${fmt(r.params.max, 1)}]` : ''}`
      : '—';
  const rows = [];
  for (const [name, fault] of [
    ['failover-kill9', 'kill -9'],
    ['failover-sigstop', 'SIGSTOP'],
  ]) {
    const of = metric => records.filter(r => r.name === name && r.metric === metric);
    for (const started of of('successor_started_ms')) {
      const same = metric => of(metric).find(r => r.params.nodes === started.params.nodes);
      rows.push([
        fault,
        started.params.nodes,
        started.value === null ? 'no successor' : cell(started),
        cell(same('detection_ms')),
        cell(same('after_detection_ms')),
        [
          started.params.failureTimeoutMs
            ? `failure timeout ${fmt(started.params.failureTimeoutMs, 0)} ms`
            : '',
          ...(started.params.notes ?? []),
        ]
          .filter(Boolean)
          .join('; '),
      ]);
    }
  }
  return {
    title: 'Leadership failover',
    note: "the sample singleton on 5 processes: time from the fault to the successor's started line, and to its detection of the fault",
    headers: [
      'fault',
      'nodes',
      'successor started ms',
      'detection ms',
      'started after detection ms',
      'notes',
    ],
    rows,
  };
}

/** The bullet of the `failover` section on the page, when the run measured it. */
export function failoverBullet(result) {
  const started = result.records.find(
    r => r.name === 'failover-kill9' && r.metric === 'successor_started_ms',
  );
  if (!started) return '';
  const c = result.config ?? {};
  const reps = c.failoverReps ?? started.params.runs;
  return `
- **Leadership failover**: ${(c.failoverNodes ?? [started.params.nodes]).join(' or ')} processes of the
  sample app (\`dist/sample/main.js\`: Nest, the library's defaults, heartbeat
  ${fmt(started.params.heartbeatMs, 0)} ms and failure timeout ${fmt(started.params.failureTimeoutMs, 0)} ms) with static discovery,
  started one after the other so that the first is the oldest and leads; ${reps}
  repetition${reps === 1 ? '' : 's'}, each on a fresh cluster: \`kill -9\` of the leader, then \`SIGSTOP\` of its
  successor. Measured from the signal to the next leader's \`singleton sample-heartbeat started\`
  line, beside the detection (the time until that node logged the old leader down); times are
  when each line reached the harness.`;
}
