import { type Socket, createServer } from 'node:net';
import { hostname } from 'node:os';
import {
  type ClusterLogger,
  DiscoveryError,
  InvalidConfigError,
  MAX_TIMER_MS,
} from '../../core/index.js';
import { PortMapperClient, PortMapperServer, type RegisteredNode } from '../../portmapper/index.js';
import { freeSharedPort } from '../../../test/support/ports.js';
import { until } from '../../../test/support/wait.js';
import { LOCAL_MAX_CONCURRENT_LOOKUPS, LocalDiscovery } from './local.discovery.js';

const servers: PortMapperServer[] = [];
const handles: RegisteredNode[] = [];

afterEach(async () => {
  await Promise.all(handles.splice(0).map(h => h.close()));
  await Promise.all(servers.splice(0).map(s => s.close()));
});

const logs: string[] = [];
const logger: ClusterLogger = {
  debug: m => logs.push(m),
  log: m => logs.push(m),
  warn: m => logs.push(m),
  error: m => logs.push(m),
};
const context = (self: string) => ({ self, logger, requestRefresh: () => undefined });

async function mapper(host = '127.0.0.1', port = 0): Promise<PortMapperServer> {
  const server = await PortMapperServer.start({ host, port });
  servers.push(server);
  return server;
}

async function register(
  port: number,
  name: string,
  distPort: number,
  host = '127.0.0.1',
  namespace?: string,
) {
  const options = namespace === undefined ? { host } : { host, namespace };
  handles.push(await new PortMapperClient({ port }).register(name, distPort, options));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise(resolve => server.close(resolve));
  return port;
}

describe('LocalDiscovery', () => {
  beforeEach(() => logs.splice(0));

  it('asks the mapper of this host by default, on port 14369', () => {
    const discovery = new LocalDiscovery({ strategy: 'local' });
    expect(discovery.name).toBe('local');
    expect(discovery.hosts).toEqual(['localhost']);
    expect(discovery.portMapperPort).toBe(14369);
  });

  it('returns every registered node as name@<this node host> with its port, without self', async () => {
    const server = await mapper();
    await register(server.port, 'node-1', 41_001);
    await register(server.port, 'node-2', 41_002);
    await register(server.port, 'self', 41_003);
    const discovery = new LocalDiscovery({ portMapperPort: server.port });
    discovery.init(context('self@my-box'));
    expect(await discovery.peers()).toEqual([
      { node: 'node-1@my-box', port: 41_001 },
      { node: 'node-2@my-box', port: 41_002 },
    ]);
  });

  it('returns a real empty answer when nobody is registered', async () => {
    const server = await mapper();
    const discovery = new LocalDiscovery({ portMapperPort: server.port });
    discovery.init(context('self@my-box'));
    expect(await discovery.peers()).toEqual([]);
  });

  it('treats this host name like localhost', async () => {
    const server = await mapper();
    await register(server.port, 'other', 41_001);
    const discovery = new LocalDiscovery({
      hosts: [hostname(), 'localhost'],
      portMapperPort: server.port,
    });
    expect(discovery.hosts).toEqual(['localhost']);
    discovery.init(context('self@10.1.2.3'));
    expect(await discovery.peers()).toEqual([{ node: 'other@10.1.2.3', port: 41_001 }]);
  });

  it('names the nodes of another host after that host, IPv6 included', async () => {
    const port = await freePort();
    const local = await mapper('127.0.0.1', port);
    const v6 = await mapper('::1', port);
    await register(local.port, 'here', 41_001);
    await register(v6.port, 'there', 41_002, '::1');
    const discovery = new LocalDiscovery({ hosts: ['localhost', '[::1]'], portMapperPort: port });
    discovery.init(context('self@my-box'));
    expect(await discovery.peers()).toEqual([
      { node: 'here@my-box', port: 41_001 },
      { node: 'there@::1', port: 41_002 },
    ]);
  });

  it("asks this node's own host on loopback, once, so one hosts list serves every host", async () => {
    // The mapper listens on 127.0.0.1 only: asked at 127.0.0.2, it would not answer.
    const server = await mapper('127.0.0.1');
    await register(server.port, 'neighbour', 41_001);
    const discovery = new LocalDiscovery({
      hosts: ['127.0.0.2', 'localhost', '127.0.0.2'],
      portMapperPort: server.port,
    });
    discovery.init(context('self@127.0.0.2'));
    expect(await discovery.peers()).toEqual([{ node: 'neighbour@127.0.0.2', port: 41_001 }]);
    expect(discovery.hosts).toEqual(['127.0.0.2']);
  });

  it('names the nodes of another host after the address it was asked at, to dial them there', async () => {
    const server = await mapper('127.0.0.3');
    await register(server.port, 'remote', 41_002, '127.0.0.3');
    const discovery = new LocalDiscovery({ hosts: ['127.0.0.3'], portMapperPort: server.port });
    discovery.init(context('self@127.0.0.1'));
    expect(await discovery.peers()).toEqual([{ node: 'remote@127.0.0.3', port: 41_002 }]);
  });

  it('throws a DiscoveryError, not an empty answer, when the mapper does not answer', async () => {
    const discovery = new LocalDiscovery({ portMapperPort: await freePort() });
    discovery.init(context('self@my-box'));
    const error = await discovery.peers().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscoveryError);
    expect(error).toMatchObject({ code: 'ERR_DISCOVERY_FAILED' });
    expect((error as Error).message).toMatch(/localhost.*ECONNREFUSED/);
  });

  it('keeps the last good names of a host that stops answering while another answers', async () => {
    const port = await freePort();
    const local = await mapper('127.0.0.1', port);
    const v6 = await mapper('::1', port);
    await register(local.port, 'here', 41_001);
    await register(v6.port, 'there', 41_002, '::1');
    const discovery = new LocalDiscovery({ hosts: ['localhost', '::1'], portMapperPort: port });
    discovery.init(context('self@my-box'));
    await discovery.peers();
    await v6.close();
    await register(local.port, 'new', 41_003);
    expect(await discovery.peers()).toEqual([
      { node: 'here@my-box', port: 41_001 },
      { node: 'new@my-box', port: 41_003 },
      { node: 'there@::1', port: 41_002 },
    ]);
    expect(logs.some(l => /::1 did not answer/.test(l))).toBe(true);
    await local.close();
    await expect(discovery.peers()).rejects.toBeInstanceOf(DiscoveryError);
  });

  it('skips registered names that are not node names', async () => {
    const server = await mapper();
    await register(server.port, 'has space', 41_001);
    await register(server.port, 'ok', 41_002);
    const discovery = new LocalDiscovery({ portMapperPort: server.port });
    discovery.init(context('self@my-box'));
    expect(await discovery.peers()).toEqual([{ node: 'ok@my-box', port: 41_002 }]);
  });

  it('lists only the nodes of its namespace; nodes registered without one are "default"', async () => {
    const server = await mapper();
    await register(server.port, 'a-1', 41_001, '127.0.0.1', 'team-a');
    await register(server.port, 'a-2', 41_002, '127.0.0.1', 'team-a');
    await register(server.port, 'b-1', 41_003, '127.0.0.1', 'team-b');
    await register(server.port, 'old', 41_004);
    await register(server.port, 'dflt', 41_005, '127.0.0.1', 'default');
    const inA = new LocalDiscovery({ portMapperPort: server.port, namespace: 'team-a' });
    inA.init(context('a-1@my-box'));
    expect(inA.namespace).toBe('team-a');
    expect(await inA.peers()).toEqual([{ node: 'a-2@my-box', port: 41_002 }]);
    const inB = new LocalDiscovery({ portMapperPort: server.port, namespace: 'team-b' });
    inB.init(context('b-1@my-box'));
    expect(await inB.peers()).toEqual([]);
    const byDefault = new LocalDiscovery({ portMapperPort: server.port });
    byDefault.init(context('self@my-box'));
    expect(byDefault.namespace).toBe('default');
    expect(await byDefault.peers()).toEqual([
      { node: 'old@my-box', port: 41_004 },
      { node: 'dflt@my-box', port: 41_005 },
    ]);
  });

  it('skips, with a debug line, a registration whose namespace cannot be read', async () => {
    const server = await mapper();
    handles.push(
      await new PortMapperClient({ port: server.port }).register('odd', 41_001, {
        extra: new Uint8Array(Buffer.from('gen-cluster:ns=a;ns=b')),
      }),
    );
    const discovery = new LocalDiscovery({ portMapperPort: server.port });
    discovery.init(context('self@my-box'));
    expect(await discovery.peers()).toEqual([]);
    expect(logs.some(l => /"odd".*namespace that cannot be read/.test(l))).toBe(true);
  });

  it('stops when aborted', async () => {
    const discovery = new LocalDiscovery({ portMapperPort: await freePort() });
    discovery.init(context('self@my-box'));
    await expect(discovery.peers(AbortSignal.abort(new Error('stop')))).rejects.toThrow('stop');
  });

  it(`asks at most ${LOCAL_MAX_CONCURRENT_LOOKUPS} port mappers at once, however many hosts`, async () => {
    // mappers that accept and hold every connection until the test lets it go, on more loopback
    // hosts than the bound, one port; `open` drops when the test closes a connection, so a new
    // one can only be counted after the lookup it replaces was released
    const limit = LOCAL_MAX_CONCURRENT_LOOKUPS;
    const hosts = Array.from({ length: limit + 8 }, (_, i) => `127.0.0.${i + 10}`);
    const port = await freeSharedPort(hosts);
    let open = 0;
    let peak = 0;
    let accepted = 0;
    const held: Socket[] = [];
    const release = () => {
      open -= held.length;
      held.splice(0).forEach(socket => socket.destroy());
    };
    const silent = await Promise.all(
      hosts.map(
        host =>
          new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
            const server = createServer(socket => {
              socket.on('error', () => undefined);
              held.push(socket);
              accepted++;
              peak = Math.max(peak, ++open);
            });
            server.once('error', reject).listen(port, host, () => resolve(server));
          }),
      ),
    );
    try {
      const discovery = new LocalDiscovery({ hosts, portMapperPort: port });
      discovery.init(context('self@my-box'));
      const answer = discovery.peers().catch((e: unknown) => e);
      await until(() => accepted >= limit, 10_000, `${limit} mappers asked`);
      release();
      await until(() => accepted === hosts.length, 10_000, 'every mapper asked');
      release();
      expect(await answer).toBeInstanceOf(DiscoveryError);
      expect(peak).toBeLessThanOrEqual(limit);
    } finally {
      release();
      await Promise.all(silent.map(s => new Promise(resolve => s.close(resolve))));
    }
  });

  it.each([
    [{ hosts: [] }, /hosts/],
    [{ hosts: ['not a host'] }, /hosts\[0\]/],
    [{ hosts: 'localhost' }, /hosts/],
    [{ portMapperPort: 0 }, /portMapperPort/],
    [{ connectTimeoutMs: 0 }, /connectTimeoutMs/],
    [{ connectTimeoutMs: MAX_TIMER_MS + 1 }, /connectTimeoutMs.*from 1 to 2147483647/],
    [{ requestTimeoutMs: MAX_TIMER_MS + 1 }, /requestTimeoutMs.*from 1 to 2147483647/],
    [{ strategy: 'dns' }, /strategy/],
    [{ namespace: '' }, /discovery \(local\)\.namespace: received ""; expected 1 to 64 characters/],
    [{ namespace: 'a b' }, /namespace/],
    [{ namespace: 'n'.repeat(65) }, /namespace/],
    [{ namespace: 7 }, /namespace/],
    [{ domain: 'x' }, /discovery \(local\)\.domain: received "x"; .*known: strategy, hosts,/],
    [null, /discovery \(local\): received null; expected an object such as/],
  ])('refuses the options %j', (options, message) => {
    expect(() => new LocalDiscovery(options as never)).toThrow(InvalidConfigError);
    expect(() => new LocalDiscovery(options as never)).toThrow(message);
  });

  it('takes the longest durations a Node timer can wait', () => {
    const longest = { connectTimeoutMs: MAX_TIMER_MS, requestTimeoutMs: MAX_TIMER_MS };
    expect(() => new LocalDiscovery(longest)).not.toThrow();
  });
});
