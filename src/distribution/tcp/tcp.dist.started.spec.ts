import { type AddressInfo, type Server, connect, createServer } from 'node:net';
import { jest } from '@jest/globals';
import { type DistContext, type Peer, STARTED_AT_META } from '../../core/index.js';
import { distContext, quietLogger } from '../../../test/support/dist-context.js';
import { rawIdentity, rawLimits } from '../../../test/support/raw-connection.js';
import { until } from '../../../test/support/wait.js';
import { Connection, type HandshakeDriver } from './connection.js';
import { AcceptorHandshake, CAPABILITY_HEADERS, InitiatorHandshake } from './handshake/index.js';
import { decodeHandshakeMessage } from './handshake/message-decoder.js';
import { encodeHandshakeFrame } from './handshake/message-encoder.js';
import type { HelloMessage } from './handshake/message-schema.js';
import { TcpDist, type TcpDistOptions } from './tcp.dist.js';

jest.setTimeout(20_000);

const COOKIE = 'started-cookie';
const DAY_MS = 24 * 60 * 60 * 1_000;

interface Started {
  readonly dist: TcpDist;
  /** The peers this node's dist reported up, in order. */
  readonly ups: Peer[];
}

const dists: TcpDist[] = [];
const cleanups: (() => void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await Promise.all(dists.splice(0).map(dist => dist.close()));
});

async function start(self: string, options: TcpDistOptions = {}): Promise<Started> {
  const dist = new TcpDist({ cookie: COOKIE, portMapper: false, ...options });
  dists.push(dist);
  const ups: Peer[] = [];
  const context: DistContext = {
    self,
    logger: quietLogger,
    nodeUp: peer => ups.push(peer),
    nodeDown: () => undefined,
  };
  await dist.init(context);
  return { dist, ups };
}

/** A raw connection dialled to `port`, closed after the test. */
function dial(port: number): Connection {
  const connection = new Connection(connect(port, '127.0.0.1'), rawLimits, quietLogger);
  cleanups.push(() => connection.close('stopped'));
  return connection;
}

/** An older initiator named `name` dialling `expectedName`. */
const olderInitiator = (name: string, expectedName: string) =>
  new InitiatorHandshake({
    self: rawIdentity(name, null),
    cookie: COOKIE,
    expectedName,
    capabilities: [CAPABILITY_HEADERS],
  });

/**
 * Drives `initiator` but sends its hello with `startedAt` replaced, as a broken or hostile peer
 * would (the acceptor refuses such a hello before any proof, so the MAC does not matter).
 */
function withHelloStartedAt(initiator: InitiatorHandshake, startedAt: number): HandshakeDriver {
  return {
    start: () => {
      const step = initiator.start();
      const payload = step.send![0]!.subarray(5);
      const hello = decodeHandshakeMessage(payload) as HelloMessage;
      return { send: [encodeHandshakeFrame({ ...hello, startedAt })] };
    },
    receive: payload => initiator.receive(payload),
  };
}

describe('TcpDist startedAt option', () => {
  it.each([
    ['0', 0],
    ['a negative time', -5],
    ['a fraction', 1.5],
    ['2^53', 2 ** 53],
    ['a string', '1700000000000'],
  ])('refuses %s at construction, naming the option', (_what, value) => {
    const make = () => new TcpDist({ cookie: 'c', startedAt: value as number });
    expect(make).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CONFIG' }));
    expect(make).toThrow(/startedAt/);
  });

  it('is undefined before start, then the option given', async () => {
    const dist = new TcpDist({ cookie: COOKIE, portMapper: false, startedAt: 1_234 });
    dists.push(dist);
    expect(dist.startedAt).toBeUndefined();
    await dist.init(distContext('a@127.0.0.1'));
    expect(dist.startedAt).toBe(1_234);
  });

  it('is Date.now() at start when not given', async () => {
    const dist = new TcpDist({ cookie: COOKIE, portMapper: false });
    dists.push(dist);
    const before = Date.now();
    await dist.init(distContext('a@127.0.0.1'));
    const after = Date.now();
    expect(dist.startedAt).toBeGreaterThanOrEqual(before);
    expect(dist.startedAt).toBeLessThanOrEqual(after);
  });
});

describe('TcpDist failureTimeoutMs', () => {
  it('is the resolved setting, before and after start', async () => {
    expect(new TcpDist({ cookie: 'c' }).failureTimeoutMs).toBe(5_000);
    const dist = new TcpDist({
      cookie: COOKIE,
      portMapper: false,
      heartbeatMs: 500,
      failureTimeoutMs: 3_000,
    });
    dists.push(dist);
    expect(dist.failureTimeoutMs).toBe(3_000);
    await dist.init(distContext('a@127.0.0.1'));
    expect(dist.failureTimeoutMs).toBe(3_000);
  });
});

describe('TcpDist: start times over real links', () => {
  const A_STARTED = Date.now() - 60_000;
  const B_STARTED = Date.now() - 30_000;

  it('each side reports the other with the start time it announced (nodeUp and members)', async () => {
    const a = await start('a@127.0.0.1', { startedAt: A_STARTED });
    const b = await start('b@127.0.0.1', { startedAt: B_STARTED });
    await expect(
      a.dist.connect({ node: 'b@127.0.0.1', port: b.dist.port! }, AbortSignal.timeout(5_000)),
    ).resolves.toBe(true);
    await until(() => a.ups.length === 1 && b.ups.length === 1, 5_000, 'both nodeUps');
    const bAsSeenByA = { node: 'b@127.0.0.1', port: b.dist.port, meta: { startedAt: B_STARTED } };
    const aAsSeenByB = { node: 'a@127.0.0.1', port: a.dist.port, meta: { startedAt: A_STARTED } };
    expect(a.ups).toEqual([bAsSeenByA]);
    expect(b.ups).toEqual([aAsSeenByB]);
    expect(a.dist.members()).toEqual([bAsSeenByA]);
    expect(b.dist.members()).toEqual([aAsSeenByB]);
    expect(STARTED_AT_META).toBe('startedAt');
  });

  it('carries the default start time, taken when each dist started', async () => {
    const a = await start('a@127.0.0.1');
    const b = await start('b@127.0.0.1');
    await b.dist.connect({ node: 'a@127.0.0.1', port: a.dist.port! }, AbortSignal.timeout(5_000));
    await until(() => a.ups.length === 1 && b.ups.length === 1, 5_000, 'both nodeUps');
    expect(a.ups[0]!.meta).toEqual({ startedAt: b.dist.startedAt });
    expect(b.ups[0]!.meta).toEqual({ startedAt: a.dist.startedAt });
  });

  it('reports a peer that does not announce it (an older release dials) without meta', async () => {
    const a = await start('a@127.0.0.1', { startedAt: A_STARTED });
    const older = dial(a.dist.port!);
    const result = await older.handshake(olderInitiator('old@127.0.0.1', 'a@127.0.0.1'));
    // The older side skips the start time it does not know; only the newer side has one.
    expect(result.capabilities).toEqual([CAPABILITY_HEADERS]);
    await until(() => a.ups.length === 1, 5_000, 'the older node up');
    expect(a.ups).toEqual([{ node: 'old@127.0.0.1' }]);
    expect(a.dist.members()).toEqual([{ node: 'old@127.0.0.1' }]);
  });

  it('reports an older acceptor it dialled without meta', async () => {
    const server: Server = createServer();
    cleanups.push(() => server.close());
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    server.on('connection', socket => {
      const accepted = new Connection(socket, rawLimits, quietLogger);
      cleanups.push(() => accepted.close('stopped'));
      void accepted
        .handshake(
          new AcceptorHandshake({
            self: rawIdentity('old@127.0.0.1', port),
            cookie: COOKIE,
            decide: () => ({ ok: true }),
            capabilities: [CAPABILITY_HEADERS],
          }),
        )
        .catch(() => undefined);
    });
    const a = await start('a@127.0.0.1', { startedAt: A_STARTED });
    await expect(
      a.dist.connect({ node: 'old@127.0.0.1', port }, AbortSignal.timeout(5_000)),
    ).resolves.toBe(true);
    expect(a.ups).toEqual([{ node: 'old@127.0.0.1', port }]);
  });

  it.each([
    ['0', () => 0],
    ['two days ahead of the receiver’s clock', () => Date.now() + 2 * DAY_MS],
  ])(
    'refuses a hello whose start time is %s as malformed: no link, counted as protocol',
    async (_what, startedAt) => {
      const a = await start('a@127.0.0.1', { startedAt: A_STARTED });
      const helloFrom = new InitiatorHandshake({
        self: { ...rawIdentity('x@127.0.0.1', null), startedAt: A_STARTED },
        cookie: COOKIE,
        expectedName: 'a@127.0.0.1',
      });
      await expect(
        dial(a.dist.port!).handshake(withHelloStartedAt(helloFrom, startedAt())),
      ).rejects.toMatchObject({ code: 'ERR_PROTOCOL', reason: 'protocol', byPeer: true });
      await until(() => a.dist.stats().handshakeRefusals.protocol === 1, 5_000, 'the refusal');
      expect(a.ups).toEqual([]);
      expect(a.dist.members()).toEqual([]);
    },
  );

  it('refuses a node whose clock runs more than a day ahead, whichever side dials', async () => {
    const a = await start('a@127.0.0.1', { startedAt: A_STARTED });
    const ahead = await start('z@127.0.0.1', { startedAt: Date.now() + 2 * DAY_MS });
    await expect(
      ahead.dist.connect({ node: 'a@127.0.0.1', port: a.dist.port! }, AbortSignal.timeout(5_000)),
    ).rejects.toMatchObject({ code: 'ERR_PROTOCOL', byPeer: true });
    // Dialling it, a refuses its challenge, before any proof.
    await expect(
      a.dist.connect({ node: 'z@127.0.0.1', port: ahead.dist.port! }, AbortSignal.timeout(5_000)),
    ).rejects.toMatchObject({ code: 'ERR_PROTOCOL', byPeer: false });
    expect(a.ups).toEqual([]);
    expect(ahead.ups).toEqual([]);
  });
});
