/**
 * The public shapes of process groups (Erlang's `pg`): named sets of nodes, announced through the
 * service registry, eventually consistent, no total order across senders.
 */

/** A change of one group's members, as this node sees it. */
export interface GroupsChange {
  /** The group. */
  readonly group: string;
  /** Its members after the change, sorted (this node included when it joined). */
  readonly members: readonly string[];
  /** The node that joined or left. */
  readonly node: string;
  /** `join`/`leave`: the node said so; `nodeDown`: it went down; `sync`: its table was learned. */
  readonly reason: 'join' | 'leave' | 'nodeDown' | 'sync';
}

/** What `publish` did. */
export interface PublishResult {
  /** The group's members it was sent to (this node included when it joined), sorted. */
  readonly sentTo: readonly string[];
  /** Members it could not be sent to (their link went down meanwhile), with the error code. */
  readonly failed: readonly { readonly node: string; readonly code: string }[];
}
