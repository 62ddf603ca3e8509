import type { GossipAnnouncement } from './gossip-packet.js';
import { GossipTable, REMEMBERED_INCARNATIONS } from './gossip-table.js';

function announcement(node: string, incarnation: bigint, counter: bigint, extra = {}) {
  return {
    node,
    incarnation,
    counter,
    namespace: 'default',
    port: 4000,
    leaving: false,
    ...extra,
  } as GossipAnnouncement;
}

describe('GossipTable', () => {
  let now: number;
  const table = (maxCandidates = 10) =>
    new GossipTable({ maxCandidates, expiryMs: 3_000, now: () => now });
  beforeEach(() => {
    now = 1_000;
  });

  it('lists a new node and says the answer changed', () => {
    const t = table();
    expect(t.offer(announcement('a@h', 1n, 1n))).toBe('changed');
    expect(t.peers()).toEqual([{ node: 'a@h', port: 4000 }]);
    expect(t.offer(announcement('a@h', 1n, 2n))).toBe('refreshed');
  });

  it('accepts a counter only above the last of the incarnation', () => {
    const t = table();
    t.offer(announcement('a@h', 1n, 5n));
    expect(t.offer(announcement('a@h', 1n, 5n))).toBe('replayed');
    expect(t.offer(announcement('a@h', 1n, 4n))).toBe('replayed');
    expect(t.offer(announcement('a@h', 1n, 6n))).toBe('refreshed');
  });

  it('accepts a new incarnation at any counter (a restart), and no old packet it heard', () => {
    const t = table();
    t.offer(announcement('a@h', 1n, 50n));
    expect(t.offer(announcement('a@h', 2n, 1n, { port: 4001 }))).toBe('changed');
    expect(t.peers()).toEqual([{ node: 'a@h', port: 4001 }]);
    for (const counter of [1n, 49n, 50n])
      expect(t.offer(announcement('a@h', 1n, counter))).toBe('replayed');
    expect(t.peers()).toEqual([{ node: 'a@h', port: 4001 }]);
  });

  it(`remembers the counters of the last ${REMEMBERED_INCARNATIONS} incarnations of a name`, () => {
    const t = table();
    for (let i = 1n; i <= BigInt(REMEMBERED_INCARNATIONS) + 1n; i++)
      t.offer(announcement('a@h', i, 5n));
    // incarnation 1 was forgotten: accepted again (documented: at most one refused dial)
    expect(t.offer(announcement('a@h', 1n, 2n))).toBe('refreshed');
    // 3 is still remembered: its heard counters are refused
    expect(t.offer(announcement('a@h', 3n, 5n))).toBe('replayed');
    expect(t.offer(announcement('a@h', 3n, 1n))).toBe('replayed');
  });

  it('an unseen older incarnation does not lock out the current one (one flap at most)', () => {
    // The node restarted (I1 -> I2) before this table listened; a captured I1 packet comes back.
    const t = table();
    t.offer(announcement('a@h', 2n, 10n, { port: 4002 }));
    expect(t.offer(announcement('a@h', 1n, 99n, { port: 4999 }))).toBe('changed');
    // The node's next genuine announcement takes the entry back at once ...
    expect(t.offer(announcement('a@h', 2n, 11n, { port: 4002 }))).toBe('changed');
    expect(t.peers()).toEqual([{ node: 'a@h', port: 4002 }]);
    // ... the same captured packet is now refused, and the node is heard as before.
    expect(t.offer(announcement('a@h', 1n, 99n, { port: 4999 }))).toBe('replayed');
    for (let c = 12n; c <= 14n; c++) {
      now += 2_000;
      expect(t.offer(announcement('a@h', 2n, c, { port: 4002 }))).toBe('refreshed');
    }
    expect(t.peers()).toEqual([{ node: 'a@h', port: 4002 }]);
  });

  it('a leaving of an incarnation that is not the current one does not drop the node', () => {
    const t = table();
    t.offer(announcement('a@h', 2n, 10n));
    // unseen (a start before this table listened) and remembered-but-old alike
    expect(t.offer(announcement('a@h', 1n, 99n, { leaving: true }))).toBe('replayed');
    t.offer(announcement('a@h', 3n, 1n));
    expect(t.offer(announcement('a@h', 2n, 11n, { leaving: true }))).toBe('replayed');
    expect(t.peers()).toEqual([{ node: 'a@h', port: 4000 }]);
    // the current incarnation's leaving still drops it at once
    expect(t.offer(announcement('a@h', 3n, 2n, { leaving: true }))).toBe('changed');
    expect(t.peers()).toEqual([]);
  });

  it("replays of several older starts do not push out the running start's counter", () => {
    const t = table();
    t.offer(announcement('a@h', 100n, 50n));
    for (let i = 1n; i <= BigInt(REMEMBERED_INCARNATIONS) + 2n; i++) {
      t.offer(announcement('a@h', i, 1n));
      t.offer(announcement('a@h', 100n, 50n + i)); // the running start answers each time
    }
    expect(t.offer(announcement('a@h', 100n, 1n))).toBe('replayed');
  });

  it('drops a node not heard for expiryMs, and lists it again when heard', () => {
    const t = table();
    t.offer(announcement('a@h', 1n, 1n));
    now += 3_000;
    expect(t.peers()).toHaveLength(1);
    now += 1;
    expect(t.peers()).toEqual([]);
    expect(t.offer(announcement('a@h', 1n, 2n))).toBe('changed');
    expect(t.peers()).toHaveLength(1);
  });

  it('drops a leaving node at once, and refuses its earlier packets', () => {
    const t = table();
    t.offer(announcement('a@h', 1n, 1n));
    expect(t.offer(announcement('a@h', 1n, 2n, { leaving: true }))).toBe('changed');
    expect(t.peers()).toEqual([]);
    expect(t.offer(announcement('a@h', 1n, 1n))).toBe('replayed');
    expect(t.offer(announcement('a@h', 2n, 1n))).toBe('changed');
  });

  it('keeps at most maxCandidates names, forgetting the least recently heard', () => {
    const t = table(3);
    for (const name of ['a', 'b', 'c']) t.offer(announcement(`${name}@h`, 1n, 1n));
    t.offer(announcement('a@h', 1n, 2n)); // a heard again: b is now the oldest
    t.offer(announcement('d@h', 1n, 1n));
    expect(t.size).toBe(3);
    expect(t.evicted).toBe(1);
    expect(t.peers().map(p => p.node)).toEqual(['c@h', 'a@h', 'd@h']);
    for (let i = 0; i < 1_000; i++) t.offer(announcement(`n${i}@h`, 1n, 1n));
    expect(t.size).toBe(3);
    expect(t.evicted).toBe(1_001);
  });

  it('does not let a replay refresh a node (it still expires)', () => {
    const t = table();
    t.offer(announcement('a@h', 1n, 5n));
    now += 2_000;
    t.offer(announcement('a@h', 1n, 5n));
    now += 1_500;
    expect(t.peers()).toEqual([]);
  });
});
