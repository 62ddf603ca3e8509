/**
 * The hosts file format: a pure parser from text to the nodes and hosts it lists, with the bad
 * lines by number, so that one typo costs one line and never the file.
 */
import { DiscoveryError, type Peer, canonicalHost, toError, toPeer } from '../../core/index.js';
import { HostsMessages } from './hosts.messages.js';

/** The bounds of a hosts file; past either, the file is refused whole (the last good answer stands). */
export const HOSTS_FILE_LIMITS = Object.freeze({
  /** Bytes (UTF-8) a hosts file may hold: 1 MiB. */
  maxBytes: 1024 * 1024,
  /** Entry lines (good or bad) a hosts file may hold. */
  maxEntries: 10_000,
});

/** A line of a hosts file that is not an entry, and why. */
export interface HostsFileLineError {
  /** 1-based line number. */
  readonly line: number;
  /** The line as written (comment and surrounding blanks removed). */
  readonly text: string;
  /** Why it was skipped. */
  readonly reason: string;
}

/** What a hosts file lists: nodes, hosts whose port mappers to ask, and the lines skipped. */
export interface HostsFileContent {
  /** Canonical peers of the `name@host[:port]` lines, in file order, duplicates collapsed. */
  readonly nodes: Peer[];
  /** Canonical hosts of the bare host lines (and Erlang `'host'.` terms), in file order, unique. */
  readonly hosts: string[];
  /** The bad lines, in file order. */
  readonly errors: HostsFileLineError[];
}

/** One `'host'.` term of Erlang's `.hosts.erlang` (several may share a line). */
const ERLANG_TERM = /'([^'\\\r\n]*)'\s*\.\s*/y;

/**
 * Parses the text of a hosts file. One entry per line:
 * - `name@host`, `name@host:port`, `name@[v6]:port`: a node (parsed as static discovery's entries);
 * - `host`, `[v6]`, or Erlang's `'host'.`: a host whose port mapper is asked for its nodes;
 * - `#` or `%` (outside `[...]`) starts a comment; blank lines are ignored.
 *
 * CRLF line ends and a UTF-8 byte order mark are accepted. Duplicates collapse; a node listed
 * again with another port is a bad line. A bad line is returned in `errors` with its number and
 * the good lines stand.
 * @param source names the file in the errors thrown
 * @throws DiscoveryError when the text is over {@link HOSTS_FILE_LIMITS}.maxBytes or holds more
 *   than {@link HOSTS_FILE_LIMITS}.maxEntries entry lines.
 */
export function parseHostsFile(text: string, source = 'the hosts file'): HostsFileContent {
  if (Buffer.byteLength(text, 'utf8') > HOSTS_FILE_LIMITS.maxBytes)
    throw new DiscoveryError(HostsMessages.tooLarge(source, HOSTS_FILE_LIMITS.maxBytes));
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const nodes = new Map<string, { readonly peer: Peer; readonly line: number }>();
  const hosts = new Set<string>();
  const errors: HostsFileLineError[] = [];
  let entries = 0;
  body.split(/\r\n|\r|\n/).forEach((raw, index) => {
    const entry = withoutComment(raw).trim();
    if (entry === '') return;
    if (++entries > HOSTS_FILE_LIMITS.maxEntries)
      throw new DiscoveryError(HostsMessages.tooManyEntries(source, HOSTS_FILE_LIMITS.maxEntries));
    const line = index + 1;
    const bad = (reason: string) => errors.push({ line, text: entry, reason });
    if (entry.startsWith("'")) {
      const terms = erlangTerms(entry);
      if (terms === undefined) return void bad(HostsMessages.badErlangTerm());
      const parsed = terms.map(term => canonicalHost(term.trim()));
      if (parsed.some(host => host === undefined)) return void bad(HostsMessages.notAHost());
      for (const host of parsed) hosts.add(host!);
      return;
    }
    if (/\s/.test(entry)) return void bad(HostsMessages.severalEntries());
    if (entry.includes('@')) {
      let peer: Peer;
      try {
        peer = toPeer(entry);
      } catch (error) {
        return void bad(toError(error).message.replace(/\.$/, ''));
      }
      const known = nodes.get(peer.node);
      if (known === undefined) nodes.set(peer.node, { peer, line });
      else if (known.peer.port !== peer.port)
        bad(HostsMessages.conflictingNode(peer.node, known.line));
      return;
    }
    const host = canonicalHost(entry);
    if (host !== undefined) hosts.add(host);
    else bad(looksLikeHostAndPort(entry) ? HostsMessages.hostWithPort() : HostsMessages.notAHost());
  });
  return { nodes: [...nodes.values()].map(n => n.peer), hosts: [...hosts], errors };
}

/**
 * The line up to its comment: `#` or `%` outside `[...]` (an IPv6 zone such as `[fe80::1%eth0]`
 * keeps its `%`).
 */
function withoutComment(line: string): string {
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '[') depth++;
    else if (c === ']') depth = Math.max(0, depth - 1);
    else if ((c === '#' || c === '%') && depth === 0) return line.slice(0, i);
  }
  return line;
}

/** The hosts of a line made only of `'host'.` terms, or `undefined` when it is anything else. */
function erlangTerms(line: string): string[] | undefined {
  const terms: string[] = [];
  ERLANG_TERM.lastIndex = 0;
  while (ERLANG_TERM.lastIndex < line.length) {
    const match = ERLANG_TERM.exec(line);
    if (match === null) return undefined;
    terms.push(match[1]!);
  }
  return terms;
}

/** `host:port` or `[v6]:port`: a host line with a port, which only node lines may carry. */
function looksLikeHostAndPort(entry: string): boolean {
  return /^\[[^\]]*\]:\d*$/.test(entry) || /^[^:[\]]+:\d*$/.test(entry);
}
