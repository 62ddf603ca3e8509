import type { ClusterEvent, ClusterState, Peer, ServedTopic } from '../../core/index.js';

/** The reserved topics every node built by GenClusterModule serves (and `SystemService` adds). */
export const SYSTEM_TOPICS = Object.freeze({
  /** Answers `{ t }`, the node's wall-clock time in ms; the asker measures the round trip. */
  ping: '$gc.sys.ping',
  /** Answers {@link SystemInfo}. */
  info: '$gc.sys.info',
  /** `{ since }` → {@link SystemEventsPage}: the recorded events after `since`. */
  events: '$gc.sys.events',
});

/** Version of the system topics' answers. */
export const SYSTEM_INFO_VERSION = 1;

/** One event a node recorded: wall-clock time for people, a sequence number for polling. */
export interface RecordedEvent {
  /** Increases by one per event of this node's life (starts at 1). */
  readonly seq: number;
  /** ISO 8601 time the node saw it. */
  readonly at: string;
  readonly type: ClusterEvent['type'];
  /** The peer it is about, when it is about one. */
  readonly node?: string;
  /** `nodeDown`'s reason. */
  readonly reason?: string;
  /** An error's message (discovery errors, connect failures); never a stack. */
  readonly message?: string;
}

/** What a node says of itself to `gen-cluster info` and the live page. */
export interface SystemInfo {
  readonly v: typeof SYSTEM_INFO_VERSION;
  readonly node: string;
  /** The library's version on that node. */
  readonly version: string;
  readonly uptimeS: number;
  readonly namespace?: string;
  /** The dist's name, e.g. `"tcp"`. */
  readonly dist: string;
  readonly state: ClusterState;
  /** Connected members, sorted, without the node itself. */
  readonly members: readonly string[];
  /** The last good discovery answer, without the node itself. */
  readonly discovered: readonly string[];
  /** Members with their addresses (so a tool that knows one node can reach the others). */
  readonly peers: readonly Peer[];
  /** The node's own user topics (internal `$gc.` topics left out). */
  readonly served: readonly ServedTopic[];
  /** The most recent events, oldest first (at most 50). */
  readonly events: readonly RecordedEvent[];
  /** The last event's sequence number (0 before any). */
  readonly seq: number;
  /**
   * Random per start of the node's `SystemService` (absent from versions before it): the
   * same in `$gc.sys.events` pages. A different `boot` means the node restarted and numbers its
   * events from 1 again, so a saved `seq` of the old run says nothing about the new one.
   */
  readonly boot?: string;
}

/** The answer of `$gc.sys.events`. */
export interface SystemEventsPage {
  /** The last event's sequence number. */
  readonly seq: number;
  /** Events after the asked `since`, oldest first (at most 200). */
  readonly events: readonly RecordedEvent[];
  /** Events between `since` and the first returned one were dropped from the node's ring. */
  readonly gap: boolean;
  /**
   * Random per start of the node's `SystemService` (absent from versions before it). A
   * poller keeps it beside its saved `seq`: when it changes, the node restarted and the poller asks
   * again from `since: 0`; otherwise, once the new run's count passed the saved `seq`, the events
   * in between would be skipped without a `gap`.
   */
  readonly boot?: string;
}

/** One node's answer in an overview. */
export type NodeOverview =
  | { readonly node: string; readonly ok: true; readonly info: SystemInfo }
  /** `older`: the node runs a version without system topics (it answered ERR_NO_HANDLER). */
  | { readonly node: string; readonly ok: false; readonly older: boolean; readonly error: string };

/** Every node's own view, asked at once. */
export interface ClusterOverview {
  /** The asking node. */
  readonly self: string;
  /** This node and every member, sorted by name. */
  readonly nodes: readonly NodeOverview[];
}

/** Asks nodes about themselves over the system topics (the CLI and the live page use it). */
export interface SystemClient {
  /** Round trip to `node`, in ms (an older node's ERR_NO_HANDLER answer counts as a pong). */
  ping(node: string, options?: { readonly timeoutMs?: number }): Promise<number>;
  /** What `node` says of itself; rejects with ERR_NO_HANDLER from an older node. */
  info(node: string, options?: { readonly timeoutMs?: number }): Promise<SystemInfo>;
  /** Events recorded by `node` after `since`. */
  events(
    node: string,
    since: number,
    options?: { readonly timeoutMs?: number },
  ): Promise<SystemEventsPage>;
  /** Every member's (and this node's) info, asked at once; never rejects because one failed. */
  overview(options?: { readonly timeoutMs?: number }): Promise<ClusterOverview>;
}
