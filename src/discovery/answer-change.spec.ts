import { AnswerChangeNotifier, isCanonicalNodeName } from './answer-change.js';

describe('AnswerChangeNotifier', () => {
  it('asks for a refresh only when the answer differs from the last noticed', () => {
    const notifier = new AnswerChangeNotifier();
    let refreshes = 0;
    notifier.attach(() => refreshes++);
    notifier.notice([]);
    expect(refreshes).toBe(0); // nothing heard yet: the same as the start
    notifier.notice([
      { node: 'b@h', port: 2 },
      { node: 'a@h', port: 1 },
    ]);
    expect(refreshes).toBe(1);
    notifier.notice([
      { node: 'a@h', port: 1 },
      { node: 'b@h', port: 2 },
    ]);
    expect(refreshes).toBe(1); // the same set in another order
    notifier.notice([
      { node: 'a@h', port: 3 },
      { node: 'b@h', port: 2 },
    ]);
    expect(refreshes).toBe(2); // a port change is a change
  });

  it('refreshes on a known change, and compares afresh afterwards', () => {
    const notifier = new AnswerChangeNotifier();
    let refreshes = 0;
    notifier.attach(() => refreshes++);
    notifier.notice([{ node: 'a@h', port: 1 }]);
    notifier.changed();
    expect(refreshes).toBe(2);
    // the same answer again still refreshes once: the change may have been undone mid-round
    notifier.notice([{ node: 'a@h', port: 1 }]);
    expect(refreshes).toBe(3);
    notifier.notice([{ node: 'a@h', port: 1 }]);
    expect(refreshes).toBe(3);
  });

  it('does nothing before it is attached', () => {
    const notifier = new AnswerChangeNotifier();
    expect(() => notifier.changed()).not.toThrow();
    expect(() => notifier.notice([{ node: 'a@h', port: 1 }])).not.toThrow();
  });
});

describe('isCanonicalNodeName', () => {
  it.each([
    ['a@10.0.0.1', true],
    ['a@LOCALHOST', false],
    ['not a name', false],
    ['', false],
  ])('%s → %s', (name, expected) => expect(isCanonicalNodeName(name)).toBe(expected));
});
