/**
 * Leadership on a real engine with a scripted discovery and dist (no messaging, so terms count
 * locally): settling, the rule, takeover on nodeDown, the freeze guard through an injected clock,
 * quorum, abdication, singleton registration and shutdown.
 */
import {
  GenCluster,
  GenClusterError,
  IdleCluster,
  InvalidConfigError,
  type Peer,
  type QuorumOptions,
} from '../../core/index.js';
import { TestDiscovery, TestDist } from '../../testing/index.js';
import { silent } from '../../../test/support/engine-harness.js';
import { flushPromises, until } from '../../../test/support/wait.js';
import { Leadership } from './leadership.js';
import type { LeadershipDeps } from './leadership-options.js';
import { SingletonExistsError } from './leadership.errors.js';
import type { SingletonContext } from './leadership.types.js';

const SELF = 'self@h';
const A = 'a@h';
const B = 'b@h';

const peer = (node: string, startedAt?: number): Peer =>
  startedAt === undefined ? { node } : { node, meta: { startedAt } };

describe('Leadership', () => {
  const closing: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
  });

  /** This node (started at 100) with `peers` discovered and connected by the scripted dist. */
  async function node(
    peers: Peer[],
    extra: Partial<LeadershipDeps> & { quorum?: QuorumOptions } = {},
  ) {
    const lines: string[] = [];
    let offset = 0;
    const dist = new TestDist();
    const discovery = new TestDiscovery(peers);
    const cluster = new GenCluster({
      node: SELF,
      discovery,
      dist,
      logger: silent,
      ...(extra.quorum ? { quorum: extra.quorum } : {}),
    });
    const leadership = new Leadership({
      cluster,
      idle: false,
      startedAt: 100,
      quorumConfigured: extra.quorum !== undefined,
      options: { settleMs: 50 },
      now: () => performance.now() + offset,
      logger: {
        log: m => lines.push(`log ${m}`),
        warn: m => lines.push(`warn ${m}`),
        error: m => lines.push(`error ${m}`),
      },
      ...extra,
    });
    closing.push(async () => {
      await leadership.close();
      await cluster.stop();
    });
    await cluster.start();
    leadership.start();
    return { cluster, dist, discovery, leadership, lines, freeze: (ms: number) => (offset += ms) };
  }

  /** A singleton that records its runs as `start <term>` / `stop <term>`. */
  function recorder() {
    const events: string[] = [];
    const contexts: SingletonContext[] = [];
    const hooks = {
      start: (ctx: SingletonContext) => {
        contexts.push(ctx);
        events.push(`start ${ctx.term}`);
      },
      stop: (ctx: SingletonContext) => void events.push(`stop ${ctx.term}`),
    };
    return { events, contexts, hooks };
  }

  it('leads at once as an idle cluster, under term 1', async () => {
    const cluster = new IdleCluster('solo@h', 'not configured');
    const leadership = new Leadership({
      cluster,
      idle: true,
      startedAt: 1,
      quorumConfigured: false,
    });
    closing.push(() => leadership.close());
    expect(leadership.whyNot()).toBe('notStarted');
    expect(leadership.isLeader()).toBe(false);
    const job = recorder();
    leadership.singleton('job', job.hooks);
    leadership.start();
    expect(leadership.isLeader()).toBe(true);
    expect(leadership.whyNot()).toBeUndefined();
    expect(leadership.term).toBe(1);
    await until(() => job.events.length === 1, 2_000);
    expect(job.events).toEqual(['start 1']);
  });

  it('has no leader while settling, then follows the earliest start', async () => {
    const { leadership, lines } = await node([peer(A, 50), peer(B, 200)]);
    expect(leadership.leader()).toBeUndefined();
    expect(leadership.whyNot()).toBe('settling');
    await until(() => leadership.leader() !== undefined, 5_000, 'settled');
    expect(leadership.leader()).toBe(A);
    expect(leadership.isLeader()).toBe(false);
    expect(leadership.whyNot()).toBe('otherLeader');
    expect(lines).toContain(`log Leadership: leader is now ${A} (term 1).`);
  });

  it('leads when it started first; a member without a start time (an older node) never leads', async () => {
    const { leadership } = await node([peer(A), peer(B, 200)]);
    await until(() => leadership.isLeader(), 5_000, 'self leads');
    expect(leadership.leader()).toBe(SELF);
  });

  it('takes over, and starts its singletons, when the leader goes down', async () => {
    const { leadership, dist, discovery } = await node([peer(A, 50)]);
    const job = recorder();
    leadership.singleton('job', job.hooks);
    await until(() => leadership.leader() === A, 5_000, 'a leads');
    expect(job.events).toEqual([]);
    discovery.answer = []; // gone for good: not reconnected
    dist.outcome = node => node !== A;
    dist.down(A);
    expect(leadership.isLeader()).toBe(true);
    await until(() => job.events.length === 1, 2_000);
    expect(job.events).toEqual(['start 2']);
    expect(leadership.term).toBe(2);
  });

  it('suspends at once on a freeze seen by isLeader(), before any timer runs, then settles and leads again', async () => {
    const { leadership, freeze, lines } = await node([]);
    const job = recorder();
    leadership.singleton('job', job.hooks);
    await until(() => job.events.length === 1, 5_000, 'started');
    const signal = job.contexts[0]!.signal;
    const seen: (string | undefined)[] = [];
    leadership.leader$.subscribe(leader => seen.push(leader));
    freeze(2_501); // the clock jumps: no timer has run since
    expect(job.contexts[0]!.isLeader()).toBe(false);
    expect(signal.aborted).toBe(true);
    expect(leadership.whyNot()).toBe('frozen');
    expect(seen).toEqual([SELF, undefined]);
    expect(lines.some(l => l.startsWith('warn') && l.includes('stalled'))).toBe(true);
    await until(() => job.events.length === 3, 5_000, 'stopped, then started again');
    expect(job.events).toEqual(['start 1', 'stop 1', 'start 2']);
    expect(leadership.isLeader()).toBe(true);
    expect(seen).toEqual([SELF, undefined, SELF]);
  });

  it('does not lead and stops its singletons without quorum; after regaining it, settles before leading', async () => {
    const { leadership, dist, discovery, cluster } = await node([peer(A, 200), peer(B, 300)], {
      quorum: { expectedSize: 3, stableMs: 100 },
    });
    const job = recorder();
    leadership.singleton('job', job.hooks);
    await until(() => job.events.length === 1, 5_000, 'started');
    discovery.answer = [];
    dist.outcome = () => false;
    const quorumEvents: boolean[] = [];
    cluster.events$.subscribe(e => e.type === 'quorumChanged' && quorumEvents.push(e.quorum.has));
    dist.down(A);
    expect(leadership.isLeader()).toBe(true); // 2 of 3: still a majority
    dist.down(B);
    expect(quorumEvents).toEqual([false]);
    expect(leadership.isLeader()).toBe(false);
    expect(leadership.whyNot()).toBe('noQuorum');
    expect(leadership.leader()).toBeUndefined();
    await until(() => job.events.length === 2, 2_000, 'stopped');
    discovery.answer = [peer(A, 200), peer(B, 300)];
    await cluster.refresh();
    dist.up(peer(A, 200));
    await until(() => cluster.hasQuorum(), 5_000, 'quorum back');
    // b is discovered but not a member yet: it may lead on another side, so this one waits
    expect(leadership.whyNot()).toBe('settling');
    dist.up(peer(B, 300));
    await until(() => leadership.isLeader(), 5_000, 'settled');
    await until(() => job.events.length === 3, 2_000, 'started again');
    expect(job.events).toEqual(['start 1', 'stop 1', 'start 2']);
  });

  it('never gains leadership on a nodeDown that also loses quorum (the quorumChanged comes after it)', async () => {
    const { leadership, dist, discovery, lines } = await node([peer(A, 50)], {
      quorum: { expectedSize: 3 },
    });
    const job = recorder();
    leadership.singleton('job', job.hooks);
    await until(() => leadership.leader() === A, 5_000, 'a leads');
    const seen: (string | undefined)[] = [];
    leadership.leader$.subscribe(leader => seen.push(leader));
    discovery.answer = [];
    dist.outcome = () => false;
    dist.down(A);
    await flushPromises();
    expect(leadership.whyNot()).toBe('noQuorum');
    expect(seen).toEqual([A, undefined]);
    expect(lines.filter(l => l.includes(`leader is now ${SELF}`))).toEqual([]);
    await flushPromises();
    expect(job.contexts).toEqual([]);
  });

  it('still takes over on a nodeDown that keeps quorum, one microtask later', async () => {
    const { leadership, dist, discovery } = await node([peer(A, 50), peer(B, 200)], {
      quorum: { expectedSize: 3 },
    });
    const job = recorder();
    leadership.singleton('job', job.hooks);
    await until(() => leadership.leader() === A, 5_000, 'a leads');
    discovery.answer = [peer(B, 200)];
    dist.outcome = node => node !== A;
    dist.down(A);
    await flushPromises();
    expect(leadership.isLeader()).toBe(true);
    await until(() => job.events.length === 1, 2_000);
    expect(job.events).toEqual(['start 2']);
  });

  it('never counts itself eligible without a start time or when hidden, and warns once', async () => {
    for (const deps of [{ startedAt: undefined }, { hidden: true }]) {
      const { leadership, lines } = await node([peer(A, 200)], deps);
      await until(() => leadership.leader() === A, 5_000, 'a leads, though it started later');
      expect(leadership.whyNot()).toBe('otherLeader');
      const warnings = lines.filter(l => l.includes('needs a dist that announces start times'));
      expect(warnings).toHaveLength('startedAt' in deps ? 1 : 0);
    }
    const alone = await node([], { startedAt: undefined });
    await until(() => alone.leadership.whyNot() !== 'settling', 5_000, 'settled');
    expect(alone.leadership.leader()).toBeUndefined(); // alone, and not eligible itself
    const idle = new Leadership({
      cluster: new IdleCluster('solo@h', 'not configured'),
      idle: true,
      startedAt: undefined,
      quorumConfigured: false,
    });
    closing.push(() => idle.close());
    idle.start();
    expect(idle.isLeader()).toBe(true); // an idle cluster leads alone
  });

  it('unregister() resolves within stopTimeoutMs of a hung stop hook; the name stays taken until it returns', async () => {
    const { leadership } = await node([], { options: { settleMs: 50, stopTimeoutMs: 100 } });
    let release!: () => void;
    const hung = new Promise<void>(resolve => (release = resolve));
    const registration = leadership.singleton('job', { start: () => undefined, stop: () => hung });
    await until(() => registration.running, 5_000, 'running');
    const began = performance.now();
    await registration.unregister();
    expect(performance.now() - began).toBeLessThan(2_000);
    expect(() => leadership.singleton('job', { start: () => undefined })).toThrow(
      SingletonExistsError,
    );
    release();
    await until(() => {
      try {
        leadership.singleton('job', { start: () => undefined });
        return true;
      } catch {
        return false;
      }
    }, 2_000);
  });

  it('abdicates: not leader at once, its singletons stopped before abdicate() resolves, never started again', async () => {
    const { leadership, dist } = await node([peer(A, 200)]);
    let release!: () => void;
    const stopping = new Promise<void>(resolve => (release = resolve));
    const events: string[] = [];
    leadership.singleton('job', {
      start: () => void events.push('start'),
      stop: async () => {
        events.push('stop begins');
        await stopping;
        events.push('stop ends');
      },
    });
    await until(() => events.length === 1, 5_000, 'started');
    const abdicated = leadership.abdicate().then(() => events.push('abdicated'));
    expect(leadership.isLeader()).toBe(false);
    expect(leadership.whyNot()).toBe('leaving');
    expect(leadership.leader()).toBe(A);
    await until(() => events.includes('stop begins'), 1_000);
    release();
    await abdicated;
    expect(events).toEqual(['start', 'stop begins', 'stop ends', 'abdicated']);
    expect(leadership.abdicate()).toBe(leadership.abdicate());
    dist.down(A);
    expect(leadership.isLeader()).toBe(false);
    expect(leadership.leader()).toBeUndefined();
  });

  it('refuses a second singleton of one name, bad names and hooks, and registrations after close', async () => {
    const { leadership } = await node([]);
    const job = recorder();
    const registration = leadership.singleton('job', job.hooks);
    expect(registration.name).toBe('job');
    let thrown: unknown;
    try {
      leadership.singleton('job', job.hooks);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SingletonExistsError);
    expect(thrown).toMatchObject({ code: 'ERR_SINGLETON_EXISTS', singleton: 'job' });
    expect(() => leadership.singleton('', job.hooks)).toThrow(InvalidConfigError);
    expect(() => leadership.singleton('x'.repeat(201), job.hooks)).toThrow(InvalidConfigError);
    expect(() => leadership.singleton('y', {} as never)).toThrow(InvalidConfigError);
    await until(() => registration.running, 5_000, 'running');
    await registration.unregister();
    expect(registration.running).toBe(false);
    expect(job.events).toEqual(['start 1', 'stop 1']);
    leadership.singleton('job', job.hooks); // the name is free again
    await leadership.close();
    expect(() => leadership.singleton('later', job.hooks)).toThrow(GenClusterError);
  });

  it('replays the current leader, emits changes only, and completes on close, which stops every singleton', async () => {
    const { leadership } = await node([]);
    const job = recorder();
    leadership.singleton('job', job.hooks);
    await until(() => leadership.isLeader(), 5_000);
    const seen: (string | undefined)[] = [];
    let completed = false;
    leadership.leader$.subscribe({ next: l => seen.push(l), complete: () => (completed = true) });
    leadership.leader$.subscribe(); // a second subscriber changes nothing
    expect(seen).toEqual([SELF]);
    await until(() => job.events.length === 1, 2_000);
    const closed = leadership.close();
    expect(leadership.close()).toBe(closed);
    await closed;
    expect(seen).toEqual([SELF, undefined]);
    expect(completed).toBe(true);
    expect(job.events).toEqual(['start 1', 'stop 1']);
    expect(leadership.isLeader()).toBe(false);
    expect(leadership.whyNot()).toBe('leaving');
  });

  it('refuses bad options with the option named', () => {
    const cluster = new IdleCluster('solo@h', 'not configured');
    const make = (options: object) => () =>
      new Leadership({ cluster, idle: true, startedAt: 1, quorumConfigured: false, options });
    expect(make({ freezeToleranceMs: 10 })).toThrow(/leadership\.freezeToleranceMs/);
    expect(make({ settleMs: -1 })).toThrow(/leadership\.settleMs/);
    expect(make({ stopTimeoutMs: 0 })).toThrow(/leadership\.stopTimeoutMs/);
    expect(make({ stopTimeoutMs: 1.5 })).toThrow(InvalidConfigError);
  });

  it('refuses a freeze tolerance not below the dist failure timeout', () => {
    const cluster = new IdleCluster('solo@h', 'not configured');
    const make = (freezeToleranceMs: number | undefined, failureTimeoutMs: number) => () =>
      new Leadership({
        cluster,
        idle: true,
        startedAt: 1,
        quorumConfigured: false,
        failureTimeoutMs,
        options: { freezeToleranceMs },
      });
    expect(make(1_000, 1_000)).toThrow(InvalidConfigError);
    expect(make(1_000, 1_000)).toThrow(/leadership\.freezeToleranceMs/);
    expect(make(5_000, 1_000)).toThrow(/failure timeout \(1000 ms\)/);
    expect(make(999, 1_000)).not.toThrow();
    expect(make(undefined, 1_000)).not.toThrow(); // the default: half of it
  });
});
