import { InvalidConfigError } from '../../core/index.js';
import type { PresenceAnnouncement, PresenceKind } from './presence-codec.js';
import { PresenceReplayGuard } from './presence-replay.js';

const INC = ['1000000000000000', '2000000000000000', '3000000000000000', '4000000000000000'];
const INC5 = '5000000000000000';

function a(
  node: string,
  incarnation: string,
  counter: number,
  kind: PresenceKind = 'alive',
): PresenceAnnouncement {
  return { kind, node, incarnation, counter, startedAt: 0, port: 0 };
}

describe('PresenceReplayGuard', () => {
  it('accepts a rising counter and refuses an old or repeated one', () => {
    const guard = new PresenceReplayGuard();
    expect(guard.accept(a('n@h', INC[0]!, 1))).toBe(true);
    expect(guard.accept(a('n@h', INC[0]!, 2))).toBe(true);
    expect(guard.accept(a('n@h', INC[0]!, 2))).toBe(false);
    expect(guard.accept(a('n@h', INC[0]!, 1))).toBe(false);
    expect(guard.accept(a('n@h', INC[0]!, 10))).toBe(true);
  });

  it('accepts a new start from any counter, and refuses the packets of the older ones', () => {
    const guard = new PresenceReplayGuard();
    expect(guard.accept(a('n@h', INC[0]!, 50))).toBe(true);
    expect(guard.accept(a('n@h', INC[1]!, 1))).toBe(true);
    expect(guard.accept(a('n@h', INC[0]!, 50))).toBe(false);
    expect(guard.accept(a('n@h', INC[0]!, 3))).toBe(false);
    // a later packet of the older start that was not heard yet is news (late, not a replay)
    expect(guard.accept(a('n@h', INC[0]!, 51))).toBe(true);
  });

  it('remembers the last 4 starts of a name, never dropping the running one', () => {
    const guard = new PresenceReplayGuard();
    for (const inc of INC) expect(guard.accept(a('n@h', inc, 5))).toBe(true);
    for (const inc of INC) expect(guard.accept(a('n@h', inc, 5))).toBe(false);
    expect(guard.accept(a('n@h', INC5, 5))).toBe(true);
    // the oldest start is forgotten now: one of its packets is news again, once
    expect(guard.accept(a('n@h', INC[0]!, 5))).toBe(true);
    expect(guard.accept(a('n@h', INC[0]!, 5))).toBe(false);
    // replays of older starts never push the start that runs out
    expect(guard.accept(a('n@h', INC5, 5))).toBe(false);
  });

  it("refuses a leaving of a start other than the current one, so an old start's leaving never drops the new", () => {
    const guard = new PresenceReplayGuard();
    guard.accept(a('n@h', INC[0]!, 1));
    guard.accept(a('n@h', INC[1]!, 1));
    expect(guard.accept(a('n@h', INC[0]!, 9, 'leaving'))).toBe(false);
    expect(guard.accept(a('n@h', INC[2]!, 9, 'leaving'))).toBe(false);
    expect(guard.accept(a('n@h', INC[1]!, 2, 'leaving'))).toBe(true);
  });

  it('keeps names apart', () => {
    const guard = new PresenceReplayGuard();
    expect(guard.accept(a('a@h', INC[0]!, 3))).toBe(true);
    expect(guard.accept(a('b@h', INC[0]!, 3))).toBe(true);
  });

  it('stays within maxNodes, forgetting the least recently accepted name first', () => {
    const guard = new PresenceReplayGuard(3);
    for (const node of ['a@h', 'b@h', 'c@h']) guard.accept(a(node, INC[0]!, 1));
    guard.accept(a('a@h', INC[0]!, 2)); // a is now the most recent
    guard.accept(a('d@h', INC[0]!, 1)); // b goes
    expect(guard.size).toBe(3);
    expect(guard.accept(a('a@h', INC[0]!, 2))).toBe(false);
    expect(guard.accept(a('c@h', INC[0]!, 1))).toBe(false);
    expect(guard.accept(a('b@h', INC[0]!, 1))).toBe(true); // forgotten: news again
    for (let i = 0; i < 1_000; i++) guard.accept(a(`x${i}@h`, INC[0]!, 1));
    expect(guard.size).toBe(3);
  });

  it('forgets a name on request', () => {
    const guard = new PresenceReplayGuard();
    guard.accept(a('a@h', INC[0]!, 4));
    guard.forget('a@h');
    expect(guard.size).toBe(0);
    expect(guard.accept(a('a@h', INC[0]!, 4))).toBe(true);
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => new PresenceReplayGuard(0)).toThrow(InvalidConfigError);
    expect(() => new PresenceReplayGuard(1.5)).toThrow(InvalidConfigError);
  });
});
