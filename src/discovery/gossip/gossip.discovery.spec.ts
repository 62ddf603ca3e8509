import { InvalidConfigError, DiscoveryError, type DiscoveryContext } from '../../core/index.js';
import { until } from '../../../test/support/wait.js';
import { GossipSocketError } from './gossip.errors.js';
import { GossipDiscovery } from './gossip.discovery.js';
import { gossipKeyOf } from './gossip-options.js';
import { type GossipAnnouncement, encodeAnnouncement } from './gossip-packet.js';
import type { DatagramSocket } from './gossip-socket.js';

/** One LAN of fake sockets: a send reaches every member of the group (multicast loopback on). */
class FakeLan {
  readonly sockets: FakeSocket[] = [];
  /** Every packet sent, for replays. */
  readonly sent: Buffer[] = [];
  /** Set to make joins, sends or binds fail with this code. */
  joinError: string | undefined;
  sendError: string | undefined;
  bindError: string | undefined;

  socket = (): DatagramSocket => {
    const socket = new FakeSocket(this);
    this.sockets.push(socket);
    return socket;
  };

  deliver(packet: Buffer, from = '10.0.0.99'): void {
    for (const s of this.sockets) if (s.member && !s.closed) s.emit(packet, from);
  }
}

class FakeSocket implements DatagramSocket {
  member = false;
  closed = false;
  ttl: number | undefined;
  multicastInterface: string | undefined;
  membership: unknown[] = [];
  private listeners: { message?: (m: Buffer, r: { address: string }) => void } = {};
  constructor(private readonly lan: FakeLan) {}
  bind(_port: number, _address: string, callback: () => void) {
    const error = this.lan.bindError;
    setImmediate(() => (error ? this.errorListener?.(errno(error)) : callback()));
  }
  private errorListener: ((e: Error) => void) | undefined;
  on(event: 'message' | 'error', listener: never) {
    if (event === 'message') this.listeners.message = listener;
    else this.errorListener = listener;
  }
  off() {
    this.errorListener = undefined;
  }
  setMulticastTTL(ttl: number) {
    this.ttl = ttl;
  }
  setMulticastLoopback() {}
  setMulticastInterface(address: string) {
    this.multicastInterface = address;
  }
  addMembership(...args: unknown[]) {
    if (this.lan.joinError) throw errno(this.lan.joinError);
    this.membership = args;
    this.member = true;
  }
  send(packet: Buffer, _port: number, _address: string, callback: (e: Error | null) => void) {
    const error = this.lan.sendError;
    setImmediate(() => {
      if (error) return callback(errno(error));
      this.lan.sent.push(Buffer.from(packet));
      this.lan.deliver(packet, `10.0.0.${this.lan.sockets.indexOf(this) + 1}`);
      callback(null);
    });
  }
  close(callback?: () => void) {
    this.closed = true;
    setImmediate(() => callback?.());
  }
  emit(packet: Buffer, address: string) {
    this.listeners.message?.(packet, { address });
  }
}

function errno(code: string): Error {
  return Object.assign(new Error(`${code} (fake)`), { code });
}

const COOKIE_KEY = gossipKeyOf('cookie');

describe('GossipDiscovery', () => {
  let lan: FakeLan;
  let now: number;
  const started: GossipDiscovery[] = [];
  const warnings: string[] = [];
  let refreshes: number;

  beforeEach(() => {
    lan = new FakeLan();
    now = 0;
    refreshes = 0;
    warnings.length = 0;
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map(d => d.close()));
  });

  function context(self: string, extra: Partial<DiscoveryContext> = {}): DiscoveryContext {
    return {
      self,
      logger: { log: () => undefined, warn: m => warnings.push(m), error: () => undefined },
      requestRefresh: () => refreshes++,
      port: 4370,
      deriveKey: () => COOKIE_KEY,
      ...extra,
    };
  }

  async function start(
    self: string,
    options: ConstructorParameters<typeof GossipDiscovery>[0] = {},
    extra: Partial<DiscoveryContext> = {},
  ): Promise<GossipDiscovery> {
    const discovery = GossipDiscovery.withDependencies(
      { intervalMs: 20, ...options },
      { createSocket: lan.socket, now: () => now },
    );
    started.push(discovery);
    await discovery.init(context(self, extra));
    return discovery;
  }

  const names = (d: GossipDiscovery) => d.peers().map(p => p.node);

  /** Waits for `d`'s socket to send again, and for its answer to be good (no error) again. */
  async function expectRecovery(d: GossipDiscovery, what: string): Promise<void> {
    await until(() => d.stats().sent > 0, 2_000, what);
    expect(d.peers()).toEqual([]);
  }

  function ghost(extra: Partial<GossipAnnouncement> = {}, key = COOKIE_KEY): Buffer {
    return encodeAnnouncement(
      {
        incarnation: 7n,
        counter: 1n,
        namespace: 'default',
        node: 'ghost@10.0.0.50',
        port: 4444,
        leaving: false,
        ...extra,
      },
      key,
    );
  }

  it('lists the other nodes heard, with their dist ports, never itself', async () => {
    const a = await start('a@10.0.0.1');
    const b = await start('b@10.0.0.2', {}, { port: 4371 });
    await until(() => names(a).length === 1 && names(b).length === 1, 2_000, 'both heard');
    expect(a.peers()).toEqual([{ node: 'b@10.0.0.2', port: 4371 }]);
    expect(b.peers()).toEqual([{ node: 'a@10.0.0.1', port: 4370 }]);
    expect(refreshes).toBeGreaterThanOrEqual(2);
    const stats = a.stats();
    expect(stats.sent).toBeGreaterThanOrEqual(1);
    expect(stats.accepted).toBeGreaterThanOrEqual(1);
    expect(stats.received).toBeGreaterThan(stats.accepted);
    expect(stats).toMatchObject({ malformed: 0, badMac: 0, sendErrors: 0, size: 1 });
  });

  it('counts and ignores another key, another namespace and junk, warning once', async () => {
    const a = await start('a@10.0.0.1');
    for (let i = 0; i < 5; i++) lan.deliver(ghost({ counter: BigInt(i + 1) }, gossipKeyOf('x')));
    lan.deliver(ghost({ namespace: 'blue' }));
    lan.deliver(Buffer.from('not gossip'));
    expect(a.stats()).toMatchObject({ badMac: 5, otherNamespace: 1, malformed: 1, accepted: 0 });
    expect(names(a)).toEqual([]);
    expect(warnings.filter(w => w.includes('another key'))).toHaveLength(1);
  });

  it('refuses a replayed announcement, and a signed one with a name not in canonical form', async () => {
    const a = await start('a@10.0.0.1');
    lan.deliver(ghost());
    lan.deliver(ghost());
    lan.deliver(ghost({ node: 'Up@HOST.example', counter: 2n }));
    expect(a.stats()).toMatchObject({ accepted: 1, replayed: 1, malformed: 1 });
    expect(names(a)).toEqual(['ghost@10.0.0.50']);
  });

  it('drops a node not heard for missedIntervals intervals (monotonic clock) and asks for a refresh', async () => {
    const a = await start('a@10.0.0.1', { missedIntervals: 3 });
    lan.deliver(ghost());
    expect(names(a)).toEqual(['ghost@10.0.0.50']);
    now += 60;
    expect(names(a)).toEqual(['ghost@10.0.0.50']);
    const before = refreshes;
    now += 1;
    expect(names(a)).toEqual([]);
    await until(() => refreshes > before, 2_000, 'a refresh after the expiry');
  });

  it('drops a node at once when it announces it leaves (close)', async () => {
    const a = await start('a@10.0.0.1');
    const b = await start('b@10.0.0.2');
    await until(() => names(a).length === 1, 2_000, 'b heard');
    const before = refreshes;
    await b.close();
    expect(names(a)).toEqual([]);
    expect(refreshes).toBeGreaterThan(before);
    const last = lan.sent.at(-1)!;
    expect(last[5]).toBe(1);
  });

  it('announces a restart under a new incarnation, accepted at once', async () => {
    const a = await start('a@10.0.0.1');
    const b = await start('b@10.0.0.2');
    await until(() => names(a).length === 1, 2_000, 'b heard');
    await b.close();
    await b.init(context('b@10.0.0.2', { port: 4999 }));
    await until(() => a.peers()[0]?.port === 4999, 2_000, 'b back on its new port');
  });

  it('warns when another node announces this node name', async () => {
    await start('a@10.0.0.1');
    lan.deliver(ghost({ node: 'a@10.0.0.1' }));
    expect(warnings.some(w => w.includes('names must be unique'))).toBe(true);
  });

  it('warns once about its name from many sources (a replay), keeping room for the socket advice', async () => {
    const a = await start('a@10.0.0.1');
    // this node's packets of an earlier start, replayed from 300 spoofed sources
    for (let i = 0; i < 300; i++)
      lan.deliver(
        ghost({ node: 'a@10.0.0.1', counter: BigInt(i + 1) }),
        `10.1.${i >> 8}.${i & 255}`,
      );
    const duplicates = warnings.filter(w => w.includes('names must be unique'));
    expect(duplicates).toHaveLength(1);
    expect(duplicates[0]).toMatch(/replay of a packet of an earlier start/);
    lan.sendError = 'ENETUNREACH';
    await until(() => a.stats().sendErrors > 0, 2_000, 'a failed send');
    expect(warnings.filter(w => w.includes('ENETUNREACH'))).toHaveLength(1);
  });

  it('runs one chain of rounds after a close and a new init while a round is pending', async () => {
    const slow = new FakeLan();
    const gates: (() => void)[] = [];
    const d = GossipDiscovery.withDependencies(
      { intervalMs: 20 },
      {
        now: () => now,
        createSocket: () => {
          const socket = slow.socket() as FakeSocket;
          // each bind waits until the spec lets it through
          socket.bind = (_p, _a, callback) => void gates.push(callback);
          return socket;
        },
      },
    );
    started.push(d);
    const first = d.init(context('a@10.0.0.1'));
    await until(() => gates.length === 1, 2_000, 'first bind pending');
    await d.close();
    const second = d.init(context('a@10.0.0.1'));
    await until(() => gates.length === 2, 2_000, 'second bind pending');
    gates[0]!(); // the first start's round resumes after the new init
    gates[1]!();
    await Promise.all([first, second]);
    const sentAt = slow.sent.length;
    await until(() => slow.sent.length >= sentAt + 10, 2_000, 'ten more rounds');
    expect(d.stats().sendErrors).toBe(0);
    expect(() => d.peers()).not.toThrow();
    expect(slow.sockets.filter(s => !s.closed)).toHaveLength(1);
  });

  it('turns a failed join (no multicast route) into a DiscoveryError naming both fixes, then recovers', async () => {
    lan.joinError = 'ENODEV';
    const a = await start('a@10.0.0.1');
    let error: unknown;
    try {
      a.peers();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DiscoveryError);
    const cause = (error as DiscoveryError).cause;
    expect(cause).toBeInstanceOf(GossipSocketError);
    expect(cause).toMatchObject({
      code: 'ERR_GOSSIP_SOCKET',
      operation: 'join',
      syscallCode: 'ENODEV',
    });
    expect((error as Error).message).toContain('ip route add 224.0.0.0/4 dev');
    expect((error as Error).message).toContain('"interface"');
    expect((error as Error).message).toContain('239.255.43.69');
    expect(warnings).toHaveLength(1);
    lan.joinError = undefined;
    await expectRecovery(a, 'joined and sending');
  });

  it('turns failing sends into a DiscoveryError, then recovers when they work', async () => {
    lan.sendError = 'ENETUNREACH';
    const a = await start('a@10.0.0.1');
    expect(() => a.peers()).toThrow(/send to 239\.255\.43\.69:45892 \(ENETUNREACH\)/);
    expect(a.stats().sendErrors).toBe(1);
    lan.sendError = undefined;
    await expectRecovery(a, 'sending');
  });

  it('reports a failed bind, never throwing from init, and binds again later', async () => {
    lan.bindError = 'EADDRINUSE';
    const a = await start('a@10.0.0.1');
    expect(() => a.peers()).toThrow(/bind UDP port 45892 \(EADDRINUSE\)/);
    lan.bindError = undefined;
    await until(() => a.stats().sent > 0, 2_000, 'bound');
  });

  it('multicasts on the interface option and joins there, with the TTL', async () => {
    await start('a@127.0.0.1', { interface: '127.0.0.1', ttl: 3 });
    const socket = lan.sockets[0] as FakeSocket;
    expect(socket.multicastInterface).toBe('127.0.0.1');
    expect(socket.membership).toEqual(['239.255.43.69', '127.0.0.1']);
    expect(socket.ttl).toBe(3);
  });

  it('signs with the secret option when the dist derives no key; refuses to start with neither', async () => {
    const a = await start('a@10.0.0.1', { secret: 'gossip' }, { deriveKey: undefined });
    lan.deliver(ghost({}, gossipKeyOf('gossip')));
    expect(names(a)).toEqual(['ghost@10.0.0.50']);
    const keyless = GossipDiscovery.withDependencies({}, { createSocket: lan.socket });
    const error = await keyless.init(context('b@h', { deriveKey: undefined })).catch(e => e);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as Error).message).toMatch(/"secret" or "secretFile"/);
  });

  it('refuses to start without a dist port, or with a name gossip cannot carry', async () => {
    const d = GossipDiscovery.withDependencies({}, { createSocket: lan.socket });
    await expect(d.init(context('a@h', { port: undefined }))).rejects.toThrow(InvalidConfigError);
    await expect(d.init(context(`${'n'.repeat(250)}@host.example`))).rejects.toThrow(
      /Gossip cannot announce node/,
    );
    expect(lan.sockets).toHaveLength(0);
  });
});
