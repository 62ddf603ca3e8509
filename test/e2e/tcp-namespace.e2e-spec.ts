/**
 * The cluster namespace in the TCP dist, with real sockets in one process: nodes of one namespace
 * link, nodes of two never do (refused in the handshake, logged once per source however often
 * they retry), and a node that does not tell its namespace (as a version before namespaces) is
 * taken as "default".
 */
import type { ClusterEvent } from '../../src/index.js';
import {
  type MeshNode,
  startInProcess,
  startMesh,
  stopInProcess,
  stopMeshes,
  type TestNode,
} from '../support/in-process.js';
import { until } from '../support/wait.js';

const addr = (node: TestNode | MeshNode, name: string) => `${name}@127.0.0.1:${node.port}`;
const failures = (node: TestNode) =>
  node.events.filter(
    (e): e is Extract<ClusterEvent, { type: 'connectFailed' }> => e.type === 'connectFailed',
  );
const nodeUps = (node: TestNode) => node.events.filter(e => e.type === 'nodeUp');
/** Warnings about a namespace refusal, whichever layer writes them (at most one per source). */
const namespaceWarnings = (logs: string[]) =>
  logs.filter(l => l.startsWith('warn') && /cluster namespace/.test(l));

describe('TCP dist: cluster namespaces (real sockets, one process)', () => {
  afterEach(async () => {
    await stopInProcess();
    await stopMeshes();
  });

  it('links two nodes of the same namespace', async () => {
    const b = await startInProcess('b', [], { namespace: 'payments' });
    const a = await startInProcess('a', [addr(b, 'b')], { namespace: 'payments' });
    await until(
      () => a.cluster.nodes().length === 1 && b.cluster.nodes().length === 1,
      5_000,
      'a link in namespace payments',
    );
  });

  it('never links nodes of two namespaces with the same cookie, and logs it once per source', async () => {
    const b = await startInProcess('b', [], { namespace: 'team-b' });
    const a = await startInProcess('a', [addr(b, 'b')], { namespace: 'team-a' });
    // Several attempts, each refused in the handshake.
    await until(() => failures(a).length >= 4, 10_000, 'four refused attempts');
    for (const failure of failures(a))
      expect(failure.error).toMatchObject({
        code: 'ERR_NAMESPACE_MISMATCH',
        reason: 'namespace',
        byPeer: true,
      });
    expect(a.cluster.nodes()).toEqual([]);
    expect(b.cluster.nodes()).toEqual([]);
    expect(nodeUps(a)).toEqual([]);
    expect(nodeUps(b)).toEqual([]);
    // One warning on each side: the acceptor's link layer keys it by source address, and the
    // dialler reports its failing peer once (a periodic summary follows only after a minute).
    const onB = namespaceWarnings(b.logs);
    const onA = namespaceWarnings(a.logs);
    expect(onB).toHaveLength(1);
    expect(onB[0]).toMatch(/127\.0\.0\.1.*"team-a".*"team-b"/);
    expect(onA).toHaveLength(1);
    expect(onA[0]).toMatch(/b@127\.0\.0\.1.*"team-b".*"team-a"/);
    expect(a.logs.join('\n')).not.toMatch(/Node up/);
  });

  it('refuses in the other direction too: the dialler checks the acceptor’s namespace', async () => {
    // b dials a: a is the acceptor and refuses; then a dials b and b refuses (each side checks).
    const a = await startInProcess('a', [], { namespace: 'team-a' });
    const b = await startInProcess('b', [addr(a, 'a')], { namespace: 'team-b' });
    await until(() => failures(b).length >= 1, 5_000, 'b to be refused');
    a.discovery.answer = [addr(b, 'b')];
    await a.cluster.refresh();
    await until(() => failures(a).length >= 1, 5_000, 'a to be refused');
    expect(failures(a)[0]!.error).toMatchObject({ code: 'ERR_NAMESPACE_MISMATCH' });
    expect(a.cluster.nodes()).toEqual([]);
    expect(b.cluster.nodes()).toEqual([]);
  });

  it('takes a node that tells no namespace as "default": linked by default, refused by others', async () => {
    // A bare mesh without the namespace option announces none, as a version before namespaces.
    const older = await startMesh('older');
    const byDefault = await startInProcess('new', [addr(older, 'older')]);
    await until(() => byDefault.cluster.nodes().length === 1, 5_000, 'the older node to link');
    expect(byDefault.dist.namespace).toBe('default');

    const other = await startInProcess('other', [addr(older, 'older')], { namespace: 'other' });
    await until(() => failures(other).length >= 2, 10_000, 'the other namespace to be refused');
    expect(failures(other)[0]!.error).toMatchObject({ code: 'ERR_NAMESPACE_MISMATCH' });
    expect(other.cluster.nodes()).toEqual([]);
    expect(older.events.filter(e => e.includes('other@'))).toEqual([]);
    // and when the older node dials
    await older.mesh.connect({ node: 'other@127.0.0.1', port: other.port }).catch(() => false);
    expect(other.cluster.nodes()).toEqual([]);
    expect(namespaceWarnings(other.logs).length).toBeGreaterThanOrEqual(1);
  });
});
