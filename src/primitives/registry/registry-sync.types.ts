/**
 * The types of the registry's sync: its inputs and outputs ({@link SyncIo}), timings, and the
 * state it keeps per member.
 */
import type { ClusterLogger } from '../../core/index.js';
import type { ServicesChangeReason } from '../primitives.types.js';
import { ASKER_TTL_MS, type Delta, type EntryKey, type HelloRequest } from './registry-protocol.js';

/** Why the table changed: the reason of the `ServicesChange` the registry makes of it. */
export type SyncReason = ServicesChangeReason;

/** One change of a node's entries. */
export interface SyncChange {
  readonly node: string;
  readonly reason: SyncReason;
  readonly added: readonly EntryKey[];
  readonly removed: readonly EntryKey[];
}

/** What the state machine asks of the world. */
export interface SyncIo {
  /** Asks `node` for its table (a request on the hello topic). */
  hello(node: string, body: HelloRequest): Promise<unknown>;
  /** A one-way delta; throws when it cannot be queued. */
  send(node: string, delta: Delta): void;
  /** The table changed (after it is consistent). */
  changed(change: SyncChange): void;
  /** Entries were left out of routing or put back without a change of the table. */
  rerouted?(): void;
}

/** Timings and bounds of the sync; the registry's defaults unless a spec shortens them. */
export interface SyncTimings {
  readonly helloTimeoutMs: number;
  readonly helloRetryMs: number;
  readonly helloRetryMaxMs: number;
  readonly suppressedHealMs: number;
  /** Delay before the whole table is sent to a peer whose queue refused a delta. */
  readonly resendMs: number;
  readonly askerTtlMs: number;
}

/** The defaults of {@link SyncTimings}. */
export const DEFAULT_SYNC_TIMINGS: SyncTimings = {
  helloTimeoutMs: 2_000,
  helloRetryMs: 250,
  helloRetryMaxMs: 5_000,
  suppressedHealMs: 2_000,
  resendMs: 1_000,
  askerTtlMs: ASKER_TTL_MS,
};

/** Options of a {@link RegistrySync}. */
export interface RegistrySyncOptions {
  readonly self: string;
  readonly io: SyncIo;
  /** Entry kinds this build understands; others from peers are ignored. */
  readonly kinds: ReadonlySet<string>;
  readonly logger?: ClusterLogger;
  readonly timings?: Partial<SyncTimings>;
  /** Monotonic clock (ms); `performance.now` when unset. */
  readonly now?: () => number;
  /** Jitter source in [0, 1); `Math.random` when unset. */
  readonly random?: () => number;
}

/** What the sync knows of one member. */
export interface PeerState {
  status: 'syncing' | 'synced' | 'unaware';
  epoch: string | undefined;
  seq: number;
  buffer: Delta[];
  /** Entries (adds and dels) in {@link buffer}: the buffer is bounded by size, not only count. */
  buffered: number;
  overflow: boolean;
  /**
   * Entries a delta received while syncing withdrew: left out of routing until an answer that
   * reflects the withdrawal (a drain is acknowledged at once, so routing must stop at once).
   */
  withheld: Set<EntryKey>;
  /** Identifies the current hello, so an answer to a superseded one is ignored. */
  token: number;
  retryMs: number;
  retryTimer: NodeJS.Timeout | undefined;
  healTimer: NodeJS.Timeout | undefined;
}

/** A member's state when it comes up: syncing, asked nothing yet. */
export function newPeer(retryMs: number): PeerState {
  return {
    status: 'syncing',
    epoch: undefined,
    seq: 0,
    buffer: [],
    buffered: 0,
    overflow: false,
    withheld: new Set(),
    token: 0,
    retryMs,
    retryTimer: undefined,
    healTimer: undefined,
  };
}
