/**
 * NatsLink, the NATS client wrapper, against real nats-servers (Debian's, on loopback, through
 * test/support/nats-server.ts): connect, publish and subscribe, authentication, a first connect
 * while NATS is down, losing and regaining the server, moving to another server of the list, a
 * server that stops reading, and close. What needs no server (an open aborted by its signal, a
 * seed that cannot sign) is the unit spec beside the code.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterLogger } from '../../src/core/index.js';
import {
  NatsConnectionError,
  type NatsConnectionOptions,
  NatsLink,
  NatsNotConnectedError,
  resolveNatsConnectionOptions,
} from '../../src/nats/connection/index.js';
import { NatsServer, type NatsServerOptions, stopAllNatsServers } from '../support/nats-server.js';
import { until } from '../support/wait.js';

interface Recorder {
  readonly events: { connected: boolean; reason?: string; at: number }[];
  readonly lines: { level: string; message: string }[];
  readonly ports: Parameters<typeof NatsLink.open>[1];
}

function recorder(name = 'a@127.0.0.1', signal?: AbortSignal): Recorder {
  const events: Recorder['events'] = [];
  const lines: Recorder['lines'] = [];
  const logger: ClusterLogger = {
    log: message => lines.push({ level: 'log', message }),
    warn: message => lines.push({ level: 'warn', message }),
    error: message => lines.push({ level: 'error', message }),
  };
  return {
    events,
    lines,
    ports: {
      name,
      logger,
      signal,
      status: (connected, reason) => events.push({ connected, reason, at: performance.now() }),
    },
  };
}

/** The client's wait between two dials of a server. */
const RECONNECT_WAIT_MS = 100;
const FAST: Partial<NatsConnectionOptions> = {
  reconnectTimeWaitMs: RECONNECT_WAIT_MS,
  pingIntervalMs: 1_000,
  firstConnectWaitMs: 3_000,
  connectTimeoutMs: 1_000,
};

const servers: NatsServer[] = [];
const links: NatsLink[] = [];
async function open(options: NatsConnectionOptions, rec = recorder()): Promise<NatsLink> {
  const link = await NatsLink.open(
    resolveNatsConnectionOptions({ ...FAST, ...options }),
    rec.ports,
  );
  links.push(link);
  return link;
}
async function start(options: NatsServerOptions = {}): Promise<NatsServer> {
  const server = await NatsServer.start(options);
  servers.push(server);
  return server;
}
/** Two servers, started side by side. */
async function startTwo(): Promise<[NatsServer, NatsServer]> {
  const [s1, s2] = await Promise.all([start(), start()]);
  return [s1!, s2!];
}
/** A server that is down: its ports are known, {@link NatsServer.restart} starts it. */
async function notYet(): Promise<NatsServer> {
  await spare.kill();
  return spare;
}

/**
 * Servers started side by side before the tests, a start being a quarter of a second: those that
 * no test stops, pauses or restarts, shared by the tests that only use them (each on subjects of
 * its own), and a spare one, killed by each test that needs a server not there yet.
 */
let plain: NatsServer;
let secured: NatsServer;
let withToken: NatsServer;
let spare: NatsServer;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), `gen-cluster-nats-link-${process.pid}-`));
  [plain, secured, withToken, spare] = await Promise.all([
    NatsServer.start(),
    NatsServer.start({ user: 'u', password: 'p' }),
    NatsServer.start({ token: 'tok' }),
    NatsServer.start(),
  ]);
});
afterEach(async () => {
  await Promise.all(links.splice(0).map(link => link.close()));
  await Promise.all(servers.splice(0).map(server => server.close()));
});
afterAll(async () => {
  await stopAllNatsServers();
  rmSync(dir, { recursive: true, force: true });
});

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (payload: Uint8Array) => new TextDecoder().decode(payload);

/** Collects the payloads of `subject` on `link`. */
function collect(link: NatsLink, subject: string): string[] {
  const got: string[] = [];
  link.subscribe(subject, payload => got.push(text(payload)));
  return got;
}

describe('NatsLink', () => {
  it('connects, publishes and subscribes, and counts', async () => {
    const server = plain;
    const rec = recorder();
    const a = await open({ servers: server.url }, rec);
    const b = await open({ servers: `127.0.0.1:${server.port}` });
    expect(a.connected).toBe(true);
    expect(rec.events).toEqual([expect.objectContaining({ connected: true })]);
    expect(a.maxPayload).toBe(1024 * 1024);
    const got = collect(b, 'gc.t.>');
    await b.flush();
    a.publish('gc.t.x', bytes('one'));
    a.publish('gc.t.y', bytes('two'));
    await until(() => got.length === 2, 5_000, 'two messages');
    expect(got).toEqual(['one', 'two']);
    expect(a.stats()).toMatchObject({ outMsgs: 2, outBytes: 6, reconnects: 0 });
    expect(b.stats()).toMatchObject({ inMsgs: 2, inBytes: 6 });
    expect(a.pendingBytes()).toBeGreaterThanOrEqual(0);
  });

  it('authenticates with a user and password, and with a token', async () => {
    const a = await open({ servers: secured.url, user: 'u', password: 'p' });
    expect(a.connected).toBe(true);
    const b = await open({ servers: withToken.url, token: 'tok' });
    expect(b.connected).toBe(true);
    const got = collect(b, 's');
    await b.flush();
    b.publish('s', bytes('x'));
    await until(() => got.length === 1, 5_000, 'own message');
  });

  it('rejects open with ERR_NATS_AUTH for a wrong password, without the password', async () => {
    const server = secured;
    const started = performance.now();
    const error = (await open({ servers: server.url, user: 'u', password: 'wrong-pw' }).catch(
      (e: unknown) => e,
    )) as NatsConnectionError;
    expect(error).toBeInstanceOf(NatsConnectionError);
    expect(error.code).toBe('ERR_NATS_AUTH');
    expect(error.message).toContain('refused the credentials');
    expect(error.message).not.toContain('wrong-pw');
    // refused by the server at once, not after the first-connect wait or a timeout (5 s)
    expect(performance.now() - started).toBeLessThan(4_000);
    // no credentials at all, against a server that requires them
    const none = await open({ servers: server.url }).catch((e: unknown) => e);
    expect(none).toMatchObject({ code: 'ERR_NATS_AUTH' });
  });

  it('opens cut off while NATS is down, then connects when it starts', async () => {
    const server = await notYet();
    const rec = recorder();
    const started = performance.now();
    const link = await open({ servers: server.url, firstConnectWaitMs: 300 }, rec);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(link.connected).toBe(false);
    expect(rec.events).toEqual([expect.objectContaining({ connected: false })]);
    expect(() => link.publish('s', bytes('x'))).toThrow(NatsNotConnectedError);
    await expect(link.flush()).rejects.toBeInstanceOf(NatsNotConnectedError);
    const got = collect(link, 's'); // subscribed while cut off
    await server.restart();
    await until(() => link.connected, 5_000, 'the link to connect');
    expect(rec.events.at(-1)).toMatchObject({ connected: true });
    await link.flush();
    link.publish('s', bytes('after'));
    await until(() => got.length === 1, 5_000, 'a message after the late connect');
    expect(rec.lines.some(l => l.message.includes('not reachable after 300 ms'))).toBe(true);
  });

  it('reports the loss and the return of the server, keeps subscriptions, and refuses to publish meanwhile', async () => {
    const server = await start();
    const rec = recorder();
    const link = await open({ servers: server.url }, rec);
    const got = collect(link, 'k.>');
    await link.flush();
    await server.kill();
    await until(() => !link.connected, 5_000, 'the link to notice the loss');
    expect(rec.events.at(-1)).toMatchObject({ connected: false });
    expect(() => link.publish('k.x', bytes('lost'))).toThrow(NatsNotConnectedError);
    await server.restart();
    await until(() => link.connected, 5_000, 'the link to reconnect');
    expect(rec.events.at(-1)).toMatchObject({ connected: true });
    expect(link.stats().reconnects).toBe(1);
    link.publish('k.x', bytes('back'));
    await until(() => got.length >= 1, 5_000, 'a message after the reconnect');
    // nothing published while down was kept and sent later
    expect(got).toEqual(['back']);
  });

  it('moves to another server of the list when its server dies', async () => {
    const [s1, s2] = await startTwo();
    const rec = recorder();
    const link = await open({ servers: [s1.url, s2.url] }, rec);
    const first = link.server;
    const dying = first === `127.0.0.1:${s1.port}` ? s1 : s2;
    const killedAt = performance.now();
    await dying.kill();
    await until(
      () => link.connected && link.server !== first,
      5_000,
      'the move to the other server',
    );
    const back = rec.events.findLast(e => e.connected)!;
    // SIGKILL closes the socket: the move takes about one reconnect wait, not a ping timeout
    // (10 s at these options); generous for a loaded host
    expect(back.at - killedAt).toBeLessThan(4_000);
  });

  it('keeps going when a handler throws, logging it rate-limited', async () => {
    const server = plain;
    const rec = recorder();
    const link = await open({ servers: server.url }, rec);
    const got: string[] = [];
    link.subscribe('h', () => {
      throw new Error('handler bug');
    });
    link.subscribe('h', payload => got.push(text(payload)));
    await link.flush();
    for (let i = 0; i < 5; i++) link.publish('h', bytes(String(i)));
    await until(() => got.length === 5, 5_000, 'every message to the good handler');
    const logged = rec.lines.filter(l => l.message.includes('handler bug'));
    expect(logged).toHaveLength(1);
    expect(link.connected).toBe(true);
  });

  it('stops delivering to an unsubscribed handler', async () => {
    const server = plain;
    const link = await open({ servers: server.url });
    const got: string[] = [];
    const off = link.subscribe('u', payload => got.push(text(payload)));
    const all = collect(link, 'u');
    await link.flush();
    link.publish('u', bytes('1'));
    await until(() => got.length === 1, 5_000, 'the first message');
    off();
    off(); // twice is fine
    link.publish('u', bytes('2'));
    await until(() => all.length === 2, 5_000, 'the second message');
    expect(got).toEqual(['1']);
  });

  it('closes within a second, idempotently, also while the first connect is pending', async () => {
    const server = await notYet();
    const rec = recorder();
    const link = await open({ servers: server.url, firstConnectWaitMs: 0 }, rec);
    const started = performance.now();
    const first = link.close();
    expect(link.close()).toBe(first);
    await first;
    // close() is bounded by 1 s; the slack is for a loaded host's event loop
    expect(performance.now() - started).toBeLessThan(1_500);
    const eventsAtClose = rec.events.length;
    // a server appearing later is not connected to
    await server.restart();
    // "Nothing dials it" has no event to wait for: only a window can show it. Three reconnect
    // waits (100 ms each) of the closed link's client, were it still retrying, would each have
    // dialled the server; the server's own count of connections ever made is the witness.
    await new Promise(resolve => setTimeout(resolve, 3 * RECONNECT_WAIT_MS));
    expect((await server.monitor<{ total_connections?: number }>('/varz'))?.total_connections).toBe(
      0,
    );
    expect(rec.events).toHaveLength(eventsAtClose);
    expect(link.connected).toBe(false);
    expect(() => link.publish('s', bytes('x'))).toThrow(/closed/);
  });

  it('closes a connected link within a second', async () => {
    const server = plain;
    const link = await open({ servers: server.url });
    const started = performance.now();
    await link.close();
    // close() is bounded by 1 s; the slack is for a loaded host's event loop
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(link.connected).toBe(false);
    await link.close();
  });

  it('counts the bytes waiting for a server that does not read', async () => {
    const server = plain;
    const link = await open({ servers: server.url, pingIntervalMs: 60_000 });
    await link.flush();
    server.pause();
    try {
      const chunk = new Uint8Array(512 * 1024);
      for (let i = 0; i < 64; i++) link.publish('big', chunk);
      await new Promise(resolve => setImmediate(resolve));
      // 32 MiB published: the kernel's buffers hold a few, the rest waits in the socket
      expect(link.pendingBytes()).toBeGreaterThan(8 * 1024 * 1024);
    } finally {
      server.resume();
    }
    await until(() => link.pendingBytes() === 0, 10_000, 'the backlog to drain');
  });
});

describe('NatsLink when the server changes under it', () => {
  it('moves to another server when its server goes silent with a backlog', async () => {
    const [s1, s2] = await startTwo();
    const rec = recorder();
    const link = await open({ servers: [s1.url, s2.url], pingIntervalMs: 200 }, rec);
    await link.flush();
    const first = link.server;
    const silent = first === `127.0.0.1:${s1.port}` ? s1 : s2;
    silent.pause();
    const stoppedAt = performance.now();
    try {
      // a backlog the silent server never reads: the client alone would hang on it
      const chunk = new Uint8Array(512 * 1024);
      for (let i = 0; i < 64; i++) link.publish('big', chunk);
      // 3 ping intervals (600 ms) to notice, 250 ms grace, then the other server at once: ~0.9 s
      // quiet, ~3.5 s seen at load 15; the client alone never leaves (the deadline tells them apart)
      await until(() => link.connected && link.server !== first, 8_000, 'the move');
      console.log(
        `NatsLink: moved off a silent server in ${Math.round(performance.now() - stoppedAt)} ms`,
      );
      expect(rec.events.map(e => e.reason ?? 'up')).toContain('stale connection');
    } finally {
      silent.resume();
    }
  });

  it('keeps retrying when the server refuses its credentials after the first connect', async () => {
    // The credentials live in a config file that each (re)start of the server reads.
    const config = join(dir, 'rotate.conf');
    const password = (p: string) =>
      writeFileSync(config, `authorization { user: u, password: ${p} }\n`);
    password('p');
    const server = await start({ args: ['-c', config] });
    const rec = recorder();
    const link = await open({ servers: server.url, user: 'u', password: 'p' }, rec);
    const got = collect(link, 'r');
    await link.flush();
    await server.kill();
    password('rotated');
    await server.restart();
    await until(
      () => rec.lines.some(l => l.level === 'error' && l.message.includes('refuses this node')),
      5_000,
      'the credentials error',
    );
    expect(link.connected).toBe(false);
    // retried every 100 ms (each refusal reported), logged once
    const refusals = () => rec.events.filter(e => e.reason === 'authorization violation').length;
    await until(() => refusals() >= 3, 5_000, 'three refused attempts');
    expect(rec.lines.filter(l => l.message.includes('refuses this node'))).toHaveLength(1);
    expect(rec.lines.some(l => l.message.includes('rotated') || l.message.includes(': p'))).toBe(
      false,
    );
    await server.kill();
    password('p');
    await server.restart();
    await until(() => link.connected, 5_000, 'the reconnect with the good credentials');
    link.publish('r', bytes('again'));
    await until(() => got.length === 1, 5_000, 'a message after the fix');
  });
});
