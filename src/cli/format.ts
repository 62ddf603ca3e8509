import type { PortMapperNode } from '../portmapper/index.js';
import type { RecordedEvent, SystemInfo } from '../primitives/index.js';
import { CliMessages as M } from './cli.messages.js';

/** One node's line of `members`. */
export interface MembersRow {
  readonly node: string;
  /** Its members, when it answered. */
  readonly members?: readonly string[];
  /** It runs a version without system topics. */
  readonly older?: boolean;
  /** Why it did not answer. */
  readonly error?: string;
}

/** The figures of `ping`. */
export interface PingResult {
  readonly node: string;
  readonly rttMs: readonly number[];
  readonly minMs: number;
  readonly avgMs: number;
  readonly maxMs: number;
}

/** Milliseconds for people: two decimals. */
export const ms = (value: number): string => value.toFixed(2);

const list = (values: readonly string[]): string => (values.length ? values.join(', ') : M.none());

/** Left-aligned columns, two spaces apart, no trailing spaces. */
export function columns(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map(row =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `members`: one line per node, `a@h  members: b@h, c@h`. */
export function formatMembers(rows: readonly MembersRow[]): string {
  return columns(
    rows.map(row => [
      row.node,
      row.members
        ? `members: ${list(row.members)}`
        : row.older
          ? M.olderMark()
          : M.unanswered(row.error ?? ''),
    ]),
  );
}

/** `ping`: one line per pong, then min/avg/max. */
export function formatPing(result: PingResult): string {
  return [
    ...result.rttMs.map(rtt => M.pong(result.node, ms(rtt))),
    M.pingSummary(result.rttMs.length, ms(result.minMs), ms(result.avgMs), ms(result.maxMs)),
  ].join('\n');
}

/** Min, average and max of round trips. */
export function pingResult(node: string, rttMs: readonly number[]): PingResult {
  const sum = rttMs.reduce((a, b) => a + b, 0);
  return {
    node,
    rttMs,
    minMs: Math.min(...rttMs),
    avgMs: sum / rttMs.length,
    maxMs: Math.max(...rttMs),
  };
}

/** How many events `info` shows. */
export const INFO_SHOWN_EVENTS = 10;

/** `info`: one fact a line, then the last events. */
export function formatInfo(info: SystemInfo): string {
  const served = info.served.map(s => `${s.topic} (${s.kind})`);
  const events = info.events.slice(-INFO_SHOWN_EVENTS);
  const facts = columns([
    ['node', info.node],
    ['version', info.version],
    ['uptime', `${info.uptimeS} s`],
    ['namespace', info.namespace ?? M.none()],
    ['dist', info.dist],
    ['state', info.state],
    ['members', list(info.members)],
    ['discovered', list(info.discovered)],
    ['served', list(served)],
  ]);
  return [facts, M.recentEvents(events.length), ...events.map(e => `  ${describeEvent(e)}`)].join(
    '\n',
  );
}

/** `names`: one registration a line, `name  port  namespace`. */
export function formatNames(host: string, nodes: readonly PortMapperNode[]): string {
  if (nodes.length === 0) return M.noNames(host);
  return columns(nodes.map(n => [n.name, String(n.port), n.namespace ?? '?']));
}

/** An event without the reporting node: `2026-… nodeDown c@h (connectionClosed)`. */
export function describeEvent(event: RecordedEvent): string {
  const detail = event.reason ?? event.message;
  return [event.at, event.type, event.node, detail === undefined ? undefined : `(${detail})`]
    .filter(part => part !== undefined)
    .join(' ');
}

/** A line of `watch`: the time, the node that saw it, the event. */
export function formatWatchedEvent(reporter: string, event: RecordedEvent): string {
  const [at, ...rest] = describeEvent(event).split(' ');
  return [at, reporter, ...rest].join(' ');
}
