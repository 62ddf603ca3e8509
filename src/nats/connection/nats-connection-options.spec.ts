/**
 * Resolving the NATS connection options: defaults, servers, credentials and their files, and the
 * refusals naming the option. Reading real certificates and keys needs a PKI made with openssl:
 * that is in test/e2e/nats-link-tls.e2e-spec.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { InvalidConfigError } from '../../core/index.js';
import {
  NATS_CONNECTION_DEFAULTS,
  type NatsConnectionOptions,
  resolveNatsConnectionOptions,
} from './nats-connection-options.js';

const SECRET = 'hunter2-s3cret';
const SEED = 'SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTBU';
const JWT_CREDS = `-----BEGIN NATS USER JWT-----\neyJhbGciOi.x.y\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${SEED}\n------END USER NKEY SEED------\n`;

let dir: string;
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), `gen-cluster-nats-options-${process.pid}-`));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const SERVERS = 'nats://127.0.0.1:4222';

/** The InvalidConfigError that resolving `options` throws. */
function refusal(options: Record<string, unknown>, withServers = true): InvalidConfigError {
  try {
    resolveNatsConnectionOptions(
      (withServers
        ? { servers: SERVERS, ...options }
        : options) as unknown as NatsConnectionOptions,
      'dist (nats)',
    );
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    return error as InvalidConfigError;
  }
  throw new Error(`accepted ${inspect(options)}`);
}

describe('NATS connection options', () => {
  it('fills in the defaults and needs no credentials', () => {
    const o = resolveNatsConnectionOptions({ servers: SERVERS });
    expect(o).toMatchObject({
      auth: 'none',
      tls: false,
      subjectPrefix: 'gc',
      reconnectTimeWaitMs: 1_000,
      pingIntervalMs: 5_000,
      firstConnectWaitMs: 2_000,
      connectTimeoutMs: 5_000,
      user: undefined,
    });
    expect(o.servers.map(s => s.url)).toEqual(['nats://127.0.0.1:4222']);
    expect(NATS_CONNECTION_DEFAULTS.maxPingOut).toBe(2);
  });

  it('accepts every server form, comma-separated or as an array, and drops duplicates', () => {
    const o = resolveNatsConnectionOptions({
      servers: ['nats://a.example:4222, tls://b.example:4443', 'c.example:4223', 'd.example'],
    });
    expect(o.servers.map(s => s.url)).toEqual([
      'nats://a.example:4222',
      'tls://b.example:4443',
      'nats://c.example:4223',
      'nats://d.example:4222',
    ]);
    expect(o.tls).toBe(true); // a tls:// server requires TLS
    const v6 = resolveNatsConnectionOptions({
      servers: '[::1]:4222,nats://[::1]:4222,NATS://[fe80::1]',
    });
    expect(v6.servers.map(s => s.listen)).toEqual(['[::1]:4222', '[fe80::1]:4222']);
    expect(v6.servers[0]!.host).toBe('::1');
  });

  it.each([
    ['a number', 4222],
    ['an empty string', ''],
    ['an empty array', []],
    ['an empty entry', 'nats://a:1,,nats://b:2'],
    ['another scheme', 'ws://a:4222'],
    ['http', 'http://a:4222'],
    ['a path', 'nats://a:4222/x'],
    ['a query', 'nats://a:4222?x=1'],
    ['a bad port', 'a:99999'],
    ['a port of letters', 'a:port'],
    ['port 0', 'a:0'],
    ['a bare IPv6 address', '::1:4222'],
    ['an unclosed bracket', '[::1:4222'],
    ['a space in the host', 'nats://a b:4222'],
    ['a non-string entry', ['nats://a:1', 7]],
    ['33 servers', Array.from({ length: 33 }, (_, i) => `h${i}:4222`)],
  ])('refuses servers with %s', (_, servers) => {
    const error = refusal({ servers }, false);
    expect(error.message).toContain('dist (nats).servers');
    expect(error.message).toContain('nats://host:port');
  });

  it('refuses credentials in a server URL without echoing them', () => {
    for (const servers of [
      `nats://gc:${SECRET}@10.0.0.1:4222`,
      `gc:${SECRET}@10.0.0.1:4222`,
      [`nats://a:4222`, `tls://${SECRET}@b:4222`],
      `nats://a:4222,nats://u:${SECRET}@b:4222`,
    ]) {
      const error = refusal({ servers }, false);
      expect(error.message).not.toContain(SECRET);
      expect(error.message).toContain('credentials');
      expect(error.option).toBe('dist (nats).servers');
    }
    // a malformed value holding credentials is hidden too
    expect(refusal({ servers: [`ws://u:${SECRET}@x`, 5] }, false).message).not.toContain(SECRET);
  });

  it.each([
    // unencoded secrets holding what ends a URL's userinfo elsewhere: space, "/", "#", "?", ","
    ['a space', 'nats://u:Qx7v Zk9w@h1:4222'],
    ['a slash', 'nats://Qx7v/Zk9w@h1:4222'],
    ['a hash', 'tls://u:Qx7v#Zk9w@h2'],
    ['a question mark', 'nats://u:Qx7v?Zk9w@h1:4222'],
    ['a comma', 'nats://h0:4222,nats://u:Qx7v,Zk9w@h1:4222'],
    ['no scheme', 'u:Qx7v Zk9w@h1:4222'],
  ])('refuses a password holding %s without showing any of it', (_, servers) => {
    const error = refusal({ servers }, false);
    expect(error.message).toContain('holds credentials');
    expect(error.message).not.toMatch(/Qx7v|Zk9w/);
    expect(error.message).toContain('***@h');
  });

  it('gives a server without a scheme the scheme of the first one', () => {
    const urls = (servers: string) =>
      resolveNatsConnectionOptions({ servers }).servers.map(s => s.url);
    expect(urls('nats://h1:4222,h2:4222')).toEqual(['nats://h1:4222', 'nats://h2:4222']);
    expect(urls('tls://h1:4222,h2')).toEqual(['tls://h1:4222', 'tls://h2:4222']);
    expect(urls('h1:4222,tls://h2:4222')).toEqual(['nats://h1:4222', 'tls://h2:4222']);
  });

  it('reads the password file once and never shows a password', () => {
    const passwordFile = file('password', `${SECRET}\n`);
    const o = resolveNatsConnectionOptions({ servers: SERVERS, user: 'gc', passwordFile });
    expect(o.auth).toBe('password');
    expect(o.user).toBe('gc');
    expect(o.files).toEqual({ passwordFile });
    expect(o.secrets.reveal().password).toBe(SECRET);
    // the secrets are opaque to logs, inspection and JSON
    expect(JSON.stringify(o)).not.toContain(SECRET);
    expect(inspect(o, { depth: 10 })).not.toContain(SECRET);
    expect(`${inspect(o.secrets)}`).toBe('NatsSecrets [hidden]');
    const inline = resolveNatsConnectionOptions({ servers: SERVERS, user: 'gc', password: SECRET });
    expect(inline.secrets.reveal().password).toBe(SECRET);
  });

  it('reads a token from a file or takes it inline', () => {
    const tokenFile = file('token', `${SECRET}\r\n`);
    expect(
      resolveNatsConnectionOptions({ servers: SERVERS, tokenFile }).secrets.reveal().token,
    ).toBe(SECRET);
    const o = resolveNatsConnectionOptions({ servers: SERVERS, token: SECRET });
    expect(o.auth).toBe('token');
  });

  it('reads an nkey seed file and a creds file', () => {
    const nkeySeedFile = file('seed', `${SEED}\n`);
    expect(resolveNatsConnectionOptions({ servers: SERVERS, nkeySeedFile })).toMatchObject({
      auth: 'nkey',
    });
    const credsFile = file('user.creds', JWT_CREDS);
    expect(resolveNatsConnectionOptions({ servers: SERVERS, credsFile }).auth).toBe('creds');
  });

  it.each([
    ['a password of the wrong type', { user: 'gc', password: 12345 }, 'dist (nats).password'],
    ['an empty token', { token: '' }, 'dist (nats).token'],
    ['a password without user', { password: SECRET }, 'dist (nats).user'],
    ['a user without password', { user: 'gc' }, 'dist (nats).password'],
    ['a user with a space', { user: 'g c', password: SECRET }, 'dist (nats).user'],
    [
      'password and passwordFile',
      { user: 'gc', password: SECRET, passwordFile: '/x' },
      'dist (nats).password',
    ],
    ['token and tokenFile', { token: SECRET, tokenFile: '/x' }, 'dist (nats).token'],
    ['token and a user', { user: 'gc', password: SECRET, token: SECRET }, 'dist (nats)'],
    ['a seed and a creds file', { nkeySeedFile: '/x', credsFile: '/y' }, 'dist (nats)'],
    ['an empty file path', { tokenFile: '' }, 'dist (nats).tokenFile'],
    ['a tls that is not an object', { tls: true }, 'dist (nats).tls'],
    ['an unknown tls key', { tls: { ca: 'PEM' } }, 'dist (nats).tls.ca'],
    ['a cert without key', { tls: { certFile: '/x' } }, 'dist (nats).tls.keyFile'],
    ['a key without cert', { tls: { keyFile: '/x' } }, 'dist (nats).tls.certFile'],
    ['a subject prefix with a wildcard', { subjectPrefix: 'gc.*' }, 'dist (nats).subjectPrefix'],
    ['a subject prefix with a space', { subjectPrefix: 'g c' }, 'dist (nats).subjectPrefix'],
    ['an empty subject token', { subjectPrefix: 'a..b' }, 'dist (nats).subjectPrefix'],
    ['a long subject prefix', { subjectPrefix: 'a'.repeat(65) }, 'dist (nats).subjectPrefix'],
    ['a reconnect wait of 0', { reconnectTimeWaitMs: 0 }, 'dist (nats).reconnectTimeWaitMs'],
    ['a fractional ping interval', { pingIntervalMs: 1.5 }, 'dist (nats).pingIntervalMs'],
    ['a negative first-connect wait', { firstConnectWaitMs: -1 }, 'dist (nats).firstConnectWaitMs'],
    ['a huge connect timeout', { connectTimeoutMs: 2 ** 31 }, 'dist (nats).connectTimeoutMs'],
  ])('refuses %s, naming the option', (_, options, option) => {
    const error = refusal(options);
    expect(error.message).toContain(option);
    expect(error.message).not.toContain(SECRET);
  });

  it('refuses options that are not an object', () => {
    expect(refusal(null as unknown as Record<string, unknown>, false).message).toContain(
      'dist (nats)',
    );
  });

  it('refuses unreadable, empty and malformed credential files, naming the file but not its content', () => {
    const missing = join(dir, 'missing');
    expect(refusal({ tokenFile: missing }).message).toMatch(
      /tokenFile.*cannot read .*missing \(ENOENT\).*GEN_CLUSTER_NATS_TOKEN_FILE/,
    );
    expect(refusal({ user: 'gc', passwordFile: file('empty', '\n') }).message).toContain(
      'is empty',
    );
    const notSeed = refusal({ nkeySeedFile: file('bad-seed', `${SECRET}\n`) });
    expect(notSeed.option).toBe('dist (nats).nkeySeedFile');
    expect(notSeed.message).not.toContain(SECRET);
    const notCreds = refusal({ credsFile: file('bad.creds', SECRET) });
    expect(notCreds.message).toContain('creds file');
    expect(notCreds.message).not.toContain(SECRET);
  });

  it('requires TLS when the tls option is given, even empty', () => {
    expect(resolveNatsConnectionOptions({ servers: SERVERS, tls: {} }).tls).toBe(true);
  });

  it('refuses TLS files that are not PEM or cannot be read, without showing them', () => {
    const notPem = refusal({ tls: { caFile: file('ca.txt', SECRET) } });
    expect(notPem.option).toBe('dist (nats).tls.caFile');
    expect(notPem.message).not.toContain(SECRET);
    expect(refusal({ tls: { caFile: join(dir, 'nope.pem') } }).message).toContain(
      'GEN_CLUSTER_NATS_CA_FILE',
    );
  });
});
