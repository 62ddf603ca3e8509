import { type Server, connect, createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { distContext } from '../../../test/support/dist-context.js';
import { freePort } from '../../../test/support/ports.js';
import { InvalidConfigError } from '../../core/index.js';
import { listenFailure } from './listen-failure.js';
import { TcpDist, type TcpDistOptions } from './tcp.dist.js';

/** What `init` rejected with; fails the test when it started. */
async function initFailure(options: TcpDistOptions, self: string): Promise<InvalidConfigError> {
  const dist = new TcpDist({ cookie: 'c', portMapper: false, ...options });
  try {
    await dist.init(distContext(self));
  } catch (error) {
    return error as InvalidConfigError;
  } finally {
    await dist.close();
  }
  throw new Error(`TcpDist started as ${self}, expected it to fail`);
}

/** A documentation address (RFC 5737) that is not one of this machine's. */
function foreignAddress(): string {
  const local = new Set(
    Object.values(networkInterfaces()).flatMap(list => (list ?? []).map(entry => entry.address)),
  );
  const address = ['192.0.2.1', '198.51.100.1', '203.0.113.1'].find(a => !local.has(a));
  if (!address) throw new Error('every RFC 5737 test address is local here');
  return address;
}

describe('TcpDist: a listen address or port that cannot be used fails start, saying what to do', () => {
  let holder: Server | undefined;
  afterEach(async () => {
    const server = holder;
    holder = undefined;
    if (server) await new Promise(resolve => server.close(resolve));
  });

  it('names the dist port, GEN_CLUSTER_PORT and the fix when the port is in use', async () => {
    const port = await freePort('127.0.0.101');
    holder = createServer();
    await new Promise<void>(resolve => holder!.listen(port, '127.0.0.101', resolve));
    const error = await initFailure({ port }, 'a@127.0.0.101');
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.code).toBe('ERR_INVALID_CONFIG');
    expect(error.option).toBe('port');
    expect(error.message).toContain(`port ${port} on 127.0.0.101 is already in use`);
    expect(error.message).toContain(
      "the cluster's dist port (option port, variable GEN_CLUSTER_PORT)",
    );
    expect(error.message).toMatch(/Stop the process that holds it .* or choose a free port/);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
  });

  it('says the node host is not an address of this machine and that GEN_CLUSTER_BIND exists', async () => {
    const host = foreignAddress();
    const error = await initFailure({ port: await freePort() }, `a@${host}`);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.option).toBe('node');
    expect(error.message).toContain(
      `the host of the node name a@${host} (option node, variable GEN_CLUSTER_NODE) is ${host}, which is not an address of this machine`,
    );
    expect(error.message).toContain('GEN_CLUSTER_BIND (option bind)');
    expect(error.message).toContain('127.0.0.1'); // this machine's addresses are listed
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EADDRNOTAVAIL');
  });

  it('names the bind option when it is the bind address that is not local', async () => {
    const host = foreignAddress();
    const error = await initFailure({ port: await freePort(), bind: host }, 'a@app.example');
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.option).toBe('bind');
    expect(error.message).toContain(
      `${host} is not an address of this machine, so the dist cannot listen on it (option bind, variable GEN_CLUSTER_BIND)`,
    );
    expect(error.message).toContain('0.0.0.0');
  });

  it('starts once the port is free again (the failed start left nothing behind)', async () => {
    const port = await freePort('127.0.0.101');
    holder = createServer();
    await new Promise<void>(resolve => holder!.listen(port, '127.0.0.101', resolve));
    await initFailure({ port }, 'a@127.0.0.101');
    await new Promise(resolve => holder!.close(resolve));
    holder = undefined;
    const dist = new TcpDist({ cookie: 'c', portMapper: false, port });
    await dist.init(distContext('a@127.0.0.101'));
    expect(dist.port).toBe(port);
    await dist.close();
  });
});

describe('TcpDist: the port mapper it serves', () => {
  /** Whether a TCP connect to `host:port` is accepted. */
  const accepts = (host: string, port: number) =>
    new Promise<boolean>(resolve => {
      const socket = connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });

  it.each([
    [undefined, false],
    ['0.0.0.0', true],
  ] as const)(
    'listens beyond 127.0.0.1 only with portMapperBind (%s)',
    async (portMapperBind, reachable) => {
      const portMapperPort = await freePort('127.0.0.1');
      const dist = new TcpDist({
        cookie: 'c',
        portMapper: true,
        portMapperPort,
        ...(portMapperBind ? { portMapperBind } : {}),
      });
      try {
        await dist.init(distContext('a@127.0.0.1'));
        expect(await accepts('127.0.0.1', portMapperPort)).toBe(true);
        // another loopback address stands for "another interface" without leaving this machine
        expect(await accepts('127.0.0.102', portMapperPort)).toBe(reachable);
      } finally {
        await dist.close();
      }
    },
  );
});

describe('listenFailure', () => {
  const attempt = { bind: undefined, bindFrom: 'node', port: 80, self: 'a@app' } as const;
  const fail = (code: string) =>
    listenFailure(Object.assign(new Error(`listen ${code}`), { code }), attempt);

  it('says a privileged port needs privileges, naming the port setting', () => {
    const error = fail('EACCES');
    expect(error.option).toBe('port');
    expect(error.message).toContain('port 80 of every interface');
    expect(error.message).toContain('GEN_CLUSTER_PORT');
  });

  it('keeps any other failure as the cause, naming both settings', () => {
    const error = fail('EMFILE');
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toContain('GEN_CLUSTER_BIND and GEN_CLUSTER_PORT): listen EMFILE');
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EMFILE');
  });
});
