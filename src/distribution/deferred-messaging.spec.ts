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
});
