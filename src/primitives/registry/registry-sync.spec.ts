import { jest } from '@jest/globals';
import { A, B, C, TestLogger, deferred } from '../../../test/support/messaging-harness.js';
import { flushPromises } from '../../../test/support/wait.js';
import {
  MAX_ASKERS,
  MAX_DELTA_BUFFER,
  MAX_REGISTRY_ENTRIES,
  type Delta,
  entryKey,
} from './registry-protocol.js';
import { RegistrySync, type SyncChange } from './registry-sync.js';

const KINDS = new Set(['h', 's']);
const h = (name: string) => entryKey('h', name);

/** A sync with scripted I/O: hellos wait for the spec to answer them, sends are recorded. */
function scripted(self = A) {
  const hellos: { node: string; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] =
    [];
  const sent: { node: string; delta: Delta }[] = [];
  const changes: SyncChange[] = [];
  const logger = new TestLogger();
  let refuse: ((node: string) => Error | undefined) | undefined;
  let clock = 0;
  let rerouted = 0;
  const sync = new RegistrySync({
    self,
    kinds: KINDS,
    logger,
    now: () => clock,
    random: () => 0.5,
    timings: { helloRetryMs: 100, helloRetryMaxMs: 400, suppressedHealMs: 1_000, resendMs: 500 },
    io: {
      hello: node => {
        const d = deferred();
        hellos.push({ node, resolve: d.resolve, reject: d.reject });
        return d.promise;
      },
      send: (node, delta) => {
        const error = refuse?.(node);
        if (error) throw error;
        sent.push({ node, delta });
      },
      changed: change => changes.push(change),
      rerouted: () => rerouted++,
    },
  });
  return {
    sync,
    hellos,
    sent,
    changes,
    logger,
    refuse: (f: typeof refuse) => (refuse = f),
    tick: (ms: number) => (clock += ms),
    rerouted: () => rerouted,
    servers: (name: string) => [...sync.table.nodesOf(h(name))],
  };
}

const answer = (seq: number, names: string[], epoch = 'eb') => ({
  v: 1,
  epoch,
  seq,
  hrw: 1,
  entries: names.map(n => ['h', n]),
});
const delta = (seq: number, add: string[], del: string[] = [], epoch = 'eb') => ({
  v: 1,
  epoch,
  seq,
  add: add.map(n => ['h', n]),
  del: del.map(n => ['h', n]),
});

describe('RegistrySync', () => {
  afterEach(() => jest.useRealTimers());

  it('asks a node that comes up and lists its entries once it answers', async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    expect(s.hellos.map(x => x.node)).toEqual([B]);
    expect(s.sync.statusOf(B)).toBe('syncing');
    expect(s.servers('p')).toEqual([]);
    s.hellos[0]!.resolve(answer(4, ['p']));
    await flushPromises();
    expect(s.sync.statusOf(B)).toBe('synced');
    expect(s.servers('p')).toEqual([B]);
    expect(s.changes).toEqual([{ node: B, reason: 'sync', added: [h('p')], removed: [] }]);
    expect(s.sync.awareMembers()).toEqual([B]);
  });

  it('buffers a delta that overtakes the hello answer and applies it after', async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    // The delta is dispatched synchronously while the answer settles a microtask later.
    s.sync.onDelta(B, delta(5, ['q']));
    s.sync.onDelta(B, delta(4, ['old'])); // already in the answer: dropped
    s.hellos[0]!.resolve(answer(4, ['p']));
    await flushPromises();
    expect(s.servers('p')).toEqual([B]);
    expect(s.servers('q')).toEqual([B]);
    expect(s.servers('old')).toEqual([]);
    expect(s.changes.map(c => c.reason)).toEqual(['sync', 'announced']);
  });

  it('applies deltas in order, drops duplicates, and asks again on a gap or another epoch', async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    s.hellos[0]!.resolve(answer(1, ['p']));
    await flushPromises();
    s.sync.onDelta(B, delta(2, ['q']));
    s.sync.onDelta(B, delta(2, ['dup']));
    s.sync.onDelta(B, delta(3, [], ['p']));
    expect(s.servers('q')).toEqual([B]);
    expect(s.servers('dup')).toEqual([]);
    expect(s.servers('p')).toEqual([]);
    expect(s.changes.map(c => c.reason)).toEqual(['sync', 'announced', 'withdrawn']);
    expect(s.hellos).toHaveLength(1);
    s.sync.onDelta(B, delta(5, ['gap']));
    expect(s.hellos).toHaveLength(2);
    expect(s.sync.statusOf(B)).toBe('syncing');
    // Its entries stay in view while it is asked again.
    expect(s.servers('q')).toEqual([B]);
    expect(s.logger.has('debug', 'where 4 was due')).toBe(true);
    s.hellos[1]!.resolve(answer(5, ['gap']));
    await flushPromises();
    expect(s.servers('q')).toEqual([]);
    expect(s.servers('gap')).toEqual([B]);
    s.sync.onDelta(B, delta(6, ['x'], [], 'other'));
    expect(s.hellos).toHaveLength(3);
  });

  it('marks a node answering ERR_NO_HANDLER unaware: never a server, never sent a delta', async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    s.hellos[0]!.reject(Object.assign(new Error('no handler'), { code: 'ERR_NO_HANDLER' }));
    await flushPromises();
    expect(s.sync.statusOf(B)).toBe('unaware');
    s.sync.localChanged(h('mine'), true);
    await flushPromises();
    expect(s.sent).toEqual([]);
    s.sync.onDelta(B, delta(1, ['p']));
    expect(s.servers('p')).toEqual([]);
    expect(s.logger.count('debug')).toBeGreaterThan(0);
    expect(s.logger.has('debug', 'runs no service registry')).toBe(true);
  });

  it('asks again a node it took for an older one once that node asks it', async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    s.hellos[0]!.reject(Object.assign(new Error('no handler'), { code: 'ERR_NO_HANDLER' }));
    await flushPromises();
    s.sync.onHello(B, { v: 1, epoch: 'eb', hrw: 1 });
    expect(s.hellos).toHaveLength(2);
    s.hellos[1]!.resolve(answer(0, ['p']));
    await flushPromises();
    expect(s.servers('p')).toEqual([B]);
  });

  it('retries a failed hello with a doubling backoff while the node is a member', async () => {
    jest.useFakeTimers({ doNotFake: ['queueMicrotask'] });
    const s = scripted();
    s.sync.nodeUp(B);
    s.hellos[0]!.reject(Object.assign(new Error('late'), { code: 'ERR_REQUEST_TIMEOUT' }));
    await flushPromises();
    jest.advanceTimersByTime(99);
    expect(s.hellos).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(s.hellos).toHaveLength(2);
    s.hellos[1]!.reject(new Error('again'));
    await flushPromises();
    jest.advanceTimersByTime(199);
    expect(s.hellos).toHaveLength(2);
    jest.advanceTimersByTime(1);
    expect(s.hellos).toHaveLength(3);
    s.hellos[2]!.reject(new Error('again'));
    await flushPromises();
    s.sync.nodeDown(B);
    jest.advanceTimersByTime(10_000);
    expect(s.hellos).toHaveLength(3);
    expect(s.servers('p')).toEqual([]);
  });

  it('removes every entry of a node that goes down in one change, at once', async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    s.hellos[0]!.resolve({
      ...answer(1, ['p', 'q']),
      entries: [
        ['h', 'p'],
        ['s', 'q'],
      ],
    });
    await flushPromises();
    s.sync.nodeDown(B);
    expect(s.servers('p')).toEqual([]);
    expect(s.changes.at(-1)).toEqual({
      node: B,
      reason: 'nodeDown',
      added: [],
      removed: [h('p'), entryKey('s', 'q')],
    });
    expect(s.sync.awareMembers()).toEqual([]);
  });

  it('ignores the answer to a hello of a previous incarnation', async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    s.sync.nodeDown(B);
    s.sync.nodeUp(B);
    s.hellos[0]!.resolve(answer(9, ['stale']));
    await flushPromises();
    expect(s.servers('stale')).toEqual([]);
    s.hellos[1]!.resolve(answer(0, ['fresh']));
    await flushPromises();
    expect(s.servers('fresh')).toEqual([B]);
  });

  it('drops a delta from a non-member', () => {
    const s = scripted();
    s.sync.onDelta(C, delta(1, ['p']));
    expect(s.servers('p')).toEqual([]);
    expect(s.logger.has('debug', 'not a member')).toBe(true);
  });

  it(`asks again after more than ${MAX_DELTA_BUFFER} deltas arrive before the answer`, async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    for (let seq = 2; seq <= MAX_DELTA_BUFFER + 2; seq++)
      s.sync.onDelta(B, delta(seq, [`t${seq}`]));
    s.hellos[0]!.resolve(answer(1, ['p']));
    await flushPromises();
    expect(s.hellos).toHaveLength(2);
    expect(s.servers('t2')).toEqual([]);
    s.hellos[1]!.resolve(answer(MAX_DELTA_BUFFER + 2, ['p', `t${MAX_DELTA_BUFFER + 2}`]));
    await flushPromises();
    expect(s.servers(`t${MAX_DELTA_BUFFER + 2}`)).toEqual([B]);
  });

  it('ignores an unknown kind but advances the sequence', async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    s.hellos[0]!.resolve(answer(1, []));
    await flushPromises();
    s.sync.onDelta(B, { v: 1, epoch: 'eb', seq: 2, add: [['g', 'group']] });
    s.sync.onDelta(B, delta(3, ['p']));
    expect(s.servers('p')).toEqual([B]);
    expect([...s.sync.table.keys()]).toEqual([h('p')]);
    expect(s.hellos).toHaveLength(1);
  });

  it('coalesces local changes of one turn into one delta to every aware member', async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    s.sync.nodeUp(C);
    s.hellos[0]!.resolve(answer(0, []));
    s.hellos[1]!.reject(Object.assign(new Error('old'), { code: 'ERR_NO_HANDLER' }));
    await flushPromises();
    s.sync.localChanged(h('a'), true);
    s.sync.localChanged(h('b'), true);
    s.sync.localChanged(h('b'), false);
    expect(s.servers('a')).toEqual([A]);
    await flushPromises();
    expect(s.sent).toEqual([
      { node: B, delta: { v: 1, epoch: s.sync.epoch, seq: 1, add: [['h', 'a']] } },
    ]);
    expect(s.changes.filter(c => c.reason === 'local')).toHaveLength(3);
  });

  it('answers a hello with the announced table, flushing pending changes first', async () => {
    const s = scripted();
    s.sync.seedLocal([h('seed')]);
    s.sync.nodeUp(B);
    s.sync.localChanged(h('late'), true);
    const reply = s.sync.onHello(B, { v: 1, epoch: 'eb', hrw: 1 });
    expect(reply).toEqual({
      v: 1,
      epoch: s.sync.epoch,
      seq: 1,
      hrw: 1,
      entries: [
        ['h', 'seed'],
        ['h', 'late'],
      ],
    });
    await flushPromises();
    // B asked: it gets later deltas, and nothing was sent twice.
    expect(s.sent).toEqual([]);
    s.sync.localChanged(h('next'), true);
    await flushPromises();
    expect(s.sent.map(x => x.delta.seq)).toEqual([2]);
  });

  it('pushes its whole table to a node that asked before its nodeUp, when it changed since', async () => {
    const s = scripted();
    const b = scripted(B);
    // b's nodeUp(A) came first: it asks A, which does not know B yet.
    b.sync.nodeUp(A);
    const given = s.sync.onHello(B, { v: 1, epoch: b.sync.epoch, hrw: 1 });
    b.hellos[0]!.resolve(given);
    await flushPromises();
    s.sync.localChanged(h('between'), true);
    await flushPromises();
    expect(s.sent).toEqual([]);
    s.sync.nodeUp(B);
    expect(s.sent).toEqual([
      { node: B, delta: { v: 1, epoch: s.sync.epoch, seq: 1, set: [['h', 'between']] } },
    ]);
    b.sync.onDelta(A, s.sent[0]!.delta);
    expect(b.servers('between')).toEqual([A]);
    expect(s.sync.askerCount).toBe(0);
  });

  it(`keeps at most ${MAX_ASKERS} askers, for 30 s each; a hidden asker never gets a delta`, async () => {
    const s = scripted();
    for (let i = 0; i <= MAX_ASKERS; i++)
      s.sync.onHello(`tool${i}@h`, { v: 1, epoch: 'e', hrw: 1 });
    expect(s.sync.askerCount).toBe(MAX_ASKERS);
    s.sync.localChanged(h('x'), true);
    await flushPromises();
    expect(s.sent).toEqual([]);
    s.tick(29_999);
    expect(s.sync.askerCount).toBe(MAX_ASKERS);
    s.tick(2);
    expect(s.sync.askerCount).toBe(0);
    s.sync.onDelta('tool1@h', delta(1, ['p']));
    expect(s.servers('p')).toEqual([]);
  });

  it('suppresses an entry until news of it, and asks the node again when none comes', async () => {
    jest.useFakeTimers({ doNotFake: ['queueMicrotask'] });
    const s = scripted();
    s.sync.nodeUp(B);
    s.hellos[0]!.resolve(answer(1, ['p', 'q']));
    await flushPromises();
    expect(s.sync.suppress(B, h('p'))).toBe(true);
    expect(s.servers('p')).toEqual([]);
    expect(s.sync.suppress(B, h('p'))).toBe(false);
    s.sync.onDelta(B, delta(2, ['p']));
    expect(s.servers('p')).toEqual([B]);
    s.sync.suppress(B, h('q'));
    jest.advanceTimersByTime(1_000);
    expect(s.hellos).toHaveLength(2);
    s.hellos[1]!.resolve(answer(2, ['p', 'q']));
    await flushPromises();
    expect(s.servers('q')).toEqual([B]);
  });

  it('resends the whole table after a delta was refused by a full queue', async () => {
    jest.useFakeTimers({ doNotFake: ['queueMicrotask'] });
    const s = scripted();
    s.sync.nodeUp(B);
    s.hellos[0]!.resolve(answer(0, []));
    await flushPromises();
    s.refuse(() => Object.assign(new Error('full'), { code: 'ERR_QUEUE_FULL' }));
    s.sync.localChanged(h('a'), true);
    await flushPromises();
    expect(s.logger.has('warn', 'could not be queued')).toBe(true);
    s.refuse(undefined);
    s.sync.localChanged(h('b'), true);
    await flushPromises();
    expect(s.sent).toEqual([]);
    jest.advanceTimersByTime(500);
    expect(s.sent).toEqual([
      {
        node: B,
        delta: {
          v: 1,
          epoch: s.sync.epoch,
          seq: 2,
          set: [
            ['h', 'a'],
            ['h', 'b'],
          ],
        },
      },
    ]);
  });

  it('withdraws everything as the next change when draining, and answers hellos empty', async () => {
    const s = scripted();
    s.sync.seedLocal([h('a')]);
    s.sync.nodeUp(B);
    s.hellos[0]!.resolve(answer(0, []));
    await flushPromises();
    const { delta: withdrawal, targets } = s.sync.startDrain();
    expect(targets).toEqual([B]);
    expect(withdrawal).toEqual({ v: 1, epoch: s.sync.epoch, seq: 1, del: [['h', 'a']] });
    s.sync.localChanged(h('late'), true);
    await flushPromises();
    expect(s.sent).toEqual([]);
    expect(s.sync.onHello(C, { v: 1, epoch: 'e', hrw: 1 }).entries).toEqual([]);
    expect(s.servers('a')).toEqual([A]);
  });

  it('stops its timers on close', async () => {
    jest.useFakeTimers({ doNotFake: ['queueMicrotask'] });
    const s = scripted();
    s.sync.nodeUp(B);
    s.hellos[0]!.reject(new Error('x'));
    await flushPromises();
    s.sync.close();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('logs a peer with another rendezvous version once', async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    s.hellos[0]!.resolve({ ...answer(0, []), hrw: 2 });
    await flushPromises();
    expect(s.logger.has('warn', 'ownerOf() may disagree')).toBe(true);
  });
  it('stops routing at once to what a drain withdraws while the peer is syncing', async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    s.hellos[0]!.resolve(answer(1, ['p', 'q', 'r']));
    await flushPromises();
    s.sync.onDelta(B, delta(3, ['gap'])); // a gap: B is asked again
    expect(s.sync.statusOf(B)).toBe('syncing');
    // B drains (its request is acknowledged by the return value): no routing to it after this.
    expect(s.sync.onDelta(B, delta(4, [], ['p', 'q']))).toEqual({ v: 1 });
    expect(s.servers('p')).toEqual([]);
    expect(s.servers('q')).toEqual([]);
    expect(s.servers('r')).toEqual([B]);
    expect(s.rerouted()).toBe(1);
    // An answer that predates the drain, then the buffered withdrawal, in one turn.
    s.hellos[1]!.resolve(answer(3, ['p', 'q', 'r', 'gap']));
    await flushPromises();
    expect(s.sync.statusOf(B)).toBe('synced');
    expect(s.servers('p')).toEqual([]);
    expect(s.servers('q')).toEqual([]);
    expect(s.servers('gap')).toEqual([B]);
  });

  it('keeps a withdrawal out of routing when the buffer overflowed before the answer', async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    s.hellos[0]!.resolve(answer(1, ['p', 'q']));
    await flushPromises();
    s.sync.onDelta(B, delta(3, [])); // a gap: B is asked again
    s.sync.onDelta(B, delta(4, [], ['p']));
    for (let seq = 5; seq <= MAX_DELTA_BUFFER + 5; seq++) s.sync.onDelta(B, delta(seq, []));
    expect(s.servers('p')).toEqual([]);
    // An answer older than the withdrawal: the overflow dropped it, so B is asked again.
    s.hellos[1]!.resolve(answer(2, ['p', 'q']));
    await flushPromises();
    expect(s.hellos).toHaveLength(3);
    expect(s.servers('p')).toEqual([]);
    expect(s.servers('q')).toEqual([B]);
    s.hellos[2]!.resolve(answer(MAX_DELTA_BUFFER + 5, ['q']));
    await flushPromises();
    expect(s.servers('p')).toEqual([]);
    expect(s.servers('q')).toEqual([B]);
    expect(s.sync.table.entriesOf(B)).toEqual(new Set([h('q')]));
  });

  it(`asks again when the deltas buffered before the answer exceed ${MAX_REGISTRY_ENTRIES} entries`, async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    const names = (from: number) => Array.from({ length: 6_000 }, (_, i) => `n${from + i}`);
    s.sync.onDelta(B, delta(2, names(0)));
    s.sync.onDelta(B, delta(3, names(6_000)));
    s.hellos[0]!.resolve(answer(1, []));
    await flushPromises();
    expect(s.hellos).toHaveLength(2);
  });

  it(`holds at most ${MAX_REGISTRY_ENTRIES} entries of a peer, whatever it withdraws`, async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    const full = Array.from({ length: MAX_REGISTRY_ENTRIES }, (_, i) => `t${i}`);
    s.hellos[0]!.resolve(answer(1, full));
    await flushPromises();
    expect(s.sync.table.entriesOf(B).size).toBe(MAX_REGISTRY_ENTRIES);
    // Withdrawals of entries it never had make no room.
    s.sync.onDelta(B, delta(2, ['x1', 'x2', 'x3'], ['never1', 'never2', 'never3']));
    expect(s.sync.table.entriesOf(B).size).toBe(MAX_REGISTRY_ENTRIES);
    expect(s.servers('x1')).toEqual([]);
    // A real withdrawal makes room for as many.
    s.sync.onDelta(B, delta(3, ['x1', 'x2'], ['t0']));
    expect(s.sync.table.entriesOf(B).size).toBe(MAX_REGISTRY_ENTRIES);
    expect(s.servers('x1')).toEqual([B]);
    expect(s.servers('x2')).toEqual([]);
    expect(s.servers('t0')).toEqual([]);
  });

  it('asks again a member whose hello carries another epoch (restarted without leaving)', async () => {
    const s = scripted();
    s.sync.nodeUp(B);
    s.hellos[0]!.resolve(answer(3, ['p']));
    await flushPromises();
    s.sync.onHello(B, { v: 1, epoch: 'eb', hrw: 1 }); // the same incarnation: nothing to do
    expect(s.hellos).toHaveLength(1);
    s.sync.onHello(B, { v: 1, epoch: 'e2', hrw: 1 });
    expect(s.hellos).toHaveLength(2);
    expect(s.sync.statusOf(B)).toBe('syncing');
    s.hellos[1]!.resolve(answer(0, ['q'], 'e2'));
    await flushPromises();
    expect(s.servers('p')).toEqual([]);
    expect(s.servers('q')).toEqual([B]);
    s.sync.onDelta(B, delta(1, ['r'], [], 'e2'));
    expect(s.servers('r')).toEqual([B]);
  });
});
