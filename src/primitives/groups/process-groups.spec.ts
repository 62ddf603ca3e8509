import { A, B, C, TestLogger, settle, thrown } from '../../../test/support/messaging-harness.js';
import { RegistryNet, type RegistryNode } from '../../../test/support/registry-harness.js';
import { until } from '../../../test/support/wait.js';
import { QueueFullError } from '../../distribution/index.js';
import type { GroupsChange } from './groups.types.js';
import { ProcessGroups } from './process-groups.js';

describe('ProcessGroups on Messaging pairs', () => {
  let net: RegistryNet;
  const all: ProcessGroups[] = [];
  beforeEach(() => (net = new RegistryNet({ helloRetryMs: 20, helloRetryMaxMs: 50 })));
  afterEach(() => {
    for (const groups of all.splice(0)) groups.close();
    net.close();
  });

  /** The groups of `node`, with its `work` receipts (`from payload`). */
  function groupsOf(node: RegistryNode, logger?: TestLogger) {
    const groups = new ProcessGroups({
      cluster: node.cluster,
      messaging: node.messaging,
      registry: node.registry,
      logger,
    });
    all.push(groups);
    const received: string[] = [];
    node.messaging.on('work', (payload, context) => {
      received.push(`${context.from} ${String(payload)}`);
    });
    return { groups, received };
  }

  /** A, B and C linked, each with groups; A, B and C joined `g`, seen by A. */
  async function joinedTrio(logger?: TestLogger) {
    const nodes = [net.add(A), net.add(B), net.add(C)];
    const [a, b, c] = nodes.map((node, i) => groupsOf(node, i === 0 ? logger : undefined));
    net.link(nodes[0]!, nodes[1]!);
    net.link(nodes[0]!, nodes[2]!);
    net.link(nodes[1]!, nodes[2]!);
    for (const { groups } of [a!, b!, c!]) groups.join('g');
    await until(() => a!.groups.members('g').length === 3, 2_000, 'a sees three');
    return { nodes, a: a!, b: b!, c: c! };
  }

  it('reports a member whose link refuses the message in failed, with its code; the others still get it', async () => {
    const logger = new TestLogger();
    const { a, b, c } = await joinedTrio(logger);
    // B's link went down and its nodeDown is not delivered yet; C's queue is full.
    net.network.down.add(B);
    net.network.failure = { from: A, to: C, error: new QueueFullError('full', { node: C }) };
    expect(a.groups.publish('g', 'work', 1)).toEqual({
      sentTo: [A],
      failed: [
        { node: B, code: 'ERR_NODE_DOWN' },
        { node: C, code: 'ERR_QUEUE_FULL' },
      ],
    });
    await until(() => a.received.length === 1, 2_000);
    await settle();
    expect(a.received).toEqual([`${A} 1`]);
    expect(b.received).toEqual([]);
    expect(c.received).toEqual([]);
    expect(logger.count('warn')).toBe(2);
    // Rate-limited per node: the same failures again log nothing new.
    a.groups.publish('g', 'work', 2);
    expect(logger.count('warn')).toBe(2);
    expect(logger.has('warn', `to ${B}`)).toBe(true);
  });

  it('throws what is the call’s fault: a bad topic, a payload that cannot be encoded, a bad group', async () => {
    const { a, b } = await joinedTrio();
    for (const topic of ['', '$gc.reg.delta', 'x'.repeat(1_025), 7])
      expect(thrown(() => a.groups.publish('g', topic as string, 1))).toMatchObject({
        code: 'ERR_INVALID_TOPIC',
      });
    // Checked even for a group nobody joined.
    expect(thrown(() => a.groups.publish('empty', '', 1))).toMatchObject({
      code: 'ERR_INVALID_TOPIC',
    });
    expect(thrown(() => a.groups.publish('g', 'work', { f: () => 1 }))).toMatchObject({
      code: 'ERR_PAYLOAD_ENCODE',
    });
    for (const group of ['', '$gc.x', 'x'.repeat(201)]) {
      for (const run of [
        () => a.groups.join(group),
        () => a.groups.leave(group),
        () => a.groups.members(group),
        () => a.groups.members$(group),
        () => a.groups.publish(group, 'work', 1),
      ])
        expect(thrown(run)).toMatchObject({ code: 'ERR_INVALID_ENTRY' });
    }
    await settle();
    expect(b.received).toEqual([]);
  });

  it('joins and leaves idempotently', async () => {
    const { a, b } = await joinedTrio();
    const changes: GroupsChange[] = [];
    b.groups.groups$.subscribe(change => changes.push(change));
    a.groups.join('g');
    a.groups.leave('never');
    a.groups.leave('g');
    a.groups.leave('g');
    await until(() => b.groups.members('g').length === 2, 2_000);
    await settle();
    expect(changes).toEqual([{ group: 'g', members: [B, C], node: A, reason: 'leave' }]);
    expect(a.groups.joined()).toEqual([]);
  });

  it('completes its streams on close and refuses to publish after it', async () => {
    const { a } = await joinedTrio();
    let completed = 0;
    a.groups.groups$.subscribe({ complete: () => completed++ });
    a.groups.members$('g').subscribe({ complete: () => completed++ });
    a.groups.close();
    a.groups.close();
    expect(completed).toBe(2);
    expect(thrown(() => a.groups.publish('g', 'work', 1))).toMatchObject({
      code: 'ERR_CLUSTER_STOPPED',
    });
    a.groups.join('late'); // a no-op, as the registry's announce once closed
    expect(a.groups.joined()).toEqual(['g']);
  });
});

describe('ProcessGroups without a registry (a cluster of one)', () => {
  let net: RegistryNet;
  beforeEach(() => (net = new RegistryNet()));
  afterEach(() => net.close());

  it('keeps groups local: this node is the only member of the groups it joined', async () => {
    const node = net.add(A, { registry: false });
    const groups = new ProcessGroups({
      cluster: node.cluster,
      messaging: node.messaging,
      registry: undefined,
    });
    const received: unknown[] = [];
    node.messaging.on('work', payload => {
      received.push(payload);
    });
    const changes: GroupsChange[] = [];
    groups.groups$.subscribe(change => changes.push(change));
    const seen: (readonly string[])[] = [];
    groups.members$('g').subscribe(members => seen.push(members));
    expect(groups.members('g')).toEqual([]);
    groups.join('g');
    groups.join('g');
    groups.join('h');
    expect(groups.members('g')).toEqual([A]);
    expect(groups.joined()).toEqual(['g', 'h']);
    expect([...groups.groups()]).toEqual([
      ['g', [A]],
      ['h', [A]],
    ]);
    expect(groups.publish('g', 'work', 'hi')).toEqual({ sentTo: [A], failed: [] });
    expect(received).toEqual([]); // delivered on a later turn, never inside publish
    await until(() => received.length === 1, 2_000);
    expect(received).toEqual(['hi']);
    groups.leave('g');
    expect(groups.members('g')).toEqual([]);
    expect(groups.publish('g', 'work', 'gone')).toEqual({ sentTo: [], failed: [] });
    expect(changes).toEqual([
      { group: 'g', members: [A], node: A, reason: 'join' },
      { group: 'h', members: [A], node: A, reason: 'join' },
      { group: 'g', members: [], node: A, reason: 'leave' },
    ]);
    expect(seen).toEqual([[], [A], []]);
    groups.close();
  });

  it('bounds the groups it keeps with ERR_TOO_MANY_ENTRIES', () => {
    const node = net.add(A, { registry: false });
    const groups = new ProcessGroups({
      cluster: node.cluster,
      messaging: node.messaging,
      registry: undefined,
    });
    for (let i = 0; i < 10_000; i++) groups.join(`g${i}`);
    expect(thrown(() => groups.join('one-more'))).toMatchObject({ code: 'ERR_TOO_MANY_ENTRIES' });
    groups.join('g1');
    groups.close();
  });
});
