import { A, B, MemoryNetwork } from '../../../test/support/messaging-harness.js';
import type { ServedTopicChange } from '../../core/index.js';

/** A node of a fresh network, with every change of its local topics recorded. */
function node() {
  const net = new MemoryNetwork();
  const a = net.add(A);
  net.add(B);
  const changes: string[] = [];
  a.localTopics.watch((c: ServedTopicChange) =>
    changes.push(`${c.added ? '+' : '-'}${c.kind} ${c.topic}`),
  );
  return { net, a, changes };
}

describe('Messaging.localTopics', () => {
  it('follows on() and its remover', () => {
    const { net, a, changes } = node();
    try {
      const off = a.on('prices', () => 1);
      expect(a.localTopics.served()).toEqual([{ topic: 'prices', kind: 'handler' }]);
      off();
      off();
      expect(a.localTopics.served()).toEqual([]);
      expect(changes).toEqual(['+handler prices', '-handler prices']);
    } finally {
      net.close();
    }
  });

  it('follows subscribe() by edges: the first subscriber and the last removal only', () => {
    const { net, a, changes } = node();
    try {
      const off1 = a.subscribe('news', () => undefined);
      const off2 = a.subscribe('news', () => undefined);
      expect(a.localTopics.served()).toEqual([{ topic: 'news', kind: 'subscriber' }]);
      off1();
      off1(); // idempotent: must not count as the second removal
      expect(changes).toEqual(['+subscriber news']);
      off2();
      expect(changes).toEqual(['+subscriber news', '-subscriber news']);
      expect(a.localTopics.served()).toEqual([]);
    } finally {
      net.close();
    }
  });

  it('never lists internal registrations', () => {
    const { net, a, changes } = node();
    try {
      const off = a.on('$gc.reg.hello', () => 1, { internal: true });
      const offSub = a.subscribe('$gc.reg.delta', () => undefined, { internal: true });
      a.on('visible', () => 1);
      expect(a.localTopics.served()).toEqual([{ topic: 'visible', kind: 'handler' }]);
      off();
      offSub();
      expect(changes).toEqual(['+handler visible']);
    } finally {
      net.close();
    }
  });

  it('a stale remover does not remove a later handler of the same topic', () => {
    const { net, a, changes } = node();
    try {
      const offFirst = a.on('t', () => 'first');
      offFirst();
      a.on('t', () => 'second');
      offFirst(); // the first registration's remover, called again
      expect(a.localTopics.served()).toEqual([{ topic: 't', kind: 'handler' }]);
      expect(changes).toEqual(['+handler t', '-handler t', '+handler t']);
    } finally {
      net.close();
    }
  });

  it('logs a failing watcher and still registers the handler', () => {
    const { net, a } = node();
    try {
      a.localTopics.watch(() => {
        throw new Error('watcher broke');
      });
      expect(() => a.on('t', () => 1)).not.toThrow();
      expect(a.localTopics.served()).toEqual([{ topic: 't', kind: 'handler' }]);
      expect(net.logger(A).has('warn', 'watcher broke')).toBe(true);
    } finally {
      net.close();
    }
  });

  it('is emptied by close() without notifying', () => {
    const { net, a, changes } = node();
    a.on('t', () => 1);
    a.close();
    expect(a.localTopics.served()).toEqual([]);
    expect(changes).toEqual(['+handler t']);
    net.close();
  });
});
