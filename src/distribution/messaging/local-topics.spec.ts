import type { ServedTopicChange } from '../../core/index.js';
import { LocalTopics } from './local-topics.js';

function table() {
  const failures: { change: ServedTopicChange; error: unknown }[] = [];
  const topics = new LocalTopics((change, error) => failures.push({ change, error }));
  const changes: ServedTopicChange[] = [];
  const off = topics.watch(change => changes.push(change));
  return { topics, changes, failures, off };
}

describe('LocalTopics', () => {
  it('notifies a handler appearing and going, once each', () => {
    const { topics, changes } = table();
    topics.add('prices', 'handler');
    topics.add('prices', 'handler'); // already there: no edge
    topics.remove('prices', 'handler');
    topics.remove('prices', 'handler'); // already gone: no edge
    expect(changes).toEqual([
      { topic: 'prices', kind: 'handler', added: true },
      { topic: 'prices', kind: 'handler', added: false },
    ]);
  });

  it('notifies subscribers only on 0 -> 1 and 1 -> 0: a second subscriber is silent', () => {
    const { topics, changes } = table();
    topics.add('news', 'subscriber');
    topics.add('news', 'subscriber');
    expect(changes).toEqual([{ topic: 'news', kind: 'subscriber', added: true }]);
    topics.remove('news', 'subscriber');
    expect(changes).toHaveLength(1);
    topics.remove('news', 'subscriber');
    topics.remove('news', 'subscriber'); // none left: nothing to remove
    expect(changes).toEqual([
      { topic: 'news', kind: 'subscriber', added: true },
      { topic: 'news', kind: 'subscriber', added: false },
    ]);
  });

  it('keeps the kinds of one topic apart and lists them sorted, the handler first', () => {
    const { topics, changes } = table();
    topics.add('b', 'subscriber');
    topics.add('b', 'handler');
    topics.add('a', 'subscriber');
    expect(topics.served()).toEqual([
      { topic: 'a', kind: 'subscriber' },
      { topic: 'b', kind: 'handler' },
      { topic: 'b', kind: 'subscriber' },
    ]);
    topics.remove('b', 'handler');
    expect(topics.served()).toEqual([
      { topic: 'a', kind: 'subscriber' },
      { topic: 'b', kind: 'subscriber' },
    ]);
    expect(changes.map(c => `${c.topic} ${c.kind} ${c.added}`)).toEqual([
      'b subscriber true',
      'b handler true',
      'a subscriber true',
      'b handler false',
    ]);
  });

  it('isolates a throwing listener: the failure is reported and the other listeners still run', () => {
    const { topics, changes, failures } = table();
    const boom = new Error('boom');
    topics.watch(() => {
      throw boom;
    });
    const after: string[] = [];
    topics.watch(change => after.push(change.topic));
    expect(() => topics.add('t', 'handler')).not.toThrow();
    expect(changes).toHaveLength(1);
    expect(after).toEqual(['t']);
    expect(failures).toEqual([
      { change: { topic: 't', kind: 'handler', added: true }, error: boom },
    ]);
  });

  it('stops a listener; the same function watching twice is stopped one watch at a time', () => {
    const topics = new LocalTopics(() => undefined);
    const seen: string[] = [];
    const listener = (change: ServedTopicChange) => void seen.push(change.topic);
    const off1 = topics.watch(listener);
    const off2 = topics.watch(listener);
    topics.add('x', 'handler');
    expect(seen).toEqual(['x', 'x']);
    off1();
    off1();
    topics.add('y', 'handler');
    expect(seen).toEqual(['x', 'x', 'y']);
    off2();
    topics.add('z', 'handler');
    expect(seen).toEqual(['x', 'x', 'y']);
  });

  it('does not call a listener stopped by another during the same notification', () => {
    const topics = new LocalTopics(() => undefined);
    const seen: string[] = [];
    let offSecond = (): void => undefined;
    topics.watch(() => offSecond());
    offSecond = topics.watch(change => void seen.push(change.topic));
    topics.add('t', 'handler');
    expect(seen).toEqual([]);
  });

  it('clear() forgets every topic without notifying', () => {
    const { topics, changes } = table();
    topics.add('t', 'handler');
    topics.add('u', 'subscriber');
    changes.length = 0;
    topics.clear();
    expect(topics.served()).toEqual([]);
    expect(changes).toEqual([]);
  });
});
