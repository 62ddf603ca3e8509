/**
 * Leadership and singletons (docs/primitives.md): every node computes the leader from its own
 * view (the eligible node that started first, D1); there is no consensus. This file wires the
 * rule to the cluster's events, the freeze guard (D3), settling (D4), quorum (D5), terms (D6) and
 * the planned handover (D7), and runs the registered singletons where this node leads.
 */
import { BehaviorSubject, type Observable, type Subscription } from 'rxjs';
import {
  type ClusterEvent,
  CoreMessages,
  GenClusterError,
  startedAtOf,
  withDeadline,
} from '../../core/index.js';
import { onAbdications, sendAbdication } from './abdication.js';
import { FreezeGuard } from './freeze-guard.js';
import { type LeaderCandidate, leaderOf } from './leader-rule.js';
import { SingletonExistsError } from './leadership.errors.js';
import { LeadershipMessages } from './leadership.messages.js';
import {
  type LeadershipDeps,
  checkSingleton,
  resolveLeadershipTimings,
} from './leadership-options.js';
import { LeadershipTerms } from './leadership-terms.js';
import type { NotLeaderReason, SingletonHooks, SingletonRegistration } from './leadership.types.js';
import { Settling } from './settling.js';
import { SingletonRunner } from './singleton-runner.js';

type Phase = 'new' | 'running' | 'closed';

/**
 * This node's leadership: the leader is the eligible member with the earliest start time (ties by
 * name), computed from this node's own view with no consensus; singletons run where this node
 * leads. The guarantees and their limits: docs/primitives.md.
 */
export class Leadership {
  private readonly self: string;
  private readonly stopTimeoutMs: number;
  private readonly guard: FreezeGuard;
  private readonly settling: Settling;
  private readonly terms: LeadershipTerms;
  /** Connected members and the start times they announced (`undefined`: never leads). */
  private readonly peers = new Map<string, number | undefined>();
  /** Members that abdicated, until their nodeDown. */
  private readonly abdicated = new Set<string>();
  private readonly runners = new Map<string, SingletonRunner>();
  private readonly subject = new BehaviorSubject<string | undefined>(undefined);
  private readonly teardown: (() => void)[] = [];
  private phase: Phase = 'new';
  private current: string | undefined;
  private reason: NotLeaderReason | undefined = 'notStarted';
  private leaving = false;
  private frozen = false;
  /**
   * Quorum as the last `quorumChanged` event said (seeded from `hasQuorum()`): the event is
   * delivered before the snapshot `hasQuorum()` reads.
   */
  private quorum = true;
  /** The members at the last good tick: who must be back before leading after a freeze. */
  private lastMembers: string[] = [];
  /** A recompute deferred to a microtask (see onEvent's nodeDown) is queued. */
  private deferred = false;
  private abdicating: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly deps: LeadershipDeps) {
    const { cluster } = deps;
    this.self = cluster.self;
    const timings = resolveLeadershipTimings(deps);
    const { freezeToleranceMs: toleranceMs, settleMs, failureTimeoutMs } = timings;
    this.stopTimeoutMs = timings.stopTimeoutMs;
    this.guard = new FreezeGuard({
      toleranceMs,
      now: deps.now,
      wallNow: deps.wallNow,
      onFreeze: gap => this.onFreeze(gap, toleranceMs),
      onTick: () => (this.lastMembers = [...this.peers.keys()]),
    });
    this.settling = new Settling({
      settleMs,
      failureTimeoutMs,
      now: deps.now,
      facts: () => ({
        discoveryAnswered: deps.idle || cluster.health().lastDiscoveryOkAgoMs !== undefined,
        discovered: cluster.discoveredPeers().map(peer => peer.node),
        // the members this leadership has seen come up (events), which the rule reads: the
        // engine's own list may be ahead of its delivered events
        members: new Set(this.peers.keys()),
      }),
      onSettled: ms => {
        this.frozen = false;
        deps.logger?.debug?.(LeadershipMessages.settled(ms), { event: 'leadershipSettled' });
        this.recompute();
      },
    });
    this.terms = new LeadershipTerms({
      self: this.self,
      registry: deps.registry,
      onHigher: (term, node) => this.onHigherTerm(term, node),
    });
  }

  /** Starts following the cluster; call after `cluster.start()`. Idempotent. */
  start(): void {
    if (this.phase !== 'new') return;
    this.phase = 'running';
    const { cluster, messaging } = this.deps;
    for (const peer of cluster.memberPeers()) this.peers.set(peer.node, startedAtOf(peer));
    this.quorum = cluster.hasQuorum();
    this.lastMembers = [...this.peers.keys()];
    const subscription: Subscription = cluster.events$.subscribe(event => this.onEvent(event));
    this.teardown.push(() => subscription.unsubscribe());
    if (messaging !== undefined)
      this.teardown.push(onAbdications(messaging, from => this.onAbdicate(from)));
    this.terms.start();
    this.guard.start();
    if (!this.deps.idle && this.deps.startedAt === undefined)
      this.deps.logger?.warn(LeadershipMessages.noStartTime(), { event: 'leadershipNoStartTime' });
    if (this.deps.idle) this.settling.settleNow();
    else this.settling.unsettle([]);
    this.recompute();
  }

  /** The current leader at once (`undefined` before start), then each change. */
  get leader$(): Observable<string | undefined> {
    return this.subject.asObservable();
  }

  /** The leader as this node sees it now, or `undefined` (see {@link whyNot}). */
  leader(): string | undefined {
    this.guard.check();
    return this.current;
  }

  /** Whether this node leads now; checks for a freeze first, synchronously. */
  isLeader(): boolean {
    return this.leader() === this.self && this.phase === 'running';
  }

  /** Why this node does not lead now; `undefined` when it does. */
  whyNot(): NotLeaderReason | undefined {
    this.guard.check();
    return this.reason;
  }

  /** The current leader's term (its fencing token); 0 when unknown or when there is no leader. */
  get term(): number {
    return this.terms.termOf(this.current);
  }

  /**
   * Registers a singleton: started here whenever this node leads, stopped when it stops leading.
   * @throws SingletonExistsError `ERR_SINGLETON_EXISTS` for a name registered here already
   * @throws InvalidConfigError for a name that is not 1-200 characters or hooks without `start`
   */
  singleton(name: string, hooks: SingletonHooks): SingletonRegistration {
    checkSingleton(name, hooks);
    if (this.phase === 'closed')
      throw new GenClusterError('ERR_CLUSTER_STOPPED', CoreMessages.stopped());
    if (this.runners.has(name))
      throw new SingletonExistsError(LeadershipMessages.singletonExists(name), { singleton: name });
    const runner = new SingletonRunner({
      name,
      hooks,
      stopTimeoutMs: this.stopTimeoutMs,
      isLeader: () => this.isLeader(),
      logger: this.deps.logger,
    });
    this.runners.set(name, runner);
    runner.want(this.runTerm());
    let unregistered: Promise<void> | undefined;
    const unregister = async (): Promise<void> => {
      // the name stays taken until the stop hook returns; the caller waits stopTimeoutMs at most
      const closed = runner.close().then(() => {
        if (this.runners.get(name) === runner) this.runners.delete(name);
      });
      await withDeadline(() => closed, {
        ms: this.stopTimeoutMs,
        onTimeout: () => new GenClusterError('ERR_WAIT_TIMEOUT', CoreMessages.stopped()),
      }).catch(() => undefined);
    };
    return {
      name,
      get running() {
        return runner.running;
      },
      unregister: () => (unregistered ??= unregister()),
    };
  }

  /**
   * A planned handover (D7): this node stops leading at once, stops its singletons (awaiting
   * their stop hooks, at most `stopTimeoutMs`), then tells every member, which then treat it as
   * ineligible until it goes down. Nothing starts here again. A second call returns the first.
   */
  abdicate(): Promise<void> {
    this.abdicating ??= this.handOver();
    return this.abdicating;
  }

  /** Stops everything: singletons (bounded by `stopTimeoutMs`), timers, subscriptions. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async handOver(): Promise<void> {
    this.leaving = true;
    if (this.phase !== 'running') return;
    this.recompute();
    await this.stopped();
    const { messaging, cluster, logger } = this.deps;
    if (messaging === undefined || this.phase !== 'running') return;
    // Only nodes that announce a start time run leadership; an earlier release would log the
    // unknown internal topic.
    const members = cluster
      .memberPeers()
      .filter(peer => startedAtOf(peer) !== undefined)
      .map(peer => peer.node);
    sendAbdication(messaging, members, logger);
    logger?.log(LeadershipMessages.abdicated(members.length), { event: 'abdicated' });
  }

  private async shutDown(): Promise<void> {
    this.leaving = true;
    this.phase = 'closed';
    this.guard.stop();
    this.settling.stop();
    this.terms.close();
    for (const off of this.teardown.splice(0)) off();
    this.reason = 'leaving';
    if (this.current !== undefined) {
      this.current = undefined;
      this.subject.next(undefined);
    }
    for (const runner of this.runners.values()) void runner.close();
    await this.stopped();
    this.subject.complete();
  }

  /** Waits for every singleton to be idle, at most `stopTimeoutMs` (the runners log overruns). */
  private async stopped(): Promise<void> {
    const idle = Promise.all([...this.runners.values()].map(runner => runner.whenIdle()));
    await withDeadline(() => idle, {
      ms: this.stopTimeoutMs,
      onTimeout: () => new GenClusterError('ERR_WAIT_TIMEOUT', CoreMessages.stopped()),
    }).catch(() => undefined);
  }

  private onEvent(event: ClusterEvent): void {
    if (event.type === 'nodeUp') this.peers.set(event.node, startedAtOf(event.peer));
    else if (event.type === 'nodeDown') {
      this.peers.delete(event.node);
      this.abdicated.delete(event.node);
      if (this.deps.quorumConfigured && this.wouldGain()) {
        // The engine delivers a nodeDown before the quorumChanged it causes: gaining now would
        // lead for one delivery on the old quorum. The whole delivery (quorumChanged included)
        // is synchronous, so a microtask sees the new quorum. Losing stays immediate.
        this.settling.observe();
        this.deferRecompute();
        return;
      }
    } else if (event.type === 'quorumChanged') {
      // A side that regains quorum (a partition healed) settles again before leading: the
      // other side's leader may not be a member here yet (its link comes up later), and
      // leading at once would run beside it.
      if (event.quorum.has && !this.quorum) this.settling.unsettle([]);
      this.quorum = event.quorum.has;
    }
    this.settling.observe();
    this.recompute();
  }

  private onAbdicate(from: string): void {
    if (this.phase !== 'running' || !this.peers.has(from) || this.abdicated.has(from)) return;
    this.abdicated.add(from);
    this.deps.logger?.debug?.(LeadershipMessages.peerAbdicated(from), {
      event: 'peerAbdicated',
      peer: from,
    });
    this.recompute();
  }

  private onFreeze(gapMs: number, toleranceMs: number): void {
    if (this.phase !== 'running') return;
    this.deps.logger?.warn(LeadershipMessages.freezeDetected(gapMs, toleranceMs), {
      event: 'freezeDetected',
      gapMs: Math.round(gapMs),
    });
    this.frozen = true;
    this.settling.unsettle(this.lastMembers);
    this.recompute();
  }

  private onHigherTerm(term: number, node: string): void {
    if (this.phase !== 'running' || this.current !== this.self) return;
    const ours = this.terms.termOf(this.self);
    this.deps.logger?.log(LeadershipMessages.higherTerm(term, node, ours), {
      event: 'higherTerm',
      peer: node,
      term,
    });
    this.terms.take();
    this.reconcile();
  }

  /** The leader of this node's view now, and why this node is not it. */
  private compute(): { leader: string | undefined; reason: NotLeaderReason | undefined } {
    const { quorumConfigured } = this.deps;
    if (this.phase !== 'running') return { leader: undefined, reason: 'leaving' };
    if (quorumConfigured && !this.quorum) return { leader: undefined, reason: 'noQuorum' };
    if (!this.settling.settled)
      return { leader: undefined, reason: this.frozen ? 'frozen' : 'settling' };
    const candidates: LeaderCandidate[] = [];
    for (const [node, started] of this.peers)
      if (started !== undefined && !this.abdicated.has(node))
        candidates.push({ node, startedAt: started });
    const startedAt = this.selfStartedAt();
    if (!this.leaving && startedAt !== undefined) candidates.push({ node: this.self, startedAt });
    const leader = leaderOf(candidates);
    if (leader === this.self) return { leader, reason: undefined };
    return { leader, reason: this.leaving ? 'leaving' : 'otherLeader' };
  }

  /**
   * This node's start time as a candidate, or `undefined` when it may not lead: peers count a
   * node without an announced start time (or a hidden one, which is never their member) as
   * ineligible, so it must not count itself in, or every such node would lead. An idle cluster
   * has no peers and leads alone.
   */
  private selfStartedAt(): number | undefined {
    const { idle, startedAt, hidden } = this.deps;
    if (idle) return startedAt ?? 0;
    return hidden === true ? undefined : startedAt;
  }

  /** Whether recomputing now would make this node the leader (it is not). */
  private wouldGain(): boolean {
    return this.current !== this.self && this.compute().leader === this.self;
  }

  private deferRecompute(): void {
    if (this.deferred) return;
    this.deferred = true;
    queueMicrotask(() => {
      this.deferred = false;
      this.recompute();
    });
  }

  private recompute(): void {
    if (this.phase !== 'running') return;
    // an event handled right after a SIGCONT must not act on the stale view
    this.guard.check();
    const { leader, reason } = this.compute();
    this.reason = reason;
    const changed = leader !== this.current;
    if (changed) {
      this.current = leader;
      this.terms.leaderChanged(leader);
      const { logger } = this.deps;
      if (leader !== undefined)
        logger?.log(LeadershipMessages.leaderIs(leader, this.term), {
          event: 'leader',
          peer: leader,
        });
      else logger?.log(LeadershipMessages.noLeader(reason ?? 'none'), { event: 'leader', reason });
    }
    this.reconcile();
    if (changed && this.current === leader) this.subject.next(leader);
  }

  /** Tells each singleton the term it should run under here, or none. */
  private reconcile(): void {
    const term = this.runTerm();
    for (const runner of this.runners.values()) runner.want(term);
  }

  private runTerm(): number | undefined {
    return this.phase === 'running' && this.current === this.self
      ? this.terms.termOf(this.self)
      : undefined;
  }
}
