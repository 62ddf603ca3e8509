import { Dnsmasq } from '../support/dnsmasq.js';
import { type SampleNode, startNode, stopAll } from '../support/nodes.js';
import { freeSharedPort } from '../support/ports.js';
import { until } from '../support/wait.js';

const SERVICE = 'my-svc.my-ns';
const REFRESH_MS = 1_000;

/** Waits until every node sees exactly `expected(node)` as its members. */
async function meshIs(
  nodes: SampleNode[],
  expected: (node: SampleNode, i: number) => string[],
  what: string,
  ms = 15_000,
) {
  await until(
    async () => {
      const views = await Promise.all(nodes.map(n => n.members()));
      return views.every(
        (m, i) => JSON.stringify(m) === JSON.stringify(expected(nodes[i]!, i).sort()),
      );
    },
    ms,
    what,
  );
}

describe('DNS discovery in a Kubernetes-like network of pods (real dnsmasq, real processes)', () => {
  let dns: Dnsmasq | undefined;
  afterEach(async () => {
    await stopAll();
    await dns?.stop();
    dns = undefined;
  });

  it('A records of a headless service: three pods on one fixed port each see exactly the two others, follow scale-up, and survive a DNS outage', async () => {
    const ips = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
    const port = await freeSharedPort(ips);
    dns = await Dnsmasq.start({ a: { [SERVICE]: ips.slice(0, 3) } });
    const pod = (ip: string) =>
      startNode({
        GEN_CLUSTER_NODE: `app@${ip}`,
        GEN_CLUSTER_PORT: String(port),
        GEN_CLUSTER_DISCOVERY: `dns:${SERVICE}`,
        GEN_CLUSTER_DNS_SERVERS: dns!.envValue,
        GEN_CLUSTER_REFRESH_INTERVAL_MS: String(REFRESH_MS),
      });
    const nodes = await Promise.all(ips.slice(0, 3).map(pod));
    const others = (_: SampleNode, i: number) =>
      ips
        .slice(0, nodes.length)
        .filter((__, j) => j !== i)
        .map(ip => `app@${ip}`);
    await meshIs(nodes, others, 'three pods in a full mesh');

    // scale up: a fourth pod and its record
    await dns.setRecords({ a: { [SERVICE]: ips } });
    nodes.push(await pod(ips[3]!));
    await meshIs(nodes, others, 'four pods in a full mesh');

    // the DNS server goes away: discovery fails, members stay
    await dns.stop();
    await until(
      () => nodes.every(n => n.output.some(l => /DNS discovery: .*failed/.test(l))),
      20_000,
      'every node to report the DNS failure',
    );
    const views = await Promise.all(nodes.map(n => n.members()));
    expect(views.every(v => v?.length === 3)).toBe(true);

    // it comes back on the same port with the fourth pod removed from the service: discovery
    // recovers (each node's discovered set shrinks) and, under the default "keep" policy, the
    // fourth pod stays connected (it may be handing off work)
    await dns.setRecords({ a: { [SERVICE]: ips.slice(0, 3) } });
    await until(
      async () =>
        (await Promise.all(nodes.slice(0, 3).map(n => n.discovered()))).every(d => d?.length === 2),
      20_000,
      'discovery to recover',
    );
    await meshIs(nodes, others, 'the four pods still connected', 2_000);
  });

  it('keeps every member while the DNS server answers SERVFAIL', async () => {
    const ips = ['127.0.0.6', '127.0.0.7', '127.0.0.8'];
    const port = await freeSharedPort(ips);
    dns = await Dnsmasq.start({ a: { [SERVICE]: ips } });
    const nodes = await Promise.all(
      ips.map(ip =>
        startNode({
          GEN_CLUSTER_NODE: `app@${ip}`,
          GEN_CLUSTER_PORT: String(port),
          GEN_CLUSTER_DISCOVERY: `dns:${SERVICE}`,
          GEN_CLUSTER_DNS_SERVERS: dns!.envValue,
          GEN_CLUSTER_REFRESH_INTERVAL_MS: String(REFRESH_MS),
        }),
      ),
    );
    const others = (_: SampleNode, i: number) =>
      ips.filter((__, j) => j !== i).map(ip => `app@${ip}`);
    await meshIs(nodes, others, 'three pods in a full mesh');
    await dns.setRecords({ servfail: [SERVICE] });
    await until(
      () => nodes.every(n => n.output.some(l => /SERVFAIL/.test(l))),
      20_000,
      'every node to see SERVFAIL',
    );
    await meshIs(nodes, others, 'the mesh to stay whole', 2_000);
  });

  it('SRV records with pod host names: peers are named after the pods and dialled on the SRV ports', async () => {
    const pods = [
      { name: 'pod-a', ip: '127.0.0.9' },
      { name: 'pod-b', ip: '127.0.0.10' },
      { name: 'pod-c', ip: '127.0.0.11' },
    ];
    const port = await freeSharedPort(pods.map(p => p.ip));
    const host = (p: { name: string }) => `${p.name}.${SERVICE}`;
    dns = await Dnsmasq.start({
      a: Object.fromEntries(pods.map(p => [host(p), [p.ip]])),
      srv: { [`_dist._tcp.${SERVICE}`]: pods.map(p => ({ target: host(p), port })) },
    });
    const nodes = await Promise.all(
      pods.map(p =>
        startNode({
          GEN_CLUSTER_NODE: `app@${host(p)}`,
          GEN_CLUSTER_BIND: p.ip,
          GEN_CLUSTER_PORT: String(port),
          GEN_CLUSTER_DISCOVERY: `dns+srv:_dist._tcp.${SERVICE}`,
          GEN_CLUSTER_DNS_SERVERS: dns!.envValue,
          GEN_CLUSTER_REFRESH_INTERVAL_MS: String(REFRESH_MS),
        }),
      ),
    );
    await meshIs(
      nodes,
      (_, i) => pods.filter((__, j) => j !== i).map(p => `app@${host(p)}`),
      'three pods by host name',
    );
  });

  it('IPv6 for real: SRV targets with AAAA records only, connections over ::1', async () => {
    const pods = ['pod-x', 'pod-y', 'pod-z'];
    dns = await Dnsmasq.start({}, { listen: ['::1'] });
    const ports = await Promise.all(pods.map(() => freeSharedPort(['::1'])));
    const host = (p: string) => `${p}.${SERVICE}`;
    await dns.setRecords({
      aaaa: Object.fromEntries(pods.map(p => [host(p), ['::1']])),
      srv: {
        [`_dist._tcp.${SERVICE}`]: pods.map((p, i) => ({ target: host(p), port: ports[i]! })),
      },
    });
    const nodes = await Promise.all(
      pods.map((p, i) =>
        startNode({
          GEN_CLUSTER_NODE: `app@${host(p)}`,
          GEN_CLUSTER_BIND: '::1',
          GEN_CLUSTER_PORT: String(ports[i]),
          GEN_CLUSTER_DISCOVERY: JSON.stringify({
            strategy: 'dns',
            recordType: 'srv',
            domain: `_dist._tcp.${SERVICE}`,
            ipv6: true,
          }),
          GEN_CLUSTER_DNS_SERVERS: dns!.envValue,
          GEN_CLUSTER_REFRESH_INTERVAL_MS: String(REFRESH_MS),
        }),
      ),
    );
    await meshIs(
      nodes,
      (_, i) => pods.filter((__, j) => j !== i).map(p => `app@${host(p)}`),
      'three IPv6 pods',
    );
  });
});
