import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from '../support/managed-process.js';
import { HttpRelay, NetworkNamespace, waitForLine } from '../support/netns.js';
import { TEST_COOKIE } from '../support/nodes.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/wait.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sampleMain = join(root, 'dist', 'sample', 'main.js');

/** The host name as stock Debian maps it in /etc/hosts (a container maps it to its address). */
const DEBIAN_HOSTS = `127.0.0.1 localhost\n127.0.1.1 ${hostname()}\n::1 localhost\n`;

const isLoopback = (address: string) => {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  return isIP(bare) === 4 ? bare.startsWith('127.') : bare === '::1';
};

/** A sample node inside the namespace: its process and the HTTP port it serves `/cluster` on. */
interface Node {
  readonly process: ManagedProcess;
  readonly http: number;
}

/**
 * Zero-configuration nodes (`local` discovery, nothing else) on a host whose name resolves to
 * 127.0.1.1, as on stock Debian: they must listen on loopback only and still find and dial each
 * other, so they must advertise the loopback address they listen on, not the host name. The host
 * is a network namespace this suite creates, with its own /etc/hosts.
 */
describe('zero-configuration nodes on a host whose name resolves to 127.0.1.1', () => {
  let namespace: NetworkNamespace;
  let relay: HttpRelay;
  const nodes: Node[] = [];

  beforeAll(async () => {
    namespace = await NetworkNamespace.create('zeroconf', DEBIAN_HOSTS);
    relay = await HttpRelay.start(namespace);
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(node => node.process.stop(2_000)));
  });
  afterAll(async () => {
    await relay?.stop();
    namespace?.destroy();
  });

  async function start(env: Record<string, string> = {}): Promise<Node> {
    const child = namespace.spawn(process.execPath, [sampleMain], {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      GEN_CLUSTER_COOKIE: TEST_COOKIE,
      GEN_CLUSTER_DISCOVERY: 'local',
      GEN_CLUSTER_REFRESH_INTERVAL_MS: '1000',
      ...env,
    });
    const managed = new ManagedProcess(child);
    const ready = await waitForLine(managed, /SAMPLE_READY \{/, 20_000, 'a sample node');
    const node = {
      process: managed,
      http: (JSON.parse(/\{.*\}/.exec(ready)![0]) as { http: number }).http,
    };
    nodes.push(node);
    return node;
  }

  const view = (node: Node) =>
    relay.get<{ self: string; members: string[] }>(`http://127.0.0.1:${node.http}/cluster`);

  /** Every node sees all the others. */
  async function fullMesh(of: readonly Node[]): Promise<boolean> {
    const views = await Promise.all(of.map(view));
    if (views.some(v => v === undefined)) return false;
    const selves = views.map(v => v!.self);
    return views.every(
      (v, i) =>
        JSON.stringify(v!.members) === JSON.stringify(selves.filter((_, j) => j !== i).sort()),
    );
  }

  async function startThree(env: Record<string, string>): Promise<string[]> {
    const three = [await start(env), await start(env), await start(env)];
    await until(() => fullMesh(three), 20_000, 'a full mesh of three');
    return (await Promise.all(three.map(view))).map(v => v!.self);
  }

  it('resolves the host name to 127.0.1.1 in this namespace (the premise)', async () => {
    expect(await namespace.run('getent', ['hosts', hostname()])).toMatch(/^127\.0\.1\.1\s/);
  });

  it('cluster with no setting but local discovery, and listen on loopback only', async () => {
    const mapper = String(await freePort());
    const selves = await startThree({ GEN_CLUSTER_PORTMAPPER_PORT: mapper });
    for (const self of selves) expect(self).toMatch(/^node-\d+@127\.0\.0\.1$/);
    const listeners = await namespace.listeners();
    // three dists, three HTTP servers and the port mapper
    expect(listeners.length).toBeGreaterThanOrEqual(7);
    expect(listeners.filter(l => !isLoopback(l.address))).toEqual([]);
  });

  it('cluster with GEN_CLUSTER_BIND=127.0.0.1: they advertise the address they listen on', async () => {
    const selves = await startThree({
      GEN_CLUSTER_PORTMAPPER_PORT: String(await freePort()),
      GEN_CLUSTER_BIND: '127.0.0.1',
    });
    for (const self of selves) expect(self).toMatch(/^node-\d+@127\.0\.0\.1$/);
  });

  it('listen beyond loopback when GEN_CLUSTER_BIND says so, keep the host name, and cluster', async () => {
    const selves = await startThree({
      GEN_CLUSTER_PORTMAPPER_PORT: String(await freePort()),
      GEN_CLUSTER_BIND: '0.0.0.0',
    });
    for (const self of selves)
      expect(self).toBe(`${self.split('@')[0]}@${hostname().toLowerCase()}`);
    const listeners = await namespace.listeners();
    expect(listeners.filter(l => l.address === '0.0.0.0')).toHaveLength(3);
  });
});
