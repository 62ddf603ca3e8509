import { type Server, type Socket, createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { type ClusterEvent, TcpDist, type TcpDistOptions } from '../../src/index.js';
import { startInProcess, stopInProcess, type TestNode } from '../support/in-process.js';
import { type TestCerts, makeTestCerts } from '../support/test-certs.js';
import { until } from '../support/wait.js';

type TlsConfig = NonNullable<TcpDistOptions['tls']>;

const addr = (node: TestNode, name: string) => `${name}@127.0.0.1:${node.port}`;
const connectFailures = (node: TestNode) =>
  node.events.filter(
    (e): e is Extract<ClusterEvent, { type: 'connectFailed' }> => e.type === 'connectFailed',
  );
const firstError = (node: TestNode) =>
  connectFailures(node)[0]?.error as { code?: string; reason?: string; message: string };
const warned = (node: TestNode, pattern: RegExp) =>
  node.logs.some(l => l.startsWith('warn') && pattern.test(l));

describe('TCP dist over TLS (real sockets, one process)', () => {
  let certs: TestCerts;
  /** Loopback servers and sockets a test opened itself, closed after it. */
  const opened: (Server | Socket)[] = [];

  /** Mutual TLS with the test CA and the certificate for 127.0.0.1, plus `extra`. */
  const mtls = (extra: Partial<TlsConfig> = {}): TcpDistOptions => ({
    tls: { cert: certs.node.cert, key: certs.node.key, ca: certs.ca, ...extra },
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
    for (const handle of handles) {
      if (!('destroy' in handle)) await new Promise(resolve => handle.close(resolve));
    }
  });

  it('links two nodes over mutual TLS and carries requests', async () => {
    const b = await startInProcess('b', [], {
      tls: { certFile: certs.node.certFile, keyFile: certs.node.keyFile, caFile: certs.caFile },
    });
    const a = await startInProcess('a', [addr(b, 'b')], mtls());
    await until(
      () => a.cluster.nodes().length === 1 && b.cluster.nodes().length === 1,
      5_000,
      'a TLS link',
    );
    expect(a.dist.linkAddress('b@127.0.0.1')?.tls).toBe('TLSv1.3');
    expect(b.dist.linkAddress('a@127.0.0.1')?.tls).toBe('TLSv1.3');
    expect(b.logs.some(l => /over mutual TLS/.test(l))).toBe(true);
    b.dist.messaging.on('echo', (payload, { from }) => ({ payload, from }));
    await expect(
      a.dist.messaging.request('b@127.0.0.1', 'echo', { n: 42 }, { timeoutMs: 5_000 }),
    ).resolves.toEqual({ payload: { n: 42 }, from: 'a@127.0.0.1' });
    // a graceful leave still reads as one through TLS
    await b.cluster.stop();
    await until(() => a.events.some(e => e.type === 'nodeDown'), 5_000, 'the nodeDown');
    expect(a.events.find(e => e.type === 'nodeDown')).toMatchObject({ reason: 'left' });
  });

  it('links over TLS 1.2 when both ends allow it', async () => {
    // a peer capped at TLS 1.2 (a raw client) still gets through the TLS layer of a 1.2 node
    const b = await startInProcess('b', [], mtls());
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: b.port,
      ca: certs.ca,
      cert: certs.node.cert,
      key: certs.node.key,
      maxVersion: 'TLSv1.2',
    });
    opened.push(socket);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('close', () => reject(new Error('closed before secureConnect')));
    });
    expect(socket.getProtocol()).toBe('TLSv1.2');
  });

  it('refuses a client that presents no certificate to a mutual-TLS node', async () => {
    const b = await startInProcess('b', [], mtls());
    const a = await startInProcess('a', [addr(b, 'b')], mtls({ mutual: false }));
    await until(() => connectFailures(a).length >= 1, 5_000, 'the refusal on a');
    expect(firstError(a)).toMatchObject({ code: 'ERR_TLS_HANDSHAKE', reason: 'no-certificate' });
    await until(
      () => warned(b, /with 127\.0\.0\.1:\d+ failed \(reason "no-certificate"\)/),
      5_000,
      'b to log the refusal',
    );
    // refused by TLS: the cookie handshake never ran on b
    expect(b.logs.some(l => /Handshake with/.test(l))).toBe(false);
    expect(a.cluster.nodes()).toEqual([]);
    expect(b.cluster.nodes()).toEqual([]);
  });

  it('refuses a certificate signed by another CA, both ways', async () => {
    const b = await startInProcess('b', [], mtls());
    // a trusts b's CA but has a certificate of another CA
    const a = await startInProcess(
      'a',
      [addr(b, 'b')],
      mtls({ cert: certs.foreign.cert, key: certs.foreign.key }),
    );
    await until(() => connectFailures(a).length >= 1, 5_000, 'the refusal on a');
    // Node refuses an unverified client certificate by closing, after the TLS handshake (no
    // alert): a only sees the close; b says why
    expect(firstError(a)).toMatchObject({ code: 'ERR_TLS_HANDSHAKE', reason: 'closed' });
    await until(
      () => warned(b, /with 127\.0\.0\.1:\d+ failed \(reason "untrusted-certificate"\)/),
      5_000,
      'b to log it, with the address',
    );
    expect(b.logs.some(l => /Handshake with/.test(l))).toBe(false);
    // and b dialling a: b does not trust a's server certificate
    b.discovery.answer = [addr(a, 'a')];
    await b.cluster.refresh();
    await until(() => connectFailures(b).length >= 1, 5_000, 'the refusal on b');
    expect(firstError(b)).toMatchObject({
      code: 'ERR_TLS_HANDSHAKE',
      reason: 'untrusted-certificate',
    });
    expect(a.cluster.nodes()).toEqual([]);
    expect(b.cluster.nodes()).toEqual([]);
  });

  it('refuses a certificate that does not name the host of the node, both ways', async () => {
    // b is b@127.0.0.1 with a certificate for 127.0.0.2 / other.test (and does not check itself)
    const b = await startInProcess(
      'b',
      [],
      mtls({ cert: certs.otherName.cert, key: certs.otherName.key, verifyNodeName: false }),
    );
    const a = await startInProcess('a', [addr(b, 'b')], mtls());
    // a dials b: the server certificate does not name 127.0.0.1
    await until(() => connectFailures(a).length >= 1, 5_000, 'the refusal on a');
    expect(firstError(a)).toMatchObject({ code: 'ERR_TLS_CERT_NAME', reason: 'certificate-name' });
    expect(firstError(a).message).toMatch(/b@127\.0\.0\.1/);
    // b dials a: a checks the client certificate against the node b proved the cookie for
    b.discovery.answer = [addr(a, 'a')];
    await b.cluster.refresh();
    await until(() => connectFailures(b).length >= 1, 5_000, 'the refusal on b');
    expect(firstError(b)).toMatchObject({ code: 'ERR_TLS_CERT_NAME', reason: 'certificate-name' });
    await until(() => warned(a, /reason "certificate-name"/), 5_000, 'a to log the refusal');
    const line = a.logs.find(l => /as b@127\.0\.0\.1/.test(l))!;
    expect(line).toMatch(/IP Address:127\.0\.0\.2/);
    expect(line).toMatch(/not 127\.0\.0\.1/);
    expect(a.cluster.nodes()).toEqual([]);
    expect(b.cluster.nodes()).toEqual([]);
  });

  it('still requires the cookie inside TLS', async () => {
    const b = await startInProcess('b', [], { ...mtls(), cookie: 'cookie-of-b' });
    const a = await startInProcess('a', [addr(b, 'b')], { ...mtls(), cookie: 'cookie-of-a' });
    await until(() => connectFailures(a).length >= 1, 5_000, 'the refusal on a');
    expect(firstError(a).code).toBe('ERR_BAD_COOKIE');
    await until(() => warned(b, /cookie/i), 5_000, 'b to log the refusal');
    expect(a.cluster.nodes()).toEqual([]);
    expect(b.cluster.nodes()).toEqual([]);
    expect([...a.logs, ...b.logs].join('\n')).not.toMatch(/cookie-of-/);
  });

  it('refuses plain TCP on a TLS node, and TLS on a plain node, long before the deadline', async () => {
    const deadline = { handshakeTimeoutMs: 3_000 };
    const tlsNode = await startInProcess('b', [], mtls(deadline));
    let started = performance.now();
    const plain = await startInProcess('a', [addr(tlsNode, 'b')]);
    await until(() => connectFailures(plain).length >= 1, 5_000, 'the plain client to fail');
    expect(performance.now() - started).toBeLessThan(deadline.handshakeTimeoutMs);
    await until(() => warned(tlsNode, /reason "not-tls"/), 5_000, 'the TLS node to log it');
    // the other way round: a TLS client dialling a plain node
    started = performance.now();
    tlsNode.discovery.answer = [addr(plain, 'a')];
    await tlsNode.cluster.refresh();
    await until(() => connectFailures(tlsNode).length >= 1, 5_000, 'the TLS client to fail');
    expect(performance.now() - started).toBeLessThan(deadline.handshakeTimeoutMs);
    expect(firstError(tlsNode).code).toBe('ERR_TLS_HANDSHAKE');
    expect(plain.cluster.nodes()).toEqual([]);
    expect(tlsNode.cluster.nodes()).toEqual([]);
  });

  it('closes a silent connection at the TLS handshake deadline, on both sides', async () => {
    const deadline = { handshakeTimeoutMs: 400 };
    // a peer that connects to a TLS node and says nothing
    const b = await startInProcess('b', [], mtls(deadline));
    const socket = createConnection({ host: '127.0.0.1', port: b.port });
    opened.push(socket);
    socket.on('error', () => undefined);
    let started = performance.now();
    await new Promise(resolve => socket.once('close', resolve));
    let elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(5_000);
    await until(
      () => warned(b, /with 127\.0\.0\.1:\d+ failed \(reason "timeout"\)/),
      2_000,
      'b to log the timeout',
    );
    // a TLS node dialling a peer that accepts and says nothing
    const silent = createServer(s => opened.push(s));
    opened.push(silent);
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as { port: number }).port;
    started = performance.now();
    const a = await startInProcess('a', [`s@127.0.0.1:${silentPort}`], mtls(deadline));
    await until(() => connectFailures(a).length >= 1, 5_000, 'the dial to time out');
    elapsed = performance.now() - started;
    expect(firstError(a)).toMatchObject({ code: 'ERR_TLS_HANDSHAKE', reason: 'timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('counts connections in their TLS handshake against the caps, and releases them', async () => {
    const b = await startInProcess('b', [], {
      ...mtls({ handshakeTimeoutMs: 400 }),
      maxPendingHandshakesPerIp: 2,
    });
    const sockets = [0, 1, 2].map(() => createConnection({ host: '127.0.0.1', port: b.port }));
    opened.push(...sockets);
    const closed = sockets.map(
      s => new Promise<number>(resolve => s.on('close', () => resolve(performance.now()))),
    );
    for (const s of sockets) s.on('error', () => undefined);
    const started = performance.now();
    const times = (await Promise.all(closed)).map(t => t - started).sort((x, y) => x - y);
    expect(times[0]).toBeLessThan(200); // over the per-address cap: closed at once
    expect(times[2]).toBeGreaterThanOrEqual(300); // the others wait for the TLS deadline
    expect(times[2]).toBeLessThan(5_000);
    // the slots were given back: a real peer gets in
    const a = await startInProcess('a', [addr(b, 'b')], mtls());
    await until(() => a.cluster.nodes().length === 1, 5_000, 'a link after the refusals');
  });

  it('refuses clients below the TLS version floor', async () => {
    const b = await startInProcess('b', [], mtls());
    const c = await startInProcess('c', [], mtls({ minVersion: 'TLSv1.3' }));
    const attempt = (port: number, versions: { minVersion: 'TLSv1'; maxVersion: string }) =>
      new Promise<string>(resolve => {
        const socket = tlsConnect({
          host: '127.0.0.1',
          port,
          ca: certs.ca,
          cert: certs.node.cert,
          key: certs.node.key,
          ciphers: 'DEFAULT@SECLEVEL=0', // let this client offer versions below the floor
          ...(versions as { minVersion: 'TLSv1'; maxVersion: 'TLSv1.1' }),
        });
        opened.push(socket);
        socket.once('secureConnect', () => resolve(`connected with ${socket.getProtocol()}`));
        socket.once('error', error => resolve((error as { code?: string }).code ?? error.message));
      });
    await expect(attempt(b.port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' })).resolves.toMatch(
      /^ERR_SSL_/,
    );
    await until(() => warned(b, /reason "version"/), 2_000, 'b to log the old client');
    await expect(attempt(c.port, { minVersion: 'TLSv1', maxVersion: 'TLSv1.2' })).resolves.toMatch(
      /^ERR_SSL_/,
    );
    await until(() => warned(c, /reason "version"/), 2_000, 'c to log the TLS 1.2 client');
  });

  it('settles TLS dials that fail at once or are refused, with typed errors and no crash', async () => {
    const a = await startInProcess('a', [], mtls());
    const within = <T>(promise: Promise<T>) =>
      Promise.race([
        promise,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('the dial never settled')), 5_000).unref(),
        ),
      ]);
    // a bad port makes the TLS connect throw synchronously, inside the dial
    await expect(
      within(a.dist.connect({ node: 'x@127.0.0.1', port: 70_000 }, AbortSignal.timeout(5_000))),
    ).rejects.toThrow(/Port/);
    // a peers message naming such ports is ignored, and the link stays up
    const b = await startInProcess('b', [addr(a, 'a')], mtls());
    // both sides: b's link to a is used below, and b may adopt it a moment after a does
    await until(
      () => a.cluster.nodes().length === 1 && b.cluster.nodes().length === 1,
      5_000,
      'a TLS link, on both sides',
    );
    const meshOf = (node: TestNode) =>
      (
        node.dist as unknown as {
          mesh: { connectionTo(n: string): { sendControl(m: unknown): void } };
        }
      ).mesh;
    meshOf(b)
      .connectionTo('a@127.0.0.1')
      .sendControl({ type: 'peers', peers: [{ node: 'x@127.0.0.1', port: 70_000 }] });
    b.dist.messaging.on('echo', payload => payload);
    await expect(
      a.dist.messaging.request('b@127.0.0.1', 'echo', 1, { timeoutMs: 5_000 }),
    ).resolves.toBe(1);
    const server = createServer();
    opened.push(server);
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise(resolve => server.close(resolve));
    await expect(
      within(a.dist.connect({ node: 'y@127.0.0.1', port }, AbortSignal.timeout(5_000))),
    ).rejects.toMatchObject({ code: 'ERR_CONNECT_FAILED', cause: { code: 'ECONNREFUSED' } });
    expect(b.cluster.nodes()).toEqual(['a@127.0.0.1']);
  });

  it("fails at startup when this node's certificate does not name its host", async () => {
    await expect(
      startInProcess('b', [], mtls({ cert: certs.otherName.cert, key: certs.otherName.key })),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_CONFIG',
      message: expect.stringMatching(/tls\.cert.*IP Address:127\.0\.0\.2.*b@127\.0\.0\.1/),
    });
  });

  describe('configuration', () => {
    const cases: [string, (c: TestCerts) => TlsConfig, RegExp][] = [
      ['a certificate without its key', c => ({ cert: c.node.cert, ca: c.ca }), /tls\.key/],
      ['a key without its certificate', c => ({ key: c.node.key, ca: c.ca }), /tls\.cert\b/],
      ['mutual TLS without a CA', c => ({ cert: c.node.cert, key: c.node.key }), /tls\.ca\b/],
      [
        'an unreadable certificate file',
        c => ({ certFile: join(c.dir, 'missing.pem'), key: c.node.key, ca: c.ca }),
        /tls\.certFile.*missing\.pem/,
      ],
      [
        'an unreadable key file',
        c => ({ cert: c.node.cert, keyFile: join(c.dir, 'missing.key'), ca: c.ca }),
        /tls\.keyFile.*missing\.key/,
      ],
      [
        'an unreadable CA file',
        c => ({ cert: c.node.cert, key: c.node.key, caFile: join(c.dir, 'missing-ca.pem') }),
        /tls\.caFile.*missing-ca\.pem/,
      ],
      [
        'a version below TLS 1.2',
        c => ({ ...nodeTls(c), minVersion: 'TLSv1.1' as 'TLSv1.2' }),
        /tls\.minVersion.*"TLSv1\.1"/,
      ],
      ['a certificate that is not PEM', c => ({ ...nodeTls(c), cert: 'hello' }), /tls\.cert\b/],
      ['a CA that is not PEM', c => ({ ...nodeTls(c), ca: 'not a certificate' }), /tls\.ca\b/],
      [
        'the key of another certificate',
        c => ({ ...nodeTls(c), key: c.foreign.key }),
        /tls\.key.*another certificate/,
      ],
      [
        'both an inline certificate and a file',
        c => ({ ...nodeTls(c), certFile: c.node.certFile }),
        /tls\.cert\b.*both/,
      ],
      [
        'a zero handshake deadline',
        c => ({ ...nodeTls(c), handshakeTimeoutMs: 0 }),
        /tls\.handshakeTimeoutMs/,
      ],
    ];

    it.each(cases)('throws ERR_INVALID_CONFIG at construction for %s', (_, make, option) => {
      const tls = make(certs);
      let thrown: { code?: string; message: string } | undefined;
      try {
        new TcpDist({ cookie: 'c', tls });
      } catch (error) {
        thrown = error as { code?: string; message: string };
      }
      expect(thrown?.code).toBe('ERR_INVALID_CONFIG');
      expect(thrown?.message).toMatch(option);
      expect(thrown?.message).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
    });

    it('accepts server-only TLS without a CA, and complete file-based options', () => {
      expect(
        () =>
          new TcpDist({
            cookie: 'c',
            tls: { cert: certs.node.cert, key: certs.node.key, mutual: false },
          }),
      ).not.toThrow();
      expect(
        () =>
          new TcpDist({
            cookie: 'c',
            tls: {
              certFile: certs.node.certFile,
              keyFile: certs.node.keyFile,
              caFile: [certs.caFile],
              minVersion: 'TLSv1.3',
            },
          }),
      ).not.toThrow();
    });
  });
});

function nodeTls(c: TestCerts): TlsConfig {
  return { cert: c.node.cert, key: c.node.key, ca: c.ca };
}
