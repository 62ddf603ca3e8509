/** Every text the `gen-cluster` command prints for people: usage, reasons, table labels. */
export const CliMessages = {
  usage: (): string =>
    [
      'Usage: gen-cluster <command> [options]',
      '',
      'Commands:',
      "  members [--node N]      each node's members (or one node's)",
      '  ping <node> [--count 3] round-trip time to a node',
      '  info <node>             version, uptime, namespace, members, topics, recent events',
      "  names [host]            the port mapper's registrations on host (default 127.0.0.1)",
      "  watch                   every node's events as they happen, until Ctrl-C",
      '',
      'Options:',
      '  --seed name@host:port   a node to join through (repeatable); without it the',
      '                          GEN_CLUSTER_* environment says how to find the cluster',
      '  --json                  one JSON document on stdout (watch: one per line)',
      '  --timeout ms            how long to wait for the cluster and for each answer (5000)',
      '  --help                  this text',
      '',
      'The command joins as a hidden node (never a member), named gen-cluster-cli-<pid>@<host>',
      '(GEN_CLUSTER_CLI_NODE overrides), with GEN_CLUSTER_COOKIE and GEN_CLUSTER_NAMESPACE.',
      'Exit codes: 0 ok, 1 usage, 2 cannot join, 3 no such node, 4 timeout, 5 older node.',
    ].join('\n'),
  failure: (reason: string, code: string): string => `gen-cluster: ${reason} (${code})`,
  // usage
  noCommand: (): string => 'no command given; try gen-cluster --help',
  unknownCommand: (name: string): string =>
    `unknown command "${name}"; the commands are members, ping, info, names, watch`,
  badArguments: (detail: string): string => `${detail}; try gen-cluster --help`,
  missingNode: (command: string): string => `${command} needs a node name: ${command} <name@host>`,
  extraArguments: (command: string, extra: readonly string[]): string =>
    `${command} takes no more arguments than that, got: ${extra.join(' ')}`,
  optionNotFor: (option: string, command: string): string =>
    `--${option} does not apply to ${command}`,
  badInteger: (option: string, value: string, min: number, max: number): string =>
    `--${option} must be an integer from ${min} to ${max}, got "${value}"`,
  badNodeName: (option: string, value: string, detail: string): string =>
    `${option} "${value}" is not a node name (name@host or name@host:port): ${detail}`,
  noDiscovery: (): string =>
    'nothing to join: give --seed name@host:port or set GEN_CLUSTER_DISCOVERY',
  badEnvironment: (detail: string): string => detail,
  // joining
  cannotJoin: (timeoutMs: number): string =>
    `cannot join the cluster: no node answered within ${timeoutMs} ms`,
  refused: (node: string, detail: string): string => `cannot join the cluster: ${node}: ${detail}`,
  cannotReachMapper: (host: string, port: number, detail: string): string =>
    `cannot list the port mapper's names on ${host}:${port}: ${detail}`,
  // commands
  noSuchNode: (node: string, members: readonly string[]): string =>
    `no such node: ${node} is not in the cluster (members: ${members.join(', ') || 'none'})`,
  commandTimeout: (node: string, timeoutMs: number): string =>
    `${node} did not answer within ${timeoutMs} ms`,
  nodeWentDown: (node: string): string => `${node} went down while answering`,
  olderNode: (node: string): string =>
    `${node} runs an older version (no system topics): it cannot answer info`,
  unexpected: (message: string): string => `unexpected failure: ${message}`,
  // output
  olderMark: (): string => 'older version (no system topics)',
  unanswered: (error: string): string => `no answer: ${error}`,
  none: (): string => '-',
  pong: (node: string, ms: string): string => `pong from ${node} in ${ms} ms`,
  pingSummary: (count: number, min: string, avg: string, max: string): string =>
    `${count} pong${count === 1 ? '' : 's'}: min ${min} / avg ${avg} / max ${max} ms`,
  recentEvents: (count: number): string => `events (last ${count}):`,
  watching: (nodes: readonly string[]): string =>
    `watching ${nodes.length} node${nodes.length === 1 ? '' : 's'}: ${nodes.join(', ')} (Ctrl-C stops)`,
  noNames: (host: string): string => `no names registered on ${host}`,
} as const;
