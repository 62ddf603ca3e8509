import { jest } from '@jest/globals';
import { EventOutbox, sortedIndex } from './event-outbox.js';
import type { ClusterEvent, Membership, QuorumState } from './events.js';
import { QuorumTracker } from './quorum.js';
import { flushPromises } from '../../test/support/wait.js';

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

  it('delivers in order what a subscriber causes during a delivery, after that delivery', async () => {
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
    await flushPromises();
    // no snapshot: the burst ended where it began
    expect(seen).toEqual([
      { self: SELF, members: [] },
      { type: 'nodeUp', node: 'a@h', peer: { node: 'a@h' } },
      { type: 'nodeDown', node: 'a@h', reason: 'disconnected' },
    ]);
  });

  it('delivers one snapshot per burst of changes, a microtask after its events', async () => {
    const outbox = new EventOutbox(SELF);
    const seen = record(outbox);
    for (const node of ['a@h', 'b@h', 'c@h']) {
      outbox.addMember(node);
      outbox.emit({ type: 'nodeUp', node, peer: { node } });
      outbox.publishMembership();
    }
    // the events at once; the membership is current even before its snapshot is delivered
    expect(seen.map(item => ('type' in item ? item.type : item.members))).toEqual([
      [],
      'nodeUp',
      'nodeUp',
      'nodeUp',
    ]);
    expect(outbox.membership.members).toEqual(['a@h', 'b@h', 'c@h']);
    await flushPromises();
    expect(seen.slice(4)).toEqual([{ self: SELF, members: ['a@h', 'b@h', 'c@h'] }]);
  });

  it('builds one snapshot for a burst of 10,000 changes (not one copy of the list per change)', async () => {
    const outbox = new EventOutbox(SELF);
    const snapshots: Membership[] = [];
    outbox.membership$.subscribe(snapshot => snapshots.push(snapshot));
    const slice = jest.spyOn(Array.prototype, 'slice');
    try {
      for (let i = 0; i < 10_000; i++) {
        outbox.addMember(`n${i}@h`);
        outbox.publishMembership();
      }
      await flushPromises();
      expect(slice).toHaveBeenCalledTimes(1);
    } finally {
      slice.mockRestore();
    }
    expect(snapshots.map(s => s.members.length)).toEqual([0, 10_000]);
  });

  it('delivers the snapshot the membership showed during the burst, when nothing changed after', async () => {
    const outbox = new EventOutbox(SELF);
    const snapshots: Membership[] = [];
    outbox.membership$.subscribe(snapshot => snapshots.push(snapshot));
    outbox.addMember('a@h');
    outbox.publishMembership();
    const read = outbox.membership;
    await flushPromises();
    expect(snapshots.at(-1)).toBe(read);
    // read, then changed again: the later state is delivered
    outbox.addMember('b@h');
    outbox.publishMembership();
    expect(outbox.membership.members).toEqual(['a@h', 'b@h']);
    outbox.addMember('c@h');
    outbox.publishMembership();
    await flushPromises();
    expect(snapshots.map(s => s.members)).toEqual([[], ['a@h'], ['a@h', 'b@h', 'c@h']]);
  });

  it('starts a late subscriber from the current membership, even during a burst', async () => {
    const outbox = new EventOutbox(SELF);
    outbox.addMember('a@h');
    outbox.publishMembership();
    const snapshots: Membership[] = [];
    outbox.membership$.subscribe(snapshot => snapshots.push(snapshot));
    expect(snapshots).toEqual([{ self: SELF, members: ['a@h'] }]);
    await flushPromises();
    // the flush delivers the same state: not repeated
    expect(snapshots).toHaveLength(1);
  });

  it('delivers a pending snapshot before completing', () => {
    const outbox = new EventOutbox(SELF);
    const snapshots: Membership[] = [];
    outbox.membership$.subscribe(snapshot => snapshots.push(snapshot));
    outbox.addMember('a@h');
    outbox.publishMembership();
    outbox.complete();
    expect(snapshots.map(s => s.members)).toEqual([[], ['a@h']]);
  });

  it('replays the current snapshot to a late subscriber and skips unchanged ones', async () => {
    const outbox = new EventOutbox(SELF);
    outbox.addMember('a@h');
    outbox.publishMembership();
    await flushPromises();
    const snapshots: Membership[] = [];
    outbox.membership$.subscribe(snapshot => snapshots.push(snapshot));
    outbox.publishMembership();
    await flushPromises();
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

describe('EventOutbox with a quorum rule', () => {
  /** An outbox whose tracker needs 2 of 3 nodes and regains at once (stableMs 0). */
  function withQuorum(expectedSize = 3) {
    const quorum = new QuorumTracker(
      { expectedSize, stableMs: 0 },
      { republish: () => outbox.publishMembership() },
    );
    const outbox = new EventOutbox(SELF, quorum);
    return { outbox, quorum };
  }
  const state = (has: boolean, size: number): QuorumState => ({
    has,
    size,
    needed: 2,
    expectedSize: 3,
  });

  it('carries the quorum state in every snapshot, the first one included', () => {
    const { outbox } = withQuorum();
    expect(outbox.membership).toEqual({ self: SELF, members: [], quorum: state(false, 1) });
    outbox.addMember('a@h');
    outbox.publishMembership();
    expect(outbox.membership).toEqual({ self: SELF, members: ['a@h'], quorum: state(true, 2) });
  });

  it('delivers the change event, then quorumChanged at once, then the snapshot that shows it', async () => {
    const { outbox } = withQuorum();
    outbox.addMember('a@h');
    outbox.publishMembership();
    await flushPromises();
    const seen = record(outbox);
    outbox.removeMember('a@h');
    outbox.emit({ type: 'nodeDown', node: 'a@h', reason: 'connectionClosed' });
    outbox.publishMembership();
    expect(seen).toHaveLength(3);
    await flushPromises();
    expect(seen).toEqual([
      { self: SELF, members: ['a@h'], quorum: state(true, 2) },
      { type: 'nodeDown', node: 'a@h', reason: 'connectionClosed' },
      { type: 'quorumChanged', quorum: state(false, 1) },
      { self: SELF, members: [], quorum: state(false, 1) },
    ]);
  });

  it('does not swallow a snapshot whose members are the same but whose quorum changed', async () => {
    const { outbox, quorum } = withQuorum();
    const snapshots: Membership[] = [];
    outbox.membership$.subscribe(snapshot => snapshots.push(snapshot));
    // the same members, evaluated against a moved majority (as 'discovered' does)
    const evaluate = quorum.evaluate.bind(quorum);
    quorum.evaluate = members => {
      const result = evaluate(members);
      return { ...result, state: { ...result.state, expectedSize: 5, needed: 3 } };
    };
    outbox.publishMembership();
    await flushPromises();
    expect(snapshots.map(s => s.quorum?.expectedSize)).toEqual([3, 5]);
    outbox.publishMembership(); // nothing new: skipped
    await flushPromises();
    expect(snapshots).toHaveLength(2);
  });

  it('announces no quorumChanged for the first snapshot, formed before anyone listens', async () => {
    const { outbox } = withQuorum(1);
    const seen = record(outbox);
    outbox.publishMembership();
    await flushPromises();
    expect(seen).toEqual([
      { self: SELF, members: [], quorum: { has: true, size: 1, needed: 1, expectedSize: 1 } },
    ]);
  });

  it('leaves the quorum key out without a rule', () => {
    const outbox = new EventOutbox(SELF);
    outbox.addMember('a@h');
    outbox.publishMembership();
    expect(Object.keys(outbox.membership)).toEqual(['self', 'members']);
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
