import { HealthMessages } from './cluster-health.messages.js';
import {
  type ClusterHealthSnapshot,
  type HealthDownReason,
  type ReadinessOptions,
  type ShutdownPhase,
  defaultDiscoveryGraceMs,
  evaluateLiveness,
  evaluateReadiness,
  readDistHealth,
} from './cluster-health.js';
import { InvalidConfigError } from './errors.js';
import { MAX_TIMER_MS } from './validate.js';

const HEALTHY: ClusterHealthSnapshot = {
  state: 'running',
  members: 2,
  discovered: 2,
  lastDiscoveryOkAgoMs: 1_000,
  consecutiveDiscoveryErrors: 0,
  lastDiscoveryError: undefined,
  refreshIntervalMs: 5_000,
  dist: { listening: true },
};

/** Discovery failing for `ms`, its last success `ms + 5 s` ago. */
function failing(ms: number, extra: Partial<ClusterHealthSnapshot> = {}): ClusterHealthSnapshot {
  return {
    ...HEALTHY,
    consecutiveDiscoveryErrors: 3,
    lastDiscoveryError: 'SERVFAIL',
    lastDiscoveryOkAgoMs: ms + 5_000,
    discoveryFailingForMs: ms,
    ...extra,
  };
}

type Row = [
  string,
  Partial<ClusterHealthSnapshot> | ClusterHealthSnapshot,
  ReadinessOptions,
  ShutdownPhase,
  HealthDownReason | 'up',
];

describe('evaluateReadiness', () => {
  const rows: Row[] = [
    ['running with enough members', {}, { minMembers: 2 }, 'none', 'up'],
    ['minMembers defaults to 0', { members: 0, discovered: 0 }, {}, 'none', 'up'],
    ['paused counts as running', { state: 'paused' }, {}, 'none', 'up'],
    ['not started', { state: 'new' }, {}, 'none', 'notStarted'],
    ['draining: the engine still runs', {}, {}, 'draining', 'draining'],
    ['leaving', { state: 'leaving' }, {}, 'none', 'leaving'],
    ['closing while the engine runs', {}, {}, 'closing', 'leaving'],
    ['closing after the engine stopped', { state: 'stopped' }, {}, 'closing', 'leaving'],
    ['stopped', { state: 'stopped' }, {}, 'none', 'stopped'],
    ['a configured formation not formed yet', { formed: false }, {}, 'none', 'notFormed'],
    [
      'not formed comes before too few members',
      { formed: false, members: 0 },
      { minMembers: 2 },
      'none',
      'notFormed',
    ],
    ['leaving comes before not formed', { formed: false, state: 'leaving' }, {}, 'none', 'leaving'],
    [
      'not started comes before not formed',
      { formed: false, state: 'new' },
      {},
      'none',
      'notStarted',
    ],
    ['formed, enough members', { formed: true }, { minMembers: 2 }, 'none', 'up'],
    [
      'formed, then members left',
      { formed: true, members: 1 },
      { minMembers: 2 },
      'none',
      'tooFewMembers',
    ],
    [
      'one member short (self not counted)',
      { members: 1 },
      { minMembers: 2 },
      'none',
      'tooFewMembers',
    ],
    [
      'shutdown wins over too few members',
      { members: 0 },
      { minMembers: 2 },
      'draining',
      'draining',
    ],
    ['discovery failing within the default grace', failing(29_999), {}, 'none', 'up'],
    ['discovery failing at the grace exactly', failing(30_000), {}, 'none', 'up'],
    ['discovery failing past the default grace', failing(30_001), {}, 'none', 'discoveryFailing'],
    [
      'default grace is 3 refresh intervals when larger',
      failing(44_000, { refreshIntervalMs: 15_000 }),
      {},
      'none',
      'up',
    ],
    [
      'past 3 refresh intervals',
      failing(45_001, { refreshIntervalMs: 15_000 }),
      {},
      'none',
      'discoveryFailing',
    ],
    [
      'interval infinity: 30 s',
      failing(30_001, { refreshIntervalMs: 'infinity' }),
      {},
      'none',
      'discoveryFailing',
    ],
    ['a given grace', failing(1_001), { discoveryGraceMs: 1_000 }, 'none', 'discoveryFailing'],
    [
      'a grace of 0: down at the first failure',
      failing(1),
      { discoveryGraceMs: 0 },
      'none',
      'discoveryFailing',
    ],
    ['a long grace', failing(100_000), { discoveryGraceMs: 120_000 }, 'none', 'up'],
    ['the longest grace', failing(100_000), { discoveryGraceMs: MAX_TIMER_MS }, 'none', 'up'],
    [
      'never succeeded, failing within the grace (counted from the first failure)',
      failing(10_000, { lastDiscoveryOkAgoMs: undefined }),
      {},
      'none',
      'up',
    ],
    [
      'never succeeded, failing past the grace',
      failing(31_000, { lastDiscoveryOkAgoMs: undefined }),
      {},
      'none',
      'discoveryFailing',
    ],
    [
      'one failure long after the last success (interval infinity) is within the grace',
      failing(10, { lastDiscoveryOkAgoMs: 3_600_000, refreshIntervalMs: 'infinity' }),
      {},
      'none',
      'up',
    ],
    [
      'a snapshot without the failing time: judged since the last success',
      failing(0, { discoveryFailingForMs: undefined, lastDiscoveryOkAgoMs: 31_000 }),
      {},
      'none',
      'discoveryFailing',
    ],
    [
      'failing with no time at all: down',
      failing(0, { discoveryFailingForMs: undefined, lastDiscoveryOkAgoMs: undefined }),
      {},
      'none',
      'discoveryFailing',
    ],
    [
      'an old success without failures is fine',
      { lastDiscoveryOkAgoMs: 10_000_000 },
      {},
      'none',
      'up',
    ],
    ['first lookup still in flight', { lastDiscoveryOkAgoMs: undefined }, {}, 'none', 'up'],
    [
      'too few members before discovery',
      failing(60_000, { members: 0 }),
      { minMembers: 1 },
      'none',
      'tooFewMembers',
    ],
    ['the dist not listening is for liveness', { dist: { listening: false } }, {}, 'none', 'up'],
    ['the dist cut off from its broker', { distConnected: false }, {}, 'none', 'distDisconnected'],
    ['the dist connected to its broker', { distConnected: true }, { minMembers: 2 }, 'none', 'up'],
    [
      'cut off within the grace',
      { distConnected: false, distDisconnectedForMs: 30_000 },
      {},
      'none',
      'up',
    ],
    [
      'cut off past the grace',
      { distConnected: false, distDisconnectedForMs: 30_001 },
      {},
      'none',
      'distDisconnected',
    ],
    [
      'cut off past a given grace',
      { distConnected: false, distDisconnectedForMs: 2_001 },
      { discoveryGraceMs: 2_000 },
      'none',
      'distDisconnected',
    ],
    [
      'cut off comes before not formed',
      { distConnected: false, formed: false },
      {},
      'none',
      'distDisconnected',
    ],
    [
      'cut off comes before too few members',
      { distConnected: false, members: 0 },
      { minMembers: 2 },
      'none',
      'distDisconnected',
    ],
    [
      'cut off comes before discovery failing',
      failing(60_000, { distConnected: false }),
      {},
      'none',
      'distDisconnected',
    ],
    [
      'stopped comes before cut off',
      { distConnected: false, state: 'stopped' },
      {},
      'none',
      'stopped',
    ],
    ['shutdown comes before cut off', { distConnected: false }, {}, 'draining', 'draining'],
    [
      'not started comes before cut off',
      { distConnected: false, state: 'new' },
      {},
      'none',
      'notStarted',
    ],
  ];

  it.each(rows)('%s', (_, partial, options, phase, expected) => {
    const verdict = evaluateReadiness({ ...HEALTHY, ...partial }, options, phase);
    if (expected === 'up') {
      expect(verdict).toEqual({ up: true });
    } else {
      expect(verdict).toEqual({ up: false, reason: expected, message: expect.any(String) });
    }
  });

  it('defaults to no options and phase none', () => {
    expect(evaluateReadiness(HEALTHY)).toEqual({ up: true });
  });

  it('says why in words', () => {
    expect(evaluateReadiness({ ...HEALTHY, members: 1 }, { minMembers: 3 }).message).toBe(
      HealthMessages.tooFewMembers(1, 3),
    );
    expect(evaluateReadiness({ ...HEALTHY, formed: false, members: 1 }).message).toBe(
      "The cluster has not formed yet (1 peer(s) connected): it waits for enough peers and for discovery's answer to stay unchanged for the stable margin.",
    );
    const message = evaluateReadiness(failing(40_000)).message;
    expect(message).toBe(HealthMessages.discoveryFailing(3, 40_000));
    expect(message).toContain('3 time(s)');
    expect(message).toContain('40 s');
  });

  it('says the membership is frozen while the dist is cut off', () => {
    expect(
      evaluateReadiness({ ...HEALTHY, distConnected: false, distDisconnectedForMs: 45_000 }),
    ).toEqual({
      up: false,
      reason: 'distDisconnected',
      message: HealthMessages.distDisconnected(45_000),
    });
    expect(HealthMessages.distDisconnected(45_000)).toContain('for 45 s');
    expect(HealthMessages.distDisconnected(undefined)).toContain('membership is frozen');
  });

  it("never puts the discovery error's text in the message (a probe body may be public)", () => {
    const secret = 'GET https://10.0.0.1:6443/api/v1/namespaces/prod/endpoints: 403 Forbidden';
    const verdict = evaluateReadiness(failing(40_000, { lastDiscoveryError: secret }));
    expect(verdict.reason).toBe('discoveryFailing');
    expect(verdict.message).not.toContain('10.0.0.1');
    expect(verdict.message).not.toContain('Forbidden');
    expect(verdict.message).toBe('Discovery has failed 3 time(s) in a row over 40 s.');
  });

  it.each([
    [{ minMembers: -1 }, 'minMembers'],
    [{ minMembers: 1.5 }, 'minMembers'],
    [{ minMembers: '2' as unknown as number }, 'minMembers'],
    [{ minMembers: Number.NaN }, 'minMembers'],
    [{ discoveryGraceMs: -1 }, 'discoveryGraceMs'],
    [{ discoveryGraceMs: Infinity }, 'discoveryGraceMs'],
    [{ discoveryGraceMs: 0.5 }, 'discoveryGraceMs'],
    // as the Nest options: a grace longer than a Node timer can wait is refused, not clamped
    [{ discoveryGraceMs: MAX_TIMER_MS + 1 }, 'discoveryGraceMs'],
  ])('refuses %p', (options, option) => {
    const evaluate = () => evaluateReadiness(HEALTHY, options);
    expect(evaluate).toThrow(InvalidConfigError);
    expect(evaluate).toThrow(`Invalid option ${option}`);
  });
});

describe('evaluateLiveness', () => {
  const rows: [string, Partial<ClusterHealthSnapshot>, ShutdownPhase, HealthDownReason | 'up'][] = [
    ['running', {}, 'none', 'up'],
    ['new', { state: 'new' }, 'none', 'up'],
    ['paused', { state: 'paused' }, 'none', 'up'],
    ['leaving', { state: 'leaving' }, 'none', 'up'],
    ['no members, discovery failing for an hour', failing(3_600_000, { members: 0 }), 'none', 'up'],
    ['stopped while nobody shuts down', { state: 'stopped' }, 'none', 'stopped'],
    ['stopped while draining', { state: 'stopped' }, 'draining', 'up'],
    ['stopped while closing', { state: 'stopped' }, 'closing', 'up'],
    [
      'the dist stopped listening',
      { dist: { listening: false, reason: 'EMFILE' } },
      'none',
      'distNotListening',
    ],
    [
      'the dist cut off from its broker: restarting would not help',
      { distConnected: false },
      'none',
      'up',
    ],
    [
      'the dist stopped listening during shutdown',
      { dist: { listening: false } },
      'closing',
      'distNotListening',
    ],
  ];

  it.each(rows)('%s', (_, partial, phase, expected) => {
    const verdict = evaluateLiveness({ ...HEALTHY, ...partial }, phase);
    if (expected === 'up') expect(verdict).toEqual({ up: true });
    else expect(verdict).toEqual({ up: false, reason: expected, message: expect.any(String) });
  });

  it('names the dist reason', () => {
    const verdict = evaluateLiveness({ ...HEALTHY, dist: { listening: false, reason: 'EMFILE' } });
    expect(verdict.message).toBe(HealthMessages.distNotListening('EMFILE'));
    expect(verdict.message).toContain('EMFILE');
  });

  it('reads no clock', () => {
    const now = countClockReads();
    try {
      evaluateLiveness(HEALTHY);
      evaluateLiveness({ ...HEALTHY, state: 'stopped' });
      expect(now.calls).toBe(0);
    } finally {
      now.restore();
    }
  });
});

describe('defaultDiscoveryGraceMs', () => {
  it.each([
    [1_000, 30_000],
    [10_000, 30_000],
    [10_001, 30_003],
    [60_000, 180_000],
    ['infinity' as const, 30_000],
  ])('interval %p -> %p', (interval, grace) => {
    expect(defaultDiscoveryGraceMs(interval)).toBe(grace);
  });
});

describe('readDistHealth', () => {
  it('is listening for a dist without health()', () => {
    expect(readDistHealth({})).toEqual({ listening: true });
  });

  it("passes the dist's answer on", () => {
    expect(readDistHealth({ health: () => ({ listening: false, reason: 'closed' }) })).toEqual({
      listening: false,
      reason: 'closed',
    });
  });

  it('is not listening, with the error, when health() throws', () => {
    const health = readDistHealth({
      health: () => {
        throw new Error('broken');
      },
    });
    expect(health).toEqual({ listening: false, reason: HealthMessages.distHealthFailed('broken') });
  });
});

/** Counts calls of `performance.now` and `Date.now`. */
function countClockReads() {
  const perf = performance.now.bind(performance);
  const date = Date.now;
  const spy = { calls: 0, restore: () => undefined as void };
  performance.now = () => {
    spy.calls++;
    return perf();
  };
  Date.now = () => {
    spy.calls++;
    return date();
  };
  spy.restore = () => {
    performance.now = perf;
    Date.now = date;
  };
  return spy;
}
