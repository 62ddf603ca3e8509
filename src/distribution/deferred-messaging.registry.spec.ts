import {
  A,
  B,
  C,
  MemoryNetwork,
  deferred,
  rejection,
} from '../../test/support/messaging-harness.js';
import { ScriptedCluster } from '../../test/support/registry-harness.js';
import { until } from '../../test/support/wait.js';
import type { ServedTopicChange } from '../core/index.js';
import { ServiceRegistry } from '../primitives/registry/service-registry.js';
import { DeferredMessaging } from './deferred-messaging.js';

const notStarted = () => new Error('not started');

/** The view a watcher built from the changes `record` kept: `kind topic`, sorted. */
function viewOf(changes: readonly string[]): string[] {
  const view = new Set<string>();
  for (const change of changes) {
    if (change.startsWith('+')) view.add(change.slice(1));
    else view.delete(change.slice(1));
  }
  return [...view].sort();
}

function served(messaging: DeferredMessaging): string[] {
  return messaging.localTopics
    .served()
    .map(s => `${s.kind} ${s.topic}`)
    .sort();
}

function record(into: string[]) {
  return (c: ServedTopicChange) => void into.push(`${c.added ? '+' : '-'}${c.kind} ${c.topic}`);
}

describe('DeferredMessaging: what the service registry reads', () => {
  it('before attach, localTopics lists the early registrations (internal ones left out) and notifies their edges', () => {
    const messaging = new DeferredMessaging(notStarted);
    const changes: string[] = [];
    messaging.localTopics.watch(record(changes));
    messaging.on('b', () => 1);
    const offA1 = messaging.subscribe('a', () => undefined);
    const offA2 = messaging.subscribe('a', () => undefined);
    messaging.subscribe('b', () => undefined);
    messaging.on('$gc.reg.hello', () => 1, { internal: true });
    messaging.subscribe('$gc.x', () => undefined, { internal: true });
    const offGone = messaging.on('gone', () => 1);
    offGone();
    offGone();
    expect(messaging.localTopics.served()).toEqual([
      { topic: 'a', kind: 'subscriber' },
      { topic: 'b', kind: 'handler' },
      { topic: 'b', kind: 'subscriber' },
    ]);
    // one notification per edge, as the started layer's LocalTopics gives them
    expect(changes).toEqual([
      '+handler b',
      '+subscriber a',
      '+subscriber b',
      '+handler gone',
      '-handler gone',
    ]);
    offA1();
    expect(changes).toHaveLength(5);
    offA2();
    expect(changes.slice(5)).toEqual(['-subscriber a']);
  });

  it('a watcher given before attach ends with a view equal to served(), no topic twice, none lost, none left behind', () => {
    const net = new MemoryNetwork();
    try {
      const b = net.add(B);
      b.on('direct', () => 1); // on the started layer itself, before attach
      const messaging = new DeferredMessaging(notStarted);
      const early: string[] = [];
      const dropped: string[] = [];
      const offEarly = messaging.localTopics.watch(record(early));
      const offDropped = messaging.localTopics.watch(record(dropped));
      messaging.on('prices', () => 1);
      messaging.subscribe('news', () => undefined);
      messaging.subscribe('news', () => undefined);
      messaging.on('$gc.reg.hello', () => 1, { internal: true });
      messaging.on('withdrawn', () => 1)();
      messaging.subscribe('left', () => undefined)();
      offDropped();
      const droppedBefore = [...dropped];
      messaging.attach(b);
      expect(early).toEqual([
        '+handler prices',
        '+subscriber news',
        '+handler withdrawn',
        '-handler withdrawn',
        '+subscriber left',
        '-subscriber left',
        '+handler direct',
      ]);
      expect(dropped).toEqual(droppedBefore);
      expect(viewOf(early)).toEqual(served(messaging));
      expect(messaging.localTopics.served()).toEqual(b.localTopics.served());
      // after attach, changes reach the early watcher once, through the started layer
      const offStock = messaging.on('stock', () => 1);
      offStock();
      expect(early.slice(7)).toEqual(['+handler stock', '-handler stock']);
      offEarly();
      messaging.on('later', () => 1);
      expect(early).toHaveLength(9);
    } finally {
      net.close();
    }
  });

  it('a registry built between an early registration and its removal stops announcing it', async () => {
    const net = new MemoryNetwork();
    try {
      const a = net.add(A);
      const clusterA = new ScriptedCluster(A);
      const registryA = new ServiceRegistry({ cluster: clusterA, messaging: a });
      const messaging = new DeferredMessaging(notStarted);
      const clusterB = new ScriptedCluster(B);
      messaging.on('kept', () => 1);
      const offGone = messaging.on('gone', () => 1);
      // built as ClusterService builds it: before the dist starts, seeded from served()
      const registryB = new ServiceRegistry({ cluster: clusterB, messaging });
      offGone();
      messaging.attach(net.add(B));
      clusterA.up(B);
      clusterB.up(A);
      await until(() => registryA.servers('kept').includes(B), 5_000, 'a sees kept on b');
      expect(registryA.servers('gone')).toEqual([]);
      expect(registryB.servers('gone')).toEqual([]);
      expect(registryB.servers('kept')).toEqual([B]);
      registryA.close();
      registryB.close();
    } finally {
      net.close();
    }
  });

  it('after attach, localTopics forwards served() and watch() to the started layer', () => {
    const net = new MemoryNetwork();
    try {
      const b = net.add(B);
      const messaging = new DeferredMessaging(notStarted);
      messaging.attach(b);
      const changes: string[] = [];
      const off = messaging.localTopics.watch(record(changes));
      b.on('direct', () => 1);
      messaging.subscribe('via', () => undefined);
      expect(messaging.localTopics.served()).toEqual([
        { topic: 'direct', kind: 'handler' },
        { topic: 'via', kind: 'subscriber' },
      ]);
      off();
      b.on('unseen', () => 1);
      expect(changes).toEqual(['+handler direct', '+subscriber via']);
    } finally {
      net.close();
    }
  });

  it('forwards pendingTo, servingCount and whenIdle once attached (node names through nodeName)', async () => {
    const net = new MemoryNetwork();
    try {
      const a = net.add(A);
      const b = net.add(B);
      const messaging = new DeferredMessaging(notStarted, {
        nodeName: node => (node === 'b' ? B : node),
      });
      expect(messaging.pendingTo('b')).toBe(0);
      expect(messaging.servingCount).toBe(0);
      await expect(messaging.whenIdle()).resolves.toBeUndefined();
      const aborted = AbortSignal.abort(new Error('gave up'));
      expect((await rejection(messaging.whenIdle(aborted))).message).toBe('gave up');
      messaging.attach(a);
      const answer = deferred();
      b.on('slow', () => answer.promise);
      const pending = messaging.request('b', 'slow', null);
      expect(messaging.pendingTo('b')).toBe(1);
      expect(messaging.pendingTo(C)).toBe(0);
      // a serving counter on the requester side stays 0: b is the one serving
      expect(messaging.servingCount).toBe(0);
      await until(() => b.servingCount === 1, 5_000, 'b serving');
      const served = deferred();
      a.on('slow-here', () => served.promise);
      const self = messaging.request(A, 'slow-here', null);
      await until(() => messaging.servingCount === 1, 5_000, 'a serving its own request');
      let idle = false;
      const whenIdle = messaging.whenIdle().then(() => (idle = true));
      served.resolve('done');
      await expect(self).resolves.toBe('done');
      await whenIdle;
      expect(idle).toBe(true);
      answer.resolve('ok');
      await expect(pending).resolves.toBe('ok');
      expect(messaging.pendingTo('b')).toBe(0);
    } finally {
      net.close();
    }
  });

  it('passes broadcast nodes through nodeName; before attach an idle node reaches nobody', async () => {
    const net = new MemoryNetwork();
    try {
      const a = net.add(A);
      const b = net.add(B);
      const c = net.add(C);
      const idle = new DeferredMessaging(notStarted, { broadcastBeforeAttach: 'nobody' });
      expect(idle.broadcast('t', 1, { nodes: [B] })).toBe(0);
      const messaging = new DeferredMessaging(notStarted, {
        nodeName: node => (node === 'b' ? B : node),
      });
      expect(() => messaging.broadcast('t', 1, { nodes: ['b'] })).toThrow('not started');
      messaging.attach(a);
      const got: string[] = [];
      b.subscribe('t', () => void got.push('b'));
      c.subscribe('t', () => void got.push('c'));
      expect(messaging.broadcast('t', 1, { nodes: ['b'] })).toBe(1);
      await until(() => got.length === 1, 5_000, 'b got it');
      expect(got).toEqual(['b']);
    } finally {
      net.close();
    }
  });
});
