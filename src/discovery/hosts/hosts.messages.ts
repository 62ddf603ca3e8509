/** The forms a line of a hosts file may take, for warnings about a bad line. */
const LINE_FORMS =
  'one entry per line: a node "name@host", "name@host:port" or "name@[v6]:port"; a host "host" or "[v6]" whose port mapper is asked; Erlang\'s \'host\'. ; comments start with "#" or "%"';

/** How much of a bad line a warning quotes. */
const QUOTED_LINE_CHARS = 120;

const quote = (text: string) =>
  JSON.stringify(text.length > QUOTED_LINE_CHARS ? `${text.slice(0, QUOTED_LINE_CHARS)}…` : text);

/**
 * User-facing texts of the `hosts` discovery, kept in one place so they can be found and improved.
 */
export const HostsMessages = {
  /** What each option accepts, for refusals. */
  accepts: {
    options: 'an object such as { strategy: "hosts", file: "/etc/gen-cluster.hosts" }',
    file: 'the path of a hosts file, a non-empty string without NUL characters',
    watch: "true (watch the file's directory, and poll) or false (poll only)",
  },
  /** The forms a line may take. */
  lineForms: LINE_FORMS,
  // Reasons of a bad line (parseHostsFile's errors[].reason).
  severalEntries: () => 'several entries on one line (one entry per line)',
  hostWithPort: () =>
    'a host line takes no port: its port mapper is asked on the portMapperPort option; a node line names its own port ("name@host:port")',
  notAHost: () => 'not a node ("name@host") nor a host name or IP address',
  badErlangTerm: () => "not an Erlang host term such as 'host'.",
  conflictingNode: (node: string, line: number) =>
    `names ${node} with another port than line ${line} does`,
  // Failures and log lines.
  badLine: (file: string, line: number, text: string, reason: string) =>
    `Hosts discovery: ${file}:${line}: skipped ${quote(text)}: ${reason}. Accepted: ${LINE_FORMS}.`,
  moreBadLines: (file: string, count: number) =>
    `Hosts discovery: ${file}: ${count} more bad line(s) skipped, not listed.`,
  tooLarge: (file: string, max: number) =>
    `Hosts discovery: ${file} is larger than the ${max} bytes a hosts file may hold; keeping the last good peers.`,
  tooManyEntries: (file: string, max: number) =>
    `Hosts discovery: ${file} holds more than ${max} entries; keeping the last good peers.`,
  unreadable: (file: string, error: Error) =>
    `Hosts discovery: cannot read ${file} (${error.message}); keeping the last good peers.`,
  notAFile: (file: string) =>
    `Hosts discovery: ${file} is not a regular file; keeping the last good peers.`,
  hostsFailed: (file: string, error: Error) =>
    `Hosts discovery: the port mappers of the hosts listed in ${file} did not answer (${error.message}); keeping the last good peers.`,
  hostsFailedWithNodes: (file: string, error: Error) =>
    `Hosts discovery: the port mappers of the hosts listed in ${file} did not answer (${error.message}); answering the file's nodes and the hosts' last good nodes.`,
  watchFailed: (directory: string, error: Error, pollIntervalMs: number) =>
    `Hosts discovery: cannot watch ${directory} (${error.message}); polling the file every ${pollIntervalMs} ms instead.`,
  loaded: (file: string, nodes: number, hosts: number, bad: number) =>
    `Hosts discovery: ${file}: ${nodes} node(s), ${hosts} host(s)${bad ? `, ${bad} bad line(s)` : ''}.`,
  /** The source named in a `discoveryError` event for failing hosts. */
  hostsSource: (hosts: readonly string[]) => `hosts ${hosts.join(' ')}`,
} as const;
