/** User-facing texts of the core layer, kept in one place so they can be found and improved. */
export const CoreMessages = {
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
  discoveryFailed: (strategy: string, error: Error) =>
    `Discovery "${strategy}" failed (${error.message}); keeping the last good peers.`,
  connectTimeout: (node: string, ms: number) => `Connecting to ${node} timed out after ${ms} ms.`,
  connectRefused: (node: string) => `The dist could not connect to ${node}.`,
  stopped: () => 'The cluster is stopped.',
  waitTimeout: (n: number, ms: number, have: number) =>
    `Timed out after ${ms} ms waiting for ${n} connected peer(s); ${have} connected.`,
} as const;

/** A short, safe rendering of a configuration value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null)
    return String(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
