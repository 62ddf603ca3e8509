import { A, B, MemoryNetwork, settle } from '../../test/support/messaging-harness.js';
import { until } from '../../test/support/wait.js';
import type { ClusterMessaging, MessageHandler } from '../core/index.js';
import { DeferredMessaging } from './deferred-messaging.js';

const notStarted = () => new Error('not started');

/** A started messaging layer that records its handlers. */
function started() {
  const handlers = new Map<string, MessageHandler>();
  const inner: ClusterMessaging = {
    send: () => undefined,
    broadcast: () => 2,
    request: <T>() => Promise.resolve(undefined as T),
    on: (topic, handler) => {
      handlers.set(topic, handler as MessageHandler);
      return () => handlers.delete(topic);
    },
  };
  return { inner, handlers };
}

describe('DeferredMessaging', () => {
  it('checks an early handler as the messaging layer does, not only at start', () => {
    const messaging = new DeferredMessaging(notStarted);
    expect(() => messaging.on('', () => 1)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_TOPIC' }),
    );
    expect(() => messaging.on('t', 42 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }),
    );
    messaging.on('t', () => 1);
    expect(() => messaging.on('t', () => 2)).toThrow(
      expect.objectContaining({ code: 'ERR_DUPLICATE_HANDLER' }),
    );
  });

  it('attaches early handlers at start, and a stale remover never drops a later handler', () => {
    const messaging = new DeferredMessaging(notStarted);
    const a = () => 'a';
    const b = () => 'b';
    const offA = messaging.on('t', a);
    offA();
    messaging.on('t', b);
    const { inner, handlers } = started();
    messaging.attach(inner);
    expect(handlers.get('t')).toBe(b);
    offA(); // a second call of the first remover
    expect(handlers.get('t')).toBe(b);
  });

  it('fails calls to peers before start; a broadcast reaches nobody only when told so', async () => {
    const strict = new DeferredMessaging(notStarted);
    expect(() => strict.send('b@h', 't', 1)).toThrow('not started');
    expect(() => strict.broadcast('t', 1)).toThrow('not started');
    await expect(strict.request('b@h', 't', 1)).rejects.toThrow('not started');
    const idle = new DeferredMessaging(notStarted, { broadcastBeforeAttach: 'nobody' });
    expect(idle.broadcast('t', 1)).toBe(0);
    idle.attach(started().inner);
    expect(idle.broadcast('t', 1)).toBe(2);
  });

  it('keeps subscribers registered before start and attaches them; removers work before and after', async () => {
    const net = new MemoryNetwork();
    try {
      const a = net.add(A);
      const b = net.add(B);
      const deferredB = new DeferredMessaging(notStarted);
      const got: string[] = [];
      const offEarly = deferredB.subscribe('news', () => void got.push('dropped'));
      deferredB.subscribe('news', payload => void got.push(`s1 ${String(payload)}`));
      const offS2 = deferredB.subscribe('news', payload => void got.push(`s2 ${String(payload)}`));
      deferredB.on('news', payload => void got.push(`handler ${String(payload)}`));
      offEarly(); // removed before start: never attached
      deferredB.attach(b);
      a.send(B, 'news', 1);
      await until(() => got.length === 3, 5_000, 'three receivers');
      expect(got).toEqual(['handler 1', 's1 1', 's2 1']);
      offS2(); // removed after start: detached from the messaging layer
      offS2();
      got.length = 0;
      a.send(B, 'news', 2);
      await until(() => got.length === 2, 5_000, 'two receivers');
      await settle();
      expect(got).toEqual(['handler 2', 's1 2']);
      // after start, subscribe goes straight through
      deferredB.subscribe('news', () => void got.push('late'));
      a.send(B, 'news', 3);
      await until(() => got.includes('late'), 5_000, 'late subscriber');
    } finally {
      net.close();
    }
  });

  it('refuses the reserved prefix before and after start unless internal, and passes internal on', async () => {
    const net = new MemoryNetwork();
    try {
      const a = net.add(A);
      const b = net.add(B);
      const deferredB = new DeferredMessaging(notStarted);
      for (const register of [
        () => deferredB.on('$gc.x', () => 1),
        () => deferredB.subscribe('$gc.x', () => 1),
      ])
        expect(register).toThrow(
          expect.objectContaining({ code: 'ERR_INVALID_TOPIC', reason: 'reserved' }),
        );
      deferredB.on('$gc.echo', payload => payload, { internal: true });
      const seen: unknown[] = [];
      deferredB.subscribe('$gc.note', payload => void seen.push(payload), { internal: true });
      deferredB.attach(b);
      expect(() => deferredB.subscribe('$gc.y', () => 1)).toThrow(
        expect.objectContaining({ reason: 'reserved' }),
      );
      deferredB.on('$gc.late', () => 'late', { internal: true });
      await expect(a.request(B, '$gc.echo', 'e')).resolves.toBe('e');
      await expect(a.request(B, '$gc.late', 0)).resolves.toBe('late');
      a.send(B, '$gc.note', 'n');
      await until(() => seen.length === 1, 5_000, 'internal subscriber');
    } finally {
      net.close();
    }
  });

  it('checks early subscribers as the messaging layer does, and refuses a started layer without subscribe', () => {
    const messaging = new DeferredMessaging(notStarted);
    expect(() => messaging.subscribe('', () => 1)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_TOPIC' }),
    );
    expect(() => messaging.subscribe('t', 'no' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }),
    );
    messaging.subscribe('t', () => 1);
    expect(() => messaging.attach(started().inner)).toThrow(
      expect.objectContaining({ code: 'ERR_MESSAGING_UNSUPPORTED' }),
    );
  });

  it('before start, requestAll resolves [] for an idle node and rejects otherwise; after, it asks', async () => {
    const strict = new DeferredMessaging(notStarted);
    await expect(strict.requestAll('t', 1)).rejects.toThrow('not started');
    const idle = new DeferredMessaging(notStarted, { broadcastBeforeAttach: 'nobody' });
    await expect(idle.requestAll('t', 1)).resolves.toEqual([]);
    const net = new MemoryNetwork();
    try {
      const a = net.add(A);
      net.add(B).on('who', () => 'b');
      const named = new DeferredMessaging(notStarted, {
        nodeName: node => (node === 'b' ? B : node),
      });
      named.attach(a);
      await expect(named.requestAll('who', null)).resolves.toEqual([
        { node: B, ok: true, value: 'b' },
      ]);
      // listed names go through nodeName, as for request
      await expect(named.requestAll('who', null, { nodes: ['b'] })).resolves.toEqual([
        { node: B, ok: true, value: 'b' },
      ]);
      // a started layer without requestAll
      const bare = new DeferredMessaging(notStarted);
      bare.attach(started().inner);
      await expect(bare.requestAll('t', 1)).rejects.toMatchObject({
        code: 'ERR_MESSAGING_UNSUPPORTED',
      });
    } finally {
      net.close();
    }
  });
});
