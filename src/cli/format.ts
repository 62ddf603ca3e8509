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

/** C0 and C1 control characters (ESC, CR, BEL...): a terminal would act on them. */
// eslint-disable-next-line no-control-regex -- matching them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * A peer-supplied value as text for a terminal: control characters removed (a node's answer must
 * not move the cursor, clear the screen or forge lines), numbers and booleans as written, anything
 * else (objects, null, missing) as an empty string.
 */
export function clean(value: unknown): string {
  if (typeof value === 'string') return value.replace(CONTROL, '');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return '';
}

/** A peer-supplied list: anything but an array reads as empty (a malformed answer shows nothing). */
export function listOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** The strings of a peer-supplied list (a members list, say); anything else is left out. */
export function stringsOf(value: unknown): string[] {
  return listOf(value).filter((item): item is string => typeof item === 'string');
}

/** Milliseconds for people: two decimals. */
export const ms = (value: number): string => value.toFixed(2);

const list = (values: unknown): string => {
  const items = listOf(values).map(clean);
  return items.length ? items.join(', ') : M.none();
};

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
      clean(row.node),
      row.members
        ? `members: ${list(row.members)}`
        : row.older
          ? M.olderMark()
          : M.unanswered(clean(row.error)),
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

/**
 * `info`: one fact a line, then the last events. The answer is the node's word: every string is
 * {@link clean}ed, and a list that is not one reads as empty rather than failing the command.
 */
export function formatInfo(answer: SystemInfo): string {
  const info = (answer ?? {}) as Partial<Record<keyof SystemInfo, unknown>>;
  const served = listOf(info.served).map(s => {
    const { topic, kind } = (s ?? {}) as { topic?: unknown; kind?: unknown };
    return `${clean(topic)} (${clean(kind)})`;
  });
  const events = listOf(info.events).slice(-INFO_SHOWN_EVENTS);
  const facts = columns([
    ['node', clean(info.node)],
    ['version', clean(info.version)],
    ['uptime', `${clean(info.uptimeS)} s`],
    ['namespace', info.namespace === undefined ? M.none() : clean(info.namespace)],
    ['dist', clean(info.dist)],
    ['state', clean(info.state)],
    ['members', list(info.members)],
    ['discovered', list(info.discovered)],
    ['served', list(served)],
  ]);
  return [
    facts,
    M.recentEvents(events.length),
    ...events.map(e => `  ${describeEvent(e as RecordedEvent)}`),
  ].join('\n');
}

/** `names`: one registration a line, `name  port  namespace`. */
export function formatNames(host: string, nodes: readonly PortMapperNode[]): string {
  if (nodes.length === 0) return M.noNames(host);
  return columns(
    nodes.map(n => [
      clean(n.name),
      clean(n.port),
      n.namespace === undefined ? '?' : clean(n.namespace),
    ]),
  );
}

/** An event's parts for a line, cleaned; an entry that is not an object has none. */
function eventParts(answer: RecordedEvent): { at: string; rest: string[] } {
  const event = (answer ?? {}) as Partial<Record<keyof RecordedEvent, unknown>>;
  const detail = event.reason ?? event.message;
  const rest = [clean(event.type)];
  if (event.node !== undefined) rest.push(clean(event.node));
  if (detail !== undefined) rest.push(`(${clean(detail)})`);
  return { at: clean(event.at), rest };
}

/** An event without the reporting node: `2026-… nodeDown c@h (connectionClosed)`. */
export function describeEvent(event: RecordedEvent): string {
  const { at, rest } = eventParts(event);
  return [at, ...rest].join(' ');
}

/** A line of `watch`: the time, the node that saw it, the event. */
export function formatWatchedEvent(reporter: string, event: RecordedEvent): string {
  const { at, rest } = eventParts(event);
  return [at, clean(reporter), ...rest].join(' ');
}
