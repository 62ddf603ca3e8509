import { EventOutbox, sortedIndex } from './event-outbox.js';
import type { ClusterEvent, Membership } from './events.js';

const SELF = 'self@10.0.0.1';

function record(outbox: EventOutbox) {
  const seen: (ClusterEvent | Membership)[] = [];
  outbox.events$.subscribe(event => seen.push(event));
  outbox.membership$.subscribe(snapshot => seen.push(snapshot));
  return seen;
}

describe('EventOutbox', () => {
  it('keeps the member list sorted whatever the order of changes', () => {
    const outbox = new EventOutbox(SELF);
    for (const node of ['c@h', 'a@h', 'd@h', 'b@h']) outbox.addMember(node);
    outbox.removeMember('c@h');
    outbox.publishMembership();
    expect(outbox.membership).toEqual({ self: SELF, members: ['a@h', 'b@h', 'd@h'] });
  });

  it('delivers in order what a subscriber causes during a delivery, after that delivery', () => {
    const outbox = new EventOutbox(SELF);
    const seen = record(outbox);
    outbox.events$.subscribe(event => {
      if (event.type !== 'nodeUp') return;
      // a subscriber that drops the node it was just told about
      outbox.removeMember(event.node);
      outbox.emit({ type: 'nodeDown', node: event.node, reason: 'disconnected' });
      outbox.publishMembership();
    });
    outbox.addMember('a@h');
    outbox.emit({ type: 'nodeUp', node: 'a@h', peer: { node: 'a@h' } });
    outbox.publishMembership();
    expect(seen).toEqual([
      { self: SELF, members: [] },
      { type: 'nodeUp', node: 'a@h', peer: { node: 'a@h' } },
      { type: 'nodeDown', node: 'a@h', reason: 'disconnected' },
    ]);
  });

  it('snapshots the member list when a change is published, not when it is delivered', () => {
    const outbox = new EventOutbox(SELF);
    const snapshots: Membership[] = [];
    outbox.events$.subscribe(() => {
      outbox.addMember('b@h');
      outbox.publishMembership(); // queued behind the event being delivered
      outbox.addMember('c@h');
    });
    outbox.membership$.subscribe(snapshot => snapshots.push(snapshot));
    outbox.addMember('a@h');
    outbox.emit({ type: 'lost', node: 'x@h' });
    expect(snapshots.map(s => s.members)).toEqual([[], ['a@h', 'b@h']]);
    outbox.publishMembership();
    expect(snapshots.map(s => s.members)).toEqual([[], ['a@h', 'b@h'], ['a@h', 'b@h', 'c@h']]);
  });

  it('replays the current snapshot to a late subscriber and skips unchanged ones', () => {
    const outbox = new EventOutbox(SELF);
    outbox.addMember('a@h');
    outbox.publishMembership();
    const snapshots: Membership[] = [];
    outbox.membership$.subscribe(snapshot => snapshots.push(snapshot));
    outbox.publishMembership();
    expect(snapshots).toEqual([{ self: SELF, members: ['a@h'] }]);
  });

  it('completes both streams on complete()', () => {
    const outbox = new EventOutbox(SELF);
    let completed = 0;
    outbox.events$.subscribe({ complete: () => completed++ });
    outbox.membership$.subscribe({ complete: () => completed++ });
    outbox.complete();
    expect(completed).toBe(2);
  });
});

describe('sortedIndex', () => {
  it('finds where a key is or would go', () => {
    const keys = ['b', 'd', 'f'];
    expect(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map(key => sortedIndex(keys, key))).toEqual([
      0, 0, 1, 1, 2, 2, 3,
    ]);
    expect(sortedIndex([], 'a')).toBe(0);
  });
});
