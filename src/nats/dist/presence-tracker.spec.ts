import type { NodeDownReason } from '../../core/index.js';
import {
  type HeardOutcome,
  type PresenceFacts,
  PresenceTracker,
  type PresenceTrackerOptions,
} from './presence-tracker.js';

const FAILURE = 500;

function harness(options: Partial<PresenceTrackerOptions> = {}) {
  const log: string[] = [];
  let now = 0;
  const tracker = new PresenceTracker(
    {
      self: 'self@h',
      selfIncarnation: 'self-inc',
      failureTimeoutMs: FAILURE,
      clock: () => now,
      ...options,
    },
    {
      up: node => log.push(`up ${node.node} ${node.incarnation} ${node.startedAt}`),
      down: (node, incarnation, reason: NodeDownReason) =>
        log.push(`down ${node} ${incarnation} ${reason}`),
    },
  );
  return {
    tracker,
    log,
    at: (ms: number) => (now = ms),
    take: () => log.splice(0),
  };
}

const a1: PresenceFacts = { node: 'a@h', incarnation: 'a1', startedAt: 100 };
const a2: PresenceFacts = { node: 'a@h', incarnation: 'a2', startedAt: 200 };
const b1: PresenceFacts = { node: 'b@h', incarnation: 'b1', startedAt: 150 };

describe('PresenceTracker.heard', () => {
  const cases: {
    name: string;
    before?: PresenceFacts[];
    heard: PresenceFacts;
    at?: number;
    outcome: HeardOutcome;
    events: string[];
  }[] = [
    { name: 'a new node is up', heard: a1, outcome: 'up', events: ['up a@h a1 100'] },
    { name: 'a member heard again', before: [a1], heard: a1, outcome: 'refreshed', events: [] },
    {
      name: 'a new start of a member: old down restarted, new up',
      before: [a1],
      heard: a2,
      outcome: 'restarted',
      events: ['down a@h a1 restarted', 'up a@h a2 200'],
    },
    {
      name: 'an older start while the later one lives is a duplicate',
      before: [a2],
      heard: a1,
      outcome: 'duplicate',
      events: [],
    },
    {
      name: 'an older start after the later one fell silent replaces it',
      before: [a2],
      at: FAILURE + 1,
      heard: a1,
      outcome: 'restarted',
      events: ['down a@h a2 restarted', 'up a@h a1 100'],
    },
    {
      name: 'our own echo',
      heard: { node: 'self@h', incarnation: 'self-inc', startedAt: 1 },
      outcome: 'self',
      events: [],
    },
    {
      name: 'another start under our name',
      heard: { node: 'self@h', incarnation: 'other', startedAt: 1 },
      outcome: 'duplicate',
      events: [],
    },
  ];
  it.each(cases)('$name', ({ before = [], heard, at = 0, outcome, events }) => {
    const h = harness();
    for (const facts of before) h.tracker.heard(facts);
    h.take();
    h.at(at);
    expect(h.tracker.heard(heard)).toBe(outcome);
    expect(h.take()).toEqual(events);
  });

  it('keeps a node that admission refuses as a candidate, and admits it once allowed', () => {
    let allowed = false;
    const h = harness({ admits: () => allowed });
    expect(h.tracker.heard(a1)).toBe('candidate');
    expect(h.tracker.members()).toEqual([]);
    expect(h.tracker.heardNodes().map(n => n.node)).toEqual(['a@h']);
    allowed = true;
    expect(h.tracker.heard(a1)).toBe('up');
    expect(h.take()).toEqual(['up a@h a1 100']);
  });

  it('treats an admission that throws as a refusal', () => {
    const h = harness({
      admits: () => {
        throw new Error('boom');
      },
    });
    expect(h.tracker.heard(a1)).toBe('candidate');
  });

  it('ignores new nodes at the bound, and takes them again once one is gone', () => {
    const h = harness({ maxNodes: 1 });
    h.tracker.heard(a1);
    expect(h.tracker.heard(b1)).toBe('full');
    expect(h.tracker.size).toBe(1);
    h.tracker.leaving(a1);
    expect(h.tracker.heard(b1)).toBe('up');
  });
});

describe('PresenceTracker.leaving', () => {
  it('declares a member down with reason left at once', () => {
    const h = harness();
    h.tracker.heard(a1);
    h.take();
    expect(h.tracker.leaving(a1)).toBe(true);
    expect(h.take()).toEqual(['down a@h a1 left']);
    expect(h.tracker.heardNodes()).toEqual([]);
  });

  it('ignores the leaving of another start than the tracked one', () => {
    const h = harness();
    h.tracker.heard(a2);
    h.take();
    expect(h.tracker.leaving(a1)).toBe(false);
    expect(h.take()).toEqual([]);
    expect(h.tracker.memberIncarnation('a@h')).toBe('a2');
  });

  it('forgets a candidate that leaves without an event', () => {
    const h = harness({ admits: () => false });
    h.tracker.heard(a1);
    expect(h.tracker.leaving(a1)).toBe(false);
    expect(h.take()).toEqual([]);
    expect(h.tracker.size).toBe(0);
  });

  it('ignores the leaving of an unknown node', () => {
    const h = harness();
    expect(h.tracker.leaving(b1)).toBe(false);
  });
});

describe('PresenceTracker.tick', () => {
  const cases: { name: string; silentFor: number; events: string[] }[] = [
    {
      name: 'keeps a member silent for exactly the failure timeout',
      silentFor: FAILURE,
      events: [],
    },
    {
      name: 'declares down a member silent for longer',
      silentFor: FAILURE + 1,
      events: ['down a@h a1 heartbeatTimeout'],
    },
  ];
  it.each(cases)('$name', ({ silentFor, events }) => {
    const h = harness();
    h.tracker.heard(a1);
    h.take();
    h.tracker.tick(silentFor);
    expect(h.take()).toEqual(events);
  });

  it('declares down only the silent ones, whatever the order they were first heard in', () => {
    const h = harness();
    h.tracker.heard(a1);
    h.tracker.heard(b1);
    h.at(400);
    h.tracker.heard(a1);
    h.take();
    h.tracker.tick(FAILURE + 1);
    expect(h.take()).toEqual(['down b@h b1 heartbeatTimeout']);
    h.tracker.tick(400 + FAILURE + 1);
    expect(h.take()).toEqual(['down a@h a1 heartbeatTimeout']);
    expect(h.tracker.size).toBe(0);
  });

  it('forgets a silent candidate without an event', () => {
    const h = harness({ admits: () => false });
    h.tracker.heard(a1);
    h.tracker.tick(FAILURE + 1);
    expect(h.take()).toEqual([]);
    expect(h.tracker.size).toBe(0);
  });
});

describe('PresenceTracker.freeze and thaw', () => {
  it('declares nobody down from silence while frozen', () => {
    const h = harness();
    h.tracker.heard(a1);
    h.take();
    h.tracker.freeze();
    expect(h.tracker.isFrozen).toBe(true);
    h.tracker.tick(60_000);
    expect(h.take()).toEqual([]);
    expect(h.tracker.members().map(m => m.node)).toEqual(['a@h']);
  });

  it('after thaw, declares down the members not heard within the failure timeout', () => {
    const h = harness();
    h.tracker.heard(a1);
    h.tracker.heard(b1);
    h.take();
    h.tracker.freeze();
    h.tracker.tick(30_000);
    h.tracker.thaw(30_000);
    h.tracker.tick(30_000 + FAILURE);
    expect(h.take()).toEqual([]);
    h.at(30_100);
    h.tracker.heard(a1);
    h.tracker.tick(30_000 + FAILURE + 1);
    expect(h.take()).toEqual(['down b@h b1 heartbeatTimeout']);
    expect(h.tracker.members().map(m => m.node)).toEqual(['a@h']);
  });
});

describe('PresenceTracker.disconnect and connect', () => {
  it('drops a member (disconnected) and keeps it a candidate its presence does not promote', () => {
    const h = harness();
    h.tracker.heard(a1);
    h.take();
    expect(h.tracker.disconnect('a@h')).toBe(true);
    expect(h.take()).toEqual(['down a@h a1 disconnected']);
    expect(h.tracker.heard(a1)).toBe('candidate');
    expect(h.tracker.heardNodes().map(n => n.node)).toEqual(['a@h']);
    expect(h.tracker.connect('a@h')).toBe('up');
    expect(h.take()).toEqual(['up a@h a1 100']);
  });

  it('answers false for a node that is not a member', () => {
    const h = harness();
    expect(h.tracker.disconnect('a@h')).toBe(false);
  });

  it('makes a new start of a disconnected node a member again', () => {
    const h = harness();
    h.tracker.heard(a1);
    h.tracker.disconnect('a@h');
    h.take();
    expect(h.tracker.heard(a2)).toBe('up');
  });

  const connects: {
    name: string;
    setup: (h: ReturnType<typeof harness>) => void;
    admits?: boolean;
    outcome: string;
  }[] = [
    { name: 'an unheard node is unknown', setup: () => undefined, outcome: 'unknown' },
    { name: 'a member is a member', setup: h => h.tracker.heard(a1), outcome: 'member' },
    {
      name: 'a candidate admission refuses is not admitted',
      setup: h => h.tracker.heard(a1),
      admits: false,
      outcome: 'notAdmitted',
    },
  ];
  it.each(connects)('connect: $name', ({ setup, admits = true, outcome }) => {
    const h = harness({ admits: () => admits });
    setup(h);
    expect(h.tracker.connect('a@h')).toBe(outcome);
  });
});

describe('PresenceTracker views', () => {
  it('reports members with their start and incarnation', () => {
    const h = harness({ admits: node => node === 'a@h' });
    h.tracker.heard(a1);
    h.tracker.heard(b1);
    expect(h.tracker.members()).toEqual([
      { node: 'a@h', incarnation: 'a1', startedAt: 100, member: true },
    ]);
    expect(h.tracker.get('b@h')).toEqual({
      node: 'b@h',
      incarnation: 'b1',
      startedAt: 150,
      member: false,
    });
    expect(h.tracker.memberIncarnation('b@h')).toBeUndefined();
    expect(h.tracker.memberIncarnation('a@h')).toBe('a1');
  });

  it('uses the monotonic clock when none is given', () => {
    const tracker = new PresenceTracker(
      { self: 's@h', selfIncarnation: 's', failureTimeoutMs: 60_000 },
      { up: () => undefined, down: () => undefined },
    );
    tracker.heard(a1);
    tracker.tick();
    expect(tracker.size).toBe(1);
  });
});

describe('PresenceTracker unverified starts', () => {
  it('keeps an unverified start pending, never a member nor heard, until a verified announcement', () => {
    const h = harness();
    expect(h.tracker.unverified(a1)).toBe('pending');
    expect(h.tracker.unverified(a1)).toBe('pending');
    expect(h.tracker.pendingSize).toBe(1);
    expect(h.tracker.heardNodes()).toEqual([]);
    expect(h.tracker.connect('a@h')).toBe('unknown');
    expect(h.take()).toEqual([]);
    expect(h.tracker.heard(a1)).toBe('up');
    expect(h.tracker.pendingSize).toBe(0);
    // Once verified, its announcements refresh it.
    expect(h.tracker.unverified(a1)).toBe('refreshed');
    expect(h.take()).toEqual(['up a@h a1 100']);
  });

  it('never lets an unverified new start take over a member: it stays pending', () => {
    const h = harness();
    h.tracker.heard(a1);
    h.take();
    expect(h.tracker.unverified(a2)).toBe('pending');
    expect(h.tracker.memberIncarnation('a@h')).toBe('a1');
    expect(h.take()).toEqual([]);
    // An older start than the one tracked is a stray packet.
    h.tracker.heard(a2);
    expect(h.tracker.unverified(a1)).toBe('duplicate');
  });

  it('forgets pending starts after the failure timeout, and bounds them', () => {
    const h = harness({ maxNodes: 1 });
    h.tracker.unverified(a1);
    h.tracker.unverified(b1);
    expect(h.tracker.pendingSize).toBe(1);
    h.at(FAILURE + 1);
    h.tracker.tick();
    expect(h.tracker.pendingSize).toBe(0);
  });

  it('decides frames by their sender start: member, proved pending, unsigned pending, or refused', () => {
    const h = harness({ admits: node => node !== 'b@h' });
    expect(h.tracker.frameFrom('a@h', 'a1', true)).toBe('notMember');
    h.tracker.unverified(a1);
    expect(h.tracker.frameFrom('a@h', 'a1', false)).toBe('pending');
    expect(h.tracker.frameFrom('a@h', 'a2', true)).toBe('notMember');
    expect(h.tracker.frameFrom('a@h', 'a1', true)).toBe('up');
    expect(h.tracker.frameFrom('a@h', 'a1', true)).toBe('member');
    h.tracker.unverified(b1);
    expect(h.tracker.frameFrom('b@h', 'b1', false)).toBe('notMember');
    expect(h.tracker.frameFrom('b@h', 'b1', true)).toBe('notMember');
    h.tracker.disconnect('a@h');
    expect(h.tracker.frameFrom('a@h', 'a1', true)).toBe('notMember');
  });
});
