/**
 * Adversarial TLS scenarios of docs/reliability (research §A): identity binding under mutual TLS
 * (20), the cookie still required inside TLS (21), silent and stalled TLS connects (35), and the
 * TLS matrix (60, 61). In-process nodes on real loopback sockets; raw TLS clients play the
 * attackers. The checks tcp-tls.e2e-spec.ts already makes are not repeated here: these add the
 * event counts and the cases it lacks (an expired certificate, an impostor beside the genuine
 * node, the global cap, a stalled ClientHello, the default deadline).
 */
import { type Server, type Socket, createConnection, createServer } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { InitiatorHandshake } from '../../src/distribution/tcp/handshake/index.js';
import type { ClusterEvent, TcpDistOptions } from '../../src/index.js';
import { startInProcess, stopInProcess, type TestNode } from '../support/in-process.js';
import { type TestCerts, makeTestCerts } from '../support/test-certs.js';
import { until } from '../support/wait.js';

type TlsConfig = NonNullable<TcpDistOptions['tls']>;

const addr = (node: TestNode, name: string) => `${name}@127.0.0.1:${node.port}`;
const count = (node: TestNode, type: ClusterEvent['type']) =>
  node.events.filter(e => e.type === type).length;
const failures = (node: TestNode) =>
  node.events
    .filter(e => e.type === 'connectFailed')
    .map(e => (e as { error: { code?: string; reason?: string } }).error);
/** The reasons of the TLS refusals a node logged, in order. */
const tlsReasons = (node: TestNode) =>
  node.logs
    .filter(l => l.startsWith('warn'))
    .map(l => /failed \(reason "([a-z-]+)"\)/.exec(l)?.[1])
    .filter((r): r is string => r !== undefined);
const handshakeLogs = (node: TestNode) => node.logs.filter(l => /Handshake with/.test(l));

describe('adversarial: TLS and mutual TLS (scenarios 20, 21, 35, 60, 61)', () => {
  let certs: TestCerts;
  const opened: (Server | Socket)[] = [];

  const mtls = (extra: Partial<TlsConfig> = {}): TcpDistOptions => ({
    tls: { cert: certs.node.cert, key: certs.node.key, ca: certs.ca, ...extra },
  });

  /** A raw TLS client to `port`; resolves when it closes, with what it saw. */
  const rawTls = (port: number, options: ConnectionOptions, onSecure?: (s: Socket) => void) =>
    new Promise<{ secure: boolean; error?: string; bytes: number }>(resolve => {
      const socket = tlsConnect({ host: '127.0.0.1', port, ca: certs.ca, ...options });
      opened.push(socket);
      const seen = { secure: false, error: undefined as string | undefined, bytes: 0 };
      socket.on('secureConnect', () => {
        seen.secure = true;
        onSecure?.(socket);
      });
      socket.on('data', chunk => (seen.bytes += chunk.length));
      socket.on('error', e => (seen.error = (e as { code?: string }).code ?? e.message));
      socket.on('close', () => resolve(seen));
    });

  beforeAll(async () => {
    certs = await makeTestCerts();
  });

  afterAll(async () => {
    await certs?.cleanup();
  });

  afterEach(async () => {
    await stopInProcess();
    const handles = opened.splice(0);
    for (const handle of handles) if ('destroy' in handle) handle.destroy();
    for (const handle of handles)
      if (!('destroy' in handle)) await new Promise(resolve => handle.close(resolve));
  });

  it('60: refuses a client without a certificate before reading any byte it sends', async () => {
    const b = await startInProcess('b', [], mtls());
    const hello = Buffer.concat(
      new InitiatorHandshake({
        self: {
          name: 'z@127.0.0.1',
          incarnation: 'z9z9z9z9',
          listenPort: null,
          hidden: false,
          heartbeatMs: 200,
          failureTimeoutMs: 1_000,
        },
        cookie: 'in-process-cookie',
        expectedName: 'b@127.0.0.1',
      }).start().send ?? [],
    );
    // the client writes a valid hello as soon as its side of TLS is done
    const seen = await rawTls(b.port, {}, socket => socket.write(hello));
    expect(seen.bytes).toBe(0); // no challenge, no refusal: the handshake never ran
    await until(() => tlsReasons(b).includes('no-certificate'), 5_000, 'b to log the refusal');
    expect(handshakeLogs(b)).toEqual([]);
    expect(count(b, 'nodeUp')).toBe(0);
  });

  it('61: refuses another CA, an expired certificate and one naming another host, each with its own reason', async () => {
    const b = await startInProcess('b', [], mtls());
    // a certificate of another CA, and an expired one of the right CA: refused by TLS itself
    const foreign = await rawTls(b.port, { cert: certs.foreign.cert, key: certs.foreign.key });
    const expired = await rawTls(b.port, { cert: certs.expired.cert, key: certs.expired.key });
    expect([foreign.bytes, expired.bytes]).toEqual([0, 0]);
    // a valid certificate of the right CA for 127.0.0.2: refused once the cookie is proven
    const c = await startInProcess(
      'c',
      [addr(b, 'b')],
      mtls({ cert: certs.otherName.cert, key: certs.otherName.key, verifyNodeName: false }),
    );
    await until(() => failures(c).length >= 1, 5_000, 'c to be refused');
    expect(failures(c)[0]).toMatchObject({ code: 'ERR_TLS_CERT_NAME', reason: 'certificate-name' });
    await until(() => tlsReasons(b).length >= 2, 5_000, 'b to log the TLS refusals');
    await until(
      () => b.logs.some(l => l.startsWith('warn') && /reason "certificate-name"/.test(l)),
      5_000,
      'b to log the name refusal',
    );
    const reasons = new Set([
      ...tlsReasons(b),
      ...b.logs
        .filter(l => l.startsWith('warn'))
        .map(l => /reason "(certificate-name)"/.exec(l)?.[1])
        .filter(Boolean),
    ]);
    expect([...reasons].sort()).toEqual([
      'certificate-expired',
      'certificate-name',
      'untrusted-certificate',
    ]);
    expect(count(b, 'nodeUp')).toBe(0);
    expect(count(c, 'nodeUp')).toBe(0);
  });

  it('61: a node dialling a server whose certificate expired fails with reason certificate-expired', async () => {
    // the raw server presents the expired certificate of the right CA
    const { createServer: createTlsServer } = await import('node:tls');
    const server = createTlsServer({ cert: certs.expired.cert, key: certs.expired.key });
    server.on('tlsClientError', () => undefined);
    opened.push(server);
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const a = await startInProcess('a', [`e@127.0.0.1:${port}`], mtls());
    await until(() => failures(a).length >= 1, 5_000, 'the refused dial');
    expect(failures(a)[0]).toMatchObject({
      code: 'ERR_TLS_HANDSHAKE',
      reason: 'certificate-expired',
    });
    expect(count(a, 'nodeUp')).toBe(0);
  });

  it('20: refuses an impostor with a valid certificate naming another host, leaving the genuine node linked', async () => {
    const a = await startInProcess('a', [], mtls());
    const b = await startInProcess('b', [addr(a, 'a')], mtls());
    await until(() => a.cluster.nodes().length === 1, 5_000, 'the genuine b to link');
    // a second "b@127.0.0.1" with a certificate for 127.0.0.2, signed by the right CA
    const impostor = await startInProcess(
      'b',
      [addr(a, 'a')],
      mtls({ cert: certs.otherName.cert, key: certs.otherName.key, verifyNodeName: false }),
    );
    await until(() => failures(impostor).length >= 3, 10_000, 'three refused dials');
    for (const error of failures(impostor))
      expect(error).toMatchObject({ code: 'ERR_TLS_CERT_NAME', reason: 'certificate-name' });
    // the refusal came before any membership decision: the genuine b was never pinged away,
    // replaced or reported down, and a logged the refusal once (rate-limited)
    expect(a.events.filter(e => e.type === 'nodeUp' || e.type === 'nodeDown')).toEqual([
      expect.objectContaining({ type: 'nodeUp', node: 'b@127.0.0.1' }),
    ]);
    expect(a.cluster.nodes()).toEqual(['b@127.0.0.1']);
    expect(count(b, 'nodeDown')).toBe(0);
    expect(count(impostor, 'nodeUp')).toBe(0);
    expect(a.logs.filter(l => l.startsWith('warn') && /certificate-name/.test(l))).toHaveLength(1);
    b.dist.messaging.on('who', () => 'genuine');
    await expect(
      a.dist.messaging.request('b@127.0.0.1', 'who', null, { timeoutMs: 5_000 }),
    ).resolves.toBe('genuine');
  });

  it('21: refuses a wrong cookie inside valid mutual TLS, both ways, with no nodeUp and one warning per side', async () => {
    const b = await startInProcess('b', [], { ...mtls(), cookie: 'cookie-of-b' });
    const a = await startInProcess('a', [addr(b, 'b')], { ...mtls(), cookie: 'cookie-of-a' });
    b.discovery.answer = [addr(a, 'a')];
    await b.cluster.refresh();
    await until(
      () => failures(a).length >= 3 && failures(b).length >= 3,
      10_000,
      'three refused dials each way',
    );
    for (const error of [...failures(a), ...failures(b)]) expect(error.code).toBe('ERR_BAD_COOKIE');
    // TLS itself was fine: the refusal is the cookie's, inside the encrypted channel
    expect([...tlsReasons(a), ...tlsReasons(b)]).toEqual([]);
    expect([count(a, 'nodeUp'), count(b, 'nodeUp')]).toEqual([0, 0]);
    // one warning as the acceptor (rate-limited per source and reason) and one as the dialler
    // (then a periodic summary), however many attempts were refused
    const warnings = (n: TestNode, pattern: RegExp) =>
      n.logs.filter(l => l.startsWith('warn') && pattern.test(l)).length;
    const refusedIn = /^warn Handshake with .*bad cookie/;
    const refusedOut = /^warn Cannot connect to .*bad cookie/;
    expect([warnings(a, refusedIn), warnings(b, refusedIn)]).toEqual([1, 1]);
    expect([warnings(a, refusedOut), warnings(b, refusedOut)]).toEqual([1, 1]);
    expect([...a.logs, ...b.logs].join('\n')).not.toMatch(/cookie-of-/);
  });

  it('35: closes silent and stalled TLS connects at the deadline, caps them globally, and the links keep running', async () => {
    const deadline = 2_000;
    const b = await startInProcess('b', [], {
      ...mtls({ handshakeTimeoutMs: deadline }),
      maxPendingHandshakes: 4,
      maxPendingHandshakesPerIp: 32,
    });
    const p = await startInProcess('p', [addr(b, 'b')], mtls());
    await until(() => b.cluster.nodes().length === 1, 5_000, 'the established peer');
    // the first bytes of a real ClientHello, to send and then stall
    const clientHello = await captureClientHello();
    const connectFrom = (host: string, bytes?: Buffer) => {
      const started = performance.now();
      const socket = createConnection({ host: '127.0.0.1', port: b.port, localAddress: host });
      opened.push(socket);
      socket.on('error', () => undefined);
      socket.resume(); // read what the server sends, so that its close is seen
      if (bytes) socket.once('connect', () => socket.write(bytes));
      return new Promise<number>(resolve =>
        socket.once('close', () => resolve(performance.now() - started)),
      );
    };
    // four fill the global cap, from four addresses (the per-address cap is not what acts)
    const held = [
      connectFrom('127.0.0.2'),
      connectFrom('127.0.0.3'),
      connectFrom('127.0.0.4', clientHello.subarray(0, 20)),
      connectFrom('127.0.0.5', clientHello),
    ];
    await until(() => pendingHandshakes(b) === 4, 2_000, 'four pending handshakes');
    const excess = [connectFrom('127.0.0.6'), connectFrom('127.0.0.7'), connectFrom('127.0.0.8')];
    const excessTimes = await Promise.all(excess);
    const heldTimes = await Promise.all(held);
    for (const t of excessTimes) expect(t).toBeLessThan(deadline * 0.8); // at once, not at the deadline
    for (const t of heldTimes) {
      expect(t).toBeGreaterThanOrEqual(deadline * 0.8);
      expect(t).toBeLessThan(deadline + 4_000);
    }
    await until(
      () => tlsReasons(b).filter(r => r === 'timeout').length >= 1,
      2_000,
      'b to log the timeouts',
    );
    // the established link never noticed; the slots came back
    expect([count(b, 'nodeDown'), count(p, 'nodeDown')]).toEqual([0, 0]);
    b.dist.messaging.on('echo', x => x);
    await expect(
      p.dist.messaging.request('b@127.0.0.1', 'echo', 7, { timeoutMs: 5_000 }),
    ).resolves.toBe(7);
    const q = await startInProcess('q', [addr(b, 'b')], mtls());
    await until(
      () => q.cluster.nodes().includes('b@127.0.0.1'),
      5_000,
      'a new peer after the storm',
    );
  });

  it('35: the default TLS handshake deadline is 10 s, not Node’s 120 s', async () => {
    const b = await startInProcess('b', [], mtls());
    const socket = createConnection({ host: '127.0.0.1', port: b.port });
    opened.push(socket);
    socket.on('error', () => undefined);
    const started = performance.now();
    await new Promise(resolve => socket.once('close', resolve));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(9_000);
    expect(elapsed).toBeLessThan(20_000);
    await until(() => tlsReasons(b).includes('timeout'), 2_000, 'b to log the timeout');
  }, 60_000);
});

/** How many connections a node holds in their TLS or cookie handshake. */
function pendingHandshakes(node: TestNode): number {
  const listener = (node.dist as unknown as { mesh: { listener: unknown } }).mesh?.listener as
    { tlsAccepting?: Map<unknown, unknown>; unauthenticated?: Set<unknown> } | undefined;
  return (listener?.tlsAccepting?.size ?? 0) + (listener?.unauthenticated?.size ?? 0);
}

/** The first flight of a real TLS client (its ClientHello), captured on a plain server. */
async function captureClientHello(): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const bytes = new Promise<Buffer>(resolve =>
    server.once('connection', socket => {
      socket.once('data', chunk => {
        resolve(Buffer.from(chunk));
        socket.destroy();
      });
    }),
  );
  const client = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  client.on('error', () => undefined);
  const hello = await bytes;
  client.destroy();
  await new Promise(resolve => server.close(resolve));
  expect(hello[0]).toBe(0x16); // a TLS handshake record
  return hello;
}
