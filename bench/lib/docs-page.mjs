// The Markdown of docs/benchmarks.md, from one results file of bench/run.mjs: how the figures
// were measured, on what, the targets of bench/targets.mjs marked met or missed, and the tables of
// bench/lib/report.mjs. Every figure on the page comes from the results file; the prose around
// them is this template.
import { fmt, sizeLabel } from './common.mjs';
import { evaluateTargets } from './evaluate-targets.mjs';
import { failoverBullet } from './failover.mjs';
import {
  FULL_GRID_STACKS,
  FULL_RUN_CAP_MIN,
  FULL_RUN_DEADLINE_MIN,
  TABLE_STACKS,
  cellsOf,
} from './plan.mjs';
import { STACK_NAMES, stacksIn } from './records.mjs';
import { resultSections, targetSection } from './report.mjs';
import { noteFor } from '../target-notes.mjs';

/** The words the page uses for the state of a target. */
export const PAGE_MARKS = {
  met: 'met',
  missed: '**missed**',
  info: 'for comparison',
  'not measured': 'not measured',
};

const escapeCell = value => String(value).replaceAll('|', '\\|');

/** A Markdown table (Prettier aligns the columns afterwards). */
export function markdownTable(headers, rows) {
  const line = cells => `| ${cells.map(escapeCell).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** "a, b or c" */
const orList = items =>
  items.length > 1 ? `${items.slice(0, -1).join(', ')} or ${items.at(-1)}` : (items[0] ?? '');
/** "a, b and c" */
const andList = items =>
  items.length > 1 ? `${items.slice(0, -1).join(', ')} and ${items.at(-1)}` : (items[0] ?? '');
// a no-break space keeps "64 KiB" on one line when Prettier wraps the prose
const sizes = bytes => orList((bytes ?? []).map(b => sizeLabel(b).replace(' ', '\u00a0')));
const allSizes = bytes => andList((bytes ?? []).map(b => sizeLabel(b).replace(' ', '\u00a0')));
const counts = values => orList((values ?? []).map(v => fmt(v, 0)));
const utc = iso => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;

/** The load averages (1, 5 and 15 min) recorded with the run, as a sentence. */
function loadLine(m) {
  const load = values => (values ?? []).map(v => fmt(v, 2)).join(' / ');
  const atEnd = m.loadAverage ? `${load(m.loadAverage)} when it ended` : '';
  const atStart = m.loadAverageAtStart ? `${load(m.loadAverageAtStart)} when the run started` : '';
  const both = [atStart, atEnd].filter(Boolean).join(', ');
  return both ? `Load average (1 / 5 / 15 min): ${both}.` : '';
}

/**
 * A warning when other work competed for the CPU: a 1-minute load average above the core count
 * at the start or the end of the run.
 */
function busyLine(m) {
  const peak = Math.max(m.loadAverageAtStart?.[0] ?? 0, m.loadAverage?.[0] ?? 0);
  if (!m.cores || peak <= m.cores) return '';
  return `**This run was made on a busy machine** (a 1-minute load average of up to ${fmt(peak, 2)} on ${m.cores} cores): other work competed with every stack for the CPU, so the absolute figures are low, and even ratios within the run are less reliable than usual.`;
}

/** What each stack is, for the stacks of the run. */
function stackList(stacks, versions = {}) {
  const about = {
    ours: `this library (${versions['gen-cluster'] ? `${versions['gen-cluster']}, ` : ''}from the build in \`dist/\`) without Nest: a \`GenCluster\` with static discovery on the TCP mesh dist, default options (msgpack payloads, heartbeat 1 s, failure timeout 5 s).`,
    'nest-on': `this library inside Nest${versions['@nestjs/core'] ? ` ${versions['@nestjs/core']}` : ''}: an application context with \`GenClusterModule.forRoot()\` (static discovery, TCP mesh dist, the same defaults), its handlers registered with \`cluster.on()\` in a provider's \`onModuleInit\`; the client is the same kind of application, calling \`ClusterService.request\`.`,
    'nest-decorated':
      "the same application, its handlers `@ClusterHandler` methods: found by the explorer at bootstrap and called through Nest's pipeline (`ExternalContextCreator`), with no guard, pipe, interceptor or filter.",
    raw: 'two processes and one `net.Socket`, length-prefixed frames, no serialization, one `write` per message on each side.',
    'raw-coalesced':
      'the same, but every frame produced in one event-loop turn leaves in a single `write`: the most this machine can move through one socket, a physical reference rather than a competitor.',
    'json-rpc':
      "the most a general-purpose Node RPC does with a structured codec, a reference rather than a competitor: the same two processes and socket, each frame a 4-byte length and the JSON text of `{ id, method, payload }` (one-way: `{ topic, payload }`), the payload the same JS value the framework stacks send, requests matched to responses by id in a `Map`, `JSON.parse` on receipt, and every frame queued while one task runs written in one `write` from a `queueMicrotask` flush (one write per event-loop turn on each side). No timeouts, no bounds beyond the socket's back-pressure, no checks of the parsed payloads.",
    moleculer: `Moleculer${versions.moleculer ? ` ${versions.moleculer}` : ''} with its TCP transporter, set up for its best loopback showing: static URLs of every node, UDP discovery off, JSON serializer (its default), gossip every second. Its TCP transporter turns Moleculer's heartbeat checks off, so nothing can be configured to detect a peer that stops answering.`,
    nest: `\`@nestjs/microservices\`${versions['@nestjs/microservices'] ? ` ${versions['@nestjs/microservices']}` : ''} TCP transport: \`@MessagePattern\`/\`@EventPattern\` handlers and a \`ClientTCP\`. It has no membership, so it takes part in the messaging measurements only.`,
    'ours-ms':
      "the same `@MessagePattern` controller, unchanged, served over this library by `GenClusterTransport` in a hybrid Nest app (`app.connectMicroservice({ strategy: createGenClusterTransport(app) })`); the client is a `GenClusterClientProxy` in another Nest app, `send('echo', payload)`.",
    'ours-metrics':
      'the gen-cluster pair with `ClusterMetrics` from the `./metrics` entry attached in both processes, on a private prom-client registry (engine, messaging and dist sources, the per-topic latency histogram on), never scraped during the run, as between two Prometheus scrapes.',
    'ours-otel-idle':
      "the gen-cluster pair with the `./otel` entry's `createTracingInstrumentation()` hooks installed in both processes and `@opentelemetry/api` loaded, but no tracer provider registered: what `tracing: 'auto'` costs an app that never set up OpenTelemetry.",
    'ours-call':
      "this library without Nest on 3 serving processes and a caller (a `GenCluster` with static discovery on the TCP mesh dist and a `ServiceRegistry` each); the servers register `echo` with `messaging.on`, the caller waits until its registry shows the 3, then calls `ServiceCaller.call('echo', payload)` (round-robin).",
    'ours-request':
      'the same processes, the caller sending plain `messaging.request` to the 3 servers in turn, chosen by hand: what a call costs beyond a request.',
    'moleculer-call': `Moleculer${versions.moleculer ? ` ${versions.moleculer}` : ''} on 3 brokers with the \`bench.echo\` action and a calling broker (the TCP transporter set up as above), \`broker.call('bench.echo', payload)\` with its default RoundRobin balancer, once \`waitForServices\` returned and the registry lists 3 endpoints.`,
    nats: `this library without Nest on its NATS dist (\`NatsDist\`, through the \`nats-server\` the run starts on loopback${versions['nats-server'] ? `, ${versions['nats-server']}` : ''}): a \`GenCluster\` whose discovery is the dist's own presence, default options (msgpack payloads, an HMAC on every message, heartbeat 1 s, failure timeout 5 s). Its CPU figures include the nats-server's CPU time.`,
    'moleculer-nats': `Moleculer${versions.moleculer ? ` ${versions.moleculer}` : ''} with its NATS transporter (the \`nats\`${versions.nats ? ` ${versions.nats}` : ''} client) on the same nats-server: its defaults (its own balancer, requests to the chosen node's subject, JSON serializer, heartbeats every 10 s). Its CPU figures include the nats-server's CPU time. One-way messages on both NATS stacks are flow-controlled alike, a request after every batch of about 1 MiB, so that nats-server never cuts a receiver off as a slow consumer.`,
  };
  return stacks.map(s => `- **${STACK_NAMES[s]}**: ${about[s]}`).join('\n');
}

/** The bullet of the `large` section, when the run measured it (its own run if merged). */
function largeBullet(result) {
  if (!result.records.some(r => r.name.startsWith('large-'))) return '';
  const c = result.config ?? {};
  const merged = (result.merged ?? []).filter(m => m.sections.includes('large')).at(-1);
  const load = values => (values ?? []).map(v => fmt(v, 2)).join(' / ');
  const peak = Math.max(merged?.loadAverageAtStart?.[0] ?? 0, merged?.loadAverage?.[0] ?? 0);
  const cores = result.machine?.cores;
  const separate = merged
    ? ` These figures come from a separate ${merged.quick ? 'CI smoke run' : 'full run'} of ${utc(merged.date)}, merged into this results file (load average ${load(merged.loadAverageAtStart)} when it started, ${load(merged.loadAverage)} when it ended${cores && peak > cores ? `: **a busy machine**, more than its ${cores} cores` : ''}).`
    : '';
  const flood = `${fmt(c.largeMessages, 0)} × ${sizes([c.largeBytes])}`;
  return `
- **Large messages**: three processes A, B and C of gen-cluster. Unloaded, A requests B and C
  with 1\u00a0KiB every ${fmt(c.largeProbeIntervalMs, 0)} ms for ${fmt(c.largeBaselineMs, 0)} ms, each latency counted from the
  time the request was due (a sender held up counts every request it held back). Then A requests
  B with ${flood} \`Buffer\` payloads, ${c.largeInFlight} in flight${c.largeMessages === 100 && c.largeBytes === 32 * 1024 * 1024 ? '' : ' (fewer or smaller than the 100 × 32\u00a0MiB the targets are about)'}, while the 1\u00a0KiB
  requests go on: their p99 against the unloaded one, the largest event-loop delay of each process
  (\`monitorEventLoopDelay\`), the messages B received and the \`nodeDown\` events of every node
  until ${fmt(c.largeSettleMs, 0)} ms after the flood. In one more process: the duration of \`send\`
  calls that are refused (a 32\u00a0MiB \`Buffer\` over a 16\u00a0MiB \`maxMessageBytes\`, the same
  to a queue filled in the same event-loop turn, a ${sizes([c.largeRefusedStructuredMiB * 1024 * 1024])} structured
  payload over the limit), and the msgpack encode and decode time of arrays of small objects of
  about ${andList((c.largeStructuredMiB ?? []).map(m => `${m}\u00a0MiB`))}.${separate}`;
}

/** The bullet of the `calls` section, when the run measured it. */
function callsBullet(result) {
  if (!result.records.some(r => r.name === 'call')) return '';
  const c = result.config ?? {};
  return `- **Calls**: ${c.callsServers ?? 3} serving processes and a caller; the caller keeps ${counts(c.callsInFlight)}
  calls in flight to \`echo\`, payloads of ${sizes(c.callsSizes)}, cells as above. Calls per second,
  p50 and p99 latency, the CPU time of all the processes per call, and the spread (the busiest
  server's calls over the mean: 1.00 when even).
`;
}

function methodSection(result, stacks) {
  const c = result.config ?? {};
  const m = result.machine ?? {};
  const sigstop = result.records.some(r => r.name === 'failure-sigstop');
  const runs = result.quick
    ? 'a **CI smoke run** (`npm run bench -- --quick`): one repetition of short cells, every cell of every stack, to show that the benchmark runs; its figures are single runs on a shared machine, not figures to compare'
    : `the full run (\`npm run bench\`): the median of ${c.reps} repetitions per cell, with the min–max of the runs`;
  return `## Method

\`npm run bench\` (bench/run.mjs) runs every stack in the same run on one machine, over loopback
only: each endpoint or cluster node is a child process of the harness, killed by its pid when
its measurement ends. This page shows ${runs}. Two flags serve the smoke test (soak/bench-smoke)
and change no figure: \`--parallel-start\` starts the processes of the request/response pairs
and call groups at once (start-up is not measured there), and \`--warm-count N\` sets the count
warm-up (30,000 round trips by default).

${capSection(result, stacks)}

The stacks:

${stackList(stacks, m.versions)}

What is measured:

- **Request/response**: a client keeps ${counts(c.inFlight)} ${c.inFlight?.length === 1 && c.inFlight[0] === 1 ? 'request' : 'requests'} in flight (each reply sends
  the next) to an echo handler, for ${fmt(c.cellMs, 0)} ms per cell after a warm-up of
  ${fmt(c.warmMs, 0)} ms${
    c.warmCount
      ? ` (before its first cell, each pair makes ${fmt(c.warmCount, 0)} round trips,
  so that the code measured is optimized)`
      : ''
  }; payloads of ${sizes(c.sizes)} (a string field for the framework stacks,
  raw bytes for the sockets). Round trips per second, p50 and p99 latency, and the CPU time of
  both processes per round trip. The order of the stacks rotates between repetitions.
${callsBullet(result)}- **One-way**: the client sends as fast as the stack accepts for ${fmt(c.cellMs, 0)} ms (payloads
  of ${sizes(c.onewaySizes)}); the receiver counts what arrived. Messages and payload megabytes
  per second, CPU of both processes per message.
- **Broadcast**: one node of a ${c.broadcastNodes}-node cluster of gen-cluster broadcasts (payloads
  of ${sizes(c.broadcastSizes)}); deliveries counted by the receivers.
- **Formation**: clusters of ${counts(c.formationNodes)} processes of gen-cluster (${counts(c.moleculerFormationNodes)} of
  Moleculer) with static discovery listing all of them; the time from the last process being up
  (and from the first spawn) until every node sees every other.
- **Failure detection**: on a formed cluster, \`kill -9\` of one node (a closed socket)${sigstop ? ' and `SIGSTOP` of another (a silent peer, found by the heartbeat timeout)' : ''}; the time until
  every survivor reports it down.
- **Cost**: a formed ${c.idleNodes}-node mesh of gen-cluster (and Moleculer's largest cluster) left idle for ${fmt(c.idleMs, 0)} ms (CPU, bytes each
  process wrote per second from \`/proc/PID/io\`, heap and RSS per node); the heap and external
  memory an accepting node spends per connection (${c.memoryConnections} links, after a full GC);
  and one discovery refresh of the engine alone with ${counts(c.refreshSizes)} discovered peers,
  the first (which connects them all through an in-process dist that connects at once) and the
  steady ones, when nothing changes, on ${c.refreshReps ?? 1} fresh ${(c.refreshReps ?? 1) === 1 ? 'cluster' : 'clusters'} per size; with the cost per
  peer at each size and its growth from 1,000 peers to the largest set (1.00 is linear).${largeBullet(result)}${failoverBullet(result)}

The machine of this run: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}; Node
${result.node}. ${loadLine(m)} The run took ${fmt(result.durationS, 0)} s. ${busyLine(m)}

Read the figures as ratios within one run: every process shares this machine's cores, there is
no network between them, and absolute figures move with whatever else the machine is doing (the
load average above says how busy it was). A run on another machine, or under another load, gives
other absolute figures. Targets that compare two stacks are ratios for that reason.

Each run writes a results file (\`bench/results/latest.json\` unless \`--out\` says otherwise):
\`{ machine, node, date, quick, durationS, config, records }\`, one record per figure as
\`{ name, stack, metric, value, unit, params }\`, where \`value\` is the median and \`params\` holds
the cell (payload, in flight, nodes), \`min\`, \`max\` and \`runs\`.`;
}

/**
 * How the full run keeps to its cap (bench/lib/plan.mjs): which cells each stack of the run
 * measured, when not all of them.
 */
function capSection(result, stacks) {
  const c = result.config ?? {};
  const lead = `The full run is kept to about ${FULL_RUN_CAP_MIN} minutes (later issues add stacks): gen-cluster and the reference stacks run every cell; the failover section forms 3 fresh clusters; \`node bench/run.mjs --estimate\` prints the expected duration without building or running anything, every run prints it when it starts, and a full run still going after ${FULL_RUN_DEADLINE_MIN} minutes is aborted.`;
  if (c.cells !== 'used' || !c.sizes || !c.inFlight) {
    return `${lead} This run measured every cell for every stack${result.quick ? '' : ' (`--all-cells`, or a grid given with `--in-flight`/`--sizes`)'}.`;
  }
  const trimmed = stacks
    .filter(s => !FULL_GRID_STACKS.includes(s) && STACK_NAMES[s])
    .map(s => {
      const plan = cellsOf(s, c);
      const windows = [...new Set(plan.rr.map(x => x.window))].map(w => {
        const at = plan.rr.filter(x => x.window === w).map(x => x.size);
        return `${w} in flight at ${allSizes(at)}`;
      });
      const oneway = plan.oneway.length ? `one-way at ${allSizes(plan.oneway)}` : 'no one-way';
      const rr = windows.length ? `request/response ${andList(windows)}` : 'no request/response';
      const why = TABLE_STACKS[s] ? ' (a competitor of the tables)' : ' (its targets)';
      return `- **${STACK_NAMES[s]}**${why}: ${rr}; ${oneway}.`;
    });
  return `${lead} The other stacks run only the cells their targets in \`bench/targets.mjs\` compare, and Moleculer and Nest TCP every size at 1 and 100 in flight (\`--all-cells\` runs every cell for all):

${trimmed.join('\n')}`;
}

/** The missed targets, each with why it was missed and the profile that shows it. */
function missedSection(rows) {
  const missed = rows.filter(r => r.status === 'missed');
  if (missed.length === 0) return '';
  const items = missed.map(r => {
    const note = noteFor(r);
    return `- **${r.label}**: ${note ?? '_not explained yet: the profile that explains it goes in `bench/target-notes.mjs`_'}`;
  });
  return `

### Missed targets: why (profile)

From \`bench/target-notes.mjs\`, written after the run from its CPU profiles (\`npm run bench -- --cpu-prof\`,
then \`node bench/prof-summary.mjs\`).

${items.join('\n')}`;
}

function targetsSection(result) {
  const rows = evaluateTargets(result.records, result.config);
  const count = status => rows.filter(r => r.status === status).length;
  const judged = count('met') + count('missed');
  const unmeasured = count('not measured');
  const summary =
    `${count('met')} of the ${judged} targets measured in this run are met, ${count('missed')} missed.` +
    (unmeasured ? ` ${unmeasured} were not measured (their section or stack did not run).` : '');
  const section = targetSection(rows, PAGE_MARKS);
  section.headers[section.headers.length - 1] = 'result';
  return `## Targets

The project's targets, from \`bench/targets.mjs\`. A ratio is gen-cluster's figure over the other
stack's; rows marked "for comparison" are shown beside a target and are not one. ${summary}

${markdownTable(section.headers, section.rows)}${missedSection(rows)}`;
}

function resultsSection(result, stacks) {
  const sections = resultSections(result.records, { config: result.config, stacks });
  const tables = sections.map(
    s =>
      `### ${s.title}\n\n${s.note ? `${s.note[0].toUpperCase()}${s.note.slice(1)}.\n\n` : ''}${markdownTable(s.headers, s.rows)}`,
  );
  const runs = result.quick
    ? 'A CI smoke run: one run of each cell, so no [min–max]; not figures to compare.'
    : 'Median of the runs of each cell, with [min–max] where there was more than one.';
  return `## Results

${runs} CPU µs is the CPU time of both processes per message or round trip.

${tables.join('\n\n')}`;
}

/** The later runs whose sections replaced the first run's (`--merge`), as a clause. */
function mergedRuns(result) {
  const runs = result.merged ?? [];
  if (runs.length === 0) return '';
  const latest = new Map();
  for (const run of runs) for (const section of run.sections) latest.set(section, run);
  const described = [...new Set(latest.values())].map(
    run =>
      `${[...latest]
        .filter(([, r]) => r === run)
        .map(([section]) => section)
        .join(
          ', ',
        )} from a ${run.quick ? 'CI smoke run' : 'full run'} of ${utc(run.date)} (load average ${run.loadAverageAtStart?.[0] ?? '?'} at its start)`,
  );
  return `, except the sections ${described.join('; ')}`;
}

/**
 * The page for `result` (a parsed results file); `source` is the file's path as the page names
 * it. Returns Markdown, not yet formatted by Prettier.
 */
export function renderBenchmarksPage(result, { source }) {
  const stacks = stacksIn(result.records);
  return `# Benchmarks

<!-- Generated by bench/docs.mjs: edit the template there, not this file. -->

_Generated by \`npm run bench:docs\` from \`${source}\`, ${result.quick ? 'a CI smoke run (`--quick`)' : 'a full run'} of
${utc(result.date)}${mergedRuns(result)}. To refresh it: \`npm run bench\` (the full run, about 20 minutes,
capped at 30), then \`npm run bench:docs\`; \`npm run bench -- --quick\` is the CI smoke run (a few minutes),
which shows that everything runs, not figures to compare._

${methodSection(result, stacks)}

${targetsSection(result)}

${resultsSection(result, stacks)}
`;
}
