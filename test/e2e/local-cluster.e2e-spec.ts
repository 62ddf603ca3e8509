import { type SampleNode, startNode, stopAll } from '../support/nodes.js';
import { freeSharedPort } from '../support/ports.js';
import { until } from '../support/wait.js';

/**
 * gen_cluster's epmd_all, in Node: processes with no configuration but `local` discovery register
 * with the host's port mapper (one of them provides it) and find each other through it.
 */
describe('local discovery: zero-configuration clustering through the host port mapper', () => {
  let mapperPort = 0;
  const start = () =>
    startNode({
      GEN_CLUSTER_DISCOVERY: 'local',
      // a mapper port of this test's own, so a demo running on this machine is not disturbed
      GEN_CLUSTER_PORTMAPPER_PORT: String(mapperPort),
      GEN_CLUSTER_REFRESH_INTERVAL_MS: '1000',
    });
  const views = (nodes: SampleNode[]) =>
    Promise.all(nodes.map(n => n.cluster().catch(() => undefined)));
  const fullMesh = async (nodes: SampleNode[]) => {
    const all = await views(nodes);
    const names = all.map(v => v?.self);
    return all.every(
      (v, i) =>
        v !== undefined &&
        JSON.stringify(v.members) === JSON.stringify(names.filter((_, j) => j !== i).sort()),
    );
  };

  beforeEach(async () => {
    mapperPort = await freeSharedPort(['127.0.0.1']);
  });
  afterEach(stopAll);

  it('forms a full mesh of five processes with ephemeral ports and default names', async () => {
    const nodes: SampleNode[] = [];
    for (let i = 0; i < 5; i++) nodes.push(await start());
    await until(() => fullMesh(nodes), 20_000, 'a full mesh of five');
    const selves = (await views(nodes)).map(v => v!.self);
    expect(new Set(selves).size).toBe(5);
    for (const self of selves) expect(self).toMatch(/^node-\d+@/);
  });

  it('survives SIGKILL of the process holding the port mapper, and a sixth process still joins', async () => {
    const nodes: SampleNode[] = [];
    for (let i = 0; i < 5; i++) nodes.push(await start());
    await until(() => fullMesh(nodes), 20_000, 'a full mesh of five');
    // the first process started the mapper (nothing answered before it)
    const holder = nodes.shift()!;
    await holder.kill();
    await until(
      () => fullMesh(nodes),
      10_000,
      'the four survivors to drop the holder and stay connected',
    );
    const sixth = await start();
    nodes.push(sixth);
    // two refresh intervals (plus the time it takes to start and register)
    await until(() => fullMesh(nodes), 2 * 1_000 + 3_000, 'the sixth process to join');
  });
});
