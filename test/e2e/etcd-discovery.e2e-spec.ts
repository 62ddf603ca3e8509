/**
 * The etcd discovery against a real etcd (Debian's etcd-server, on loopback, temp data dir):
 * three node processes form a cluster through it; a node killed with SIGKILL leaves when its lease
 * expires; a node stopped gracefully revokes its lease and leaves at once. Then, in this process,
 * user/password authentication and TLS against one etcd serving https with auth enabled: a bad
 * password and an untrusted CA fail as `DiscoveryError`s with their codes, and the auth token is
 * renewed when etcd declares it invalid (a restart keeps tokens: etcd replays its log).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DiscoveryError, type ClusterLogger } from '../../src/index.js';
import { EtcdDiscovery } from '../../src/etcd/index.js';
import { EtcdApi } from '../../src/discovery/etcd/etcd-api.js';
import { EtcdClient } from '../../src/discovery/etcd/etcd-client.js';
import { Etcd, type EtcdNode, etcdNodeOptions, startEtcdNode } from '../support/etcd.js';
import { type TestCerts, makeTestCerts } from '../support/test-certs.js';
import { startNode, stopAll } from '../support/nodes.js';
import { freePort } from '../support/ports.js';
import { until } from '../support/wait.js';

const TTL = 2;
/** With authentication: 15 s, so requests may take 5 s (a third of it). */
const AUTH_TTL = 15;
const PREFIX = '/gc-e2e';
const names = ['n1', 'n2', 'n3'].map(n => `${n}@127.0.0.1`);
const key = (node: string) => `${PREFIX}/default/${node}`;

describe('etcd discovery (real etcd)', () => {
  let etcd: Etcd | undefined;
  let nodes: EtcdNode[] = [];

  afterEach(async () => {
    await Promise.all(nodes.map(n => n.kill()));
    nodes = [];
    await etcd?.stop();
    etcd = undefined;
  });

  it('forms a cluster; a killed node leaves within the lease TTL, a stopped one at once', async () => {
    etcd = await Etcd.start();
    // requests of 666 ms, a third of the TTL (the most the options accept)
    const options = etcdNodeOptions(etcd, PREFIX, TTL);
    nodes = await Promise.all(names.map(n => startEtcdNode(n, options)));
    const [n1, n2, n3] = nodes as [EtcdNode, EtcdNode, EtcdNode];
    await until(() => nodes.every(n => n.members().length === 2), 10_000, 'a mesh of three');
    expect((await etcd.keys(`${PREFIX}/`)).sort()).toEqual(names.map(key));
    const value = JSON.parse(await etcd.ctl(['get', '--print-value-only', key(names[0]!)])) as {
      node: string;
      port: number;
      incarnation: string;
    };
    expect(value).toEqual({
      node: names[0],
      port: expect.any(Number),
      incarnation: expect.stringMatching(/^\d+$/),
    });

    // kill -9: nothing revokes the lease; etcd deletes the key when it expires
    const killedAt = performance.now();
    await n3.kill();
    await until(
      async () => !(await etcd!.keys(`${PREFIX}/`)).includes(key(names[2]!)),
      (TTL + 3) * 1_000,
      "the killed node's key to expire",
    );
    await until(
      () => [n1, n2].every(n => n.events('lost').some(l => l.node === names[2])),
      (TTL + 3) * 1_000 - (performance.now() - killedAt),
      'lost n3 on n1 and n2',
    );

    // graceful stop: the lease is revoked on close, the key goes at once
    const stoppedAt = performance.now();
    await n2.stop(3_000);
    expect(n2.lines.some(l => l.stopped)).toBe(true);
    await until(
      async () => !(await etcd!.keys(`${PREFIX}/`)).includes(key(names[1]!)),
      1_500,
      "the stopped node's key to go",
    );
    expect(performance.now() - stoppedAt).toBeLessThan(2_500);
    await until(() => n1.events('lost').some(l => l.node === names[1]), 2_000, 'lost n2 on n1');
    expect(await etcd.keys(`${PREFIX}/`)).toEqual([key(names[0]!)]);
  });
});

describe('etcd discovery from the configuration (the sample app)', () => {
  let etcd: Etcd | undefined;
  afterEach(async () => {
    await stopAll();
    await etcd?.stop();
  });

  it('registers through the etcd: short form, loaded lazily, and leaves on SIGTERM', async () => {
    etcd = await Etcd.start();
    const port = await freePort();
    const sample = await startNode({
      GEN_CLUSTER_NODE: 'sample@127.0.0.1',
      GEN_CLUSTER_PORT: String(port),
      GEN_CLUSTER_DISCOVERY: `etcd:${etcd.endpoint}/gc-sample`,
      GEN_CLUSTER_LOG_LEVEL: 'warn',
    });
    const own = '/gc-sample/default/sample@127.0.0.1';
    await until(async () => (await etcd!.keys('/gc-sample/')).includes(own), 5_000, 'its key');
    const value = JSON.parse(await etcd.ctl(['get', '--print-value-only', own])) as {
      port: number;
    };
    expect(value.port).toBe(port);
    await sample.stop(5_000);
    expect(await etcd.keys('/gc-sample/')).toEqual([]);
  });
});

describe('etcd discovery with user/password over TLS (real etcd)', () => {
  let certs: TestCerts;
  let etcd: Etcd;
  const started: EtcdDiscovery[] = [];
  const logs: string[] = [];
  const logger: ClusterLogger = {
    debug: () => undefined,
    log: m => logs.push(`log ${m}`),
    warn: m => logs.push(`warn ${m}`),
    error: m => logs.push(`error ${m}`),
  };
  const refreshes = new Map<string, number>();
  const context = (self: string, errors: Error[] = []) => ({
    self,
    logger,
    port: 4_000,
    // called when the watch sees the peers change
    requestRefresh: () => void refreshes.set(self, (refreshes.get(self) ?? 0) + 1),
    reportError: (error: Error) => void errors.push(error),
  });

  beforeAll(async () => {
    certs = await makeTestCerts();
    etcd = await Etcd.start({
      tls: { certFile: certs.node.certFile, keyFile: certs.node.keyFile, caFile: certs.caFile },
    });
    await etcd.enableAuth('gc', 'gc-secret', `${PREFIX}/`);
    await writeFile(join(certs.dir, 'password'), 'gc-secret\n');
  });

  afterAll(async () => {
    await Promise.all(started.map(d => d.close()));
    await etcd?.stop();
    await certs?.cleanup();
  });

  // requests of 5 s (the default): etcd checks a password with bcrypt, slow on a loaded machine
  const discovery = (extra: Record<string, unknown> = {}) => {
    const d = new EtcdDiscovery({
      endpoints: [etcd.endpoint],
      prefix: PREFIX,
      leaseTtlSeconds: AUTH_TTL,
      requestTimeoutMs: 5_000,
      caFile: certs.caFile,
      username: 'gc',
      passwordFile: join(certs.dir, 'password'),
      ...extra,
    });
    started.push(d);
    return d;
  };

  it('registers and finds peers with a password file, and renews its token when etcd says it is invalid', async () => {
    const a = discovery();
    const b = discovery();
    await a.init(context('a@127.0.0.1'));
    await b.init(context('b@127.0.0.1'));
    await until(
      async () => (await a.peers()).some(p => p.node === 'b@127.0.0.1'),
      5_000,
      'a to see b',
    );
    expect(await b.peers()).toEqual([{ node: 'a@127.0.0.1', port: 4_000 }]);
    expect(await etcd.keys(`${PREFIX}/`, 'gc:gc-secret')).toEqual([
      key('a@127.0.0.1'),
      key('b@127.0.0.1'),
    ]);

    // tokens made invalid (401 "invalid auth token"): a plain request authenticates again and
    // succeeds
    const { readFileSync } = await import('node:fs');
    const client = new EtcdClient({
      endpoints: [etcd.endpoint],
      requestTimeoutMs: 5_000,
      username: 'gc',
      password: () => 'gc-secret',
      ca: readFileSync(certs.caFile, 'utf8'),
      maxBodyBytes: 1 << 20,
    });
    const api = new EtcdApi(client);
    expect((await api.range(`${PREFIX}/`)).kvs).toHaveLength(2);
    await etcd.invalidateTokens();
    try {
      expect((await api.range(`${PREFIX}/`)).kvs).toHaveLength(2);
    } finally {
      client.close();
    }
    // the running discoveries renew their tokens too: a probe key reaches both through the watch
    // (a refresh asked by the watch, and the answer from the watched copy)
    const probe = 'probe@127.0.0.1';
    const before = ['a@127.0.0.1', 'b@127.0.0.1'].map(n => refreshes.get(n) ?? 0);
    await etcd.ctl(['put', key(probe), JSON.stringify({ node: probe, port: 1 })], etcd.rootUser);
    await until(
      async () =>
        ['a@127.0.0.1', 'b@127.0.0.1'].every((n, i) => (refreshes.get(n) ?? 0) > before[i]!) &&
        a.watching &&
        b.watching &&
        (await a.peers()).some(p => p.node === probe) &&
        (await b.peers()).some(p => p.node === probe),
      8_000,
      'the probe seen through both watches after the tokens were invalidated',
    );
    await etcd.ctl(['del', key(probe)], etcd.rootUser);
    await etcd.restart();
    await until(async () => a.watching && b.watching, 8_000, 'both watching again after a restart');
    const peers = await a.peers();
    expect(peers.map(p => p.node)).toEqual(['b@127.0.0.1']);
  });

  it('fails with ERR_ETCD_AUTH for a wrong password, keeping the node running', async () => {
    const errors: Error[] = [];
    const d = discovery({ passwordFile: undefined, password: 'wrong' });
    await d.init(context('c@127.0.0.1', errors));
    expect(errors[0]).toBeInstanceOf(DiscoveryError);
    expect((errors[0]!.cause as { code?: string }).code).toBe('ERR_ETCD_AUTH');
    const failure = await d.peers().catch((e: unknown) => e as DiscoveryError);
    expect(failure).toBeInstanceOf(DiscoveryError);
    expect((failure as DiscoveryError).message).toContain('refused the credentials of user "gc"');
    expect((failure as DiscoveryError).message).not.toContain('wrong');
    expect(((failure as DiscoveryError).cause as { code?: string }).code).toBe('ERR_ETCD_AUTH');
  });

  it('a read-only role: ERR_ETCD_AUTH naming the grant to make, in the log and the report', async () => {
    await etcd.addUser('ro', 'ro-secret', `${PREFIX}/`, 'read');
    const errors: Error[] = [];
    const d = discovery({ username: 'ro', passwordFile: undefined, password: 'ro-secret' });
    await d.init(context('r@127.0.0.1', errors));
    await until(() => errors.length > 0, 5_000, 'the refused registration reported');
    expect(errors[0]).toBeInstanceOf(DiscoveryError);
    expect((errors[0]!.cause as { code?: string }).code).toBe('ERR_ETCD_AUTH');
    expect(errors[0]!.message).toContain('grant-permission');
    expect(
      logs.some(
        l =>
          l.startsWith('warn') && l.includes('cannot register') && l.includes('grant-permission'),
      ),
    ).toBe(true);
    expect(errors[0]!.message).not.toContain('ro-secret');
  });

  it('refuses a server whose certificate does not chain to caFile', async () => {
    const otherCa = join(certs.dir, 'other-ca.pem');
    await writeFile(otherCa, certs.otherCa);
    const d = discovery({ caFile: otherCa });
    await d.init(context('d@127.0.0.1'));
    const failure = (await d.peers().catch((e: unknown) => e)) as DiscoveryError;
    expect(failure).toBeInstanceOf(DiscoveryError);
    const cause = failure.cause as { code?: string; failure?: { kind: string; tls: boolean } };
    expect(cause.code).toBe('ERR_ETCD_REQUEST');
    expect(cause.failure).toMatchObject({ kind: 'network', tls: true });
  });

  it('presents certFile/keyFile when etcd demands a client certificate', async () => {
    const tls = {
      certFile: certs.node.certFile,
      keyFile: certs.node.keyFile,
      caFile: certs.caFile,
    };
    const strict = await Etcd.start({ tls: { ...tls, clientCertAuth: true } });
    try {
      const base = {
        endpoints: [strict.endpoint],
        prefix: PREFIX,
        leaseTtlSeconds: AUTH_TTL,
        requestTimeoutMs: 5_000,
        caFile: certs.caFile,
      };
      const withCert = new EtcdDiscovery({ ...base, certFile: tls.certFile, keyFile: tls.keyFile });
      const without = new EtcdDiscovery(base);
      started.push(withCert, without);
      await withCert.init(context('f@127.0.0.1'));
      expect(await strict.keys(`${PREFIX}/`)).toEqual([key('f@127.0.0.1')]);
      await without.init(context('g@127.0.0.1'));
      const failure = (await without.peers().catch((e: unknown) => e)) as DiscoveryError;
      expect(failure).toBeInstanceOf(DiscoveryError);
      expect((failure.cause as { failure?: { kind: string } }).failure?.kind).toBe('network');
      await withCert.close();
      expect(await strict.keys(`${PREFIX}/`)).toEqual([]);
    } finally {
      await strict.stop();
    }
  });

  it('fails with ERR_ETCD_AUTH when etcd needs credentials and none are given', async () => {
    const d = discovery({ username: undefined, passwordFile: undefined });
    await d.init(context('e@127.0.0.1'));
    const failure = (await d.peers().catch((e: unknown) => e)) as DiscoveryError;
    expect(failure.message).toContain('authentication enabled');
    expect((failure.cause as { code?: string }).code).toBe('ERR_ETCD_AUTH');
  });
});
