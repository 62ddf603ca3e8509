import { A, B, C, settle, thrown } from '../../../test/support/messaging-harness.js';
import { RegistryNet } from '../../../test/support/registry-harness.js';
import { until } from '../../../test/support/wait.js';
import type { ServicesChange } from '../primitives.types.js';
import { type RegistryEntryChange, type RegistryEntryKind } from './registry-entries.js';
import {
  MAX_REGISTRY_ENTRIES,
  REGISTRY_DELTA,
  noIssues,
  parseDelta,
  parseHelloAnswer,
} from './registry-protocol.js';

const deltasTo = (net: RegistryNet, to: string) =>
  net.network.sent.filter(s => s.to === to && s.envelope.topic === REGISTRY_DELTA);

describe('registry entries on the wire', () => {
  it('are ignored by an older registry that knows only the topic kinds (h, s)', () => {
    const older = new Set(['h', 's']);
    const issues = noIssues();
    const entries = [
      ['g', 'workers'],
      ['h', 'prices'],
      ['t', '7'],
      ['s', 'news'],
    ];
    expect(
      parseHelloAnswer({ v: 1, epoch: 'e', seq: 3, hrw: 1, entries }, older, issues)?.entries,
    ).toEqual([
      ['h', 'prices'],
      ['s', 'news'],
    ]);
    expect(
      parseDelta({ v: 1, epoch: 'e', seq: 4, add: entries, del: [['g', 'x']] }, older, issues),
    ).toEqual({
      v: 1,
      epoch: 'e',
      seq: 4,
      add: [
        ['h', 'prices'],
        ['s', 'news'],
      ],
      del: [],
    });
    // A delta of groups only is still a well-formed (empty) change: the sequence goes on.
    expect(parseDelta({ v: 1, epoch: 'e', seq: 5, set: [['t', '8']] }, older, issues)).toEqual({
      v: 1,
      epoch: 'e',
      seq: 5,
      set: [],
    });
    expect(issues).toEqual({ tooMany: 0, reserved: 0 });
  });

  it('are kept by this build, reserved names still dropped', () => {
    const issues = noIssues();
    const answer = parseHelloAnswer(
      {
        v: 1,
        epoch: 'e',
        seq: 1,
        entries: [
          ['g', 'workers'],
          ['t', '7'],
          ['g', '$gc.lead'],
        ],
      },
      new Set(['h', 's', 'g', 't']),
      issues,
    );
    expect(answer?.entries).toEqual([
      ['g', 'workers'],
      ['t', '7'],
    ]);
    expect(issues.reserved).toBe(1);
  });
});

describe('ServiceRegistry generic entries on Messaging pairs', () => {
  let net: RegistryNet;
  beforeEach(() => (net = new RegistryNet({ helloRetryMs: 20, helloRetryMaxMs: 50 })));
  afterEach(() => net.close());

  it('reaches a peer by its hello, then by deltas; lists each node once, sorted, self included', async () => {
    const a = net.add(A);
    const b = net.add(B);
    const c = net.add(C);
    b.registry!.announce('group', 'workers');
    b.registry!.announce('term', '3');
    expect(b.registry!.nodesOf('group', 'workers')).toEqual([B]);
    net.link(a, b);
    net.link(b, c);
    net.link(a, c);
    await until(() => a.registry!.nodesOf('group', 'workers').length === 1, 2_000, 'b on a');
    expect(a.registry!.nodesOf('term', '3')).toEqual([B]);
    c.registry!.announce('group', 'workers');
    a.registry!.announce('group', 'workers');
    await until(() => b.registry!.nodesOf('group', 'workers').length === 3, 2_000, 'all on b');
    await until(() => a.registry!.nodesOf('group', 'workers').length === 3, 2_000, 'all on a');
    expect(a.registry!.nodesOf('group', 'workers')).toEqual([A, B, C]);
    expect(a.registry!.names('group')).toEqual(['workers']);
    expect(a.registry!.names('term')).toEqual(['3']);
    b.registry!.withdraw('group', 'workers');
    await until(() => a.registry!.nodesOf('group', 'workers').length === 2, 2_000, 'b withdrew');
    await until(() => c.registry!.nodesOf('group', 'workers').length === 2, 2_000, 'on c too');
    expect(c.registry!.nodesOf('group', 'workers')).toEqual([A, C]);
    expect(a.registry!.nodesOf('group', 'nobody')).toEqual([]);
  });

  it('keeps groups and terms apart from topics, and from each other', async () => {
    const a = net.add(A);
    const b = net.add(B);
    const services: ServicesChange[] = [];
    a.registry!.services$.subscribe(change => services.push(change));
    b.messaging.on('shared', () => 1);
    b.registry!.announce('group', 'shared');
    net.link(a, b);
    await until(() => a.registry!.nodesOf('group', 'shared').length === 1, 2_000);
    b.registry!.announce('group', 'only-a-group');
    b.registry!.announce('term', 'shared');
    a.registry!.announce('group', 'mine');
    await until(() => a.registry!.nodesOf('term', 'shared').length === 1, 2_000);
    expect(a.registry!.servers('shared')).toEqual([B]);
    expect(a.registry!.servers('only-a-group')).toEqual([]);
    expect(a.registry!.subscribers('only-a-group')).toEqual([]);
    expect(a.registry!.servers('mine')).toEqual([]);
    expect([...a.registry!.services().keys()]).toEqual(['shared']);
    expect(a.registry!.names('group')).toEqual(['mine', 'only-a-group', 'shared']);
    expect(a.registry!.names('term')).toEqual(['shared']);
    expect(a.registry!.nodesOf('term', 'only-a-group')).toEqual([]);
    // Only topic news on services$: the sync with B's topic; entries-only changes stay off it.
    expect(services).toEqual([
      { node: B, reason: 'sync', added: [{ topic: 'shared', kind: 'handler' }], removed: [] },
    ]);
  });

  it('emits entries$ with each reason, topics never on it, nodeDown in the nodeDown delivery', async () => {
    const a = net.add(A);
    const b = net.add(B);
    const changes: RegistryEntryChange[] = [];
    a.registry!.entries$.subscribe(change => changes.push(change));
    b.registry!.announce('group', 'g1');
    a.registry!.announce('group', 'mine');
    a.messaging.on('a-topic', () => 1);
    net.link(a, b);
    await until(() => changes.some(c => c.reason === 'sync'), 2_000, 'sync');
    b.registry!.announce('group', 'g2');
    await until(() => changes.some(c => c.reason === 'announced'), 2_000, 'announced');
    b.registry!.withdraw('group', 'g1');
    await until(() => changes.some(c => c.reason === 'withdrawn'), 2_000, 'withdrawn');
    const seen: string[][] = [];
    a.cluster.events$.subscribe(event => {
      if (event.type === 'nodeDown') seen.push([...a.registry!.nodesOf('group', 'g2')]);
    });
    a.cluster.down(B);
    expect(seen).toEqual([[]]);
    expect(changes).toEqual([
      { node: A, reason: 'local', added: [{ kind: 'group', name: 'mine' }], removed: [] },
      { node: B, reason: 'sync', added: [{ kind: 'group', name: 'g1' }], removed: [] },
      { node: B, reason: 'announced', added: [{ kind: 'group', name: 'g2' }], removed: [] },
      { node: B, reason: 'withdrawn', added: [], removed: [{ kind: 'group', name: 'g1' }] },
      { node: B, reason: 'nodeDown', added: [], removed: [{ kind: 'group', name: 'g2' }] },
    ]);
  });

  it('announces and withdraws idempotently: one delta each', async () => {
    const a = net.add(A);
    const b = net.add(B);
    b.registry!.announce('group', 'probe');
    net.link(a, b);
    // A listing B's group means B answered A's hello: A sends B its deltas from now on.
    await until(() => a.registry!.nodesOf('group', 'probe').length === 1, 2_000);
    await settle();
    const before = deltasTo(net, B).length;
    const changes: RegistryEntryChange[] = [];
    b.registry!.entries$.subscribe(change => changes.push(change));
    a.registry!.announce('group', 'x');
    a.registry!.announce('group', 'x');
    await until(() => b.registry!.nodesOf('group', 'x').length === 1, 2_000);
    a.registry!.withdraw('group', 'x');
    a.registry!.withdraw('group', 'x');
    a.registry!.withdraw('group', 'never-joined');
    await until(() => b.registry!.nodesOf('group', 'x').length === 0, 2_000);
    await settle();
    expect(deltasTo(net, B).length - before).toBe(2);
    expect(changes.map(c => c.reason)).toEqual(['announced', 'withdrawn']);
  });

  it('refuses bad kinds, empty, too long and reserved names with ERR_INVALID_ENTRY', () => {
    const a = net.add(A);
    const registry = a.registry!;
    const cases: [unknown, unknown, string][] = [
      ['topic', 'x', 'kind'],
      [undefined, 'x', 'kind'],
      ['group', '', 'form'],
      ['group', 7, 'form'],
      ['term', 'x'.repeat(201), 'length'],
      ['group', '$gc.lead', 'reserved'],
      ['group', 'a\uD800', 'form'], // a lone high surrogate
      ['term', '\uDC00b', 'form'], // a lone low surrogate
    ];
    for (const [kind, name, problem] of cases)
      for (const run of [
        () => registry.announce(kind as RegistryEntryKind, name as string),
        () => registry.withdraw(kind as RegistryEntryKind, name as string),
        () => registry.nodesOf(kind as RegistryEntryKind, name as string),
      ])
        expect(thrown(run)).toMatchObject({ code: 'ERR_INVALID_ENTRY', problem });
    expect(thrown(() => registry.names('topic' as RegistryEntryKind))).toMatchObject({
      code: 'ERR_INVALID_ENTRY',
      problem: 'kind',
    });
    expect(thrown(() => registry.announce('group', '$gc.x')).message).toContain('reserved');
    registry.announce('group', 'x'.repeat(200));
    registry.announce('group', '$gc'); // only the prefix with its dot is reserved
    registry.announce('group', '\uD83D\uDE00'); // a pair is well-formed
    expect(registry.names('group')).toEqual(['$gc', 'x'.repeat(200), '\uD83D\uDE00']);
  });

  it('refuses more entries than a peer keeps of one node with ERR_TOO_MANY_ENTRIES', () => {
    const a = net.add(A);
    a.messaging.on('topic', () => 1);
    for (let i = 1; i < MAX_REGISTRY_ENTRIES; i++) a.registry!.announce('group', `g${i}`);
    expect(thrown(() => a.registry!.announce('term', '1'))).toMatchObject({
      code: 'ERR_TOO_MANY_ENTRIES',
      problem: 'full',
    });
    a.registry!.announce('group', 'g1'); // held already: still idempotent
    a.registry!.withdraw('group', 'g1');
    a.registry!.announce('term', '1');
    expect(a.registry!.nodesOf('term', '1')).toEqual([A]);
  });

  it('withdraws groups and terms in a drain, as it withdraws topics', async () => {
    const a = net.add(A);
    const b = net.add(B);
    a.registry!.announce('group', 'workers');
    a.registry!.announce('term', '4');
    net.link(a, b);
    await until(() => b.registry!.nodesOf('group', 'workers').length === 1, 2_000);
    expect(b.registry!.nodesOf('term', '4')).toEqual([A]);
    const result = await a.registry!.drain({ timeoutMs: 2_000 });
    expect(result.acked).toBe(1);
    expect(b.registry!.nodesOf('group', 'workers')).toEqual([]);
    expect(b.registry!.nodesOf('term', '4')).toEqual([]);
  });

  it('does nothing once closed', () => {
    const a = net.add(A);
    a.registry!.close();
    a.registry!.announce('group', 'late');
    a.registry!.withdraw('group', 'late');
    expect(a.registry!.nodesOf('group', 'late')).toEqual([]);
  });
});
