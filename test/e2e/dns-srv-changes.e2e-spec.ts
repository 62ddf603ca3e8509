/**
 * Scenario 46: SRV records that change while the cluster runs, and AAAA-only targets among IPv4
 * ones. Real dnsmasq (test/support/dnsmasq.ts), real sample processes, two refreshes a second.
 * (test/e2e/dns-cluster.e2e-spec.ts covers a cluster formed from SRV records, and one whose
 * targets all have AAAA records only.)
 *
 * Pass: every target is connected whatever its priority and weight, and changing them changes
 * nothing (no nodeDown, no nodeUp); the port a node is dialled on is the one its SRV record says,
 * followed when the record changes; an AAAA-only target in a set of IPv4 targets is dialled over
 * IPv6 and meshes with them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Dnsmasq, type DnsRecords, type SrvRecord } from '../support/dnsmasq.js';
import { type SampleNode, startNode, stopAll } from '../support/nodes.js';
import { freeSharedPort } from '../support/ports.js';
import { until } from '../support/wait.js';

const run = promisify(execFile);
const SERVICE = 'srv-changes.my-ns';
const SRV = `_dist._tcp.${SERVICE}`;
/** A name whose only record is the node's own: a node discovering it never dials anyone. */
const SOLO = `_solo._tcp.${SERVICE}`;
/** Short, so that the waits for refreshes below are short: nothing here depends on the cadence. */
const REFRESH_MS = 500;
/** Starting a Nest process takes seconds on a busy 2-core machine; this is only a bound. */
const START_MS = 60_000;
const host = (pod: string) => `${pod}.${SERVICE}`;
const nameOf = (pod: string) => `app@${host(pod)}`;

/** Waits until node `i` of `nodes` lists exactly `expected(i)` as its members. */
async function meshIs(
  nodes: readonly SampleNode[],
  expected: (i: number) => string[],
  what: string,
  ms = 30_000,
): Promise<void> {
  await until(
    async () => {
      const views = await Promise.all(nodes.map(n => n.members()));
      return views.every((m, i) => JSON.stringify(m) === JSON.stringify(expected(i).sort()));
    },
    ms,
    what,
    100,
  );
}

/** Waits until dnsmasq answered `count` more SRV queries for `name` (so nodes refreshed). */
async function refreshes(dns: Dnsmasq, name: string, after: number, count: number): Promise<void> {
  await until(
    () => srvQueries(dns, name) >= after + count,
    count * REFRESH_MS + 15_000,
    `${count} SRV lookups of ${name}`,
  );
}

const srvQueries = (dns: Dnsmasq, name: string) =>
  dns.queries().filter(q => q.type === 'SRV' && q.name === name).length;

describe('scenario 46: SRV records changing during a run, AAAA-only targets', () => {
  let dns: Dnsmasq | undefined;
  afterEach(async () => {
    await stopAll();
    await dns?.stop();
    dns = undefined;
  });

  it('keeps every target connected whatever the priorities and weights, and changing them changes nothing', async () => {
    const pods = [
      { pod: 'pod-a', ip: '127.0.0.41' },
      { pod: 'pod-b', ip: '127.0.0.42' },
      { pod: 'pod-c', ip: '127.0.0.43' },
    ];
    const port = await freeSharedPort(pods.map(p => p.ip));
    const records = (shares: readonly (readonly [number, number])[]): DnsRecords => ({
      a: Object.fromEntries(pods.map(p => [host(p.pod), [p.ip]])),
      srv: {
        [SRV]: pods.map((p, i): SrvRecord => ({
          target: host(p.pod),
          port,
          priority: shares[i]![0],
          weight: shares[i]![1],
        })),
      },
    });
    dns = await Dnsmasq.start(
      records([
        [10, 50],
        [10, 30],
        [20, 0],
      ]),
    );
    const nodes = await Promise.all(
      pods.map(p =>
        startNode(
          {
            GEN_CLUSTER_NODE: nameOf(p.pod),
            GEN_CLUSTER_BIND: p.ip,
            GEN_CLUSTER_PORT: String(port),
            GEN_CLUSTER_DISCOVERY: `dns+srv:${SRV}`,
            GEN_CLUSTER_DNS_SERVERS: dns!.envValue,
            GEN_CLUSTER_REFRESH_INTERVAL_MS: String(REFRESH_MS),
          },
          START_MS,
        ),
      ),
    );
    const others = (i: number) => pods.filter((_, j) => j !== i).map(p => nameOf(p.pod));
    await meshIs(nodes, others, 'three pods, lower-priority and weight-0 targets included');
    const formed = await Promise.all(nodes.map(n => n.changes()));

    for (const shares of [
      // priorities swapped, weights moved
      [
        [20, 0],
        [10, 100],
        [10, 5],
      ],
      // three priorities, all weights 0
      [
        [1, 0],
        [2, 0],
        [3, 0],
      ],
      // the extremes RFC 2782 allows
      [
        [0, 65_535],
        [65_535, 0],
        [0, 1],
      ],
    ] as const) {
      const before = srvQueries(dns, SRV);
      await dns.setRecords(records(shares));
      await refreshes(dns, SRV, before, 2 * nodes.length);
      for (const [i, node] of nodes.entries())
        expect((await node.discovered())?.sort()).toEqual(others(i).sort());
      await meshIs(nodes, others, `the mesh after the change to ${JSON.stringify(shares)}`, 2_000);
    }
    expect(await Promise.all(nodes.map(n => n.changes()))).toEqual(formed);
  }, 240_000);

  it('dials a target on the port of its SRV record, and follows the record when the port changes', async () => {
    const [a, b, c] = [
      { pod: 'pod-a', ip: '127.0.0.41' },
      { pod: 'pod-b', ip: '127.0.0.42' },
      { pod: 'pod-c', ip: '127.0.0.43' },
    ];
    const port = await freeSharedPort([a.ip, b.ip]);
    const firstPort = await freeSharedPort([c.ip]);
    let secondPort = firstPort;
    while (secondPort === firstPort) secondPort = await freeSharedPort([c.ip]);
    // pod-c discovers nobody, so it never dials: every link to it is dialled by pod-a or pod-b,
    // on the port they read in the record.
    const records = (cPort: number): DnsRecords => ({
      a: Object.fromEntries([a, b, c].map(p => [host(p.pod), [p.ip]])),
      srv: {
        [SRV]: [
          { target: host(a.pod), port },
          { target: host(b.pod), port },
          { target: host(c.pod), port: cPort },
        ],
        [SOLO]: [{ target: host(c.pod), port: cPort }],
      },
    });
    dns = await Dnsmasq.start(records(firstPort));
    const start = (p: typeof a, dist: number, discovery: string) =>
      startNode(
        {
          GEN_CLUSTER_NODE: nameOf(p.pod),
          GEN_CLUSTER_BIND: p.ip,
          GEN_CLUSTER_PORT: String(dist),
          GEN_CLUSTER_DISCOVERY: `dns+srv:${discovery}`,
          GEN_CLUSTER_DNS_SERVERS: dns!.envValue,
          GEN_CLUSTER_REFRESH_INTERVAL_MS: String(REFRESH_MS),
        },
        START_MS,
      );
    const [nodeA, nodeB, firstC] = await Promise.all([
      start(a, port, SRV),
      start(b, port, SRV),
      start(c, firstPort, SOLO),
    ]);
    let nodeC = firstC;
    const all = [a, b, c].map(p => nameOf(p.pod));
    const others = (i: number) => all.filter((_, j) => j !== i);
    await meshIs([nodeA, nodeB, nodeC], others, 'three pods');

    // pod-c comes back on another port; its record still names the old one: nobody reaches it.
    await nodeC.stop();
    nodeC = await start(c, secondPort, SOLO);
    const stale = srvQueries(dns, SRV);
    await refreshes(dns, SRV, stale, 3 * 2);
    expect(await nodeC.members()).toEqual([]);
    expect(await nodeA.members()).toEqual([nameOf(b.pod)]);
    expect(await nodeB.members()).toEqual([nameOf(a.pod)]);

    // the record follows: both dial the new port
    await dns.setRecords(records(secondPort));
    await meshIs([nodeA, nodeB, nodeC], others, 'pod-c on its new port');
    for (const node of [nodeA, nodeB]) {
      const ofC = (await node.changes()).filter(e => e.node === nameOf(c.pod)).map(e => e.type);
      expect(ofC).toEqual(['nodeUp', 'nodeDown', 'nodeUp']);
    }
  }, 240_000);

  it('meshes an AAAA-only target (::1) with IPv4 targets from one SRV set', async () => {
    const v4 = [
      { pod: 'pod-a', ip: '127.0.0.44' },
      { pod: 'pod-b', ip: '127.0.0.45' },
    ];
    const v6 = { pod: 'pod-six', ip: '::1' };
    const port = await freeSharedPort(v4.map(p => p.ip));
    const sixPort = await freeSharedPort([v6.ip]);
    dns = await Dnsmasq.start(
      {
        a: Object.fromEntries(v4.map(p => [host(p.pod), [p.ip]])),
        aaaa: { [host(v6.pod)]: [v6.ip] },
        srv: {
          [SRV]: [
            ...v4.map(p => ({ target: host(p.pod), port, priority: 10, weight: 10 })),
            { target: host(v6.pod), port: sixPort, priority: 20, weight: 0 },
          ],
          [SOLO]: [{ target: host(v6.pod), port: sixPort }],
        },
      },
      { listen: ['127.0.0.1', '::1'] },
    );
    const pods = [...v4.map(p => ({ ...p, port })), { ...v6, port: sixPort }];
    const nodes = await Promise.all(
      pods.map(p =>
        startNode(
          {
            GEN_CLUSTER_NODE: nameOf(p.pod),
            GEN_CLUSTER_BIND: p.ip,
            GEN_CLUSTER_PORT: String(p.port),
            // pod-six discovers nobody, so every link to it is dialled by an IPv4 pod over IPv6
            GEN_CLUSTER_DISCOVERY: `dns+srv:${p === pods[2] ? SOLO : SRV}`,
            GEN_CLUSTER_DNS_SERVERS: dns!.envValue,
            GEN_CLUSTER_REFRESH_INTERVAL_MS: String(REFRESH_MS),
          },
          START_MS,
        ),
      ),
    );
    await meshIs(
      nodes,
      i => pods.filter((_, j) => j !== i).map(p => nameOf(p.pod)),
      'two IPv4 pods and one IPv6-only pod',
    );
    // pod-six knew nobody until it was dialled: that first link is a TCP connection to [::1] on
    // the port of its SRV record (the second may be dialled either way, once pod-six learns of
    // the other pod from the first).
    const links = await run('ss', ['-tnH', 'state', 'established', `( sport = :${sixPort} )`]);
    const local = links.stdout
      .split('\n')
      .filter(Boolean)
      .map(line => line.trim().split(/\s+/)[2]);
    expect(local.length).toBeGreaterThanOrEqual(1);
    expect(new Set(local)).toEqual(new Set([`[::1]:${sixPort}`]));
    expect((await nodes[2]!.changes()).map(e => e.type)).toEqual(['nodeUp', 'nodeUp']);
  }, 240_000);
});
