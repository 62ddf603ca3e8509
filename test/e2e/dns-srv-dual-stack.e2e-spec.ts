/**
 * Scenario 46, a dual-stack SRV target: a target with both an A and an AAAA record, whose node
 * listens on one family only (here ::1, as a node bound to an IPv6 address in a dual-stack zone).
 * The dialler resolves the target's host name through the DNS servers (`lookupWith` in
 * src/distribution/tcp/tcp.dist.ts), asks A and AAAA, and tries every address (Happy Eyeballs):
 * the IPv4 address is refused, the IPv6 one answers. Before this was fixed only the first IPv4
 * address was dialled, and the target was never connected.
 */
import { Dnsmasq } from '../support/dnsmasq.js';
import { startNode, stopAll } from '../support/nodes.js';
import { freeSharedPort } from '../support/ports.js';
import { until } from '../support/wait.js';

const SERVICE = 'dual-stack.my-ns';
const SRV = `_dist._tcp.${SERVICE}`;
/** A name whose only record is the node's own: a node discovering it never dials anyone. */
const SOLO = `_solo._tcp.${SERVICE}`;

describe('scenario 46: a dual-stack SRV target reachable on one family only', () => {
  let dns: Dnsmasq | undefined;
  afterEach(async () => {
    await stopAll();
    await dns?.stop();
  });

  it('is dialled on the address that answers (IPv6 here), not only on the first IPv4 one', async () => {
    const port = await freeSharedPort(['127.0.0.47']);
    const sixPort = await freeSharedPort(['::1']);
    const a = `pod-a.${SERVICE}`;
    const six = `pod-six.${SERVICE}`;
    dns = await Dnsmasq.start(
      {
        // nothing listens on 127.0.0.48: pod-six is bound to ::1 only
        a: { [a]: ['127.0.0.47'], [six]: ['127.0.0.48'] },
        aaaa: { [six]: ['::1'] },
        srv: {
          [SRV]: [
            { target: a, port },
            { target: six, port: sixPort },
          ],
          [SOLO]: [{ target: six, port: sixPort }],
        },
      },
      { listen: ['127.0.0.1', '::1'] },
    );
    const env = (host: string, bind: string, dist: number, name: string) => ({
      GEN_CLUSTER_NODE: `app@${host}`,
      GEN_CLUSTER_BIND: bind,
      GEN_CLUSTER_PORT: String(dist),
      GEN_CLUSTER_DISCOVERY: `dns+srv:${name}`,
      GEN_CLUSTER_DNS_SERVERS: dns!.envValue,
      GEN_CLUSTER_REFRESH_INTERVAL_MS: '1000',
    });
    const nodeA = await startNode(env(a, '127.0.0.47', port, SRV), 60_000);
    const nodeSix = await startNode(env(six, '::1', sixPort, SOLO), 60_000);
    await until(
      async () => (await nodeA.members())?.length === 1 && (await nodeSix.members())?.length === 1,
      15_000,
      'pod-a to reach pod-six over IPv6',
    );
    expect(await nodeA.members()).toEqual([`app@${six}`]);
  }, 180_000);
});
