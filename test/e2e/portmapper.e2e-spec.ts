/**
 * The port mapper server over real sockets: the hostile cases of OTP's epmd_SUITE
 * (reliability.md A.6). Failover is in portmapper-failover.e2e-spec.ts, interoperability with
 * Erlang's own `epmd` and `erl` in portmapper-erlang.e2e-spec.ts.
 */
import type { Server, Socket } from 'node:net';
import fc from 'fast-check';
import {
  PortMapperClient,
  PortMapperRegistration,
  type RegisteredNode,
} from '../../src/portmapper/index.js';
import {
  PortMapperFixtures,
  REFUSED_X,
  type RawConnection,
  alive2,
  frame,
  namesOf,
  pool,
} from '../support/port-mapper-harness.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/wait.js';

const fx = new PortMapperFixtures();
afterEach(() => fx.release());

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
    const server = await fx.mapper({ packetTimeoutMs: 300 });
    const raw = await fx.raw(server.port);
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
    const server = await fx.mapper({ packetTimeoutMs: 10_000 });
    const raw = await fx.raw(server.port);
    raw.write(bytes);
    expect(await raw.closedWithin(1_000)).toBeLessThan(1_000);
    expect(raw.received.length).toBe(0);
  });

  it('closes too-small ALIVE2 requests and lengths beyond the packet, registering nothing', async () => {
    const server = await fx.mapper();
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
      const raw = await fx.raw(server.port);
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
    const server = await fx.mapper();
    for (const highestVersion of [6, 5]) {
      const raw = await fx.raw(server.port);
      raw.write(frame(alive2(name, 40_000, Buffer.alloc(0), 0, highestVersion)));
      await raw.closedWithin(1_000);
      expect(raw.received).toEqual(highestVersion === 6 ? REFUSED_X : Buffer.of(121, 1, 0, 99));
    }
    expect(server.size).toBe(0);
  });

  it('registers unicode names (unicode_name, long_unicode_name)', async () => {
    const server = await fx.mapper();
    const client = new PortMapperClient({ port: server.port });
    for (const name of ['¡¢£¤¥', 'ø'.repeat(255)])
      fx.handles.push(await client.register(name, 40_001));
    expect((await client.names('127.0.0.1')).map(e => e.name)).toEqual(['¡¢£¤¥', 'ø'.repeat(255)]);
  });

  it('returns the extra field, nulls included (returns_valid_populated_extra_with_nulls)', async () => {
    const server = await fx.mapper();
    const client = new PortMapperClient({ port: server.port });
    const extra = Uint8Array.of(1, 0, 1, 0, 0);
    fx.handles.push(await client.register('extra', 40_001, { extra }));
    fx.handles.push(await client.register('empty', 40_002));
    expect((await client.lookup('127.0.0.1', 'extra'))?.extra).toEqual(extra);
    expect((await client.lookup('127.0.0.1', 'empty'))?.extra).toEqual(new Uint8Array(0));
  });

  it('answers a PORT_PLEASE2 request written byte by byte (slow_get_port_nr)', async () => {
    const server = await fx.mapper();
    fx.handles.push(await new PortMapperClient({ port: server.port }).register('slow', 40_123));
    const raw = await fx.raw(server.port);
    for (const byte of frame(Buffer.concat([Buffer.of(122), Buffer.from('slow')]))) {
      await new Promise<void>(resolve => raw.socket.write(Buffer.of(byte), () => resolve()));
      await new Promise(resolve => setImmediate(resolve));
    }
    await raw.closedWithin(1_000);
    expect(raw.received.subarray(0, 4)).toEqual(Buffer.of(119, 0, 0x9c, 0xbb));
  });

  it('refuses a duplicate live name and keeps the first registration (register_duplicate_name)', async () => {
    const server = await fx.mapper();
    const first = await fx.raw(server.port);
    first.write(frame(alive2('twice', 40_001)));
    await until(() => first.received.length === 6, 1_000, 'the first answer');
    expect(first.received[1]).toBe(0);
    const second = await fx.raw(server.port);
    second.write(frame(alive2('twice', 40_002)));
    await second.closedWithin(1_000);
    expect(second.received).toEqual(REFUSED_X);
    expect(first.closedAfterMs).toBeUndefined();
    expect(await namesOf(server.port)).toEqual(['twice:40001']);
  });

  it('unregisters a node that sends anything on its registration connection', async () => {
    const server = await fx.mapper();
    const raw = await fx.raw(server.port);
    raw.write(frame(alive2('chatty')));
    await until(() => server.size === 1 && raw.received.length === 6, 1_000, 'the registration');
    raw.write(Buffer.of(0));
    await raw.closedWithin(1_000);
    expect(server.size).toBe(0);
    expect(await namesOf(server.port)).toEqual([]);
  });

  it('leaves no zombie when the client resets before the answer (socket_reset_before_alive2_reply_is_written)', async () => {
    const server = await fx.mapper();
    await pool(
      Array.from({ length: 50 }, (_, i) => i),
      10,
      async i => {
        const raw = await fx.raw(server.port);
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
    const server = await fx.mapper();
    const live = await new PortMapperClient({ port: server.port }).register('survivor', 40_001);
    fx.handles.push(live);
    let closed = 0;
    await pool(
      Array.from({ length: 10_000 }, (_, i) => i),
      100,
      async i => {
        const raw = await fx.raw(server.port);
        raw.write(frame(alive2(`bogus-${i}`, 40_000, Buffer.alloc(0), 1_000 + (i % 2_000))));
        await raw.closedWithin(5_000);
        closed++;
      },
    );
    expect(closed).toBe(10_000);
    expect(await namesOf(server.port)).toEqual(['survivor:40001']);
    expect(live.active).toBe(true);
  }, 120_000);

  it('keeps the same capacity over 10 rounds of 1,000 registrations (register_overflow)', async () => {
    const server = await fx.mapper();
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
    const server = await fx.mapper({ maxRegistrations: 20 });
    const client = new PortMapperClient({ port: server.port });
    const held: RegisteredNode[] = [];
    for (let i = 0; i < 20; i++) held.push(await client.register(`full-${i}`, 40_000 + i));
    fx.handles.push(...held);
    const raw = await fx.raw(server.port);
    raw.write(frame(alive2('one-too-many')));
    await raw.closedWithin(1_000);
    expect(raw.received).toEqual(REFUSED_X);
    await held[0]!.close();
    await until(() => server.size === 19, 1_000, 'a free slot');
    fx.handles.push(await client.register('one-too-many', 40_100));
    expect(server.size).toBe(20);
  });

  it('survives many idle connections: bounded, real clients still served, all closed at the deadline', async () => {
    const server = await fx.mapper({ maxPendingConnections: 100, packetTimeoutMs: 1_000 });
    const idle: RawConnection[] = [];
    await pool(
      Array.from({ length: 500 }, (_, i) => i),
      50,
      async () => {
        idle.push(await fx.raw(server.port));
      },
    );
    expect(server.connectionCount).toBeLessThanOrEqual(101);
    const client = new PortMapperClient({ port: server.port });
    fx.handles.push(await client.register('real', 40_001));
    expect(await client.names('127.0.0.1')).toEqual([{ name: 'real', port: 40_001 }]);
    await until(
      () => idle.every(r => r.closedAfterMs !== undefined),
      3_000,
      'idle connections to close',
    );
    expect(server.connectionCount).toBe(1); // the registration
  });

  it('refuses registrations from a non-loopback address, but answers its other requests', async () => {
    const server = await fx.mapper({ host: '127.0.0.1' });
    // Only loopback is usable in tests: make the server see the connections as remote.
    const inner = (server as unknown as { server: Server }).server;
    inner.prependListener('connection', (socket: Socket) =>
      Object.defineProperty(socket, 'remoteAddress', { value: '192.0.2.7' }),
    );
    const register = await fx.raw(server.port);
    register.write(frame(alive2('intruder')));
    await register.closedWithin(1_000);
    expect(register.received.length).toBe(0);
    const kill = await fx.raw(server.port);
    kill.write(frame(Buffer.of(107)));
    await kill.closedWithin(1_000);
    expect(kill.received.length).toBe(0); // KILL from another host is ignored (epmd): no answer
    expect(await namesOf(server.port)).toEqual([]);
    expect(server.closed).toBe(false);
  });

  it('answers KILL_REQ "NO" and keeps serving', async () => {
    const server = await fx.mapper();
    fx.handles.push(await new PortMapperClient({ port: server.port }).register('alive', 40_001));
    const raw = await fx.raw(server.port);
    raw.write(frame(Buffer.of(107)));
    await raw.closedWithin(1_000);
    expect(raw.received.toString()).toBe('NO');
    expect(await namesOf(server.port)).toEqual(['alive:40001']);
  });

  it('survives random bytes on fresh connections and registers nothing', async () => {
    const server = await fx.mapper({ packetTimeoutMs: 300 });
    const inputs = fc.sample(fc.uint8Array({ minLength: 0, maxLength: 4_096 }), {
      seed: 1,
      numRuns: 300,
    });
    await pool(inputs, 50, async bytes => {
      const raw = await fx.raw(server.port);
      raw.write(Buffer.from(bytes));
      await raw.closedWithin(3_000);
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
          port: await fx.distPort(),
          portMapperPort,
        });
        fx.registrations.push(r);
        return r;
      }),
    );
    await Promise.all(nodes.map(n => n.start()));
    expect(await namesOf(portMapperPort)).toEqual(nodes.map(n => `${n.name}:${n.port}`).sort());
    expect(nodes.filter(n => n.serving)).toHaveLength(1);
  });
});
