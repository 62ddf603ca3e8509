import { jest } from '@jest/globals';
import { DEFAULT_QUORUM_STABLE_MS } from './defaults.js';
import { InvalidConfigError } from './errors.js';
import { QuorumTracker, quorumNeeded, resolveQuorumOptions } from './quorum.js';
import { MAX_INT32, MAX_TIMER_MS } from './validate.js';

/** A tracker whose `republish` evaluates at once with the members the test last gave it. */
function tracker(option: unknown) {
  let members = 0;
  const changes: boolean[] = [];
  const logs: { level: 'log' | 'warn'; message: string }[] = [];
  const evaluate = () => {
    const { state, changed } = quorum.evaluate(members);
    if (changed) changes.push(state.has);
    return state;
  };
  const quorum = QuorumTracker.fromOption(option, {
    republish: () => void evaluate(),
    logger: {
      log: message => logs.push({ level: 'log', message }),
      warn: message => logs.push({ level: 'warn', message }),
    },
  })!;
  /** Sets the connected members (this node not counted) and evaluates, as a snapshot does. */
  const set = (n: number) => {
    members = n;
    return evaluate();
  };
  return { quorum, set, changes, logs };
}

describe('quorumNeeded', () => {
  it('is a strict majority of the expected size', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(quorumNeeded)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });
});

describe('resolveQuorumOptions', () => {
  it('is undefined without the option, and fills in stableMs', () => {
    expect(resolveQuorumOptions(undefined)).toBeUndefined();
    expect(resolveQuorumOptions({ expectedSize: 3 })).toEqual({
      expectedSize: 3,
      stableMs: DEFAULT_QUORUM_STABLE_MS,
    });
    expect(DEFAULT_QUORUM_STABLE_MS).toBe(3_000);
    expect(resolveQuorumOptions({ expectedSize: 'discovered', unsafe: true, stableMs: 0 })).toEqual(
      { expectedSize: 'discovered', stableMs: 0 },
    );
    expect(resolveQuorumOptions({ expectedSize: MAX_INT32, stableMs: MAX_TIMER_MS })).toEqual({
      expectedSize: MAX_INT32,
      stableMs: MAX_TIMER_MS,
    });
    expect(resolveQuorumOptions({ expectedSize: 1, stableMs: 2.5 })?.stableMs).toBe(2.5);
  });

  it.each([
    ['not an object', 5, /Invalid option quorum: received 5; expected an object/],
    ['an array', [3], /Invalid option quorum: .*expected an object/],
    ['no expectedSize', {}, /quorum\.expectedSize: received undefined; expected an integer >= 1/],
    ['expectedSize 0', { expectedSize: 0 }, /quorum\.expectedSize: received 0/],
    ['a negative expectedSize', { expectedSize: -3 }, /quorum\.expectedSize: received -3/],
    ['a fractional expectedSize', { expectedSize: 2.5 }, /quorum\.expectedSize: received 2\.5/],
    ['expectedSize as text', { expectedSize: '3' }, /quorum\.expectedSize: received "3"/],
    ['an expectedSize past int32', { expectedSize: MAX_INT32 + 1 }, /quorum\.expectedSize/],
    ['another word', { expectedSize: 'discover', unsafe: true }, /"discovered" together with/],
    [
      'discovered without unsafe',
      { expectedSize: 'discovered' },
      /unsafe when discovery itself can be partitioned.*\{ expectedSize: "discovered", unsafe: true \}/,
    ],
    [
      'discovered with unsafe false',
      { expectedSize: 'discovered', unsafe: false },
      /each side may then see only itself/,
    ],
    [
      'discovered with unsafe "true"',
      { expectedSize: 'discovered', unsafe: 'true' },
      /opt in knowingly/,
    ],
    ['unsafe with a number', { expectedSize: 3, unsafe: true }, /quorum\.unsafe: received true/],
    ['a negative stableMs', { expectedSize: 3, stableMs: -1 }, /quorum\.stableMs: received -1/],
    ['stableMs as text', { expectedSize: 3, stableMs: '100' }, /quorum\.stableMs/],
    ['an infinite stableMs', { expectedSize: 3, stableMs: Infinity }, /quorum\.stableMs/],
    [
      'a stableMs past the timer ceiling',
      { expectedSize: 3, stableMs: MAX_TIMER_MS + 1 },
      /quorum\.stableMs.*from 0 to 2147483647/,
    ],
    [
      'an unknown key',
      { expectedSize: 3, stableMS: 100 },
      /quorum\.stableMS: .*no such option; known: expectedSize, unsafe, stableMs/,
    ],
  ])('refuses %s with InvalidConfigError naming the field', (_, value, message) => {
    expect(() => resolveQuorumOptions(value)).toThrow(InvalidConfigError);
    expect(() => resolveQuorumOptions(value)).toThrow(message);
  });

  it('names quorum.unsafe as the option at fault for "discovered" without it', () => {
    let error: unknown;
    try {
      resolveQuorumOptions({ expectedSize: 'discovered' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'ERR_INVALID_CONFIG', option: 'quorum.unsafe' });
  });
});

describe('QuorumTracker', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('is not built without the option', () => {
    expect(QuorumTracker.fromOption(undefined, { republish: () => undefined })).toBeUndefined();
  });

  it('starts without quorum and forms it at once the first time the size is reached', () => {
    const { quorum, set, changes, logs } = tracker({ expectedSize: 5 });
    expect(quorum.state).toEqual({ has: false, size: 1, needed: 3, expectedSize: 5 });
    expect(set(1)).toEqual({ has: false, size: 2, needed: 3, expectedSize: 5 });
    expect(set(2)).toEqual({ has: true, size: 3, needed: 3, expectedSize: 5 });
    expect(set(4)).toEqual({ has: true, size: 5, needed: 3, expectedSize: 5 });
    expect(changes).toEqual([true]);
    expect(logs).toEqual([
      { level: 'log', message: 'Quorum formed: 3 of 5 node(s) on this side, 3 needed.' },
    ]);
  });

  it('holds at once alone when the expected size is 1', () => {
    const { quorum, set } = tracker({ expectedSize: 1 });
    expect(set(0)).toEqual({ has: true, size: 1, needed: 1, expectedSize: 1 });
    expect(quorum.state.has).toBe(true);
  });

  it('loses quorum at once and regains it only after stableMs of continuous majority', () => {
    const { set, changes, logs } = tracker({ expectedSize: 3, stableMs: 1_000 });
    expect(set(1).has).toBe(true);
    expect(set(0)).toEqual({ has: false, size: 1, needed: 2, expectedSize: 3 });
    expect(set(1).has).toBe(false);
    jest.advanceTimersByTime(999);
    expect(changes).toEqual([true, false]);
    jest.advanceTimersByTime(1);
    // the timer asked for a snapshot, which regained
    expect(changes).toEqual([true, false, true]);
    expect(logs.map(l => l.level)).toEqual(['log', 'warn', 'log']);
    expect(logs[1]!.message).toBe('Quorum lost: 1 of 3 node(s) on this side, 2 needed.');
    expect(logs[2]!.message).toBe(
      'Quorum regained: 2 of 3 node(s) on this side, 2 needed, held for 1000 ms.',
    );
    expect(jest.getTimerCount()).toBe(0);
  });

  it('waits the default 3 s before a regain', () => {
    const { set, changes } = tracker({ expectedSize: 3 });
    set(1);
    set(0);
    set(1);
    jest.advanceTimersByTime(2_999);
    expect(changes).toEqual([true, false]);
    jest.advanceTimersByTime(1);
    expect(changes).toEqual([true, false, true]);
  });

  it('restarts the stable margin whenever the majority drops in between', () => {
    const { set, changes } = tracker({ expectedSize: 3, stableMs: 1_000 });
    set(1);
    set(0);
    set(1);
    jest.advanceTimersByTime(900);
    set(0);
    set(1);
    jest.advanceTimersByTime(900);
    expect(changes).toEqual([true, false]);
    jest.advanceTimersByTime(100);
    expect(changes).toEqual([true, false, true]);
  });

  it('never regains over a link that flaps every 500 ms with stableMs 3,000', () => {
    const { quorum, set, changes } = tracker({ expectedSize: 3, stableMs: 3_000 });
    set(1);
    set(0);
    for (let i = 0; i < 40; i++) {
      set(i % 2 === 0 ? 1 : 0);
      jest.advanceTimersByTime(500);
      expect(quorum.state.has).toBe(false);
    }
    expect(changes).toEqual([true, false]);
  });

  it('does not count a growth past the majority as a new loss or regain', () => {
    const { set, changes } = tracker({ expectedSize: 5, stableMs: 1_000 });
    set(2);
    set(4);
    set(3);
    expect(changes).toEqual([true]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('regains at once after a loss with stableMs 0', () => {
    const { set, changes } = tracker({ expectedSize: 3, stableMs: 0 });
    set(1);
    set(0);
    set(1);
    expect(changes).toEqual([true, false, true]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('cancels the regain timer on close and arms none after it', () => {
    const { quorum, set, changes } = tracker({ expectedSize: 3, stableMs: 1_000 });
    set(1);
    set(0);
    set(1);
    expect(jest.getTimerCount()).toBe(1);
    quorum.close();
    expect(jest.getTimerCount()).toBe(0);
    set(0);
    set(1);
    jest.advanceTimersByTime(5_000);
    expect(jest.getTimerCount()).toBe(0);
    expect(changes).toEqual([true, false]);
  });

  it("with 'discovered', holds nothing before discovery answers, then follows its size", () => {
    const { quorum, set, changes } = tracker({
      expectedSize: 'discovered',
      unsafe: true,
      stableMs: 1_000,
    });
    // alone and before any answer: the size is unknown, so no quorum (not "1 of 1")
    expect(set(0)).toEqual({ has: false, size: 1, needed: 1, expectedSize: 1 });
    quorum.discovered(4); // republishes: 1 of 5, 3 needed
    expect(quorum.state).toEqual({ has: false, size: 1, needed: 3, expectedSize: 5 });
    expect(set(2)).toEqual({ has: true, size: 3, needed: 3, expectedSize: 5 });
    // discovery names more nodes: the majority moves and the side loses quorum at once
    quorum.discovered(6);
    expect(quorum.state).toEqual({ has: false, size: 3, needed: 4, expectedSize: 7 });
    // members discovery does not name still count in the size (max(1 + discovered, size))
    quorum.discovered(0);
    expect(quorum.state).toEqual({ has: false, size: 3, needed: 2, expectedSize: 3 });
    jest.advanceTimersByTime(1_000);
    expect(quorum.state).toEqual({ has: true, size: 3, needed: 2, expectedSize: 3 });
    expect(changes).toEqual([true, false, true]);
  });

  it('ignores the discovered count for a configured expected size', () => {
    let republished = 0;
    const quorum = new QuorumTracker(
      { expectedSize: 3, stableMs: 0 },
      { republish: () => republished++ },
    );
    quorum.discovered(10);
    expect(republished).toBe(0);
    expect(quorum.evaluate(1).state).toEqual({ has: true, size: 2, needed: 2, expectedSize: 3 });
  });
});
