/**
 * The leadership rule (D1): among the eligible nodes, the one that started first leads; equal
 * start times are broken by name, compared by UTF-16 code units (as `<` on strings does, so every
 * node orders names the same way whatever its locale). Pure: every node with the same view
 * computes the same leader.
 */

/** A node that may lead, with the start time it announced (ms since the epoch). */
export interface LeaderCandidate {
  /** The node's name, `name@host`. */
  readonly node: string;
  /** When the node's dist started, as it announced it. */
  readonly startedAt: number;
}

/** The leader among `candidates`: the smallest `(startedAt, node)`; `undefined` when none. */
export function leaderOf(candidates: readonly LeaderCandidate[]): string | undefined {
  let best: LeaderCandidate | undefined;
  for (const candidate of candidates) {
    if (best === undefined || precedes(candidate, best)) best = candidate;
  }
  return best?.node;
}

function precedes(a: LeaderCandidate, b: LeaderCandidate): boolean {
  if (a.startedAt !== b.startedAt) return a.startedAt < b.startedAt;
  return a.node < b.node;
}
