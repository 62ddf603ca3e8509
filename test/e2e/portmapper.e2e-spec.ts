/**
 * The port mapper over real sockets: the hostile cases of OTP's epmd_SUITE (reliability.md A.6),
 * failover when the process holding the mapper is killed, and interoperability with Erlang's own
 * `epmd` and `erl` (Debian's `erlang-base`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import ts from 'typescript';
import { PortMapperClient, type RegisteredNode } from '../../src/portmapper/port-mapper.client.js';
import {
  PortMapperServer,
  type PortMapperServerOptions,
} from '../../src/portmapper/port-mapper.server.js';
import { PortMapperRegistration } from '../../src/portmapper/port-mapper.registration.js';
import { startInProcess, stopInProcess } from '../support/in-process.js';
import { until } from '../support/wait.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// --- resources, all released after each test --------------------------------------------------

const servers: PortMapperServer[] = [];
const handles: RegisteredNode[] = [];
const registrations: PortMapperRegistration[] = [];
const sockets: Socket[] = [];
const listeners: Server[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(handles.splice(0).map(h => h.close()));
  await Promise.all(registrations.splice(0).map(r => r.close()));
  await Promise.all(servers.splice(0).map(s => s.close()));
  await Promise.all(listeners.splice(0).map(s => new Promise(r => s.close(r))));
});

async function mapper(options: PortMapperServerOptions = {}): Promise<PortMapperServer> {
  const server = await PortMapperServer.start({ port: 0, packetTimeoutMs: 5_000, ...options });
  servers.push(server);
  return server;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise(resolve => server.close(resolve));
  return port;
}

/** A listener on an ephemeral port, standing for a node's dist listener. */
async function distPort(): Promise<number> {
  const server = createServer(socket => socket.destroy());
  listeners.push(server);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** A raw TCP connection to a mapper: what it received, and when it was closed. */
class Raw {
  received = Buffer.alloc(0);
  closedAfterMs: number | undefined;
  readonly closed: Promise<void>;
  private readonly opened = performance.now();

  constructor(readonly socket: Socket) {
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.on('data', chunk => (this.received = Buffer.concat([this.received, chunk])));
    this.closed = new Promise(resolve =>
      socket.once('close', () => {
        this.closedAfterMs = performance.now() - this.opened;
        resolve();
      }),
    );
  }

  static async open(port: number, host = '127.0.0.1'): Promise<Raw> {
    const socket = connect({ port, host });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new Raw(socket);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Waits until the mapper closed the connection, or fails after `ms`. */
  async closedWithin(ms: number): Promise<number> {
    await until(() => this.closedAfterMs !== undefined, ms, 'the mapper to close the connection');
    return this.closedAfterMs!;
  }
}

const frame = (body: Buffer) => {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(body.length);
  return Buffer.concat([head, body]);
};

/** An ALIVE2_REQ body; `extraLength` may lie about the extra bytes that follow. */
function alive2(
  name: Buffer | string,
  port = 40_000,
  extra = Buffer.alloc(0),
  extraLength = extra.length,
  highestVersion = 6,
): Buffer {
  const n = typeof name === 'string' ? Buffer.from(name) : name;
  const head = Buffer.alloc(11);
  head[0] = 120;
  head.writeUInt16BE(port, 1);
  head[3] = 77;
  head[4] = 0;
  head.writeUInt16BE(highestVersion, 5);
  head.writeUInt16BE(5, 7);
  head.writeUInt16BE(n.length, 9);
  const e = Buffer.alloc(2);
  e.writeUInt16BE(extraLength);
  return Buffer.concat([head, n, e, extra]);
}

const REFUSED_X = Buffer.from([118, 1, 0, 0, 0, 99]);

async function namesOf(port: number, host = '127.0.0.1'): Promise<string[]> {
  const list = await new PortMapperClient({ port }).names(host);
  return list.map(e => `${e.name}:${e.port}`).sort();
}

/** Runs `task` over `items` with at most `limit` at once. */
async function pool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
}

// --- hostile input ---------------------------------------------------------------------------

describe('port mapper server: hostile input (epmd_SUITE)', () => {
  it.each([
    ['no_data', Buffer.alloc(0)],
    ['one_byte', Buffer.of(0)],
    ['two_bytes (length 3, no body)', Buffer.of(0, 3)],
    [
      'partial_packet (length 100, 16 bytes)',
      Buffer.concat([Buffer.of(0, 100), Buffer.alloc(16, 120)]),
    ],
  ])('closes a connection that sends %s at the packet timeout', async (_label, bytes) => {
    const server = await mapper({ packetTimeoutMs: 300 });
    const raw = await Raw.open(server.port);
    if (bytes.length) raw.write(bytes);
    const ms = await raw.closedWithin(3_000);
    expect(ms).toBeGreaterThanOrEqual(250);
    expect(raw.received.length).toBe(0);
    expect(server.size).toBe(0);
    expect(server.connectionCount).toBe(0);
  });

  it.each([
    ['zero_length', Buffer.of(0, 0)],
    ['a length of INBUF_SIZE - 2 (3058)', Buffer.of(0x0b, 0xf2)],
    ['too_large (63,000 bytes)', frame(Buffer.alloc(63_000, 120)).subarray(0, 63_002)],
    ['a 65,535-byte length', Buffer.of(0xff, 0xff)],
  ])('closes a connection at once on %s', async (_label, bytes) => {
    const server = await mapper({ packetTimeoutMs: 10_000 });
    const raw = await Raw.open(server.port);
    raw.write(bytes);
    expect(await raw.closedWithin(1_000)).toBeLessThan(1_000);
    expect(raw.received.length).toBe(0);
  });

  it('closes too-small ALIVE2 requests and lengths beyond the packet, registering nothing', async () => {
    const server = await mapper();
    const ok = alive2('small');
    const fakeNameLength = Buffer.from(ok);
    fakeNameLength.writeUInt16BE(900, 9);
    for (const body of [
      ok.subarray(0, 13), // alive_req_too_small_1
      ok.subarray(0, 5), // alive_req_too_small_2
      fakeNameLength,
      alive2('small', 40_000, Buffer.alloc(0), 700), // fake Elen
      Buffer.concat([ok, Buffer.of(0)]), // a byte after Extra
    ]) {
      const raw = await Raw.open(server.port);
      raw.write(frame(body));
      expect(await raw.closedWithin(1_000)).toBeLessThan(1_000);
      expect(raw.received.length).toBe(0);
    }
    expect(await namesOf(server.port)).toEqual([]);
  });

  it.each([
    ['more than 255 characters (alive_req_too_large)', Buffer.from('a'.repeat(600))],
    ['more than 1020 bytes', Buffer.from('ø'.repeat(511))],
    ['a NUL inside (name_with_null_inside)', Buffer.from('ab\0cd')],
    ['a trailing NUL (name_null_terminated)', Buffer.from('abcd\0')],
    ['invalid UTF-8', Buffer.of(0x61, 0xc3, 0x28)],
  ])('answers an error to a name with %s and registers nothing', async (_label, name) => {
    const server = await mapper();
    for (const highestVersion of [6, 5]) {
      const raw = await Raw.open(server.port);
      raw.write(frame(alive2(name, 40_000, Buffer.alloc(0), 0, highestVersion)));
      await raw.closedWithin(1_000);
      expect(raw.received).toEqual(highestVersion === 6 ? REFUSED_X : Buffer.of(121, 1, 0, 99));
    }
    expect(server.size).toBe(0);
  });

  it('registers unicode names (unicode_name, long_unicode_name)', async () => {
    const server = await mapper();
    const client = new PortMapperClient({ port: server.port });
    for (const name of ['¡¢£¤¥', 'ø'.repeat(255)])
      handles.push(await client.register(name, 40_001));
    expect((await client.names('127.0.0.1')).map(e => e.name)).toEqual(['¡¢£¤¥', 'ø'.repeat(255)]);
  });

  it('returns the extra field, nulls included (returns_valid_populated_extra_with_nulls)', async () => {
    const server = await mapper();
    const client = new PortMapperClient({ port: server.port });
    const extra = Uint8Array.of(1, 0, 1, 0, 0);
    handles.push(await client.register('extra', 40_001, { extra }));
    handles.push(await client.register('empty', 40_002));
    expect((await client.lookup('127.0.0.1', 'extra'))?.extra).toEqual(extra);
    expect((await client.lookup('127.0.0.1', 'empty'))?.extra).toEqual(new Uint8Array(0));
  });

  it('answers a PORT_PLEASE2 request written byte by byte (slow_get_port_nr)', async () => {
    const server = await mapper();
    handles.push(await new PortMapperClient({ port: server.port }).register('slow', 40_123));
    const raw = await Raw.open(server.port);
    for (const byte of frame(Buffer.concat([Buffer.of(122), Buffer.from('slow')]))) {
      await new Promise<void>(resolve => raw.socket.write(Buffer.of(byte), () => resolve()));
      await new Promise(resolve => setImmediate(resolve));
    }
    await raw.closedWithin(1_000);
    expect(raw.received.subarray(0, 4)).toEqual(Buffer.of(119, 0, 0x9c, 0xbb));
  });

  it('refuses a duplicate live name and keeps the first registration (register_duplicate_name)', async () => {
    const server = await mapper();
    const first = await Raw.open(server.port);
    first.write(frame(alive2('twice', 40_001)));
    await until(() => first.received.length === 6, 1_000, 'the first answer');
    expect(first.received[1]).toBe(0);
    const second = await Raw.open(server.port);
    second.write(frame(alive2('twice', 40_002)));
    await second.closedWithin(1_000);
    expect(second.received).toEqual(REFUSED_X);
    expect(first.closedAfterMs).toBeUndefined();
    expect(await namesOf(server.port)).toEqual(['twice:40001']);
  });

  it('unregisters a node that sends anything on its registration connection', async () => {
    const server = await mapper();
    const raw = await Raw.open(server.port);
    raw.write(frame(alive2('chatty')));
    await until(() => server.size === 1 && raw.received.length === 6, 1_000, 'the registration');
    raw.write(Buffer.of(0));
    await raw.closedWithin(1_000);
    expect(server.size).toBe(0);
    expect(await namesOf(server.port)).toEqual([]);
  });

  it('leaves no zombie when the client resets before the answer (socket_reset_before_alive2_reply_is_written)', async () => {
    const server = await mapper();
    await pool(
      Array.from({ length: 50 }, (_, i) => i),
      10,
      async i => {
        const raw = await Raw.open(server.port);
        raw.socket.write(frame(alive2(`reset-${i}`)));
        raw.socket.resetAndDestroy();
        await raw.closed;
      },
    );
    await until(() => server.connectionCount === 0, 2_000, 'every connection to be gone');
    expect(server.size).toBe(0);
    expect(await namesOf(server.port)).toEqual([]);
  });

  it('closes 10,000 hostile ALIVE2 requests with fake extra lengths (buffer_overrun_1)', async () => {
    const server = await mapper();
    const live = await new PortMapperClient({ port: server.port }).register('survivor', 40_001);
    handles.push(live);
    let closed = 0;
    await pool(
      Array.from({ length: 10_000 }, (_, i) => i),
      100,
      async i => {
        const raw = await Raw.open(server.port);
        raw.write(frame(alive2(`bogus-${i}`, 40_000, Buffer.alloc(0), 1_000 + (i % 2_000))));
        await raw.closedWithin(5_000);
        sockets.splice(sockets.indexOf(raw.socket), 1);
        closed++;
      },
    );
    expect(closed).toBe(10_000);
    expect(await namesOf(server.port)).toEqual(['survivor:40001']);
    expect(live.active).toBe(true);
  }, 120_000);

  it('keeps the same capacity over 10 rounds of 1,000 registrations (register_overflow)', async () => {
    const server = await mapper();
    const client = new PortMapperClient({ port: server.port });
    const creations = new Set<number>();
    for (let round = 0; round < 10; round++) {
      const round_: RegisteredNode[] = [];
      await pool(
        Array.from({ length: 1_000 }, (_, i) => i),
        100,
        async i => {
          const handle = await client.register(`n${i}`, 40_000 + i);
          round_.push(handle);
          creations.add(handle.creation);
        },
      );
      expect(server.size).toBe(1_000);
      await Promise.all(round_.map(h => h.close()));
      await until(() => server.size === 0, 5_000, 'every name to be unregistered');
    }
    expect(creations.size).toBe(10_000);
  }, 120_000);

  it('refuses registrations past maxRegistrations, and takes them again once there is room', async () => {
    const server = await mapper({ maxRegistrations: 20 });
    const client = new PortMapperClient({ port: server.port });
    const held: RegisteredNode[] = [];
    for (let i = 0; i < 20; i++) held.push(await client.register(`full-${i}`, 40_000 + i));
    handles.push(...held);
    const raw = await Raw.open(server.port);
    raw.write(frame(alive2('one-too-many')));
    await raw.closedWithin(1_000);
    expect(raw.received).toEqual(REFUSED_X);
    await held[0]!.close();
    await until(() => server.size === 19, 1_000, 'a free slot');
    handles.push(await client.register('one-too-many', 40_100));
    expect(server.size).toBe(20);
  });

  it('survives many idle connections: bounded, real clients still served, all closed at the deadline', async () => {
    const server = await mapper({ maxPendingConnections: 100, packetTimeoutMs: 1_000 });
    const idle: Raw[] = [];
    await pool(
      Array.from({ length: 500 }, (_, i) => i),
      50,
      async () => {
        idle.push(await Raw.open(server.port));
      },
    );
    expect(server.connectionCount).toBeLessThanOrEqual(101);
    const client = new PortMapperClient({ port: server.port });
    handles.push(await client.register('real', 40_001));
    expect(await client.names('127.0.0.1')).toEqual([{ name: 'real', port: 40_001 }]);
    await until(
      () => idle.every(r => r.closedAfterMs !== undefined),
      3_000,
      'idle connections to close',
    );
    expect(server.connectionCount).toBe(1); // the registration
  });

  it('refuses registrations from a non-loopback address, but answers its other requests', async () => {
    const server = await mapper({ host: '127.0.0.1' });
    // Only loopback is usable in tests: make the server see the connections as remote.
    const inner = (server as unknown as { server: Server }).server;
    inner.prependListener('connection', (socket: Socket) =>
      Object.defineProperty(socket, 'remoteAddress', { value: '192.0.2.7' }),
    );
    const register = await Raw.open(server.port);
    register.write(frame(alive2('intruder')));
    await register.closedWithin(1_000);
    expect(register.received.length).toBe(0);
    const kill = await Raw.open(server.port);
    kill.write(frame(Buffer.of(107)));
    await kill.closedWithin(1_000);
    expect(kill.received.toString()).toBe('NO');
    expect(await namesOf(server.port)).toEqual([]);
    expect(server.closed).toBe(false);
  });

  it('answers KILL_REQ "NO" and keeps serving', async () => {
    const server = await mapper();
    handles.push(await new PortMapperClient({ port: server.port }).register('alive', 40_001));
    const raw = await Raw.open(server.port);
    raw.write(frame(Buffer.of(107)));
    await raw.closedWithin(1_000);
    expect(raw.received.toString()).toBe('NO');
    expect(await namesOf(server.port)).toEqual(['alive:40001']);
  });

  it('survives random bytes on fresh connections and registers nothing', async () => {
    const server = await mapper({ packetTimeoutMs: 300 });
    const inputs = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 4_096 }), {
      seed: 1,
      numRuns: 300,
    });
    await pool(inputs, 50, async bytes => {
      const raw = await Raw.open(server.port);
      raw.write(Buffer.from(bytes));
      await raw.closedWithin(3_000);
      sockets.splice(sockets.indexOf(raw.socket), 1);
    });
    expect(server.size).toBe(0);
    expect(server.connectionCount).toBe(0);
    expect(await namesOf(server.port)).toEqual([]);
  }, 60_000);

  it('lists five registrations with ephemeral ports in NAMES', async () => {
    const portMapperPort = await freePort();
    const nodes = await Promise.all(
      [1, 2, 3, 4, 5].map(async i => {
        const r = new PortMapperRegistration({
          name: `five-${i}`,
          port: await distPort(),
          portMapperPort,
        });
        registrations.push(r);
        return r;
      }),
    );
    await Promise.all(nodes.map(n => n.start()));
    expect(await namesOf(portMapperPort)).toEqual(nodes.map(n => `${n.name}:${n.port}`).sort());
    expect(nodes.filter(n => n.serving)).toHaveLength(1);
  });
});

// --- a TCP dist and a port mapper that does not answer -------------------------------------------

describe('the TCP dist with a port mapper that does not answer', () => {
  afterEach(stopInProcess);

  it('starts unregistered when the mapper accepts connections but never answers (a stopped process), and registers once it is gone', async () => {
    const held: Socket[] = [];
    const stopped = createServer(socket => {
      held.push(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>(resolve => stopped.listen(0, '127.0.0.1', resolve));
    const portMapperPort = (stopped.address() as { port: number }).port;
    const started = performance.now();
    const node = await startInProcess('pm-late', [], { portMapper: true, portMapperPort });
    expect(performance.now() - started).toBeLessThan(4_500);
    expect(
      node.logs.some(
        l => l.startsWith('warn') && /Starting without the port mapper registration/.test(l),
      ),
    ).toBe(true);
    // the stuck mapper's process goes away: the node takes its place and registers
    for (const socket of held) socket.destroy();
    await new Promise(resolve => stopped.close(resolve));
    await until(
      async () =>
        (await namesOf(portMapperPort).catch((): string[] => [])).includes(`pm-late:${node.port}`),
      10_000,
      'the registration in the background',
    );
  });

  it('still fails at startup on a name a live node on this host holds', async () => {
    const server = await mapper();
    handles.push(
      await new PortMapperClient({ port: server.port }).register('pm-dup', await distPort()),
    );
    await expect(
      startInProcess('pm-dup', [], { portMapper: true, portMapperPort: server.port }),
    ).rejects.toMatchObject({ code: 'ERR_DUPLICATE_NODE_NAME' });
  });

  it('startOrRetry() resolves false at once on a timeout, then registers in the background', async () => {
    const held: Socket[] = [];
    const stopped = createServer(socket => {
      held.push(socket);
      socket.on('error', () => undefined);
    });
    listeners.push(stopped);
    await new Promise<void>(resolve => stopped.listen(0, '127.0.0.1', resolve));
    const portMapperPort = (stopped.address() as { port: number }).port;
    const registration = new PortMapperRegistration({
      name: 'pm-retry',
      port: await distPort(),
      portMapperPort,
      startTimeoutMs: 30_000,
      retryMaxDelayMs: 100,
    });
    registrations.push(registration);
    const started = performance.now();
    await expect(registration.startOrRetry()).resolves.toBe(false);
    expect(performance.now() - started).toBeLessThan(10_000); // one request timeout, not 30 s
    expect(registration.registered).toBe(false);
    for (const socket of held) socket.destroy();
    listeners.splice(listeners.indexOf(stopped), 1);
    await new Promise(resolve => stopped.close(resolve));
    await until(() => registration.registered, 10_000, 'the registration in the background');
    expect(registration.serving).toBe(true);
  });
});

// --- failover across processes -------------------------------------------------------------------

describe('port mapper failover across processes', () => {
  let bundle: string;

  beforeAll(() => {
    bundle = buildChildBundle();
  });
  afterAll(() => rmSync(bundle, { recursive: true, force: true }));

  /** A node process: a dist listener on an ephemeral port, registered through the orchestration. */
  function node(name: string, portMapperPort: number) {
    const child = spawn(
      process.execPath,
      [join(bundle, 'child.mjs'), name, String(portMapperPort)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    const events: { type: string; serving?: boolean; port?: number; code?: string }[] = [];
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const lines = text.split('\n');
      text = lines.pop()!;
      for (const line of lines) if (line) events.push(JSON.parse(line) as (typeof events)[number]);
    });
    const stderr: string[] = [];
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)));
    return { child, events, stderr, exited, name };
  }

  const started = (n: ReturnType<typeof node>) =>
    until(
      () => n.events.some(e => e.type === 'started'),
      10_000,
      `${n.name} to start (${n.stderr.join('')})`,
    );

  it('the survivors restore the registry within about a second after SIGKILL of the mapper holder', async () => {
    const portMapperPort = await freePort();
    const holder = node('holder', portMapperPort);
    await started(holder);
    expect(holder.events.find(e => e.type === 'started')?.serving).toBe(true);

    const others = [node('child-1', portMapperPort), node('child-2', portMapperPort)];
    await Promise.all(others.map(started));
    const local = [1, 2].map(
      i => new PortMapperRegistration({ name: `local-${i}`, port: 40_000 + i, portMapperPort }),
    );
    registrations.push(...local);
    for (const r of local) await r.start();
    expect(local.some(r => r.serving)).toBe(false);
    expect(await namesOf(portMapperPort)).toHaveLength(5);

    const killedAt = performance.now();
    holder.child.kill('SIGKILL');
    const expected = [
      ...others.map(o => `${o.name}:${o.events.find(e => e.type === 'started')!.port}`),
      'local-1:40001',
      'local-2:40002',
    ].sort();
    await until(
      async () =>
        JSON.stringify(await namesOf(portMapperPort).catch(() => [])) === JSON.stringify(expected),
      5_000,
      'the survivors to be registered again',
    );
    const took = performance.now() - killedAt;
    expect(took).toBeLessThan(1_500);
    // Exactly one survivor serves the mapper now.
    const servingChildren = others.filter(o => o.events.some(e => e.type === 'serving')).length;
    expect(servingChildren + local.filter(r => r.serving).length).toBe(1);

    // A node started afterwards still joins.
    const late = node('late', portMapperPort);
    await started(late);
    expect(late.events.find(e => e.type === 'started')?.serving).toBe(false);
    expect(await namesOf(portMapperPort)).toContain(
      `late:${late.events.find(e => e.type === 'started')!.port}`,
    );
  }, 30_000);

  it('a node holding the mapper exits on its own after close(), leaving no process behind', async () => {
    const portMapperPort = await freePort();
    const holder = node('graceful', portMapperPort);
    await started(holder);
    const survivor = new PortMapperRegistration({ name: 'survivor', port: 40_001, portMapperPort });
    registrations.push(survivor);
    await survivor.start();
    holder.child.kill('SIGTERM'); // the child closes its registration and its dist listener
    await expect(holder.exited).resolves.toBe(0);
    await until(() => survivor.registered && survivor.serving, 3_000, 'the survivor to serve');
    expect(await namesOf(portMapperPort)).toEqual(['survivor:40001']);
  }, 20_000);
});

/**
 * Transpiles the port mapper (and the core errors it imports) to plain ESM in a temp dir, with a
 * tiny node script, so a child process can run it without a build step.
 */
function buildChildBundle(): string {
  // Inside node_modules/.cache, so that any package the sources import resolves as in the repo.
  const cache = join(root, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'gen-cluster-portmapper-'));
  const files = ['core', 'portmapper'].flatMap(folder =>
    readdirSync(join(root, 'src', folder))
      .filter(f => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
      .map(f => join('src', folder, f)),
  );
  for (const file of files) {
    const { outputText } = ts.transpileModule(readFileSync(join(root, file), 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.ES2022,
        target: ts.ScriptTarget.ES2022,
        experimentalDecorators: true,
      },
      fileName: file,
    });
    const out = join(dir, file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(
    join(dir, 'child.mjs'),
    `import { createServer } from 'node:net';
import { PortMapperRegistration } from './src/portmapper/port-mapper.registration.js';
const [name, portMapperPort] = process.argv.slice(2);
const print = event => process.stdout.write(JSON.stringify(event) + '\\n');
const dist = createServer(socket => socket.destroy());
dist.listen(0, '127.0.0.1', async () => {
  const port = dist.address().port;
  const registration = new PortMapperRegistration({ name, port, portMapperPort: Number(portMapperPort) });
  registration.onChange(event => print({ type: event.type, serving: event.serving }));
  process.once('SIGTERM', async () => {
    await registration.close();
    dist.close();
  });
  try {
    await registration.start();
    print({ type: 'started', serving: registration.serving, port });
  } catch (error) {
    print({ type: 'failed', code: error.code });
    process.exit(1);
  }
});
`,
  );
  return dir;
}

// --- interoperability with Erlang --------------------------------------------------------------

describe('interop with Erlang epmd and erl (Debian erlang-base)', () => {
  beforeAll(() => {
    for (const command of ['epmd', 'erl']) {
      if (spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0)
        throw new Error(
          `"${command}" is missing; install Debian's erlang-base: apt-get install -y erlang-base`,
        );
    }
  });

  /** Starts a real epmd on a free port, in the foreground, owned by this test. */
  async function epmd(port?: number): Promise<{ port: number; child: ChildProcess }> {
    const p = port ?? (await freePort());
    const child = spawn('epmd', ['-port', String(p), '-relaxed_command_check'], {
      stdio: 'ignore',
    });
    children.push(child);
    await until(
      async () =>
        await new PortMapperClient({ port: p }).names('127.0.0.1').then(
          () => true,
          () => false,
        ),
      5_000,
      'epmd to answer',
    );
    return { port: p, child };
  }

  it('registers with a real epmd and reads its PORT2 and NAMES answers', async () => {
    const { port } = await epmd();
    const client = new PortMapperClient({ port });
    const handle = await client.register('ours', 40_123);
    handles.push(handle);
    expect(handle.creation).toBeGreaterThan(0);
    expect(await client.names('127.0.0.1')).toEqual([{ name: 'ours', port: 40_123 }]);
    expect(await client.lookup('localhost', 'ours')).toMatchObject({
      name: 'ours',
      port: 40_123,
      nodeType: 77,
      highestVersion: 6,
      lowestVersion: 5,
    });
    expect(await client.lookup('127.0.0.1', 'nobody')).toBeUndefined();
    await expect(client.register('ours', 1)).rejects.toMatchObject({
      code: 'ERR_DUPLICATE_NODE_NAME',
    });
    await handle.close();
    await until(
      async () => (await client.names('127.0.0.1')).length === 0,
      2_000,
      'epmd to forget it',
    );
  });

  it('a registration pointed at epmd uses it, and re-registers when epmd comes back', async () => {
    const first = await epmd();
    const registration = new PortMapperRegistration({
      name: 'follower',
      port: 40_124,
      portMapperPort: first.port,
      serve: false,
    });
    registrations.push(registration);
    await registration.start();
    expect(registration.serving).toBe(false);
    expect(await namesOf(first.port)).toEqual(['follower:40124']);
    first.child.kill('SIGKILL');
    await until(() => !registration.registered, 2_000, 'the registration to drop');
    await epmd(first.port);
    await until(() => registration.registered, 5_000, 'the registration to come back');
    expect(await namesOf(first.port)).toEqual(['follower:40124']);
  }, 20_000);

  it('serves real Erlang nodes: erl registers, net_adm:names() and net_adm:ping() work through it', async () => {
    const server = await mapper({ port: await freePort() });
    handles.push(await new PortMapperClient({ port: server.port }).register('ours', 40_125));
    const env = { ...process.env, ERL_EPMD_PORT: String(server.port) };
    const erl = (args: string[]) =>
      spawn(
        'erl',
        ['-start_epmd', 'false', '-noshell', '-setcookie', 'gen-cluster-test', ...args],
        {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
    const x = erl(['-sname', 'x']);
    children.push(x);
    await until(() => server.lookup('x') !== undefined, 15_000, 'erl -sname x to register');
    const y = erl([
      '-sname',
      'y',
      '-eval',
      'io:format("~p~n~p~n", [net_adm:names(), net_adm:ping(list_to_atom("x@" ++ net_adm:localhost()))]), halt().',
    ]);
    children.push(y);
    let out = '';
    y.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    y.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise(resolve => y.once('exit', resolve));
    expect(out).toContain('{"ours",40125}');
    expect(out).toContain(`{"x",${server.lookup('x')!.port}}`);
    expect(out).toMatch(/pong/);
    x.kill('SIGKILL');
    await until(() => server.lookup('x') === undefined, 5_000, 'x to be unregistered');
    expect(server.names().map(e => e.name)).toEqual(['ours']);
  }, 30_000);
});
