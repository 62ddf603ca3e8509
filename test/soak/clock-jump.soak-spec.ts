/**
 * Scenario 14: the wall clock of running nodes jumps by an hour, forward on one and back on
 * another, in the middle of a run, and back again later. The nodes run under libfaketime with a
 * timestamp file read on every clock call (`FAKETIME_NO_CACHE=1`), so writing the file moves the
 * clock of the running process at once; `FAKETIME_DONT_FAKE_MONOTONIC=1` leaves the monotonic
 * clock alone, as a real wall-clock step (NTP, a VM resume) would. Every link goes through a
 * {@link TcpProxy} without delay, which measures the longest silence on each direction of each link.
 *
 * Pass: no nodeDown on any node, the mesh never changes, heartbeats keep flowing on every link at
 * their cadence (the longest silence stays far below the failure timeout), and a node that joins
 * while the clocks are two hours apart is admitted (nodeUp once on each side).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SampleNode, startNode, stopAll } from '../support/nodes.js';
import { freeSharedPort } from '../support/ports.js';
import { type ProxyRouteStats, TcpProxy } from '../support/tcp-proxy.js';
import { until } from '../support/wait.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const HOUR_MS = 3_600_000;
/** How long each clock phase is watched: more than twice the default failure timeout (5 s). */
const PHASE_MS = 12_000;
/**
 * How long the mesh is watched before any jump, to show the links and their cadence as they are
 * without one: more than a failure timeout plus a heartbeat. The phases after a jump are the ones
 * a jump could break, so they keep {@link PHASE_MS}.
 */
const BEFORE_MS = 6_500;
/** The longest silence allowed on a link: heartbeats are every 1 s; 5 s would be a nodeDown. */
const MAX_GAP_MS = 4_000;

const hosts = ['127.0.0.31', '127.0.0.32', '127.0.0.33', '127.0.0.34'];
const names = hosts.map(host => `clock@${host}`);

/** This node's wall clock minus ours, from the `Date` header of its HTTP answer (1 s steps). */
async function skewMs(node: SampleNode): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${node.http}/cluster`);
  await response.arrayBuffer();
  return Date.parse(response.headers.get('date')!) - Date.now();
}

describe('scenario 14: wall-clock jumps of ±1 h in the middle of a run', () => {
  let dir: string | undefined;
  let proxy: TcpProxy | undefined;
  afterAll(async () => {
    await stopAll();
    await proxy?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every link and every heartbeat, and admits a node while clocks are 2 h apart', async () => {
    if (!existsSync(LIBFAKETIME))
      throw new Error(
        `${LIBFAKETIME} is missing: install Debian's "faketime" package (apt-get install -y faketime)`,
      );
    dir = mkdtempSync(join(tmpdir(), 'gen-cluster-clock-'));
    const offsets = hosts.map((_, i) => join(dir!, `offset-${i}`));
    const setOffset = (i: number, offset: string) => writeFileSync(offsets[i]!, `${offset}\n`);
    offsets.forEach((_, i) => setOffset(i, '+0'));

    const [distPort, proxyPort] = [await freeSharedPort(hosts), await freeSharedPort(hosts)];
    proxy = await TcpProxy.start({
      routes: hosts.map(host => ({
        listen: { host, port: proxyPort },
        target: { host, port: distPort },
      })),
      bindSource: true,
    });
    const start = (i: number) =>
      startNode(
        {
          GEN_CLUSTER_NODE: names[i]!,
          GEN_CLUSTER_PORT: String(distPort),
          GEN_CLUSTER_DISCOVERY: `static:${names
            .filter((_, j) => j !== i)
            .map(n => `${n}:${proxyPort}`)
            .join(',')}`,
          LD_PRELOAD: LIBFAKETIME,
          FAKETIME_TIMESTAMP_FILE: offsets[i]!,
          FAKETIME_NO_CACHE: '1',
          FAKETIME_DONT_FAKE_MONOTONIC: '1',
        },
        60_000,
      );
    const nodes = await Promise.all([0, 1, 2].map(start));
    const meshOf = async (group: SampleNode[]) => {
      const views = await Promise.all(group.map(n => n.members()));
      return views.every(
        (members, i) =>
          JSON.stringify(members) ===
          JSON.stringify(
            group
              .filter((_, j) => j !== i)
              .map(n => n.name)
              .sort(),
          ),
      );
    };
    await until(() => meshOf(nodes), 30_000, 'a full mesh of three', 100);
    const formed = await Promise.all(nodes.map(n => n.changes()));
    for (const node of nodes) expect(Math.abs(await skewMs(node))).toBeLessThan(5_000);

    const flaps: string[] = [];
    /** Watches the mesh of `group` for `ms`; returns the proxy counters at its end. */
    const phase = async (
      what: string,
      group: SampleNode[],
      ms = PHASE_MS,
    ): Promise<ProxyRouteStats[]> => {
      await proxy!.resetGaps();
      const before = await proxy!.stats();
      const started = performance.now();
      while (performance.now() - started < ms) {
        if (!(await meshOf(group))) flaps.push(`${what}: ${performance.now() - started} ms`);
        await new Promise(resolve => setTimeout(resolve, 500));
      }
      const after = await proxy!.stats();
      // Heartbeats kept flowing: bytes went both ways, on links that stayed the same.
      const sum = (stats: ProxyRouteStats[], key: 'toTarget' | 'toClient') =>
        stats.reduce((total, s) => total + s.bytes[key], 0);
      expect(sum(after, 'toTarget')).toBeGreaterThan(sum(before, 'toTarget'));
      expect(sum(after, 'toClient')).toBeGreaterThan(sum(before, 'toClient'));
      expect(after.map(s => s.established)).toEqual(before.map(s => s.established));
      return after;
    };
    const gaps: Record<string, number> = {};
    const record = (what: string, stats: ProxyRouteStats[]) => {
      gaps[what] = Math.round(
        Math.max(...stats.map(s => Math.max(s.maxDeliveryGapMs, s.longestSilenceNowMs))),
      );
    };

    record('before', await phase('before the jump', nodes, BEFORE_MS));

    // A +1 h, B -1 h, C unchanged.
    setOffset(0, '+1h');
    setOffset(1, '-1h');
    await until(
      async () =>
        Math.abs((await skewMs(nodes[0]!)) - HOUR_MS) < 60_000 &&
        Math.abs((await skewMs(nodes[1]!)) + HOUR_MS) < 60_000,
      15_000,
      'the clocks to jump',
    );
    record('jumped', await phase('after the jump', nodes));

    // A fourth node joins while A and B are two hours apart.
    nodes.push(await start(3));
    await until(() => meshOf(nodes), 30_000, 'a full mesh of four', 100);
    const joined = await Promise.all(nodes.map(n => n.changes()));

    // Both jump back.
    setOffset(0, '+0');
    setOffset(1, '+0');
    await until(
      async () =>
        Math.abs(await skewMs(nodes[0]!)) < 60_000 && Math.abs(await skewMs(nodes[1]!)) < 60_000,
      15_000,
      'the clocks to jump back',
    );
    record('jumpedBack', await phase('after the jump back', nodes));
    console.log(`clock-jump figures (longest silence on a link, ms): ${JSON.stringify(gaps)}`);

    expect(flaps).toEqual([]);
    expect(Object.values(gaps).every(gap => gap < MAX_GAP_MS)).toBe(true);
    const changes = await Promise.all(nodes.map(n => n.changes()));
    for (const i of nodes.keys()) {
      const since = changes[i]!.slice(i < 3 ? formed[i]!.length : 0);
      expect(since.filter(c => c.type === 'nodeDown')).toEqual([]);
      // the only change on the first three: the fourth node's arrival, once each
      const ups = since.filter(c => c.type === 'nodeUp').map(c => c.node);
      expect(ups.sort()).toEqual(i < 3 ? [names[3]] : names.slice(0, 3));
      // and nothing happened to anyone after the jump back
      expect(changes[i]).toEqual(joined[i]);
    }
  }, 240_000);
});
