/**
 * Two cluster namespaces on one host, every node with the same cookie and `local` discovery
 * through one port mapper (of this test's own): each namespace is a cluster apart. The port
 * mapper keeps them apart (each node's registration carries its namespace), and the handshake
 * refuses a node of another namespace that dials anyway, logging it once per source.
 */
import { type Server, type Socket, connect, createServer } from 'node:net';
import { PortMapperClient, type RegisteredNode } from '../../src/portmapper/index.js';
import { type SampleNode, startNode, stopAll } from '../support/nodes.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/wait.js';

const pid = process.pid;
/** Node names carry this process's id; every node lives on 127.0.0.1. */
const nodeName = (part: string) => `${part}-${pid}@127.0.0.1`;

/** `GET /cluster` with the namespace the sample adds. */
async function view(
  node: SampleNode,
): Promise<{ self: string; members: string[]; namespace?: string }> {
  const response = await fetch(`http://127.0.0.1:${node.http}/cluster`);
  return (await response.json()) as { self: string; members: string[]; namespace?: string };
}

const sorted = (list: readonly string[] | undefined) => [...(list ?? [])].sort();

/** {@link until}, failing with what each node discovered and its last lines. */
async function untilOr(
  nodes: Record<string, SampleNode>,
  condition: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  try {
    await until(condition, timeoutMs, what);
  } catch (error) {
    const report = await Promise.all(
      Object.entries(nodes).map(
        async ([label, node]) =>
          `${label}: discovered ${JSON.stringify(await node.discovered())}, members ${JSON.stringify(
            await node.members(),
          )}\n  ${node.output.slice(-15).join('\n  ')}`,
      ),
    );
    throw new Error(`${(error as Error).message}\n${report.join('\n')}`);
  }
}
const namespaceLines = (node: SampleNode) => node.output.filter(l => /cluster namespace/.test(l));

/** A TCP proxy to `target` on loopback that counts the connections it forwarded. */
async function countingProxy(target: number) {
  const sockets = new Set<Socket>();
  let opened = 0;
  let closed = 0;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
  };
  const server: Server = createServer(inbound => {
    opened++;
    const outbound = connect({ host: '127.0.0.1', port: target });
    track(inbound);
    track(outbound);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      closed++;
      inbound.destroy();
      outbound.destroy();
    };
    inbound.once('close', end);
    outbound.once('close', end);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    get opened() {
      return opened;
    },
    get closed() {
      return closed;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise(resolve => server.close(resolve));
    },
  };
}

describe('cluster namespaces: two apps on one host with the same cookie and local discovery', () => {
  let mapperPort = 0;
  const canaries: RegisteredNode[] = [];
  const proxies: { close(): Promise<void> }[] = [];

  const start = (part: string, namespace: string, discovery = 'local') =>
    startNode({
      GEN_CLUSTER_NODE: nodeName(part),
      GEN_CLUSTER_DISCOVERY: discovery,
      GEN_CLUSTER_NAMESPACE: namespace,
      GEN_CLUSTER_PORTMAPPER_PORT: String(mapperPort),
      GEN_CLUSTER_REFRESH_INTERVAL_MS: '500',
    });

  /**
   * Registers a name that no node serves in `namespace`. Once a node's discovery lists it, that
   * discovery has run after everything registered before it: its answer can be checked.
   */
  async function canary(part: string, namespace: string): Promise<string> {
    const client = new PortMapperClient({ port: mapperPort });
    canaries.push(await client.register(`${part}-${pid}`, await freePort(), { namespace }));
    return nodeName(part);
  }

  beforeEach(async () => {
    mapperPort = await freePort();
  });
  afterEach(async () => {
    await stopAll();
    await Promise.all(canaries.splice(0).map(c => c.close()));
    await Promise.all(proxies.splice(0).map(p => p.close()));
  });

  it('keeps them apart: A’s two nodes cluster, B stays alone, and nobody even dials across', async () => {
    const b = await start('b', 'team-b');
    const a1 = await start('a1', 'team-a');
    const a2 = await start('a2', 'team-a');
    await until(
      async () =>
        sorted(await a1.members()).join() === nodeName('a2') &&
        sorted(await a2.members()).join() === nodeName('a1'),
      20_000,
      'a1 and a2 to cluster',
    );
    // The mapper holds all three, each with its namespace.
    const registered = await new PortMapperClient({ port: mapperPort }).nodes('127.0.0.1');
    expect(registered.map(n => `${n.name}:${n.namespace}`).sort()).toEqual([
      `a1-${pid}:team-a`,
      `a2-${pid}:team-a`,
      `b-${pid}:team-b`,
    ]);

    // Each discovery answers after every node registered: A's never names B, B's never names A.
    const canaryA = await canary('canary-a', 'team-a');
    const canaryB = await canary('canary-b', 'team-b');
    await untilOr(
      { a1, a2, b },
      async () =>
        (await a1.discovered())?.includes(canaryA) === true &&
        (await a2.discovered())?.includes(canaryA) === true &&
        (await b.discovered())?.includes(canaryB) === true,
      10_000,
      'every discovery to list its canary',
    );
    expect(sorted(await a1.discovered())).toEqual(sorted([nodeName('a2'), canaryA]));
    expect(sorted(await a2.discovered())).toEqual(sorted([nodeName('a1'), canaryA]));
    expect(await b.discovered()).toEqual([canaryB]);

    expect(await view(a1)).toEqual({
      self: nodeName('a1'),
      members: [nodeName('a2')],
      namespace: 'team-a',
    });
    expect(await view(b)).toEqual({ self: nodeName('b'), members: [], namespace: 'team-b' });
    expect((await a1.changes()).map(c => `${c.type} ${c.node}`)).toEqual([
      `nodeUp ${nodeName('a2')}`,
    ]);
    expect(await b.changes()).toEqual([]);
    // No handshake across namespaces was even tried.
    for (const node of [a1, a2, b]) expect(namespaceLines(node)).toEqual([]);
  });

  it('refuses a node of B that dials A anyway, never makes it a member, and logs it once per source', async () => {
    const a1 = await start('a1', 'team-a');
    const a2 = await start('a2', 'team-a');
    await until(
      async () => (await a1.members())?.length === 1 && (await a2.members())?.length === 1,
      20_000,
      'a1 and a2 to cluster',
    );
    // B names a1 in static discovery (as a stale list would), reaching it through a proxy that
    // counts B's attempts.
    const a1Port = (await new PortMapperClient({ port: mapperPort }).lookup(
      '127.0.0.1',
      `a1-${pid}`,
    ))!.port;
    const proxy = await countingProxy(a1Port);
    proxies.push(proxy);
    const b = await start('b', 'team-b', `static:${nodeName('a1')}:${proxy.port}`);
    await until(() => proxy.closed >= 3, 20_000, 'three refused attempts from b');

    // a1 (the acceptor) warned once for that source, however many attempts it refused.
    const onA1 = namespaceLines(a1);
    expect(onA1).toHaveLength(1);
    expect(onA1[0]).toMatch(/WARN/);
    expect(onA1[0]).toMatch(/"team-b".*"team-a"/);
    // b learnt why, as a warning too.
    await until(() => namespaceLines(b).length >= 1, 5_000, 'b to log the refusal');
    expect(namespaceLines(b)[0]).toMatch(/WARN/);
    expect(namespaceLines(b)[0]).toMatch(/"team-a".*"team-b"/);

    expect(await b.members()).toEqual([]);
    expect(await b.changes()).toEqual([]);
    expect(await a1.members()).toEqual([nodeName('a2')]);
    expect(await a2.members()).toEqual([nodeName('a1')]);
    for (const node of [a1, a2])
      expect((await node.changes()).filter(c => c.node === nodeName('b'))).toEqual([]);
  });
});
