// The benchmark's tables, built from the records of a run: printed by bench/run.mjs at the end of
// a run, and rendered as Markdown by bench/docs.mjs. Each table is a section of title, headers
// and rows of strings, so both show the same figures formatted the same way.
import { fmt, sizeLabel } from './common.mjs';
import { STACK_NAMES, findRecord, stackKey } from './records.mjs';
import { failoverSection } from './failover.mjs';

/**
 * @typedef {object} Section
 * @property {string} title
 * @property {string} [note] what the figures are, printed after the title
 * @property {string[]} headers
 * @property {string[][]} rows
 */

/** A plain-text table whose columns are padded to their widest cell (valid Markdown too). */
export function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => String(r[i]).length)));
  const line = cells => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

/** " [min–max]" of a record's runs (none for a single run), with `digits` decimals. */
const shortRange = (r, digits) =>
  r?.params.runs > 1 ? ` [${fmt(r.params.min, digits)}–${fmt(r.params.max, digits)}]` : '';
const range = r => shortRange(r, r.unit === 'ms' ? 3 : 0);
/** A record's median with " [min–max]" of its runs; "—" when there is none. */
const withRange = (r, digits) => (r ? `${fmt(r.value, digits)}${shortRange(r, digits)}` : '—');

/**
 * Rows of a latency table: one per payload size, in-flight window and stack that has `record`
 * measured, with its rate (median [min–max]), p50, p99, CPU and the `extra` metrics.
 */
function latencyRows(records, stacks, { record, sizes, inFlight, rate, cpu, extra = [] }) {
  const rows = [];
  for (const size of sizes)
    for (const window of inFlight)
      for (const stack of stacks) {
        const params = { inFlight: window, payloadBytes: size };
        const get = metric => findRecord(records, record, stack, metric, params);
        const measured = get(rate);
        if (!measured) continue;
        rows.push([
          window,
          sizeLabel(size),
          STACK_NAMES[stack],
          `${fmt(measured.value, 0)}${shortRange(measured, 0)}`,
          fmt(get('p50_latency')?.value, 3),
          fmt(get('p99_latency')?.value, 3),
          withRange(get(cpu), 1),
          ...extra.map(([metric, digits]) => fmt(get(metric)?.value, digits)),
        ]);
      }
  return rows;
}

function requestResponse(records, { config, stacks }) {
  return {
    title: 'Request/response',
    note: 'median [min–max] of runs; CPU: both processes, per round trip',
    headers: ['in flight', 'payload', 'stack', 'round trips/s', 'p50 ms', 'p99 ms', 'CPU µs'],
    rows: latencyRows(records, stacks, {
      record: 'request-response',
      sizes: config.sizes,
      inFlight: config.inFlight,
      rate: 'round_trips_per_s',
      cpu: 'cpu_per_round_trip',
    }),
  };
}

function calls(records, { config, stacks }) {
  return {
    title: 'Calls over 3 servers',
    note: `median [min–max] of runs; ${config.callsServers ?? 3} serving processes and a caller; CPU: all of them, per call; spread: the busiest server's calls over the mean`,
    headers: ['in flight', 'payload', 'stack', 'calls/s', 'p50 ms', 'p99 ms', 'CPU µs', 'spread'],
    rows: latencyRows(records, stacks, {
      record: 'call',
      sizes: config.callsSizes ?? [],
      inFlight: config.callsInFlight ?? [],
      rate: 'calls_per_s',
      cpu: 'cpu_per_call',
      extra: [['spread_max_over_mean', 2]],
    }),
  };
}

function oneWay(records) {
  const rows = records
    .filter(r => r.name === 'one-way' && r.metric === 'messages_per_s')
    .map(r => {
      const params = { payloadBytes: r.params.payloadBytes };
      const get = metric => findRecord(records, 'one-way', stackKey(r.stack), metric, params);
      return [
        sizeLabel(r.params.payloadBytes),
        r.stack,
        `${fmt(r.value, 0)}${shortRange(r, 0)}`,
        fmt(get('payload_megabytes_per_s')?.value, 1),
        withRange(get('cpu_per_message'), 2),
      ];
    });
  return {
    title: 'One-way messages',
    note: 'median [min–max] of runs; CPU: both processes, per message',
    headers: ['payload', 'stack', 'messages/s', 'MB/s', 'CPU µs'],
    rows,
  };
}

function broadcast(records) {
  const rows = records
    .filter(r => r.name === 'broadcast' && r.metric === 'deliveries_per_s')
    .map(r => [
      r.params.nodes,
      sizeLabel(r.params.payloadBytes),
      r.stack,
      `${fmt(r.value, 0)}${shortRange(r, 0)}`,
      fmt(
        findRecord(records, 'broadcast', 'ours', 'broadcasts_per_s', {
          payloadBytes: r.params.payloadBytes,
        })?.value,
        0,
      ),
    ]);
  return {
    title: 'Broadcast fan-out',
    headers: ['nodes', 'payload', 'stack', 'deliveries/s', 'broadcasts/s'],
    rows,
  };
}

function formation(records) {
  const rows = records
    .filter(r => r.name === 'formation' && r.metric === 'after_last_process_up_ms')
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
  return {
    title: 'Formation, static discovery',
    note: 'every node sees every other',
    headers: ['nodes', 'stack', 'ms after last process up', 'ms after first spawn', 'notes'],
    rows,
  };
}

function failureDetection(records) {
  const rows = [
    ...records.filter(r => r.name === 'failure-kill9'),
    ...records.filter(r => r.name === 'failure-sigstop'),
  ].map(r => [
    r.name === 'failure-kill9' ? 'kill -9' : 'SIGSTOP',
    r.params.nodes,
    r.stack,
    r.value === null ? 'not detected' : `${fmt(r.value, 1)}${shortRange(r, 1)}`,
    [r.params.windowMs ? `window ${r.params.windowMs.join('–')} ms` : '', ...(r.params.notes ?? [])]
      .filter(Boolean)
      .join('; '),
  ]);
  return {
    title: 'Failure detection',
    note: 'time until every survivor reports the node down',
    headers: ['fault', 'nodes', 'stack', 'ms', 'notes'],
    rows,
  };
}

function cost(records) {
  const names = ['idle-cost', 'memory-per-connection'];
  const rows = names
    .flatMap(name => records.filter(r => r.name === name))
    .map(r => [
      `${r.name} ${r.metric}`,
      r.stack,
      r.name === 'idle-cost' ? `${r.params.nodes} nodes` : `${r.params.connections} links`,
      `${r.value === null ? '—' : fmt(r.value, r.unit === 'ms' || r.unit === '%' ? 3 : 0)} ${r.unit}${range(r)}${r.params.notes ? ` (${r.params.notes.join('; ')})` : ''}`,
    ]);
  return { title: 'Cost', headers: ['measure', 'stack', 'params', 'value'], rows };
}

/**
 * One discovery refresh as the discovered set grows: the first (discover N, connect them all)
 * and the steady ones, in ms and in µs per peer, and how the per-peer cost grows from 1,000
 * peers to the largest set (1.00: linear).
 */
function refresh(records) {
  const of = metric => records.filter(r => r.name === 'refresh' && r.metric === metric);
  const rows = of('first_refresh_connect_all_ms')
    .sort((a, b) => a.params.peers - b.params.peers)
    .map(first => {
      const peers = { peers: first.params.peers };
      const get = metric => findRecord(records, 'refresh', 'ours', metric, peers);
      // results files made before the per-peer records: the median over the peers, no range
      const perPeer = (metric, ms) =>
        get(metric) ??
        (ms?.value != null ? { value: (ms.value * 1000) / ms.params.peers, params: {} } : null);
      const steady = get('steady_refresh_ms');
      return [
        fmt(first.params.peers, 0),
        first.value === null ? 'not done' : withRange(first, 1),
        withRange(perPeer('first_refresh_us_per_peer', first), 2),
        withRange(steady, 2),
        withRange(perPeer('steady_refresh_us_per_peer', steady), 2),
        first.params.notes?.join('; ') ?? '',
      ];
    });
  const growth = (metric, label) =>
    of(metric).map(
      r =>
        `${label} ${fmt(r.value, 2)}× from ${fmt(r.params.relativeTo, 0)} to ${fmt(r.params.peers, 0)} peers`,
    );
  const linear = [
    ...growth('first_refresh_per_peer_growth', 'first'),
    ...growth('steady_refresh_per_peer_growth', 'steady'),
  ];
  return {
    title: 'Refresh at scale',
    note: `one discovery refresh of the engine alone, with an in-process dist that connects at once: the first (discover every peer and connect them all, until membership shows them) and the steady ones (nothing changes); median [min–max] of the runs${linear.length ? `; cost per peer ${linear.join(', ')} (1.00: linear)` : ''}`,
    headers: [
      'peers',
      'first refresh ms',
      'first µs/peer',
      'steady refresh ms',
      'steady µs/peer',
      'notes',
    ],
    rows,
  };
}

/** The records of the `large` section named `name` with `metric`, in the order they were made. */
const largeOf = (records, name, metric) =>
  records.filter(r => r.name === name && r.metric === metric && r.stack === STACK_NAMES.ours);

/** A record of the `large` section by name, metric and params. */
const large = (records, name, metric, params) => findRecord(records, name, 'ours', metric, params);

/** "100 × 32 MiB Buffer requests, 2 in flight", from a flood record's params. */
const floodLabel = p =>
  `${p.messages} × ${sizeLabel(p.payloadBytes)} Buffer requests from A to B, ${p.inFlight} in flight`;

function largeFlood(records) {
  const flood = largeOf(records, 'large-flood', 'p99_latency');
  const p = flood[0]?.params;
  const rows = flood.map(r => {
    const path = { path: r.params.path };
    const get = (name, metric) => large(records, name, metric, path);
    const ratio =
      r.params.path === 'A→B'
        ? `${fmt(large(records, 'large-flood', 'p99_ab_over_allowance', {})?.value, 2)} of 4× unloaded + 50 ms`
        : `${fmt(large(records, 'large-flood', 'p99_ac_over_unloaded', {})?.value, 2)}× unloaded`;
    return [
      r.params.path,
      fmt(get('large-unloaded', 'p50_latency')?.value, 2),
      fmt(get('large-unloaded', 'p99_latency')?.value, 2),
      fmt(get('large-flood', 'p50_latency')?.value, 2),
      fmt(r.value, 2),
      ratio,
      r.params.notes?.join('; ') ?? '',
    ];
  });
  const duration = large(records, 'large-flood', 'flood_duration', {});
  const rate = large(records, 'large-flood', 'payload_megabytes_per_s', {});
  const call = large(records, 'large-flood', 'request_call_p50', {});
  const callMax = large(records, 'large-flood', 'request_call_max', {});
  return {
    title: 'Large messages: 1 KiB requests during a flood',
    note: p
      ? `${floodLabel(p)}${p.messages === 100 && p.payloadBytes === 32 * 1024 * 1024 ? '' : ' (reduced: the target is about 100 × 32 MiB)'}, while A requests B and C with 1 KiB every 10 ms, each latency counted from the time the request was due; the flood took ${fmt((duration?.value ?? 0) / 1000, 1)} s (${fmt(rate?.value, 0)} MB/s), and each large request call (encoding and queueing, on A's event loop) ${fmt(call?.value, 1)} ms at p50, ${fmt(callMax?.value, 1)} ms at most`
      : undefined,
    headers: [
      'path',
      'unloaded p50 ms',
      'unloaded p99 ms',
      'flood p50 ms',
      'flood p99 ms',
      'flood p99',
      'notes',
    ],
    rows,
  };
}

function largeNodes(records) {
  const rows = largeOf(records, 'large-flood', 'max_event_loop_delay').map(r => {
    const node = { node: r.params.node };
    return [
      r.params.node,
      fmt(large(records, 'large-unloaded', 'max_event_loop_delay', node)?.value, 1),
      fmt(r.value, 1),
      fmt(large(records, 'large-flood', 'delivered', node)?.value, 0),
      fmt(large(records, 'large-flood', 'node_down', node)?.value, 0),
    ];
  });
  return {
    title: 'Large messages: each node during the flood',
    note: 'largest event-loop delay (perf_hooks monitorEventLoopDelay, beyond its 10 ms timer), large messages received, nodeDown events seen until a settle time after the flood',
    headers: [
      'node',
      'max event-loop delay unloaded ms',
      'max event-loop delay flood ms',
      'received',
      'nodeDown',
    ],
    rows,
  };
}

function largeRefused(records) {
  const rows = largeOf(records, 'large-refused', 'call_max').map(r => {
    const params = { case: r.params.case };
    return [
      r.params.case,
      sizeLabel(r.params.payloadBytes),
      fmt(large(records, 'large-refused', 'call_p50', params)?.value, 3),
      fmt(r.value, 3),
      fmt(large(records, 'large-refused', 'calls', params)?.value, 0),
      r.params.notes?.join('; ') ?? '',
    ];
  });
  return {
    title: 'Large messages: refused sends',
    note: 'duration of a send() call that is refused, after one untimed call of each case',
    headers: ['case', 'payload', 'p50 ms', 'max ms', 'calls', 'notes'],
    rows,
  };
}

function largeStructured(records) {
  const rows = largeOf(records, 'large-structured', 'encode_ms').map(r => {
    const params = { payloadMiB: r.params.payloadMiB };
    const get = metric => large(records, 'large-structured', metric, params);
    const perMiB = get('decode_ms_per_mib');
    return [
      r.params.encodedBytes == null
        ? `about ${r.params.payloadMiB}`
        : fmt(r.params.encodedBytes / 1024 / 1024, 2),
      fmt(r.params.objects, 0),
      fmt(r.value, 1),
      fmt(get('encode_ms_per_mib')?.value, 1),
      fmt(get('decode_ms')?.value, 1),
      fmt(perMiB?.value, 1),
      perMiB?.params.notes?.join('; ') ?? '',
    ];
  });
  return {
    title: 'Structured payloads: msgpack cost',
    note: 'an array of small objects ({ id, name, price, qty, active, tags }), encoded and decoded by the default codec (msgpack and its safety scan), median of the runs; all on the event loop',
    headers: [
      'MiB',
      'objects',
      'encode ms',
      'encode ms/MiB',
      'decode ms',
      'decode ms/MiB',
      'notes',
    ],
    rows,
  };
}

/**
 * The tables of the measurements in `records`, in the report's order; tables without rows are
 * left out. `config` is the run's configuration, `stacks` the stack keys in column order.
 * @returns {Section[]}
 */
export function resultSections(records, { config, stacks }) {
  return [
    requestResponse(records, { config, stacks }),
    calls(records, { config, stacks }),
    oneWay(records),
    broadcast(records),
    formation(records),
    failureDetection(records),
    failoverSection(records),
    cost(records),
    refresh(records),
    largeFlood(records),
    largeNodes(records),
    largeRefused(records),
    largeStructured(records),
  ].filter(section => section.rows.length > 0);
}

/** Decimals of a target's value: counts (not in ms) whole, values under 0.1 with three. */
const targetDigits = r =>
  r.unit !== 'ms' && Number.isInteger(r.value)
    ? 0
    : r.value !== 0 && Math.abs(r.value) < 0.1
      ? 3
      : 1;

/** The words the terminal report uses for the state of a target. */
export const TERMINAL_MARKS = { met: 'yes', missed: 'NO', info: '(info)', 'not measured': '—' };

/**
 * The table of the targets, from evaluated rows (bench/lib/evaluate-targets.mjs); `marks` gives
 * the word for each status.
 * @returns {Section}
 */
export function targetSection(rows, marks = TERMINAL_MARKS) {
  return {
    title: 'Targets',
    headers: ['figure', 'value', 'target', 'met'],
    rows: rows.map(r => [
      r.label,
      r.value === null
        ? (r.note ?? (r.status === 'not measured' ? 'not measured' : 'not detected'))
        : r.unit
          ? `${fmt(r.value, targetDigits(r))} ${r.unit}`
          : `${fmt(r.value, 2)}×`,
      r.target === null
        ? '—'
        : `${r.compare} ${r.unit ? `${fmt(r.target, 0)} ${r.unit}` : `${r.target}×`}`,
      marks[r.status],
    ]),
  };
}

/** What the tables of a run are: the full run's medians, or the CI smoke run's single runs. */
export const runLabel = (quick, config) =>
  quick
    ? 'CI smoke run (--quick): one repetition of short cells, to show that every stack and section runs; not figures to compare'
    : `full run: median [min–max] of ${config?.reps ?? 3} repetitions per cell`;

/** The whole report as bench/run.mjs prints it. */
export function formatReport(records, targetRows, { config, stacks, quick = false }) {
  const sections = resultSections(records, { config, stacks });
  if (targetRows.length) sections.push(targetSection(targetRows));
  const missed = targetRows.filter(r => r.status === 'missed').length;
  return [
    runLabel(quick, config),
    ...sections.map(
      s => `${s.note ? `${s.title} (${s.note})` : s.title}\n${table(s.headers, s.rows)}`,
    ),
    ...(missed
      ? [
          `${missed} target${missed === 1 ? '' : 's'} missed: why, with the profile that shows it, goes in bench/target-notes.mjs (listed under the targets on docs/benchmarks.md)`,
        ]
      : []),
  ].join('\n\n');
}
