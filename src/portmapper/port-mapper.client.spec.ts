import { type Server, type Socket, createServer } from 'node:net';
import { InvalidConfigError, MAX_TIMER_MS } from '../core/index.js';
import { freePort } from '../../test/support/ports.js';
import { until } from '../../test/support/wait.js';
import { EpmdCode, encodeNamesResponse, encodePort2Response } from './epmd-protocol.js';
import { EpmdProtocolError, PortMapperError } from './port-mapper.errors.js';
import { PortMapperClient, type RegisteredNode } from './port-mapper.client.js';
import { PortMapperServer } from './port-mapper.server.js';

const servers: PortMapperServer[] = [];
const handles: RegisteredNode[] = [];
const rawServers: Server[] = [];
const rawSockets: Socket[] = [];

afterEach(async () => {
  await Promise.all(handles.splice(0).map(h => h.close()));
  await Promise.all(servers.splice(0).map(s => s.close()));
  for (const s of rawSockets.splice(0)) s.destroy();
  await Promise.all(rawServers.splice(0).map(s => new Promise(r => s.close(r))));
});

async function mapper(host = '127.0.0.1'): Promise<PortMapperServer> {
  const server = await PortMapperServer.start({ host, port: 0 });
  servers.push(server);
  return server;
}

/** A TCP server that answers each connection with `reply(socket, data)`. */
async function fakeMapper(onData: (socket: Socket, data: Buffer) => void): Promise<number> {
  const server = createServer(socket => {
    rawSockets.push(socket);
    socket.on('error', () => undefined);
    socket.on('data', data => onData(socket, data));
  });
  rawServers.push(server);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function register(client: PortMapperClient, name: string, port: number, host?: string) {
  const handle = await client.register(name, port, host ? { host } : {});
  handles.push(handle);
  return handle;
}

describe('PortMapperClient', () => {
  it('registers, looks up, lists and unregisters a name', async () => {
    const server = await mapper();
    const client = new PortMapperClient({ port: server.port });
    const handle = await register(client, 'app', 40_000);
    expect(handle).toMatchObject({ name: 'app', port: 40_000, active: true });
    expect(handle.creation).toBeGreaterThanOrEqual(4);
    expect(await client.lookup('127.0.0.1', 'app')).toMatchObject({
      name: 'app',
      port: 40_000,
      nodeType: 77,
      protocol: 0,
      highestVersion: 6,
      lowestVersion: 5,
    });
    expect(await client.lookup('127.0.0.1', 'other')).toBeUndefined();
    expect(await client.names('127.0.0.1')).toEqual([{ name: 'app', port: 40_000 }]);
    await handle.close();
    expect(handle.active).toBe(false);
    await expect(handle.ended).resolves.toEqual({ reason: 'closed' });
    await until(() => server.size === 0, 2_000, 'the name to be unregistered');
    expect(await client.names('127.0.0.1')).toEqual([]);
  });

  it('gives every registration of a name a new creation', async () => {
    const server = await mapper();
    const client = new PortMapperClient({ port: server.port });
    const creations = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const handle = await register(client, 'again', 40_000);
      creations.add(handle.creation);
      await handle.close();
      await until(() => server.size === 0, 2_000, 'the name to be unregistered');
    }
    expect(creations.size).toBe(5);
  });

  it('refuses a name a live registration holds, with ERR_DUPLICATE_NODE_NAME', async () => {
    const server = await mapper();
    const client = new PortMapperClient({ port: server.port });
    const first = await register(client, 'dup', 40_000);
    await expect(client.register('dup', 40_001)).rejects.toMatchObject({
      code: 'ERR_DUPLICATE_NODE_NAME',
    });
    expect(first.active).toBe(true);
    expect(await client.lookup('127.0.0.1', 'dup')).toMatchObject({ port: 40_000 });
  });

  it('reports a registration dropped when the mapper goes away', async () => {
    const server = await mapper();
    const client = new PortMapperClient({ port: server.port });
    const handle = await register(client, 'dropped', 40_000);
    await server.close();
    await expect(handle.ended).resolves.toMatchObject({ reason: 'dropped' });
    expect(handle.active).toBe(false);
  });

  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['localhost', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['[::1]', '::1'],
  ])('reaches a mapper as %s', async (host, listen) => {
    const server = await mapper(listen);
    const client = new PortMapperClient({ port: server.port });
    await register(client, 'forms', 40_000, host);
    expect(await client.names(host)).toEqual([{ name: 'forms', port: 40_000 }]);
    expect(await client.lookup(host, 'forms')).toMatchObject({ port: 40_000 });
  });

  it('fails with ERR_PORT_MAPPER_UNREACHABLE and errno ECONNREFUSED when nothing listens', async () => {
    const client = new PortMapperClient({ port: await freePort() });
    for (const call of [
      () => client.names('127.0.0.1'),
      () => client.lookup('localhost', 'x'),
      () => client.register('x', 1),
    ]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PortMapperError);
      expect(error).toMatchObject({ code: 'ERR_PORT_MAPPER_UNREACHABLE', errno: 'ECONNREFUSED' });
    }
  });

  it('times out on a server that never answers', async () => {
    const port = await fakeMapper(() => undefined);
    const client = new PortMapperClient({ port, requestTimeoutMs: 200 });
    const started = performance.now();
    await expect(client.names('127.0.0.1')).rejects.toMatchObject({
      code: 'ERR_PORT_MAPPER_TIMEOUT',
    });
    await expect(client.register('slow', 1)).rejects.toMatchObject({
      code: 'ERR_PORT_MAPPER_TIMEOUT',
    });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('stops when its signal is aborted', async () => {
    const port = await fakeMapper(() => undefined);
    const client = new PortMapperClient({ port, requestTimeoutMs: 10_000 });
    const controller = new AbortController();
    const pending = client.names('127.0.0.1', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ code: 'ERR_PORT_MAPPER_ABORTED' });
    await expect(client.names('127.0.0.1', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ERR_PORT_MAPPER_ABORTED',
    });
  });

  it.each([
    ['garbage', Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')],
    ['a short answer', Buffer.of(118, 0, 0)],
  ])('fails with ERR_PORT_MAPPER_PROTOCOL on %s', async (_label, answer) => {
    const port = await fakeMapper(socket => socket.end(answer));
    const client = new PortMapperClient({ port });
    await expect(client.register('x', 1)).rejects.toMatchObject({
      code: 'ERR_PORT_MAPPER_PROTOCOL',
    });
    await expect(client.lookup('127.0.0.1', 'x')).rejects.toMatchObject({
      code: 'ERR_PORT_MAPPER_PROTOCOL',
    });
  });

  it('refuses to send an unacceptable name', async () => {
    const client = new PortMapperClient({ port: 1 });
    await expect(client.register('a\0b', 1)).rejects.toBeInstanceOf(EpmdProtocolError);
    await expect(client.lookup('127.0.0.1', '')).rejects.toBeInstanceOf(EpmdProtocolError);
  });

  it('validates its options', () => {
    expect(() => new PortMapperClient({ port: 0 })).toThrow(/port/);
    expect(() => new PortMapperClient({ connectTimeoutMs: -1 })).toThrow(/connectTimeoutMs/);
  });

  it('refuses a timeout above the timer ceiling, naming the option of the client', () => {
    expect(() => new PortMapperClient({ requestTimeoutMs: MAX_TIMER_MS + 1 })).toThrow(
      'port mapper (client).requestTimeoutMs',
    );
  });

  describe('namespaces', () => {
    it('registers a namespace in Extra and reads it back with nodes()', async () => {
      const server = await mapper();
      const client = new PortMapperClient({ port: server.port });
      handles.push(await client.register('pay-1', 41_001, { namespace: 'payments' }));
      handles.push(await client.register('plain', 41_002));
      handles.push(await client.register('erlang-ish', 41_003, { extra: Uint8Array.of(0, 0) }));
      handles.push(
        await client.register('unreadable', 41_004, {
          extra: new Uint8Array(Buffer.from('gen-cluster:ns=a b')),
        }),
      );
      expect((await client.lookup('127.0.0.1', 'pay-1'))?.extra).toEqual(
        new Uint8Array(Buffer.from('gen-cluster:ns=payments')),
      );
      const nodes = await client.nodes('127.0.0.1');
      expect(nodes.sort((x, y) => x.name.localeCompare(y.name))).toEqual([
        { name: 'erlang-ish', port: 41_003, namespace: 'default' },
        { name: 'pay-1', port: 41_001, namespace: 'payments' },
        { name: 'plain', port: 41_002, namespace: 'default' },
        { name: 'unreadable', port: 41_004, namespace: undefined },
      ]);
    });

    it('lists many names, asking for each', async () => {
      const server = await mapper();
      const client = new PortMapperClient({ port: server.port });
      for (let i = 0; i < 20; i++)
        handles.push(await client.register(`n${i}`, 42_000 + i, { namespace: `ns-${i % 3}` }));
      const nodes = await client.nodes('127.0.0.1');
      expect(nodes).toHaveLength(20);
      for (const node of nodes) expect(node.namespace).toBe(`ns-${(node.port - 42_000) % 3}`);
    });

    it('leaves out a name that is gone by its PORT_PLEASE2, and takes the port PORT2 answers', async () => {
      const port = await fakeMapper((socket, data) => {
        // data: length (2 bytes), then the request code
        if (data[2] === EpmdCode.NAMES_REQ) {
          socket.end(
            encodeNamesResponse(port, [
              { name: 'gone', port: 40_001 },
              { name: 'moved', port: 40_002 },
            ]),
          );
          return;
        }
        const name = data.subarray(3).toString('utf8');
        socket.end(
          encodePort2Response(
            name === 'gone'
              ? undefined
              : {
                  name,
                  port: 40_003,
                  nodeType: 77,
                  protocol: 0,
                  highestVersion: 6,
                  lowestVersion: 5,
                  extra: new Uint8Array(Buffer.from('gen-cluster:ns=x')),
                },
          ),
        );
      });
      const client = new PortMapperClient({ port });
      expect(await client.nodes('127.0.0.1')).toEqual([
        { name: 'moved', port: 40_003, namespace: 'x' },
      ]);
    });

    it('fails as a whole, never with a shorter list, when a PORT_PLEASE2 fails', async () => {
      const port = await fakeMapper((socket, data) => {
        if (data[2] === EpmdCode.NAMES_REQ)
          socket.end(encodeNamesResponse(port, [{ name: 'a', port: 40_001 }]));
        else socket.end(Buffer.from('nonsense'));
      });
      await expect(new PortMapperClient({ port }).nodes('127.0.0.1')).rejects.toMatchObject({
        code: 'ERR_PORT_MAPPER_PROTOCOL',
      });
    });

    it.each([
      ['an invalid namespace', { namespace: 'a/b' }, /port mapper \(client\)\.namespace.*"a\/b"/],
      [
        'a namespace with extra',
        { namespace: 'ok', extra: new Uint8Array(1) },
        /port mapper \(client\)\.namespace.*without the extra option/,
      ],
    ])('refuses %s, registering nothing', async (_what, options, message) => {
      const server = await mapper();
      const client = new PortMapperClient({ port: server.port });
      const attempt = client.register('x', 1, options);
      await expect(attempt).rejects.toBeInstanceOf(InvalidConfigError);
      await expect(client.register('x', 1, options)).rejects.toThrow(message);
      expect(server.size).toBe(0);
    });
  });
});
