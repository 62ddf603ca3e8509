import { firstValueFrom, take, toArray } from 'rxjs';
import { A, B, C, D, rejection, settle } from '../../../test/support/messaging-harness.js';
import { RegistryNet, ScriptedCluster } from '../../../test/support/registry-harness.js';
import { InvalidConfigError, type RegistryMessaging } from '../../core/index.js';
import { until } from '../../../test/support/wait.js';
import type { ServicesChange } from '../primitives.types.js';
import { REGISTRY_DELTA, REGISTRY_HELLO } from './registry-protocol.js';
import { ServiceRegistry } from './service-registry.js';

const deltasTo = (net: RegistryNet, to: string) =>
  net.network.sent.filter(s => s.to === to && s.envelope.topic === REGISTRY_DELTA);

describe('ServiceRegistry on Messaging pairs', () => {
  let net: RegistryNet;
  beforeEach(() => (net = new RegistryNet({ helloRetryMs: 20, helloRetryMaxMs: 50 })));
  afterEach(() => net.close());

  it('lists the servers of a topic, this node included, once a peer answered its hello', async () => {
    const a = net.add(A);
    const b = net.add(B);
    a.messaging.on('prices', () => 'a');
    b.messaging.on('prices', () => 'b');
    b.messaging.subscribe('news', () => undefined);
    expect(a.registry!.servers('prices')).toEqual([A]);
    net.link(a, b);
    expect(a.registry!.servers('prices')).toEqual([A]);
    await until(() => a.registry!.servers('prices').length === 2, 2_000, 'B listed on A');
    expect(a.registry!.servers('prices')).toEqual([A, B]);
    expect(a.registry!.servers({ name: 'prices' })).toEqual([A, B]);
    expect(a.registry!.subscribers('news')).toEqual([B]);
    expect(b.registry!.servers('prices')).toEqual([A, B]);
    expect([...a.registry!.services()]).toEqual([
      ['news', { servers: [], subscribers: [B] }],
      ['prices', { servers: [A, B], subscribers: [] }],
    ]);
    // Later registrations travel as deltas.
    const off = b.messaging.on('stock', () => 1);
    await until(() => a.registry!.servers('stock').length === 1, 2_000, 'stock announced');
    off();
    await until(() => a.registry!.servers('stock').length === 0, 2_000, 'stock withdrawn');
  });

  it('never lists internal topics', async () => {
    const a = net.add(A);
    const b = net.add(B);
    b.messaging.on('x', () => 1);
    net.link(a, b);
    await until(() => a.registry!.servers('x').length === 1, 2_000);
    expect(a.registry!.servers(REGISTRY_HELLO)).toEqual([]);
    expect(a.registry!.servers(REGISTRY_DELTA)).toEqual([]);
    expect([...a.registry!.services().keys()]).toEqual(['x']);
  });

  it('drops a node from every set in the same events$ delivery as its nodeDown', async () => {
    const a = net.add(A);
    const b = net.add(B);
    b.messaging.on('prices', () => 'b');
    net.link(a, b);
    await until(() => a.registry!.servers('prices').includes(B), 2_000);
    const seen: string[][] = [];
    const changes: ServicesChange[] = [];
    a.registry!.services$.subscribe(change => changes.push(change));
    // Application code subscribes after the registry (which subscribes in its constructor).
    a.cluster.events$.subscribe(event => {
      if (event.type === 'nodeDown') seen.push(a.registry!.servers('prices'));
    });
    a.cluster.down(B);
    expect(seen).toEqual([[]]);
    expect(changes).toEqual([
      { node: B, reason: 'nodeDown', added: [], removed: [{ topic: 'prices', kind: 'handler' }] },
    ]);
  });

  it('reports each change on services$ with its reason', async () => {
    const a = net.add(A);
    const b = net.add(B);
    const changes: ServicesChange[] = [];
    a.registry!.services$.subscribe(change => changes.push(change));
    b.messaging.on('p', () => 1);
    a.messaging.subscribe('mine', () => undefined);
    net.link(a, b);
    await until(() => changes.some(c => c.reason === 'sync'), 2_000);
    const off = b.messaging.on('q', () => 1);
    await until(() => changes.some(c => c.reason === 'announced'), 2_000);
    off();
    await until(() => changes.some(c => c.reason === 'withdrawn'), 2_000);
    expect(changes).toEqual([
      { node: A, reason: 'local', added: [{ topic: 'mine', kind: 'subscriber' }], removed: [] },
      { node: B, reason: 'sync', added: [{ topic: 'p', kind: 'handler' }], removed: [] },
      { node: B, reason: 'announced', added: [{ topic: 'q', kind: 'handler' }], removed: [] },
      { node: B, reason: 'withdrawn', added: [], removed: [{ topic: 'q', kind: 'handler' }] },
    ]);
  });

  it('emits servers$ now and on each distinct change', async () => {
    const a = net.add(A);
    const b = net.add(B);
    const values = firstValueFrom(a.registry!.servers$('p').pipe(take(4), toArray()));
    a.messaging.subscribe('unrelated', () => undefined);
    const off = a.messaging.on('p', () => 1);
    b.messaging.on('p', () => 1);
    net.link(a, b);
    await until(() => a.registry!.servers('p').length === 2, 2_000);
    off();
    expect(await values).toEqual([[], [A], [A, B], [B]]);
  });

  it('waits for servers, and times out with ERR_WAIT_TIMEOUT', async () => {
    const a = net.add(A);
    const b = net.add(B);
    const c = net.add(C);
    const two = a.registry!.waitForServers('p', { count: 2, timeoutMs: 5_000 });
    b.messaging.on('p', () => 1);
    c.messaging.on('p', () => 1);
    net.link(a, b);
    net.link(a, c);
    expect(await two).toEqual([B, C]);
    expect(await a.registry!.waitForServers('p')).toEqual([B, C]);
    const late = await rejection(a.registry!.waitForServers('none', { timeoutMs: 30 }));
    expect(late).toMatchObject({ code: 'ERR_WAIT_TIMEOUT' });
    expect(late.message).toContain('"none"');
    const controller = new AbortController();
    const aborted = a.registry!.waitForServers('none', { signal: controller.signal });
    controller.abort(new Error('stop'));
    expect((await rejection(aborted)).message).toBe('stop');
    expect(() => a.registry!.waitForServers('p', { count: 0 })).toThrow(/count/);
    const closing = a.registry!.waitForServers('none');
    a.registry!.close();
    expect(await rejection(closing)).toMatchObject({ code: 'ERR_CLUSTER_STOPPED' });
  });

  it('ranks owners among every member without a topic, among servers with one', async () => {
    const a = net.add(A);
    const b = net.add(B);
    const old = net.add(C, { registry: false });
    b.messaging.on('p', () => 1);
    net.link(a, b);
    a.cluster.up(C);
    old.cluster.up(A);
    await until(() => a.registry!.servers('p').length === 1, 2_000);
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    const owners = new Set(keys.map(k => a.registry!.ownerOf(k)));
    expect([...owners].sort()).toEqual([A, B, C]);
    expect(new Set(keys.map(k => a.registry!.ownerOf(k, { topic: 'p' })))).toEqual(new Set([B]));
    expect(a.registry!.ownerOf('k', { topic: 'none' })).toBeUndefined();
    expect(a.registry!.ownersOf('k', 5)).toHaveLength(3);
    expect(a.registry!.ownersOf('k', 2)[0]).toBe(a.registry!.ownerOf('k'));
    expect(a.registry!.ownersOf('k', 0)).toEqual([]);
  });

  it('refuses a key call({ select: { key } }) refuses, naming the option', () => {
    const a = net.add(A);
    for (const key of [null, undefined, '', {}, ['k'], Number.NaN, new Uint8Array(0)]) {
      const bad = key as unknown as string;
      expect(() => a.registry!.ownerOf(bad)).toThrow(InvalidConfigError);
      expect(() => a.registry!.ownerOf(bad)).toThrow(/ownerOf\.key/);
      expect(() => a.registry!.ownersOf(bad, 1)).toThrow(InvalidConfigError);
      expect(() => a.registry!.ownersOf(bad, 1)).toThrow(/ownersOf\.key/);
    }
    expect(a.registry!.ownerOf(7)).toBe(A);
    expect(a.registry!.ownerOf(new Uint8Array([1]))).toBe(A);
  });

  it('treats an older node as unaware: never a server, never sent a registry message, nothing logged there', async () => {
    const a = net.add(A);
    const old = net.add(B, { registry: false });
    old.messaging.on('p', () => 'old');
    net.link(a, old);
    await until(() => a.logger.has('debug', 'runs no service registry'), 2_000);
    a.messaging.on('q', () => 1);
    await settle();
    expect(a.registry!.servers('p')).toEqual([]);
    expect(deltasTo(net, B)).toEqual([]);
    expect(old.logger.lines.filter(l => l.level !== 'debug')).toEqual([]);
  });

  it('answers a hidden node’s hello but never sends it deltas, and drops its deltas', async () => {
    const a = net.add(A);
    const tool = net.add(D, { registry: false });
    a.messaging.on('p', () => 1);
    const answer = await tool.messaging.request<{ entries: unknown }>(A, REGISTRY_HELLO, {
      v: 1,
      epoch: 'tool',
      hrw: 1,
    });
    expect(answer.entries).toEqual([['h', 'p']]);
    a.messaging.on('q', () => 1);
    await settle();
    expect(deltasTo(net, D)).toEqual([]);
    tool.messaging.send(A, REGISTRY_DELTA, { v: 1, epoch: 'tool', seq: 1, add: [['h', 'x']] });
    await settle();
    expect(a.registry!.servers('x')).toEqual([]);
  });

  it('refuses reserved names from a peer and logs it', async () => {
    const a = net.add(A);
    const rogue = net.add(B, { registry: false });
    rogue.messaging.on(
      REGISTRY_HELLO,
      () => ({
        v: 1,
        epoch: 'r',
        seq: 0,
        hrw: 1,
        entries: [
          ['h', '$gc.leader'],
          ['h', 'ok'],
        ],
      }),
      { internal: true },
    );
    net.link(a, rogue);
    await until(() => a.registry!.servers('ok').length === 1, 2_000);
    expect(a.registry!.servers('$gc.leader')).toEqual([]);
    expect(a.logger.has('warn', 'reserved')).toBe(true);
  });

  it('applies a delta that overtakes the hello answer in one turn (real Messaging dispatch)', async () => {
    const a = net.add(A);
    const b = net.add(B);
    b.messaging.on('p', () => 1);
    // Everything B sends to A is held, then delivered in one turn: the answer to A's hello
    // settles in a promise reaction, after the delta B sent next is dispatched.
    net.network.hold = sent => sent.from === B && sent.to === A;
    net.link(a, b);
    await until(() => net.network.held.length >= 2, 2_000, 'hello answer and B’s hello held');
    b.messaging.on('late', () => 1);
    await until(() => deltasTo(net, A).length === 1, 2_000, 'delta held');
    net.network.hold = undefined;
    net.network.release();
    await settle();
    expect(a.registry!.servers('p')).toEqual([B]);
    expect(a.registry!.servers('late')).toEqual([B]);
    // Applied from the buffer, not healed by a second hello.
    expect(
      net.network.sent.filter(s => s.from === A && s.envelope.topic === REGISTRY_HELLO),
    ).toHaveLength(1);
  });

  it('stops routing to a suppressed entry until news of it arrives', async () => {
    const a = net.add(A);
    const b = net.add(B);
    const off = b.messaging.on('p', () => 1);
    net.link(a, b);
    await until(() => a.registry!.servers('p').length === 1, 2_000);
    const views: string[][] = [];
    a.registry!.servers$('p').subscribe(v => views.push([...v]));
    a.registry!.suppress(B, 'p');
    expect(a.registry!.servers('p')).toEqual([]);
    off();
    await settle();
    b.messaging.on('p', () => 2);
    await until(() => a.registry!.servers('p').length === 1, 1_000);
    expect(views).toEqual([[B], [], [B]]);
  });

  it('asks a node again when no news of a suppressed entry comes', async () => {
    const quick = new RegistryNet({ suppressedHealMs: 50 });
    try {
      const a = quick.add(A);
      const b = quick.add(B);
      b.messaging.on('p', () => 1);
      quick.link(a, b);
      await until(() => a.registry!.servers('p').length === 1, 2_000);
      a.registry!.suppress(B, 'p');
      expect(a.registry!.servers('p')).toEqual([]);
      await until(() => a.registry!.servers('p').length === 1, 2_000, 'healed by a re-hello');
      const hellos = quick.network.sent.filter(
        x => x.from === A && x.envelope.topic === REGISTRY_HELLO,
      );
      expect(hellos).toHaveLength(2);
    } finally {
      quick.close();
    }
  });

  it('refuses a messaging layer without local topics', () => {
    const m = net.network.add(A);
    const withoutTopics = {
      send: m.send.bind(m),
      on: m.on.bind(m),
    } as unknown as RegistryMessaging;
    const cluster = new ScriptedCluster(A);
    expect(() => new ServiceRegistry({ cluster, messaging: withoutTopics })).toThrow(
      expect.objectContaining({ code: 'ERR_MESSAGING_UNSUPPORTED' }),
    );
  });
});
