/** User-facing texts of the core layer, kept in one place so they can be found and improved. */
export const CoreMessages = {
  quorumSummary: (q: { has: boolean; size: number; needed: number; expectedSize: number }) =>
    `${q.has ? 'quorum' : 'no quorum'}: ${q.size} of ${q.expectedSize} nodes, ${q.needed} needed`,
  optionalPackageMissing: (pkg: string, purpose: string) =>
    `The package "${pkg}" is needed for ${purpose} but could not be loaded. Install it: npm install ${pkg}`,
  optionalPackageFailed: (pkg: string, purpose: string, reason: string) =>
    `The package "${pkg}" is needed for ${purpose} but could not be loaded: ${reason}`,
  invalidNodeName: (value: unknown, why: string) =>
    `Invalid node name ${JSON.stringify(value)}: ${why}. Expected "name@host" (e.g. "app@10.0.0.5", "app@my-host.example", "app@::1"), optionally with a port: "app@10.0.0.5:4370" or "app@[::1]:4370".`,
  conflictingPort: (node: string, inName: number, inField: number) =>
    `Peer ${node} names port ${inName} in its node string but port ${inField} in its "port" field; give one.`,
  invalidPort: (value: unknown) =>
    `Invalid port ${JSON.stringify(value)}: expected an integer from 1 to 65535.`,
  invalidOption: (option: string, value: unknown, accepted: string) =>
    `Invalid option ${option}: received ${describeValue(value)}; expected ${accepted}.`,
  discoveryTimeout: (strategy: string, ms: number) =>
    `Discovery "${strategy}" did not answer within ${ms} ms; keeping the last good peers.`,
  discoveryNotAnArray: (strategy: string, type: string) =>
    `Discovery "${strategy}" returned ${type} from peers(), not an array; keeping the last good peers.`,
  discoveryFailed: (strategy: string, error: Error) =>
    `Discovery "${strategy}" failed (${error.message}); keeping the last good peers.`,
  discoveryStillFailing: (
    strategy: string,
    count: number,
    consecutive: number,
    forMs: number,
    error: Error,
  ) =>
    `Discovery "${strategy}" still failing: ${count} failed lookup(s) like this since the last warning (${consecutive} in a row over ${duration(forMs)}); last: ${clause(error.message)}.`,
  discoveryRecovered: (strategy: string, failures: number, forMs: number) =>
    `Discovery "${strategy}" answers again after ${failures} failed lookup(s) over ${duration(forMs)}.`,
  connectTimeout: (node: string, ms: number) => `Connecting to ${node} timed out after ${ms} ms.`,
  connectRefused: (node: string) => `The dist could not connect to ${node}.`,
  stopped: () => 'The cluster is stopped.',
  waitTimeout: (n: number, ms: number, have: number) =>
    `Timed out after ${ms} ms waiting for ${n} connected peer(s); ${have} connected.`,
  discoveryShape: () => 'an object with a peers() method',
  distShape: () => 'an object with init(), members(), connect(), disconnect() and close()',
  backoffMultiplierRange: () => 'a number >= 1',
  backoffJitterRange: () => 'a number from 0 (inclusive) to 1 (exclusive)',
  loggerShape: () => 'an object with log(), warn() and error() methods',
  // Log lines of the engine (GenCluster).
  nodeStarted: (self: string, discovery: string, dist: string) =>
    `Node ${self} started (discovery "${discovery}", dist "${dist}").`,
  nodeStopped: (self: string) => `Node ${self} stopped.`,
  paused: () => 'Cluster paused.',
  resumed: () => 'Cluster resumed.',
  refreshFailed: (error: Error) => `Refresh failed unexpectedly: ${error.message}`,
  refreshSummary: (discovered: number, connected: number, toConnect: number) =>
    `Refresh: ${discovered} discovered, ${connected} connected, ${toConnect} to connect.`,
  leaveFailed: (error: Error) => `Leaving the cluster failed: ${error.message}`,
  closeFailed: (error: Error) => `Closing failed: ${error.message}`,
  unusablePeer: (strategy: string, error: Error) =>
    `Discovery "${strategy}" returned an unusable peer, skipped: ${error.message}`,
  disconnectingLost: (node: string) =>
    `${node} left discovery; disconnecting it (removal policy "disconnect").`,
  disconnectFailed: (node: string, error: Error) =>
    `Disconnecting ${node} failed: ${error.message}`,
  distMembersFailed: (error: Error) => `dist.members() failed: ${error.message}`,
  connectFailed: (node: string, attempt: number, error: Error, retryInMs: number | undefined) =>
    `Could not connect to ${node} (attempt ${attempt}): ${clause(error.message)}${retryInMs === undefined ? '' : `; retrying in ${retryInMs} ms`}.`,
  connectFailing: (node: string, attempts: number, forMs: number, error: Error) =>
    `Cannot connect to ${node}: ${clause(error.message)} (${attempts === 1 ? 'first attempt' : `${attempts} attempts in a row over ${duration(forMs)}`}; retrying in the background, a summary follows while it lasts).`,
  connectStillFailing: (node: string, attempts: number, forMs: number, error: Error) =>
    `Still failing to connect to ${node}: ${attempts} attempts over ${duration(forMs)}, last error: ${clause(error.message)}.`,
  connectRecovered: (node: string, attempts: number, forMs: number) =>
    `Connected to ${node} again after ${attempts} failed attempt(s) over ${duration(forMs)}.`,
  connectAbandoned: (node: string, attempts: number, forMs: number) =>
    `Stopped trying to connect to ${node}: it left discovery after ${attempts} failed attempt(s) over ${duration(forMs)}.`,
  connectCrashed: (node: string, error: Error) =>
    `Connecting to ${node} failed unexpectedly: ${error.message}`,
  invalidReportedNode: (dist: string, error: Error) =>
    `Dist "${dist}" reported an invalid node: ${error.message}`,
  admissionRefreshTimeout: (ms: number) =>
    `The refresh asked for by a link admission check did not finish within ${ms} ms.`,
  distDisconnected: (reason: string) =>
    `The dist is cut off from its broker (${reason}): membership is frozen (no node is declared down for silence) until it reconnects.`,
  distConnected: (downForMs: number) =>
    `The dist reaches its broker again after ${duration(downForMs)}; peers not heard within the failure timeout will be declared down.`,
  nodeUp: (node: string) => `Node up: ${node}.`,
  nodeDown: (node: string, reason: string) => `Node down: ${node} (${reason}).`,
} as const;

/** `text` as a clause to continue: without its final period. */
function clause(text: string): string {
  return text.endsWith('.') ? text.slice(0, -1) : text;
}

/** A duration as a person reads it: `850 ms`, `42 s`, `3 min`. */
function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1_000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

const SECRET_KEYS = /cookie|key|cert|secret|token|password|passphrase|tls|ca$/i;

/**
 * A short rendering of a configuration value for error messages. Objects show their shape (keys,
 * and values only when plain and not secret-sounding), never a cookie, a key or a token, so a
 * bootstrap error cannot leak them into logs.
 */
export function describeValue(value: unknown, depth = 0): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null)
    return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value !== 'object') return typeof value;
  if (depth > 1) return Array.isArray(value) ? `[${value.length} items]` : '{...}';
  if (Array.isArray(value)) {
    const shown = value.slice(0, 10).map(item => describeValue(item, depth + 1));
    return `[${shown.join(', ')}${value.length > 10 ? `, ... ${value.length - 10} more` : ''}]`;
  }
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto !== Object.prototype && proto !== null)
    return `a ${value.constructor?.name ?? 'object'}`;
  const fields = Object.entries(value as Record<string, unknown>).map(([key, field]) =>
    SECRET_KEYS.test(key) ? `${key}: (hidden)` : `${key}: ${describeValue(field, depth + 1)}`,
  );
  return `{ ${fields.join(', ')} }`;
}
