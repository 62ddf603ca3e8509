import { Dnsmasq } from '../support/dnsmasq.js';
import { type SampleNode, startNode, stopAll } from '../support/nodes.js';
import { freeSharedPort } from '../support/ports.js';
import { until } from '../support/wait.js';

const SERVICE = 'removal.my-ns';
const REFRESH_MS = 1_000;
const IPS = ['127.0.0.21', '127.0.0.22', '127.0.0.23'];
const NAMES = IPS.map(ip => `app@${ip}`);
const [A, B, C] = NAMES as [string, string, string];

/** The JSON log lines of a node (GEN_CLUSTER_LOG_FORMAT=json). */
function entries(node: SampleNode): Record<string, unknown>[] {
  return node.output
    .filter(line => line.startsWith('{'))
    .map(line => JSON.parse(line) as Record<string, unknown>);
}

/** The connects of `node` that its peers refused because they do not discover it. */
function refusedDials(node: SampleNode): Record<string, unknown>[] {
  return entries(node).filter(
    e =>
      typeof e.event === 'string' &&
      e.event.startsWith('connect') &&
      /not-discovered/.test(String(e.message)),
  );
}

describe('removalPolicy "disconnect" against a node that keeps dialling (real dnsmasq, real processes)', () => {
  let dns: Dnsmasq | undefined;
  afterEach(async () => {
    await stopAll();
    await dns?.stop();
    dns = undefined;
  });

  it('keeps a node removed from DNS out on both sides for more than three refresh intervals, and lets it rejoin once its record is back', async () => {
    const port = await freeSharedPort(IPS);
    dns = await Dnsmasq.start({ a: { [SERVICE]: IPS } });
    const pod = (ip: string) =>
      startNode({
        GEN_CLUSTER_NODE: `app@${ip}`,
        GEN_CLUSTER_PORT: String(port),
        GEN_CLUSTER_DISCOVERY: `dns:${SERVICE}`,
        GEN_CLUSTER_DNS_SERVERS: dns!.envValue,
        GEN_CLUSTER_REFRESH_INTERVAL_MS: String(REFRESH_MS),
        GEN_CLUSTER_REMOVAL_POLICY: 'disconnect',
        GEN_CLUSTER_LOG_FORMAT: 'json',
        GEN_CLUSTER_LOG_LEVEL: 'debug',
      });
    const nodes = await Promise.all(IPS.map(pod));
    const [a, b, c] = nodes as [SampleNode, SampleNode, SampleNode];
    const views = async () => Promise.all(nodes.map(n => n.members()));
    const report = async () =>
      `members ${JSON.stringify(await views())}, events of c ${JSON.stringify(await c.changes())}`;
    await until(
      async () => (await views()).every(v => v?.length === 2),
      20_000,
      'three pods in a full mesh',
    );

    // C's record goes: A and B no longer discover it; C still discovers them, and dials them
    await dns.setRecords({ a: { [SERVICE]: IPS.slice(0, 2) } });
    await until(
      async () => {
        const [va, vb, vc] = await views();
        return (
          JSON.stringify(va) === JSON.stringify([B]) &&
          JSON.stringify(vb) === JSON.stringify([A]) &&
          JSON.stringify(vc) === '[]'
        );
      },
      15_000,
      'C disconnected on both sides',
    );
    for (const [node, other] of [
      [a, C],
      [b, C],
    ] as const) {
      expect(await node.changes()).toContainEqual(
        expect.objectContaining({ type: 'nodeDown', node: other, reason: 'disconnected' }),
      );
    }
    const lost = await c.changes();
    expect(lost.filter(e => e.type === 'nodeDown').map(e => e.node)).toEqual(
      expect.arrayContaining([A, B]),
    );
    const eventsAt = await Promise.all(nodes.map(async n => (await n.changes()).length));
    const dialsAt = refusedDials(c).length;
    const since = performance.now();

    // Watched for more than three refresh intervals, until C has been refused at least twice more:
    // nobody links with C meanwhile, and no membership event is emitted anywhere.
    await until(
      async () => {
        const [va, vb, vc] = await views();
        if (va?.includes(C) || vb?.includes(C) || (vc?.length ?? 0) > 0)
          throw new Error(`C got back in: ${await report()}`);
        return (
          performance.now() - since > 3.5 * REFRESH_MS && refusedDials(c).length >= dialsAt + 2
        );
      },
      30_000,
      'C to keep dialling, refused, for more than three refresh intervals',
    );
    const changes = await Promise.all(nodes.map(n => n.changes()));
    changes.forEach((list, i) => expect(list.slice(eventsAt[i])).toEqual([]));
    // the refusal is the admission's: C's dials are refused as not-discovered by A and B
    const refusedBy = new Set(refusedDials(c).map(e => e.peer));
    expect([...refusedBy].sort()).toEqual([A, B]);
    expect(
      entries(a).some(
        e => e.event === 'handshakeRefused' && /not-discovered/.test(String(e.message)),
      ),
    ).toBe(true);

    // the record is back: C rejoins within about one interval (a generous window here)
    await dns.setRecords({ a: { [SERVICE]: IPS } });
    const restoredAt = performance.now();
    await until(
      async () => (await views()).every(v => v?.length === 2),
      10 * REFRESH_MS,
      'C to rejoin',
    );
    const rejoinMs = performance.now() - restoredAt;
    expect(rejoinMs).toBeLessThan(10 * REFRESH_MS);
    for (const node of [a, b])
      expect((await node.changes()).at(-1)).toMatchObject({ type: 'nodeUp', node: C });
  });
});
