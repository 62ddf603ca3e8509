// The benchmark's tables, built from the records of a run: printed by bench/run.mjs at the end of
// a run, and rendered as Markdown by bench/docs.mjs. Each table is a section of title, headers
// and rows of strings, so both show the same figures formatted the same way.
import { fmt, sizeLabel } from './common.mjs';
import { STACK_NAMES, findRecord, stackKey } from './records.mjs';

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

function requestResponse(records, { config, stacks }) {
  const rows = [];
  for (const size of config.sizes)
    for (const window of config.inFlight)
      for (const stack of stacks) {
        const params = { inFlight: window, payloadBytes: size };
        const get = metric => findRecord(records, 'request-response', stack, metric, params);
        const rate = get('round_trips_per_s');
        if (!rate) continue;
        rows.push([
          window,
          sizeLabel(size),
          STACK_NAMES[stack],
          `${fmt(rate.value, 0)}${shortRange(rate, 0)}`,
          fmt(get('p50_latency')?.value, 3),
          fmt(get('p99_latency')?.value, 3),
          fmt(get('cpu_per_round_trip')?.value, 1),
        ]);
      }
  return {
    title: 'Request/response',
    note: 'median [min–max] of runs; CPU: both processes, per round trip',
    headers: ['in flight', 'payload', 'stack', 'round trips/s', 'p50 ms', 'p99 ms', 'CPU µs'],
    rows,
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
        fmt(get('cpu_per_message')?.value, 2),
      ];
    });
  return {
    title: 'One-way messages',
    note: 'CPU: both processes, per message',
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
  const names = ['idle-cost', 'memory-per-connection', 'refresh'];
  const rows = names
    .flatMap(name => records.filter(r => r.name === name))
    .map(r => [
      `${r.name} ${r.metric}`,
      r.stack,
      r.name === 'refresh'
        ? `${r.params.peers} peers`
        : r.name === 'idle-cost'
          ? `${r.params.nodes} nodes`
          : `${r.params.connections} links`,
      `${r.value === null ? '—' : fmt(r.value, r.unit === 'ms' || r.unit === '%' ? 3 : 0)} ${r.unit}${range(r)}${r.params.notes ? ` (${r.params.notes.join('; ')})` : ''}`,
    ]);
  return { title: 'Cost', headers: ['measure', 'stack', 'params', 'value'], rows };
}

/**
 * The tables of the measurements in `records`, in the report's order; tables without rows are
 * left out. `config` is the run's configuration, `stacks` the stack keys in column order.
 * @returns {Section[]}
 */
export function resultSections(records, { config, stacks }) {
  return [
    requestResponse(records, { config, stacks }),
    oneWay(records),
    broadcast(records),
    formation(records),
    failureDetection(records),
    cost(records),
  ].filter(section => section.rows.length > 0);
}

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
          ? `${fmt(r.value, 1)} ${r.unit}`
          : `${fmt(r.value, 2)}×`,
      r.target === null
        ? '—'
        : `${r.compare} ${r.unit ? `${fmt(r.target, 0)} ${r.unit}` : `${r.target}×`}`,
      marks[r.status],
    ]),
  };
}

/** The whole report as bench/run.mjs prints it. */
export function formatReport(records, targetRows, { config, stacks }) {
  const sections = resultSections(records, { config, stacks });
  if (targetRows.length) sections.push(targetSection(targetRows));
  return sections
    .map(s => `${s.note ? `${s.title} (${s.note})` : s.title}\n${table(s.headers, s.rows)}`)
    .join('\n\n');
}
