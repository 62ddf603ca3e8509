/** Texts of the health verdicts (readiness and liveness), for people reading a probe's details. */
export const HealthMessages = {
  notStarted: () => 'The cluster has not started yet.',
  draining: () => 'The application is shutting down: in-flight requests are draining.',
  leaving: () => 'The node is leaving the cluster.',
  stopped: () => 'The cluster is stopped.',
  crashed: () => 'The cluster stopped while the application was not shutting down.',
  notFormed: (members: number) =>
    `The cluster has not formed yet (${members} peer(s) connected): it waits for enough peers and for discovery's answer to stay unchanged for the stable margin.`,
  tooFewMembers: (members: number, minMembers: number) =>
    `${members} peer(s) connected, ${minMembers} needed.`,
  // No error text: a probe's body may be public, and a discovery error can name API-server
  // URLs, DNS names or an HTTP response (the snapshot's lastDiscoveryError keeps it).
  discoveryFailing: (consecutive: number, forMs: number | undefined) =>
    `Discovery has failed ${consecutive} time(s) in a row${forMs === undefined ? '' : ` over ${Math.round(forMs / 1000)} s`}.`,
  distNotListening: (reason: string | undefined) =>
    `The dist no longer accepts connections${reason ? `: ${reason}` : ''}.`,
  distDisconnected: (forMs: number | undefined) =>
    `The dist has been cut off from its broker${forMs === undefined ? '' : ` for ${Math.round(forMs / 1000)} s`}: membership is frozen until it reconnects.`,
  distHealthFailed: (message: string) => `The dist's health() failed: ${message}`,
} as const;
