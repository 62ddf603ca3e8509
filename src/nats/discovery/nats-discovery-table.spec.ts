import type { PresenceAnnouncement, PresenceKind } from '../protocol/index.js';
import { NatsDiscoveryTable } from './nats-discovery-table.js';

const INC1 = '1111111111111111';
const INC2 = '2222222222222222';

function a(
  node: string,
  counter: number,
  kind: PresenceKind = 'alive',
  incarnation = INC1,
  port = 4000,
): PresenceAnnouncement {
  return { kind, node, incarnation, counter, startedAt: 0, port };
}

function table(maxCandidates = 10) {
  const clock = { now: 0 };
  const t = new NatsDiscoveryTable({ maxCandidates, failureTimeoutMs: 100, now: () => clock.now });
  return { t, clock };
}

describe('NatsDiscoveryTable', () => {
  it('lists a node heard within failureTimeoutMs, with its port', () => {
    const { t, clock } = table();
    expect(t.offer(a('b@h', 1, 'hello'))).toBe('changed');
    expect(t.offer(a('b@h', 2))).toBe('refreshed');
    expect(t.peers()).toEqual([{ node: 'b@h', port: 4000 }]);
    clock.now = 100;
    expect(t.peers()).toHaveLength(1);
    clock.now = 101;
    expect(t.peers()).toEqual([]);
    expect(t.offer(a('b@h', 3))).toBe('changed');
  });

  it('reports a new port as a change', () => {
    const { t } = table();
    t.offer(a('b@h', 1));
    expect(t.offer(a('b@h', 1, 'hello', INC2, 4001))).toBe('changed');
    expect(t.peers()).toEqual([{ node: 'b@h', port: 4001 }]);
  });

  it('refuses replays and a leaving of an earlier start', () => {
    const { t } = table();
    t.offer(a('b@h', 5));
    expect(t.offer(a('b@h', 5))).toBe('replayed');
    t.offer(a('b@h', 1, 'hello', INC2));
    expect(t.offer(a('b@h', 9, 'leaving', INC1))).toBe('replayed');
    expect(t.peers()).toHaveLength(1);
  });

  it('drops a leaving node at once, and takes it back when it starts again', () => {
    const { t } = table();
    t.offer(a('b@h', 1));
    expect(t.offer(a('b@h', 2, 'leaving'))).toBe('changed');
    expect(t.peers()).toEqual([]);
    expect(t.offer(a('b@h', 1, 'hello', INC2))).toBe('changed');
    expect(t.peers()).toHaveLength(1);
  });

  it('stays within maxCandidates, forgetting the least recently heard first', () => {
    const { t } = table(2);
    t.offer(a('a@h', 1));
    t.offer(a('b@h', 1));
    t.offer(a('a@h', 2));
    t.offer(a('c@h', 1));
    expect(t.size).toBe(2);
    expect(t.evicted).toBe(1);
    expect(t.peers().map(p => p.node)).toEqual(['a@h', 'c@h']);
  });

  it('gives every node a full timeout again after a time cut off', () => {
    const { t, clock } = table();
    t.offer(a('b@h', 1));
    clock.now = 500;
    expect(t.peers()).toEqual([]);
    t.refreshAll();
    expect(t.peers()).toHaveLength(1);
    clock.now = 601;
    expect(t.peers()).toEqual([]);
  });

  it('forgets long-silent nodes on prune', () => {
    const { t, clock } = table();
    t.offer(a('b@h', 1));
    clock.now = 150;
    t.offer(a('c@h', 1));
    t.prune(100);
    expect(t.size).toBe(1);
  });
});
