import { type Server, connect, createServer } from 'node:net';
import { jest } from '@jest/globals';
import { distContext, quietLogger } from '../../../test/support/dist-context.js';
import { rawIdentity, rawLimits } from '../../../test/support/raw-connection.js';
import { until } from '../../../test/support/wait.js';
import { Connection } from './connection.js';
import { AcceptorHandshake, CAPABILITY_HEADERS, InitiatorHandshake } from './handshake/index.js';
import type { Mesh } from './mesh.js';
import { TcpDist, type TcpDistOptions } from './tcp.dist.js';
import { TcpHealthMessages } from './tcp-stats.messages.js';

jest.setTimeout(20_000);

const started: TcpDist[] = [];

async function start(self: string, options: TcpDistOptions = {}): Promise<TcpDist> {
  const dist = new TcpDist({ cookie: 'stats-cookie', portMapper: false, ...options });
  started.push(dist);
  await dist.init(distContext(self));
  return dist;
}

/** The mesh behind a dist, to look at its links and listener. */
const meshOf = (dist: TcpDist): Mesh => dist['mesh']!;

afterEach(async () => {
  await Promise.all(started.splice(0).map(dist => dist.close()));
});

describe('TcpDist capabilities', () => {
  it("keeps the capabilities the peer announced on each side's link: headers both ways", async () => {
    const a = await start('a@127.0.0.1');
    const b = await start('b@127.0.0.1');
    await expect(
      a.connect({ node: 'b@127.0.0.1', port: b.port! }, AbortSignal.timeout(5_000)),
    ).resolves.toBe(true);
    await until(() => meshOf(b).connectionTo('a@127.0.0.1') !== undefined, 5_000, 'b links a');
    for (const [dist, peer] of [
      [a, 'b@127.0.0.1'],
      [b, 'a@127.0.0.1'],
    ] as const) {
      const capabilities = meshOf(dist).connectionTo(peer)!.capabilities;
      expect(capabilities.has(CAPABILITY_HEADERS)).toBe(true);
      expect(capabilities.has('namespace')).toBe(true);
    }
  });

  it('has no headers capability on a link whose peer did not announce it (an older node)', async () => {
    const result = await handshakePair([], [CAPABILITY_HEADERS]);
    expect(result.initiator.has(CAPABILITY_HEADERS)).toBe(false);
    expect(result.acceptor.has(CAPABILITY_HEADERS)).toBe(false);
    const both = await handshakePair([CAPABILITY_HEADERS], [CAPABILITY_HEADERS]);
    expect(both.initiator.has(CAPABILITY_HEADERS)).toBe(true);
    expect(both.acceptor.has(CAPABILITY_HEADERS)).toBe(true);
  });
});

describe('TcpDist.stats()', () => {
  it('lists each link with its queue and socket counters, hidden links marked', async () => {
    const a = await start('a@127.0.0.1');
    const b = await start('b@127.0.0.1');
    const tool = await start('tool@127.0.0.1', { hidden: true });
    expect(a.stats()).toEqual({ links: [], handshakeRefusals: {} });
    const signal = () => AbortSignal.timeout(5_000);
    await b.connect({ node: 'a@127.0.0.1', port: a.port! }, signal());
    await tool.connect({ node: 'a@127.0.0.1', port: a.port! }, signal());
    await until(() => a.stats().links.length === 2, 5_000, 'a has two links');
    await b.messaging.send('a@127.0.0.1', 'nowhere', Buffer.alloc(10_000));
    await until(
      () => a.stats().links.some(link => link.node === 'b@127.0.0.1' && link.bytesIn > 10_000),
      5_000,
      'the message counted as received',
    );
    const links = [...a.stats().links].sort((x, y) => x.node.localeCompare(y.node));
    expect(links).toEqual([
      {
        node: 'b@127.0.0.1',
        hidden: false,
        queuedBytes: 0,
        queuedMessages: 0,
        bytesIn: expect.any(Number),
        bytesOut: expect.any(Number),
      },
      {
        node: 'tool@127.0.0.1',
        hidden: true,
        queuedBytes: 0,
        queuedMessages: 0,
        bytesIn: expect.any(Number),
        bytesOut: expect.any(Number),
      },
    ]);
    expect(links[0]!.bytesOut).toBeGreaterThan(0);
    const fromB = b.stats().links.find(link => link.node === 'a@127.0.0.1')!;
    expect(fromB.bytesOut).toBeGreaterThan(10_000);
  });

  it('counts a wrong cookie as a bad-cookie refusal on the acceptor and on the dialler', async () => {
    const a = await start('a@127.0.0.1');
    const intruder = await start('x@127.0.0.1', { cookie: 'wrong-cookie' });
    await expect(
      intruder.connect({ node: 'a@127.0.0.1', port: a.port! }, AbortSignal.timeout(5_000)),
    ).rejects.toMatchObject({ code: 'ERR_BAD_COOKIE' });
    await until(() => a.stats().handshakeRefusals['bad-cookie'] === 1, 5_000, 'acceptor counts');
    expect(a.stats().handshakeRefusals).toEqual({ 'bad-cookie': 1 });
    expect(intruder.stats().handshakeRefusals).toEqual({ 'bad-cookie': 1 });
    expect(a.stats().links).toEqual([]);
  });

  it('counts a namespace mismatch under namespace', async () => {
    const a = await start('a@127.0.0.1', { namespace: 'one' });
    const b = await start('b@127.0.0.1', { namespace: 'two' });
    await expect(
      b.connect({ node: 'a@127.0.0.1', port: a.port! }, AbortSignal.timeout(5_000)),
    ).rejects.toMatchObject({ code: 'ERR_NAMESPACE_MISMATCH' });
    await until(() => a.stats().handshakeRefusals.namespace === 1, 5_000, 'acceptor counts');
    expect(b.stats().handshakeRefusals).toEqual({ namespace: 1 });
  });
});

describe('TcpDist.stats() while the node closes', () => {
  /** A raw connection to `dist`, accepted and waiting in its handshake. */
  async function pendingHandshake(dist: TcpDist): Promise<Connection> {
    const connection = new Connection(connect(dist.port!, '127.0.0.1'), rawLimits, quietLogger);
    const pending = (): number => meshOf(dist)['listener']['unauthenticated'].size;
    await until(() => pending() === 1, 5_000, 'the handshake is pending');
    return connection;
  }
  const settled = (dist: TcpDist) => () => meshOf(dist)['listener']['unauthenticated'].size === 0;

  it('does not count a handshake the acceptor refuses as stopping because it leaves', async () => {
    const a = await start('a@127.0.0.1');
    const connection = await pendingHandshake(a);
    await a.leave();
    await expect(
      connection.handshake(
        new InitiatorHandshake({
          self: rawIdentity('b@127.0.0.1'),
          cookie: 'stats-cookie',
          expectedName: 'a@127.0.0.1',
          capabilities: [CAPABILITY_HEADERS],
        }),
      ),
    ).rejects.toMatchObject({ reason: 'stopping' });
    await until(settled(a), 5_000, 'the acceptor settled its handshake');
    connection.close('stopped');
    expect(a.stats().handshakeRefusals).toEqual({});
  });

  it('does not count a handshake that times out after the acceptor started leaving', async () => {
    const a = await start('a@127.0.0.1', { handshakeStepTimeoutMs: 300 });
    const connection = await pendingHandshake(a);
    await a.leave();
    // The peer never speaks: the acceptor's handshake runs out of time while it is closing.
    await until(settled(a), 5_000, 'the acceptor gave up the handshake');
    connection.close('stopped');
    expect(a.stats().handshakeRefusals).toEqual({});
  });

  it('still counts a handshake that times out while it runs', async () => {
    const a = await start('a@127.0.0.1', { handshakeStepTimeoutMs: 300 });
    const connection = await pendingHandshake(a);
    await until(settled(a), 5_000, 'the acceptor gave up the handshake');
    connection.close('stopped');
    expect(a.stats().handshakeRefusals).toEqual({ timeout: 1 });
  });
});

describe('TcpDist.health()', () => {
  it('is listening before start, while running and after a close asked for', async () => {
    const dist = new TcpDist({ cookie: 'c', portMapper: false });
    started.push(dist);
    expect(dist.health()).toEqual({ listening: true });
    await dist.init(distContext('a@127.0.0.1'));
    expect(dist.health()).toEqual({ listening: true });
    await dist.leave();
    await dist.close();
    expect(dist.health()).toEqual({ listening: true });
  });

  it('is not listening, saying why, once the listener closes on its own', async () => {
    const dist = await start('a@127.0.0.1');
    const server: Server = meshOf(dist)['listener']['server']!;
    await new Promise<void>(resolve => server.close(() => resolve()));
    expect(dist.health()).toEqual({
      listening: false,
      reason: TcpHealthMessages.listenerClosed(),
    });
    // and it is true: nobody can connect any more
    const other = await start('b@127.0.0.1');
    await expect(
      other.connect({ node: 'a@127.0.0.1', port: dist.port! }, AbortSignal.timeout(5_000)),
    ).rejects.toMatchObject({ code: 'ERR_CONNECT_FAILED' });
  });

  it('stays listening after a failed accept: Node reports it as an error and keeps accepting', async () => {
    const dist = await start('a@127.0.0.1');
    const server: Server = meshOf(dist)['listener']['server']!;
    // What net.Server emits when accept() fails for want of descriptors; the server listens on.
    server.emit('error', Object.assign(new Error('accept EMFILE'), { code: 'EMFILE' }));
    expect(server.listening).toBe(true);
    expect(dist.health()).toEqual({ listening: true });
    // and it is true: a node still connects
    const other = await start('b@127.0.0.1');
    await expect(
      other.connect({ node: 'a@127.0.0.1', port: dist.port! }, AbortSignal.timeout(5_000)),
    ).resolves.toBe(true);
    expect(dist.health()).toEqual({ listening: true });
  });

  it('is not listening, saying why, once the listener fails and stops listening', async () => {
    const dist = await start('a@127.0.0.1');
    const server: Server = meshOf(dist)['listener']['server']!;
    const closed = new Promise<void>(resolve => server.once('close', () => resolve()));
    // The listening socket goes away (not a stop the mesh asked for), with an error first.
    server.close();
    server.emit('error', Object.assign(new Error('listen EBADF'), { code: 'EBADF' }));
    expect(dist.health()).toEqual({
      listening: false,
      reason: TcpHealthMessages.listenerFailed('listen EBADF'),
    });
    await closed;
    expect(dist.health()).toEqual({
      listening: false,
      reason: TcpHealthMessages.listenerFailed('listen EBADF'),
    });
  });
});

/**
 * A handshake over a real loopback socket pair, each end a Connection, the initiator announcing
 * `initiatorCaps` and the acceptor `acceptorCaps`: the capabilities each Connection kept.
 */
async function handshakePair(
  initiatorCaps: string[],
  acceptorCaps: string[],
): Promise<{ initiator: ReadonlySet<string>; acceptor: ReadonlySet<string> }> {
  const limits = rawLimits;
  const identity = rawIdentity;
  const server = createServer();
  const accepted = new Promise<Connection>(resolve =>
    server.once('connection', socket => resolve(new Connection(socket, limits, quietLogger))),
  );
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const dialler = new Connection(connect(port, '127.0.0.1'), limits, quietLogger);
  try {
    const acceptor = await accepted;
    await Promise.all([
      dialler.handshake(
        new InitiatorHandshake({
          self: identity('a@127.0.0.1'),
          cookie: 'c',
          expectedName: 'b@127.0.0.1',
          capabilities: initiatorCaps,
        }),
      ),
      acceptor.handshake(
        new AcceptorHandshake({
          self: identity('b@127.0.0.1'),
          cookie: 'c',
          decide: () => ({ ok: true }),
          capabilities: acceptorCaps,
        }),
      ),
    ]);
    const result = { initiator: dialler.capabilities, acceptor: acceptor.capabilities };
    dialler.close('stopped');
    acceptor.close('stopped');
    return result;
  } finally {
    server.close();
  }
}
