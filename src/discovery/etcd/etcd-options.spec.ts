import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidConfigError } from '../../core/index.js';
import { createEtcdDiscovery } from './etcd-lazy.js';
import { ETCD_DISCOVERY_DEFAULTS, resolveEtcdDiscoveryOptions } from './etcd-options.js';

let dir: string;
let pem: string;
let passwordFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gen-cluster-etcd-spec-'));
  pem = join(dir, 'ca.pem');
  writeFileSync(pem, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, 's3cret\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ENDPOINTS = ['http://127.0.0.1:2379'];

/** The InvalidConfigError that resolving `options` throws. */
function refusal(options: Record<string, unknown>): InvalidConfigError {
  try {
    resolveEtcdDiscoveryOptions({ strategy: 'etcd', endpoints: ENDPOINTS, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    return error as InvalidConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('etcd discovery options', () => {
  it('fills in the defaults', () => {
    const { settings, secrets } = resolveEtcdDiscoveryOptions({ endpoints: ENDPOINTS });
    expect(settings).toEqual({
      endpoints: ['http://127.0.0.1:2379'],
      prefix: '/gen-cluster',
      leaseTtlSeconds: 10,
      // the 5 s default, lowered to a third of the 10 s TTL (the keepalive period)
      requestTimeoutMs: 3_333,
      username: undefined,
      passwordFile: undefined,
      caFile: undefined,
      certFile: undefined,
      keyFile: undefined,
      namespace: 'default',
    });
    expect(secrets.password).toBeUndefined();
    expect(ETCD_DISCOVERY_DEFAULTS.leaseTtlSeconds).toBe(10);
  });

  it('keeps origins only once and strips trailing slashes of the prefix', () => {
    const { settings } = resolveEtcdDiscoveryOptions({
      endpoints: ['http://10.0.0.1:2379/', 'http://10.0.0.1:2379', 'https://[::1]:2379'],
      prefix: '/apps/gc//',
    });
    expect(settings.endpoints).toEqual(['http://10.0.0.1:2379', 'https://[::1]:2379']);
    expect(settings.prefix).toBe('/apps/gc');
  });

  it.each([
    [{ endpoints: [] }, 'discovery (etcd).endpoints'],
    [{ endpoints: 'http://h:2379' }, 'discovery (etcd).endpoints'],
    [{ endpoints: ['ftp://h:2379'] }, 'discovery (etcd).endpoints'],
    [{ endpoints: ['http://user:pw@h:2379'] }, 'discovery (etcd).endpoints'],
    [{ endpoints: ['http://h:2379/prefix'] }, 'discovery (etcd).endpoints'],
    [{ endpoints: ['http://h:2379?x=1'] }, 'discovery (etcd).endpoints'],
    [{ endpoints: ['not a url'] }, 'discovery (etcd).endpoints'],
    [
      { endpoints: Array.from({ length: 17 }, (_, i) => `http://h${i}:2379`) },
      'discovery (etcd).endpoints',
    ],
    [{ prefix: 'gen-cluster' }, 'discovery (etcd).prefix'],
    [{ prefix: '/a\nb' }, 'discovery (etcd).prefix'],
    [{ prefix: `/${'x'.repeat(300)}` }, 'discovery (etcd).prefix'],
    [{ leaseTtlSeconds: 1 }, 'discovery (etcd).leaseTtlSeconds'],
    [{ leaseTtlSeconds: 2.5 }, 'discovery (etcd).leaseTtlSeconds'],
    [{ leaseTtlSeconds: 3_000_000 }, 'discovery (etcd).leaseTtlSeconds'],
    [{ requestTimeoutMs: 0 }, 'discovery (etcd).requestTimeoutMs'],
    [{ requestTimeoutMs: 2 ** 31 }, 'discovery (etcd).requestTimeoutMs'],
    [{ namespace: 'a/b' }, 'discovery (etcd).namespace'],
    [{ username: '' }, 'discovery (etcd).username'],
    [{ caFile: '' }, 'discovery (etcd).caFile'],
    [{ colour: 'red' }, 'discovery (etcd).colour'],
    [{ strategy: 'dns' }, 'discovery (etcd).strategy'],
  ])('refuses %j naming %s', (options, option) => {
    const error = refusal(options);
    expect(error.message).toContain(option);
    expect(error.message).toMatch(/expected|accepted|known/);
  });

  it('never echoes the credentials of a refused endpoint', () => {
    for (const endpoints of [
      ['http://root:s3cretPW@127.0.0.1:2379'],
      ['http://h0:2379/p?x', 'http://root:s3cretPW@h1:2379'],
      'http://root:s3cretPW@h1:2379',
    ]) {
      const error = refusal({ endpoints });
      expect(error.message).toContain('discovery (etcd).endpoints');
      expect(error.message).not.toContain('s3cretPW');
      expect(error.message).not.toContain('root');
      expect(error.message).toContain('//***@');
    }
  });

  it('keeps a request within a third of the lease TTL: refused above it, the default lowered', () => {
    const error = refusal({ leaseTtlSeconds: 3, requestTimeoutMs: 1_001 });
    expect(error.message).toContain('"requestTimeoutMs": 1001 ms');
    expect(error.message).toContain('at most 1000 ms');
    const at = (options: Record<string, unknown>) =>
      resolveEtcdDiscoveryOptions({ endpoints: ENDPOINTS, ...options }).settings.requestTimeoutMs;
    expect(at({ leaseTtlSeconds: 3, requestTimeoutMs: 1_000 })).toBe(1_000);
    expect(at({ leaseTtlSeconds: 3 })).toBe(1_000);
    expect(at({ leaseTtlSeconds: 60 })).toBe(5_000);
  });

  it('never shows a password', () => {
    const error = refusal({ username: 'u', password: 12345 });
    expect(error.message).toContain('discovery (etcd).password');
    expect(error.message).not.toContain('12345');
  });

  it('wants username and a password together, and one password source', () => {
    expect(refusal({ password: 'x' }).message).toContain('without "username"');
    expect(refusal({ passwordFile }).message).toContain('without "username"');
    expect(refusal({ username: 'u' }).message).toContain('without "password"');
    expect(refusal({ username: 'u', password: 'x', passwordFile }).message).toContain('not both');
  });

  it('reads the password file at construction and again at each use', () => {
    const { secrets } = resolveEtcdDiscoveryOptions({
      endpoints: ENDPOINTS,
      username: 'u',
      passwordFile,
    });
    expect(secrets.password?.()).toBe('s3cret');
    writeFileSync(passwordFile, 'rotated\n');
    expect(secrets.password?.()).toBe('rotated');
    writeFileSync(passwordFile, 's3cret\n');
    expect(refusal({ username: 'u', passwordFile: join(dir, 'missing') }).message).toContain(
      'ENOENT',
    );
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    expect(refusal({ username: 'u', passwordFile: empty }).message).toContain('is empty');
  });

  it('checks the TLS files: readable PEM, certificate with key, https endpoints', () => {
    const https = ['https://127.0.0.1:2379'];
    const { secrets } = resolveEtcdDiscoveryOptions({
      endpoints: https,
      caFile: pem,
      certFile: pem,
      keyFile: pem,
    });
    expect(secrets.ca).toContain('BEGIN CERTIFICATE');
    expect(refusal({ endpoints: https, caFile: join(dir, 'nope') }).message).toContain('ENOENT');
    expect(refusal({ endpoints: https, caFile: passwordFile }).message).toContain('no PEM block');
    expect(refusal({ endpoints: https, certFile: pem }).message).toContain('go together');
    expect(refusal({ caFile: pem }).message).toContain('no endpoint is an https URL');
  });
});

describe('createEtcdDiscovery', () => {
  it('checks the options at once, without loading the client', () => {
    expect(() => createEtcdDiscovery({ strategy: 'etcd', endpoints: [] })).toThrow(
      InvalidConfigError,
    );
    const strategy = createEtcdDiscovery({ strategy: 'etcd', endpoints: ENDPOINTS });
    expect(strategy.name).toBe('etcd');
  });

  it('uses the files read at construction: one removed before init does not fail it', async () => {
    const secret = join(dir, 'lazy-password');
    const ca = join(dir, 'lazy-ca.pem');
    writeFileSync(secret, 'pw\n');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const strategy = createEtcdDiscovery({
      strategy: 'etcd',
      endpoints: ['https://127.0.0.1:1'],
      username: 'u',
      passwordFile: secret,
      caFile: ca,
      requestTimeoutMs: 200,
    });
    rmSync(ca);
    const reported: Error[] = [];
    const context = {
      self: 'a@127.0.0.1',
      logger: { log: () => {}, warn: () => {}, error: () => {} },
      requestRefresh: () => {},
      reportError: (error: Error) => void reported.push(error),
    };
    try {
      await expect(strategy.init!(context)).resolves.toBeUndefined();
    } finally {
      await strategy.close?.();
    }
  });

  it('fails a lookup before init with a DiscoveryError', async () => {
    const strategy = createEtcdDiscovery({ strategy: 'etcd', endpoints: ENDPOINTS });
    await expect(strategy.peers(new AbortController().signal)).rejects.toMatchObject({
      code: 'ERR_DISCOVERY_FAILED',
    });
    await strategy.close?.();
  });
});
