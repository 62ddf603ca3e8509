import { jest } from '@jest/globals';
import { type SettleFacts, Settling } from './settling.js';

describe('Settling', () => {
  let clock: number;
  let facts: { discoveryAnswered: boolean; discovered: string[]; members: Set<string> };
  let settledAfter: number[];
  let settling: Settling;

  beforeEach(() => {
    jest.useFakeTimers();
    clock = 0;
    facts = { discoveryAnswered: false, discovered: [], members: new Set() };
    settledAfter = [];
    settling = new Settling({
      settleMs: 500,
      failureTimeoutMs: 5_000,
      facts: (): SettleFacts => facts,
      onSettled: ms => settledAfter.push(ms),
      now: () => clock,
    });
  });

  afterEach(() => {
    settling.stop();
    jest.useRealTimers();
  });

  function run(ms: number): void {
    for (let left = ms; left > 0; left -= 10) {
      clock += 10;
      jest.advanceTimersByTime(10);
    }
  }

  it('waits for the first discovery answer, then settleMs', () => {
    settling.unsettle([]);
    run(1_000);
    expect(settling.settled).toBe(false);
    facts.discoveryAnswered = true;
    run(490);
    expect(settling.settled).toBe(false);
    run(120);
    expect(settling.settled).toBe(true);
    expect(settledAfter).toHaveLength(1);
    expect(settledAfter[0]).toBeGreaterThanOrEqual(1_500);
    expect(settledAfter[0]).toBeLessThanOrEqual(1_610);
  });

  it('waits until every discovered node is a member', () => {
    facts = { discoveryAnswered: true, discovered: ['a@h', 'b@h'], members: new Set(['a@h']) };
    settling.unsettle([]);
    run(2_000);
    expect(settling.settled).toBe(false);
    facts.members.add('b@h');
    run(600);
    expect(settling.settled).toBe(true);
  });

  it('after a freeze, waits until the members from before it are members again', () => {
    facts = { discoveryAnswered: true, discovered: [], members: new Set() };
    settling.unsettle(['a@h', 'b@h']);
    run(2_000);
    expect(settling.settled).toBe(false);
    facts.members = new Set(['a@h', 'b@h']);
    run(600);
    expect(settling.settled).toBe(true);
  });

  it('starts the settleMs run again when a condition breaks, even between two polls', () => {
    facts = { discoveryAnswered: true, discovered: ['a@h'], members: new Set(['a@h']) };
    settling.unsettle([]);
    run(400);
    facts.members.delete('a@h');
    settling.observe(); // a nodeDown event
    facts.members.add('a@h');
    settling.observe(); // its nodeUp, before the next poll
    run(400);
    expect(settling.settled).toBe(false);
    run(200);
    expect(settling.settled).toBe(true);
  });

  it('waives the membership conditions after failureTimeoutMs, then waits settleMs', () => {
    facts = { discoveryAnswered: false, discovered: ['gone@h'], members: new Set() };
    settling.unsettle(['old@h']);
    run(5_000);
    expect(settling.settled).toBe(false);
    run(400);
    expect(settling.settled).toBe(false);
    run(200);
    expect(settling.settled).toBe(true);
    expect(settledAfter[0]).toBeGreaterThanOrEqual(5_500);
  });

  it('is settled at once with settleNow, and unsettled again by unsettle', () => {
    settling.settleNow();
    expect(settling.settled).toBe(true);
    settling.unsettle([]);
    expect(settling.settled).toBe(false);
  });

  it('stops polling once settled and after stop', () => {
    facts.discoveryAnswered = true;
    settling.unsettle([]);
    run(600);
    expect(settling.settled).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
    settling.unsettle([]);
    settling.stop();
    expect(jest.getTimerCount()).toBe(0);
  });
});
