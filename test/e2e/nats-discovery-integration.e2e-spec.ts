/**
 * NatsDiscovery against a real nats-server (Debian's, on a free loopback port, started and
 * stopped by this spec): nodes find each other with their TCP ports, forged announcements are
 * ignored, leaving and silence remove a node, and `peers()` fails while NATS is down. (What
 * needs no server, the refusals at init, is the unit spec beside the code.)
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import {
  type ClusterLogger,
  DiscoveryError,
  type DiscoveryContext,
  type Peer,
} from '../../src/core/index.js';
import { NatsLink, resolveNatsConnectionOptions } from '../../src/nats/connection/index.js';
import { NatsDiscovery, type NatsDiscoveryOptions } from '../../src/nats/discovery/index.js';
import { encodePresence, natsSubjects, newIncarnation } from '../../src/nats/protocol/index.js';
import { NatsServer, stopAllNatsServers } from '../support/nats-server.js';
import { until } from '../support/wait.js';

const COOKIE = randomBytes(16).toString('hex');
const deriveKey = (label: string, cookie = COOKIE) =>
  Buffer.from(hkdfSync('sha256', cookie, Buffer.alloc(0), label, 32));

/** A logger keeping its warnings. */
function logger(): ClusterLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, log: () => {}, warn: m => warnings.push(m), error: () => {} };
}

function context(self: string, port: number, more: Partial<DiscoveryContext> = {}) {
  const refreshes = { count: 0 };
  const ctx: DiscoveryContext = {
    self,
    port,
    logger: logger(),
    requestRefresh: () => refreshes.count++,
    deriveKey: label => deriveKey(label),
    ...more,
  };
  return { ctx, refreshes };
}

/** peers() as `node:port` strings, sorted; `error` when it throws a DiscoveryError. */
function answer(d: NatsDiscovery): string[] | 'error' {
  try {
    return d
      .peers()
      .map((p: Peer) => `${p.node}:${p.port}`)
      .sort();
  } catch (error) {
    if (error instanceof DiscoveryError) return 'error';
    throw error;
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

describe('NatsDiscovery with a real nats-server', () => {
  let server: NatsServer;
  const started: NatsDiscovery[] = [];
  let namespaceCount = 0;

  beforeAll(async () => {
    server = await NatsServer.start();
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map(d => d.close()));
  });
  afterAll(async () => {
    await stopAllNatsServers();
  });

  /** Options on this spec's server, in a namespace of each test's own. */
  function options(more: Partial<NatsDiscoveryOptions> = {}): NatsDiscoveryOptions {
    return {
      strategy: 'nats',
      servers: server.url,
      namespace: `t${process.pid}-${namespaceCount}`,
      intervalMs: 50,
      failureTimeoutMs: 400,
      reconnectTimeWaitMs: 50,
      ...more,
    };
  }

  async function start(self: string, port: number, more: Partial<NatsDiscoveryOptions> = {}) {
    const d = new NatsDiscovery(options(more));
    started.push(d);
    const { ctx, refreshes } = context(self, port);
    await d.init(ctx);
    return { d, ctx, refreshes };
  }

  beforeEach(() => {
    namespaceCount++;
  });

  it('finds the other node with its port, without itself', async () => {
    const a = await start('a@127.0.0.1', 4001);
    const b = await start('b@127.0.0.1', 4002);
    await until(() => same(answer(a.d), ['b@127.0.0.1:4002']), 5_000, 'a hears b');
    await until(() => same(answer(b.d), ['a@127.0.0.1:4001']), 5_000, 'b hears a');
    expect(a.refreshes.count).toBeGreaterThan(0);
    expect(a.d.stats()).toMatchObject({ badMac: 0, malformed: 0 });
  });

  it('learns the nodes already there from their replies to its hello, before any alive', async () => {
    // An interval far longer than the test: only hello and reply can explain being heard.
    const slow = { intervalMs: 60_000, failureTimeoutMs: 120_000 };
    const a = await start('a@127.0.0.1', 4001, slow);
    const b = await start('b@127.0.0.1', 4002, slow);
    await until(() => same(answer(b.d), ['a@127.0.0.1:4001']), 5_000, 'b hears a reply');
    await until(() => same(answer(a.d), ['b@127.0.0.1:4002']), 5_000, 'a hears the hello');
  });

  it('ignores announcements signed with another key, counting and warning once', async () => {
    const a = await start('a@127.0.0.1', 4001);
    const forger = new NatsDiscovery(options());
    started.push(forger);
    const { ctx } = context('evil@127.0.0.1', 4666, {
      deriveKey: label => deriveKey(label, 'another cookie'),
    });
    await forger.init(ctx);
    await until(() => a.d.stats().badMac >= 3, 5_000, 'forged announcements counted');
    expect(answer(a.d)).toEqual([]);
    const warnings = (a.ctx.logger as ReturnType<typeof logger>).warnings;
    expect(warnings.filter(w => w.includes('another key'))).toHaveLength(1);
  });

  it('ignores a replayed announcement, a bad name or port, and a reply broadcast', async () => {
    const a = await start('a@127.0.0.1', 4001);
    const link = await NatsLink.open(resolveNatsConnectionOptions({ servers: server.url }), {
      name: 'raw',
      logger: logger(),
      status: () => {},
    });
    try {
      const subjects = natsSubjects('gc', options().namespace!);
      const key = deriveKey('gen-cluster/nats/discovery');
      const base = {
        kind: 'alive' as const,
        incarnation: newIncarnation(),
        counter: 5,
        startedAt: Date.now(),
        port: 4003,
      };
      const genuine = encodePresence({ ...base, node: 'c@127.0.0.1' }, key);
      link.publish(subjects.discoveryPresence, genuine);
      link.publish(subjects.discoveryPresence, genuine);
      link.publish(subjects.discoveryPresence, encodePresence({ ...base, node: 'no-host' }, key));
      link.publish(
        subjects.discoveryPresence,
        encodePresence({ ...base, node: 'd@127.0.0.1', port: 0 }, key),
      );
      // a reply belongs to an inbox, never to the namespace's subject
      link.publish(
        subjects.discoveryPresence,
        encodePresence({ ...base, kind: 'reply', node: 'e@127.0.0.1' }, key),
      );
      await link.flush();
      await until(() => a.d.stats().malformed >= 3 && a.d.stats().replayed >= 1, 5_000, 'counted');
      expect(answer(a.d)).toEqual(['c@127.0.0.1:4003']);
    } finally {
      await link.close();
    }
  });

  it('drops a node that leaves at once', async () => {
    const a = await start('a@127.0.0.1', 4001, { failureTimeoutMs: 60_000 });
    const b = await start('b@127.0.0.1', 4002, { failureTimeoutMs: 60_000 });
    await until(() => same(answer(a.d), ['b@127.0.0.1:4002']), 5_000, 'a hears b');
    await b.d.close();
    await until(() => same(answer(a.d), []), 2_000, 'b gone from a at once').catch(e => {
      throw new Error(JSON.stringify(a.d.stats()) + JSON.stringify(b.d.stats()) + e.message);
    });
  });

  it('drops a node that falls silent after failureTimeoutMs', async () => {
    const a = await start('a@127.0.0.1', 4001);
    const raw = await NatsLink.open(resolveNatsConnectionOptions({ servers: server.url }), {
      name: 'raw',
      logger: logger(),
      status: () => {},
    });
    try {
      const subjects = natsSubjects('gc', options().namespace!);
      const announcement = {
        kind: 'alive' as const,
        node: 'quiet@127.0.0.1',
        incarnation: newIncarnation(),
        counter: 1,
        startedAt: Date.now(),
        port: 4009,
      };
      raw.publish(
        subjects.discoveryPresence,
        encodePresence(announcement, deriveKey('gen-cluster/nats/discovery')),
      );
      await until(() => same(answer(a.d), ['quiet@127.0.0.1:4009']), 5_000, 'heard once');
      const heardAt = performance.now();
      await until(() => same(answer(a.d), []), 5_000, 'silence expires');
      expect(performance.now() - heardAt).toBeGreaterThanOrEqual(300);
    } finally {
      await raw.close();
    }
  });

  it('throws a DiscoveryError from peers() while NATS is down, and answers again after', async () => {
    const own = await NatsServer.start();
    try {
      const mine = { servers: own.url };
      const a = await start('a@127.0.0.1', 4001, mine);
      await start('b@127.0.0.1', 4002, mine);
      await until(() => same(answer(a.d), ['b@127.0.0.1:4002']), 5_000, 'a hears b');
      const before = a.refreshes.count;
      await own.kill();
      await until(() => answer(a.d) === 'error', 5_000, 'peers() fails while cut off');
      expect(() => a.d.peers()).toThrow(/cut off from NATS/);
      expect(a.refreshes.count).toBeGreaterThan(before);
      await own.restart();
      await until(() => same(answer(a.d), ['b@127.0.0.1:4002']), 10_000, 'a hears b again');
    } finally {
      await own.close();
    }
  });

  it('signs with its secret when given one, so nodes with the same secret meet', async () => {
    const secret = { secret: 'shared discovery secret' };
    const a = new NatsDiscovery(options(secret));
    const b = new NatsDiscovery(options(secret));
    started.push(a, b);
    await a.init(context('a@127.0.0.1', 4001, { deriveKey: undefined }).ctx);
    await b.init(context('b@127.0.0.1', 4002, { deriveKey: undefined }).ctx);
    await until(() => same(answer(a), ['b@127.0.0.1:4002']), 5_000, 'a hears b');
  });
});
