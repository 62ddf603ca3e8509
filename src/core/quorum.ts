/**
 * The quorum rule: a side of the cluster has quorum when it holds a strict majority of the
 * cluster's expected size. Lost at once, regained only after a stable margin, so a flapping link
 * does not toggle it.
 */

/**
 * How the quorum rule learns the cluster's size.
 * - `{ expectedSize: n }`: the whole cluster has `n` nodes, this one included (the safe form).
 * - `{ expectedSize: 'discovered', unsafe: true }`: the size is what discovery names (plus this
 *   node). Unsafe when discovery itself can be partitioned (gossip, local, an etcd minority): each
 *   side may then see only itself and believe it is the majority.
 */
export type QuorumOptions =
  | {
      readonly expectedSize: number;
      /** How long quorum must hold before it counts as regained (3 s). */
      readonly stableMs?: number;
    }
  | {
      readonly expectedSize: 'discovered';
      /** Required with `'discovered'`: says the caller read why it is unsafe. */
      readonly unsafe: true;
      readonly stableMs?: number;
    };

/** The nodes a side needs for quorum: a strict majority of `expectedSize`. */
export function quorumNeeded(expectedSize: number): number {
  return Math.floor(expectedSize / 2) + 1;
}
