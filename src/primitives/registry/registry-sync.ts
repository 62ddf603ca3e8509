/**
 * The registry's per-peer state machine: hellos, answers, deltas,
 * node events and local changes in; table changes, hellos and deltas out. It does no I/O of its
 * own: {@link SyncIo} carries its messages, so the spec drives it with scripted inputs.
 *
 * Over 450 lines on purpose: it is one state machine whose invariants (a peer's status, its
 * buffered deltas, suppressions and timers change together in one synchronous step) hold across
 * every method; its types, askers and logging already live beside it, and what is left would
 * only be split by passing its private state around.
 */
import { HRW_VERSION } from '../calls/rendezvous.js';
import { Askers } from './registry-askers.js';
import { RegistryLog, codeOf } from './registry-log.js';
import {
  type Delta,
  type EntryKey,
  type HelloAnswer,
  type HelloRequest,
  MAX_DELTA_BUFFER,
  MAX_REGISTRY_ENTRIES,
  REGISTRY_VERSION,
  entryKey,
  fromEntryKey,
  newEpoch,
  noIssues,
  parseDelta,
  parseHello,
  parseHelloAnswer,
} from './registry-protocol.js';
import {
  DEFAULT_SYNC_TIMINGS,
  type PeerState,
  type RegistrySyncOptions,
  type SyncTimings,
  newPeer,
} from './registry-sync.types.js';
import { ReplicatedTable } from './replicated-table.js';

export type { SyncChange, SyncIo, SyncReason } from './registry-sync.types.js';

/**
 * The replication of the registry's table with every peer: pull (hello) when a peer comes up,
 * then ordered deltas; deltas that overtake the hello answer are buffered.
 */
export class RegistrySync {
  /** The replicated table, this node's entries included. */
  readonly table = new ReplicatedTable();
  /** Random per start; a peer seeing another epoch asks again. */
  readonly epoch = newEpoch();
  private seq = 0;
  /** What peers were told, as of {@link seq}. */
  private readonly announced = new Set<EntryKey>();
  /** Local entries changed since the last delta. */
  private readonly pending = new Set<EntryKey>();
  private flushScheduled = false;
  private draining = false;
  private closed = false;
  private readonly members = new Set<string>();
  private readonly peers = new Map<string, PeerState>();
  /** Members that run the registry: deltas go to them. */
  private readonly aware = new Set<string>();
  /** Aware members whose queue refused a delta: the whole table is resent after a delay. */
  private readonly resend = new Map<string, NodeJS.Timeout>();
  /** Nodes that asked before their `nodeUp` here, with the `seq` they were given. */
  private readonly askers: Askers;
  private tokens = 0;
  private readonly timings: SyncTimings;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: RegistryLog;

  constructor(private readonly options: RegistrySyncOptions) {
    this.timings = { ...DEFAULT_SYNC_TIMINGS, ...options.timings };
    this.now = options.now ?? (() => performance.now());
    this.random = options.random ?? Math.random;
    this.askers = new Askers(this.now, this.timings.askerTtlMs);
    this.log = new RegistryLog(options.logger);
  }

  /** The number of this node's last announced change. */
  get sequence(): number {
    return this.seq;
  }

  /** How many askers are remembered. */
  get askerCount(): number {
    return this.askers.size;
  }

  /** Whether a drain has started. */
  get isDraining(): boolean {
    return this.draining;
  }

  /** Members this node sends its deltas to. */
  awareMembers(): string[] {
    return [...this.aware].filter(node => this.members.has(node));
  }

  /** The sync status of a member, `undefined` for a non-member. */
  statusOf(node: string): PeerState['status'] | undefined {
    return this.peers.get(node)?.status;
  }

  /** This node's entries at start, announced as they are (seq 0). */
  seedLocal(keys: Iterable<EntryKey>): void {
    for (const key of keys) this.announced.add(key);
    this.table.apply(this.options.self, this.announced, []);
  }

  /** A local entry appeared or went; announced in one delta per microtask. */
  localChanged(key: EntryKey, added: boolean): void {
    if (this.closed) return;
    const change = added
      ? this.table.apply(this.options.self, [key], [])
      : this.table.apply(this.options.self, [], [key]);
    if (change.added.length === 0 && change.removed.length === 0) return;
    this.options.io.changed({ node: this.options.self, reason: 'local', ...change });
    if (this.draining) return;
    this.pending.add(key);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** `node` became a member: ask for its table (and tell it ours if it asked before). */
  nodeUp(node: string): void {
    if (this.closed || node === this.options.self || this.members.has(node)) return;
    this.members.add(node);
    this.peers.set(node, newPeer(this.timings.helloRetryMs));
    const asked = this.askers.take(node);
    if (asked !== undefined) {
      this.aware.add(node);
      // Changes made since its answer were not sent to a non-member: replace its view whole.
      if (this.seq > asked.seq) this.sendSet(node);
    }
    this.sendHello(node);
  }

  /** `node` went down: it leaves every set now, in this same delivery. */
  nodeDown(node: string): void {
    if (!this.members.delete(node)) return;
    const peer = this.peers.get(node);
    if (peer !== undefined) this.clearPeerTimers(peer);
    this.peers.delete(node);
    this.aware.delete(node);
    this.askers.take(node);
    clearTimeout(this.resend.get(node));
    this.resend.delete(node);
    const removed = this.table.removeNode(node);
    if (removed.length > 0)
      this.options.io.changed({ node, reason: 'nodeDown', added: [], removed });
  }

  /** A hello from `from`: the answer is this node's table as announced (empty while draining). */
  onHello(from: string, body: unknown): HelloAnswer {
    this.flush();
    const hello = parseHello(body);
    if (hello !== undefined && from !== this.options.self) {
      if (this.members.has(from)) {
        this.aware.add(from);
        clearTimeout(this.resend.get(from));
        this.resend.delete(from);
        const peer = this.peers.get(from);
        // It answered ERR_NO_HANDLER before its registry started: it runs one now. Or it
        // restarted under the same name without leaving: what this node holds of it is stale.
        if (peer?.status === 'unaware') this.rehello(from, peer);
        else if (peer?.epoch !== undefined && peer.epoch !== hello.epoch) this.rehello(from, peer);
      } else this.askers.add(from, this.seq);
    }
    return {
      v: REGISTRY_VERSION,
      epoch: this.epoch,
      seq: this.seq,
      hrw: HRW_VERSION,
      entries: this.draining ? [] : [...this.announced].map(fromEntryKey),
    };
  }

  /** A delta from `from`; the return value answers a drain's request. */
  onDelta(from: string, body: unknown): { v: number } {
    const issues = noIssues();
    const delta = parseDelta(body, this.options.kinds, issues);
    if (delta === undefined) {
      this.log.invalidDelta(from);
      return { v: REGISTRY_VERSION };
    }
    const peer = this.peers.get(from);
    if (peer === undefined || peer.status === 'unaware') {
      this.log.nonMember(from);
      return { v: REGISTRY_VERSION };
    }
    this.log.issues(from, issues);
    if (peer.status === 'syncing') this.buffer(peer, delta);
    else this.applyDelta(from, peer, delta);
    // Acknowledged below: what it withdrew must leave routing now, not when an answer comes.
    if (peer.status === 'syncing') this.withhold(from, peer, delta);
    return { v: REGISTRY_VERSION };
  }

  /** Keeps `delta` for after the answer, within {@link MAX_DELTA_BUFFER} deltas and entries. */
  private buffer(peer: PeerState, delta: Delta): void {
    if (peer.overflow) return;
    const size = (delta.set?.length ?? 0) + (delta.add?.length ?? 0) + (delta.del?.length ?? 0);
    if (peer.buffer.length < MAX_DELTA_BUFFER && peer.buffered + size <= MAX_REGISTRY_ENTRIES) {
      peer.buffer.push(delta);
      peer.buffered += size;
      return;
    }
    // The buffer is useless now (the answer is followed by another hello): free it.
    peer.overflow = true;
    peer.buffer = [];
    peer.buffered = 0;
  }

  /** Leaves out of routing the entries of `node` that `delta` withdraws, until an answer. */
  private withhold(node: string, peer: PeerState, delta: Delta): void {
    const entries = this.table.entriesOf(node);
    let keys: Iterable<EntryKey>;
    if (delta.set !== undefined) {
      const kept = new Set(delta.set.map(([kind, name]) => entryKey(kind, name)));
      keys = [...entries].filter(key => !kept.has(key));
    } else keys = (delta.del ?? []).map(([kind, name]) => entryKey(kind, name));
    let rerouted = false;
    for (const key of keys) {
      // Only entries it has: the set stays bounded by the node's entries.
      if (!entries.has(key)) continue;
      peer.withheld.add(key);
      if (this.table.suppress(node, key)) rerouted = true;
    }
    if (rerouted) this.options.io.rerouted?.();
  }

  /**
   * Leaves `node` out of the nodes of `key` until news of it, and asks `node` again after
   * `suppressedHealMs` if none came. `false` when there was nothing to suppress.
   */
  suppress(node: string, key: EntryKey): boolean {
    const peer = this.peers.get(node);
    if (peer === undefined || !this.table.suppress(node, key)) return false;
    peer.healTimer ??= this.timer(this.timings.suppressedHealMs, () => {
      peer.healTimer = undefined;
      if (this.peers.get(node) === peer && this.table.hasSuppressed(node)) this.rehello(node, peer);
    });
    return true;
  }

  /**
   * Starts a drain: no more announcements, hellos answered empty. Returns the withdrawal (every
   * announced entry removed, as the next change) and the members to send it to as a request.
   */
  startDrain(): { readonly delta: Delta; readonly targets: readonly string[] } {
    this.draining = true;
    this.pending.clear();
    const del = [...this.announced].map(fromEntryKey);
    this.announced.clear();
    const delta: Delta = { v: REGISTRY_VERSION, epoch: this.epoch, seq: ++this.seq, del };
    return { delta, targets: this.awareMembers() };
  }

  /** Stops every timer; inputs are ignored from now on. */
  close(): void {
    this.closed = true;
    for (const peer of this.peers.values()) this.clearPeerTimers(peer);
    for (const timer of this.resend.values()) clearTimeout(timer);
    this.resend.clear();
    this.askers.clear();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.draining || this.pending.size === 0) return;
    const local = this.table.entriesOf(this.options.self);
    const add: EntryKey[] = [];
    const del: EntryKey[] = [];
    for (const key of this.pending) {
      if (local.has(key) && !this.announced.has(key)) add.push(key);
      else if (!local.has(key) && this.announced.has(key)) del.push(key);
    }
    this.pending.clear();
    if (add.length === 0 && del.length === 0) return;
    for (const key of add) this.announced.add(key);
    for (const key of del) this.announced.delete(key);
    const delta: Delta = {
      v: REGISTRY_VERSION,
      epoch: this.epoch,
      seq: ++this.seq,
      ...(add.length > 0 ? { add: add.map(fromEntryKey) } : {}),
      ...(del.length > 0 ? { del: del.map(fromEntryKey) } : {}),
    };
    for (const node of this.awareMembers()) {
      if (this.resend.has(node)) continue;
      this.trySend(node, delta);
    }
  }

  private trySend(node: string, delta: Delta): void {
    try {
      this.options.io.send(node, delta);
    } catch (error) {
      // A node that is going down is about to leave every set; nothing to resend.
      if (codeOf(error) === 'ERR_NODE_DOWN' || !this.members.has(node)) return;
      const ms = this.timings.resendMs;
      this.log.refused(node, error, ms);
      clearTimeout(this.resend.get(node));
      this.resend.set(
        node,
        this.timer(ms, () => {
          this.resend.delete(node);
          this.sendSet(node);
        }),
      );
    }
  }

  /** The whole announced table, replacing the peer's view of this node. */
  private sendSet(node: string): void {
    if (!this.aware.has(node) || !this.members.has(node)) return;
    const set = this.draining ? [] : [...this.announced].map(fromEntryKey);
    this.trySend(node, { v: REGISTRY_VERSION, epoch: this.epoch, seq: this.seq, set });
  }

  private sendHello(node: string): void {
    const peer = this.peers.get(node);
    if (peer === undefined || this.closed) return;
    const token = ++this.tokens;
    peer.token = token;
    const body: HelloRequest = { v: REGISTRY_VERSION, epoch: this.epoch, hrw: HRW_VERSION };
    let answer: Promise<unknown>;
    try {
      answer = this.options.io.hello(node, body);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      value => this.onAnswer(node, token, value),
      (error: unknown) => this.onHelloFailed(node, token, error),
    );
  }

  private current(node: string, token: number): PeerState | undefined {
    const peer = this.peers.get(node);
    return peer !== undefined && peer.token === token && !this.closed ? peer : undefined;
  }

  private onAnswer(node: string, token: number, value: unknown): void {
    const peer = this.current(node, token);
    if (peer === undefined) return;
    const issues = noIssues();
    const answer = parseHelloAnswer(value, this.options.kinds, issues);
    if (answer === undefined) {
      this.log.helloInvalid(node);
      this.retryHello(node, peer);
      return;
    }
    this.log.issues(node, issues);
    if (answer.hrw !== HRW_VERSION) this.log.hrwMismatch(node, answer.hrw, HRW_VERSION);
    // It answered: it runs the registry, so it gets this node's deltas from now on.
    this.aware.add(node);
    const buffered = peer.buffer;
    const overflow = peer.overflow;
    peer.status = 'synced';
    peer.epoch = answer.epoch;
    peer.seq = answer.seq;
    peer.buffer = [];
    peer.buffered = 0;
    peer.overflow = false;
    peer.retryMs = this.timings.helloRetryMs;
    this.table.unsuppressAll(node);
    const change = this.table.replace(
      node,
      answer.entries.map(([kind, name]) => entryKey(kind, name)),
    );
    if (overflow) {
      // The answer may predate withdrawals that were dropped with the buffer: keep them out.
      for (const key of peer.withheld)
        if (!this.table.suppress(node, key)) peer.withheld.delete(key);
    } else peer.withheld.clear();
    this.options.io.changed({ node, reason: 'sync', ...change });
    if (overflow) {
      this.log.overflow(node);
      this.rehello(node, peer);
      return;
    }
    for (const delta of buffered) {
      if (this.peers.get(node) !== peer || peer.status !== 'synced') return;
      this.applyDelta(node, peer, delta);
    }
  }

  private onHelloFailed(node: string, token: number, error: unknown): void {
    const peer = this.current(node, token);
    if (peer === undefined) return;
    if (codeOf(error) === 'ERR_NO_HANDLER') {
      // An older node: requests to unknown topics are answered quietly there, one-way ones not.
      peer.status = 'unaware';
      peer.buffer = [];
      this.aware.delete(node);
      this.log.unaware(node);
      return;
    }
    this.retryHello(node, peer, error);
  }

  private retryHello(node: string, peer: PeerState, error?: unknown): void {
    const base = peer.retryMs;
    peer.retryMs = Math.min(base * 2, this.timings.helloRetryMaxMs);
    const delay = Math.max(1, Math.round(base * (0.8 + 0.4 * this.random())));
    this.log.helloFailed(node, error, delay);
    clearTimeout(peer.retryTimer);
    peer.retryTimer = this.timer(delay, () => {
      peer.retryTimer = undefined;
      if (this.peers.get(node) === peer && peer.status === 'syncing') this.sendHello(node);
    });
  }

  /** Asks again; the node's entries stay in view until the answer replaces them. */
  private rehello(node: string, peer: PeerState): void {
    peer.status = 'syncing';
    peer.buffer = [];
    peer.buffered = 0;
    peer.overflow = false;
    peer.retryMs = this.timings.helloRetryMs;
    clearTimeout(peer.retryTimer);
    peer.retryTimer = undefined;
    this.sendHello(node);
  }

  private applyDelta(node: string, peer: PeerState, delta: Delta): void {
    if (delta.epoch !== peer.epoch) {
      this.log.gap(node, peer.seq + 1, delta.seq);
      this.rehello(node, peer);
      return;
    }
    if (delta.seq <= peer.seq) return;
    if (delta.set !== undefined) {
      peer.seq = delta.seq;
      this.table.unsuppressAll(node);
      const change = this.table.replace(
        node,
        delta.set.map(([kind, name]) => entryKey(kind, name)),
      );
      this.options.io.changed({ node, reason: 'sync', ...change });
      return;
    }
    if (delta.seq !== peer.seq + 1) {
      this.log.gap(node, peer.seq + 1, delta.seq);
      this.rehello(node, peer);
      return;
    }
    peer.seq = delta.seq;
    const add = (delta.add ?? []).map(([kind, name]) => entryKey(kind, name));
    const del = (delta.del ?? []).map(([kind, name]) => entryKey(kind, name));
    for (const key of [...add, ...del]) this.table.unsuppress(node, key);
    // Withdrawals first, so room counts only entries the node really gave up.
    const removed = this.table.apply(node, [], del).removed;
    const room = Math.max(0, MAX_REGISTRY_ENTRIES - this.table.entriesOf(node).size);
    const added = this.table.apply(node, add.slice(0, room), []).added;
    if (add.length > room) this.log.issues(node, { tooMany: add.length - room, reserved: 0 });
    if (added.length === 0 && removed.length === 0) return;
    const reason = added.length > 0 ? 'announced' : 'withdrawn';
    this.options.io.changed({ node, reason, added, removed });
  }

  private clearPeerTimers(peer: PeerState): void {
    clearTimeout(peer.retryTimer);
    clearTimeout(peer.healTimer);
    peer.retryTimer = undefined;
    peer.healTimer = undefined;
  }

  private timer(ms: number, run: () => void): NodeJS.Timeout {
    const timer = setTimeout(run, ms);
    timer.unref();
    return timer;
  }
}
