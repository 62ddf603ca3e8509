/**
 * User-facing texts of leadership and singletons (error messages and log lines), kept in one
 * place.
 */
export const LeadershipMessages = {
  leaderIs: (node: string, term: number) =>
    `Leadership: leader is now ${node} (${term > 0 ? `term ${term}` : 'its term not known yet'}).`,
  noLeader: (reason: string) => `Leadership: no leader here now (${reason}).`,
  freezeDetected: (gapMs: number, toleranceMs: number) =>
    `Leadership: this node's timers stalled for ${Math.round(gapMs)} ms (tolerance ${toleranceMs} ms: a SIGSTOP, a VM pause or a blocked event loop); leadership suspended, singletons stopped, waiting for membership to settle.`,
  noStartTime: () =>
    'Leadership needs a dist that announces start times; this node never leads (its dist announces none).',
  toleranceBelowFailureTimeout: (min: number, failureTimeoutMs: number) =>
    `${min} ms or more and below the dist's failure timeout (${failureTimeoutMs} ms), so this node sees its own freeze before peers declare it down`,
  settled: (ms: number) =>
    `Leadership: membership settled after ${Math.round(ms)} ms; this node may lead.`,
  abdicated: (members: number) =>
    `Leadership: this node abdicated; singletons stopped, ${members} member(s) told.`,
  abdicateNotSent: (node: string, reason: string) =>
    `Leadership: could not tell ${node} that this node abdicated (${reason}); it will see this node leave.`,
  peerAbdicated: (node: string) =>
    `Leadership: ${node} abdicated; it may not lead until it goes down.`,
  higherTerm: (theirs: number, node: string, ours: number) =>
    `Leadership: ${node} announces term ${theirs}, above this leader's ${ours}; taking a new term.`,
  singletonExists: (name: string) =>
    `A singleton named ${JSON.stringify(name)} is already registered on this node; unregister it first or choose another name.`,
  singletonStartFailed: (name: string, term: number, retryInMs: number, reason: string) =>
    `Singleton ${JSON.stringify(name)}: start (term ${term}) threw: ${reason}; retrying in ${retryInMs} ms or at the next leadership change.`,
  singletonStopFailed: (name: string, reason: string) =>
    `Singleton ${JSON.stringify(name)}: stop threw: ${reason}; it counts as stopped.`,
  singletonStopSlow: (name: string, ms: number) =>
    `Singleton ${JSON.stringify(name)}: stop has run for ${ms} ms (stopTimeoutMs); handing over without waiting further. It is not started again on this node until that stop returns.`,
  singletonStopLate: (name: string, ms: number) =>
    `Singleton ${JSON.stringify(name)}: stop returned after ${Math.round(ms)} ms.`,
  singletonStarted: (name: string, term: number) =>
    `Singleton ${JSON.stringify(name)}: started (term ${term}).`,
  singletonStopped: (name: string, term: number) =>
    `Singleton ${JSON.stringify(name)}: stopped (term ${term}).`,
} as const;
