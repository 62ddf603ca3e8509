import type { QuorumState } from './events.js';

/** Texts of the quorum rule: option errors and the engine's log lines about quorum. */
export const QuorumMessages = {
  expectedSizeForms: () =>
    `an integer >= 1 (the whole cluster's size, this node included), or "discovered" together with unsafe: true`,
  discoveredNeedsUnsafe: () =>
    `Invalid option quorum: expectedSize "discovered" derives the cluster's size from what discovery names, which is unsafe when discovery itself can be partitioned (gossip, local, an etcd minority): each side may then see only itself and believe it holds the majority. Give the whole cluster's size as expectedSize (e.g. { expectedSize: 5 }), or opt in knowingly with { expectedSize: "discovered", unsafe: true }.`,
  unsafeOnlyDiscovered: () => `only together with expectedSize "discovered" (leave it out)`,
  lost: (q: QuorumState) =>
    `Quorum lost: ${q.size} of ${q.expectedSize} node(s) on this side, ${q.needed} needed.`,
  formed: (q: QuorumState) =>
    `Quorum formed: ${q.size} of ${q.expectedSize} node(s) on this side, ${q.needed} needed.`,
  regained: (q: QuorumState, stableMs: number) =>
    `Quorum regained: ${q.size} of ${q.expectedSize} node(s) on this side, ${q.needed} needed, held for ${stableMs} ms.`,
} as const;
