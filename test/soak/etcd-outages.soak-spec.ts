import {
  Etcd,
  type EtcdNode,
  etcdNodeOptions,
  etcdOutage,
  startEtcdNode,
} from '../support/etcd.js';
import { until } from '../support/wait.js';

/**
 * The etcd outages of test/e2e/etcd-outage.e2e-spec.ts, repeated and longer: three node processes
 * with lease TTL 3 s; `ETCD_SOAK_ROUNDS` rounds (default 6) of etcd killed for 10 s and restarted,
 * and frozen (SIGSTOP) for 10 s. Every round: no nodeDown on any node, nothing lost while etcd is
 * away, every live key back within two keepalive periods plus etcd's start-up, and discovery
 * working again (a probe key discovered and lost by every node).
 */
const ROUNDS = Number(process.env.ETCD_SOAK_ROUNDS ?? 6);
const TTL = 3;
const PREFIX = '/gc-soak';
const names = ['s1', 's2', 's3'].map(n => `${n}@127.0.0.1`);

describe('etcd outages, repeated (soak)', () => {
  let etcd: Etcd;
  let nodes: EtcdNode[] = [];

  afterAll(async () => {
    await Promise.all(nodes.map(n => n.kill()));
    await etcd?.stop();
  });

  it(`keeps the cluster through ${ROUNDS} rounds of 10 s kills and freezes`, async () => {
    etcd = await Etcd.start();
    const options = etcdNodeOptions(etcd, PREFIX, TTL, 1_000);
    nodes = await Promise.all(names.map(n => startEtcdNode(n, options)));
    await until(() => nodes.every(n => n.members().length === 2), 20_000, 'a mesh of three');
    const restored: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const freeze = round % 2 === 1;
      const report = await etcdOutage(etcd, nodes, {
        keyPrefix: `${PREFIX}/default/`,
        liveKeys: names.map(n => `${PREFIX}/default/${n}`),
        away: () => (freeze ? etcd.pause() : etcd.kill()),
        back: () => (freeze ? etcd.resume() : etcd.restart()),
        ms: 10_000,
        restoreWithinMs: ((2 * TTL) / 3) * 1_000 + 3_000,
      });
      restored.push(Math.round(report.restoredMs));
      for (const lines of report.whileAway)
        expect(lines.filter(l => l.event === 'lost' || l.event === 'nodeDown')).toEqual([]);
      for (const [i, n] of nodes.entries()) {
        expect(report.lines[i]!.filter(l => l.event === 'nodeDown')).toEqual([]);
        expect(n.members()).toEqual(names.filter(x => x !== n.node));
      }
    }
    console.log(`etcd soak: keys restored after ${restored.join(', ')} ms`);
  });
});
