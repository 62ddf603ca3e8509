/**
 * etcd outages under a formed cluster of three node processes (lease TTL 2 s): etcd killed and
 * restarted on the same data dir (refused connections) shorter and longer than the TTL (a restart
 * renews the leases, so even the longer one loses none), and
 * frozen with SIGSTOP longer than the TTL (requests time out). Each time: no node goes down on any
 * node, every node reports `discoveryError`, nothing is `lost` while etcd is away (the last good
 * answer stands), and once etcd is back every live node's key is there again within two keepalive
 * periods (plus etcd's restart) and the watches resume. Longer and repeated outages: test/soak.
 */
import {
  Etcd,
  type EtcdNode,
  etcdNodeOptions,
  etcdOutage,
  startEtcdNode,
} from '../support/etcd.js';
import { until } from '../support/wait.js';

const TTL = 2;
const KEEPALIVE_MS = (TTL * 1_000) / 3;
/** Keys back after etcd returns: a keepalive period or two, plus etcd's own start under load. */
const RESTORE_WITHIN_MS = 4 * KEEPALIVE_MS + 8_000;
const PREFIX = '/gc-outage';
const names = ['o1', 'o2', 'o3'].map(n => `${n}@127.0.0.1`);
const keys = names.map(n => `${PREFIX}/default/${n}`);

describe('etcd outages (real etcd)', () => {
  let etcd: Etcd;
  let nodes: EtcdNode[] = [];

  beforeAll(async () => {
    etcd = await Etcd.start();
    const options = etcdNodeOptions(etcd, PREFIX, TTL, 500);
    nodes = await Promise.all(names.map(n => startEtcdNode(n, options)));
    await until(() => nodes.every(n => n.members().length === 2), 10_000, 'a mesh of three');
  });

  afterAll(async () => {
    await Promise.all(nodes.map(n => n.kill()));
    await etcd?.stop();
  });

  /** Runs an outage; checks what must hold during it and after it. */
  async function outage(
    away: () => void | Promise<void>,
    back: () => void | Promise<void>,
    ms: number,
  ) {
    const report = await etcdOutage(etcd, nodes, {
      keyPrefix: `${PREFIX}/default/`,
      liveKeys: keys,
      away,
      back,
      ms,
      // a generous window: it includes etcd's own restart (the figure is printed, not asserted)
      restoreWithinMs: RESTORE_WITHIN_MS,
    });
    // the last good answer stood: nothing lost, nobody down while etcd was away
    for (const lines of report.whileAway)
      expect(lines.filter(l => l.event === 'lost' || l.event === 'nodeDown')).toEqual([]);
    for (const [i, n] of nodes.entries()) {
      expect(report.lines[i]!.filter(l => l.event === 'nodeDown')).toEqual([]);
      expect(n.members()).toEqual(names.filter(x => x !== n.node));
    }
    return { restored: report.restoredMs, lines: report.lines };
  }

  it('survives etcd killed for less than the lease TTL', async () => {
    const { restored } = await outage(
      () => etcd.kill(),
      () => etcd.restart(),
      1_000,
    );
    console.log(
      `etcd outage < TTL: every key back ${Math.round(restored)} ms after etcd restarted`,
    );
  });

  it('a restart past the TTL keeps the leases', async () => {
    const { lines } = await outage(
      () => etcd.kill(),
      () => etcd.restart(),
      TTL * 1_000 + 500,
    );
    // a restarted member renews every lease it had (unlike a frozen one): no lease is lost
    for (const nodeLines of lines) {
      const messages = nodeLines.map(l => l.m ?? '');
      expect(messages.filter(m => /lease \d+ of .* is gone/.test(m))).toEqual([]);
    }
  });

  it('survives etcd frozen (SIGSTOP) for longer than the lease TTL', async () => {
    const { lines } = await outage(
      async () => etcd.pause(),
      async () => etcd.resume(),
      // the last keepalive was at most TTL/3 before the pause: every lease expires during it
      TTL * 1_000 + 500,
    );
    // frozen past the TTL, etcd expires every lease when it resumes: each node logs the loss
    // once, grants a new lease and registers again (a restart instead renews leases)
    for (const nodeLines of lines) {
      const messages = nodeLines.map(l => l.m ?? '');
      expect(messages.filter(m => /lease \d+ of .* is gone/.test(m))).toHaveLength(1);
      expect(messages.filter(m => /registered again with lease/.test(m))).toHaveLength(1);
    }
  });
});
