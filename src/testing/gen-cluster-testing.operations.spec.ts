/**
 * Operations through the testing module: health, the system topics and instrumentation hooks work
 * in-process, on three Nest apps of one InMemoryNetwork, as they do over TCP.
 */
import {
  ClusterService,
  type IncomingMessageInfo,
  type OutgoingMessageInfo,
  type RequestOutcome,
} from '../index.js';
import { InMemoryNetwork } from './index.js';
import { testNestNode, threeNestNodesEachTest } from '../../test/support/nest-nodes.js';
import { until } from '../../test/support/wait.js';

describe('operations in GenClusterTestingModule', () => {
  const nodes = threeNestNodesEachTest();

  it('reports readiness against minMembers and liveness, with the snapshot', async () => {
    const [a] = nodes.clusters;
    // Peers may connect to a before a's own discovery round has found them.
    await until(() => a!.health().snapshot.discovered === 2, 5_000, "a's discovery of b and c");
    expect(a!.health()).toEqual({
      ready: { up: true },
      live: { up: true },
      snapshot: expect.objectContaining({ state: 'running', members: 2, discovered: 2 }),
      minMembers: 0,
    });
    expect(a!.health({ minMembers: 2 }).ready).toEqual({ up: true });
    const short = a!.health({ minMembers: 3 });
    expect(short.ready).toMatchObject({ up: false, reason: 'tooFewMembers' });
    expect(short.ready.message).toMatch(/2.*3|3.*2/);
    expect(short.live).toEqual({ up: true });
    expect(short.minMembers).toBe(3);
    expect(() => a!.health({ minMembers: -1 })).toThrow(/minMembers/);
  });

  it('answers the system topics on every node', async () => {
    const [a, b] = nodes.clusters;
    const info = await a!.system.info(b!.self);
    expect(info).toMatchObject({ node: 'b@test', state: 'running' });
    expect([...info.members].sort()).toEqual(['a@test', 'c@test']);
    expect(await a!.system.ping(b!.self)).toBeGreaterThanOrEqual(0);
    const overview = await a!.system.overview();
    expect(overview.self).toBe('a@test');
    expect(overview.nodes.map(n => [n.node, n.ok])).toEqual([
      ['a@test', true],
      ['b@test', true],
      ['c@test', true],
    ]);
  });

  it('runs instrumentation hooks on both sides of a request, and counts it', async () => {
    const [a, b] = nodes.clusters;
    b!.on('ops.echo', (text: string) => text);
    const out: OutgoingMessageInfo[] = [];
    const ends: (RequestOutcome | 'sent')[] = [];
    const seen: { info: IncomingMessageInfo; headers: unknown }[] = [];
    const removeA = a!.instrument({
      outgoing: info => {
        out.push(info);
        return { end: outcome => ends.push(outcome) };
      },
    });
    const removeB = b!.instrument({
      incoming: (info, headers) => {
        seen.push({ info, headers });
        return undefined;
      },
    });
    const before = a!.stats.requests.ok;
    await expect(a!.request(b!.self, 'ops.echo', 'hi')).resolves.toBe('hi');
    await until(() => ends.length > 0, 5_000);
    const user = out.filter(info => !info.internal);
    expect(user).toEqual([
      { node: 'b@test', topic: 'ops.echo', kind: 'request', operation: 'request', internal: false },
    ]);
    expect(ends).toEqual(['ok']);
    expect(seen.filter(s => !s.info.internal)).toEqual([
      {
        info: { from: 'a@test', topic: 'ops.echo', kind: 'request', internal: false },
        headers: undefined,
      },
    ]);
    // the registry's own requests count too, and may run meanwhile
    expect(a!.stats.requests.ok).toBeGreaterThanOrEqual(before + 1);

    removeA();
    removeB();
    await a!.request(b!.self, 'ops.echo', 'again');
    expect(out.filter(info => !info.internal)).toHaveLength(1);
  });

  it('turns readiness down with reason draining while the shutdown drains', async () => {
    const [a, b] = nodes.clusters;
    let release: () => void = () => undefined;
    let serving = false;
    b!.on('ops.slow', () => {
      serving = true;
      return new Promise<string>(resolve => (release = () => resolve('done')));
    });
    await a!.waitForServers('ops.slow', { count: 1, timeoutMs: 5_000 });
    const answer = a!.request(b!.self, 'ops.slow', null, { timeoutMs: 10_000 });
    await until(() => serving, 5_000);
    expect(b!.health().ready).toEqual({ up: true });
    const closing = nodes.apps[1]!.close();
    await until(() => b!.health().ready.reason === 'draining', 5_000);
    expect(b!.health().live).toEqual({ up: true });
    release();
    await expect(answer).resolves.toBe('done');
    await closing;
    nodes.apps.splice(1, 1);
    expect(b!.health().ready.up).toBe(false);
    expect(b!.health().live).toEqual({ up: true });
  });
});

describe('operations of a test node without peers', () => {
  it('is not ready before it starts, and rejects system calls to no one', async () => {
    const network = new InMemoryNetwork();
    const app = await testNestNode(network, 'solo@test', { autoStart: false });
    try {
      const solo = app.get(ClusterService);
      expect(solo.health().ready).toMatchObject({ up: false, reason: 'notStarted' });
      expect(solo.health().live).toEqual({ up: true });
      await solo.start();
      expect(solo.health().ready).toEqual({ up: true });
      expect(solo.health({ minMembers: 1 }).ready).toMatchObject({ reason: 'tooFewMembers' });
      await expect(solo.system.info('nobody@test')).rejects.toMatchObject({
        code: 'ERR_NODE_DOWN',
      });
    } finally {
      await app.close();
    }
  });
});
