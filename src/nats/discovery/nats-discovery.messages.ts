/**
 * User-facing texts of the NATS discovery, kept in one place so they can be found and improved.
 * None holds a secret or a key.
 */
export const NatsDiscoveryMessages = {
  accepts: {
    options:
      'an object such as { strategy: "nats", servers: "nats://127.0.0.1:4222" } (the NATS connection options, and namespace, intervalMs, failureTimeoutMs, maxCandidates, secret, secretFile)',
    secret: 'a non-empty string (better: "secretFile", a file holding it)',
    secretFile: 'the path of a readable file holding the secret',
  },
  secretAndFile: () =>
    'Invalid NATS discovery options: "secret" and "secretFile" are both set; give one of them.',
  unreadableSecretFile: (file: string, why: string) =>
    `Invalid option discovery (nats).secretFile: ${JSON.stringify(file)} cannot be read (${why}).`,
  emptySecretFile: (file: string) =>
    `Invalid option discovery (nats).secretFile: ${JSON.stringify(file)} is empty.`,
  failureNotAboveInterval: (intervalMs: number) =>
    `a number of ms above intervalMs (${intervalMs}): a node must be able to miss an announcement before it drops out`,
  // Startup.
  noKey: () =>
    'NATS discovery needs a key to sign announcements, and the dist derives none from a secret. Set the NATS discovery option "secret" or "secretFile" (the same on every node).',
  noPort: () =>
    'NATS discovery announces the port this node listens on, and the dist reports none. Use it with the TCP dist (the NATS dist finds its peers itself: no discovery is needed with it).',
  // Runtime.
  cutOff: (reason: string | undefined) =>
    `NATS discovery is cut off from NATS${reason === undefined ? '' : ` (${reason})`}: it cannot tell who is alive; keeping the last good peers until it reconnects.`,
  badMac: () =>
    'NATS discovery: ignored announcements signed with another key (another cookie or discovery secret, or a forgery).',
  otherVersion: () =>
    'NATS discovery: ignored announcements of a later protocol version (a newer gen-cluster during a rolling upgrade?).',
  duplicateName: (node: string) =>
    `NATS discovery: another start announces this node's name ${node}: another node with the same name (node names must be unique), or a replay of an earlier start of this node.`,
  sendFailed: (kind: string, why: string) => `NATS discovery could not announce ${kind} (${why}).`,
} as const;
