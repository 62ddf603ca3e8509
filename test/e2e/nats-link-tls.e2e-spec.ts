/**
 * NatsLink over TLS and with nkeys, against real nats-servers (Debian's, on loopback, through
 * test/support/nats-server.ts) and a test PKI made with openssl: trusted, untrusted and misnamed
 * server certificates, a server without TLS, client certificates, an nkey seed and another one.
 * Also, on the same PKI, resolving the options' TLS files (the rest of the options needs no
 * certificates: the unit spec src/nats/connection/nats-connection-options.spec.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { InvalidConfigError } from '../../src/core/index.js';
import {
  NatsConnectionError,
  type NatsConnectionOptions,
  NatsLink,
  resolveNatsConnectionOptions,
} from '../../src/nats/connection/index.js';
import { NatsServer, stopAllNatsServers } from '../support/nats-server.js';
import { makeTestCerts, type TestCerts } from '../support/test-certs.js';
import { until } from '../support/wait.js';

/** Starts nats-server on 127.0.0.1 with `args`; resolves with its port once it is ready. */
async function startServer(args: readonly string[]): Promise<number> {
  return (await NatsServer.start({ args })).port;
}

let certs: TestCerts;
let dir: string;
const links: NatsLink[] = [];
/**
 * The port of a server with the test CA's certificate for 127.0.0.1, and of one that also
 * verifies client certificates: each is shared by the tests that only connect to it.
 */
let tlsPort: number;
let verifyPort: number;

beforeAll(async () => {
  certs = await makeTestCerts();
  dir = mkdtempSync(join(tmpdir(), `gen-cluster-nats-tls-${process.pid}-`));
  [tlsPort, verifyPort] = await Promise.all([startServer(tlsArgs()), startServer(verifyArgs())]);
}, 30_000);
afterAll(async () => {
  await stopAllNatsServers();
  await certs?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(links.splice(0).map(link => link.close()));
});

const noop = () => undefined;
async function open(options: NatsConnectionOptions): Promise<NatsLink> {
  const link = await NatsLink.open(
    resolveNatsConnectionOptions({
      reconnectTimeWaitMs: 100,
      connectTimeoutMs: 2_000,
      firstConnectWaitMs: 5_000,
      ...options,
    }),
    {
      name: 'a@127.0.0.1',
      logger: { log: noop, warn: noop, error: noop },
      status: noop,
    },
  );
  links.push(link);
  return link;
}

/** Opens a link and sends itself a message through the server. */
async function roundTrip(options: NatsConnectionOptions): Promise<void> {
  const link = await open(options);
  const got: number[] = [];
  link.subscribe('t', payload => got.push(payload.length));
  await link.flush();
  link.publish('t', new Uint8Array(3));
  await until(() => got.length === 1, 5_000, 'the message back');
}

const tlsArgs = () => ['--tls', '--tlscert', certs.node.certFile, '--tlskey', certs.node.keyFile];
const verifyArgs = () => [...tlsArgs(), '--tlsverify', '--tlscacert', certs.caFile];

async function refusal(options: NatsConnectionOptions): Promise<NatsConnectionError> {
  const error = await open(options).then(
    () => new Error('opened'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NatsConnectionError);
  return error as NatsConnectionError;
}

describe('NatsLink over TLS', () => {
  it('connects to a tls:// server whose certificate chains to caFile', async () => {
    const port = tlsPort;
    await roundTrip({ servers: `tls://127.0.0.1:${port}`, tls: { caFile: certs.caFile } });
  });

  it('upgrades a nats:// server to TLS when the tls option is given', async () => {
    const port = tlsPort;
    await roundTrip({ servers: `nats://127.0.0.1:${port}`, tls: { caFile: certs.caFile } });
  });

  it('rejects open with ERR_NATS_TLS when the server certificate is not trusted', async () => {
    const port = tlsPort;
    const error = await refusal({ servers: `tls://127.0.0.1:${port}` });
    expect(error.code).toBe('ERR_NATS_TLS');
    expect(error.message).toContain('tls.caFile');
  });

  it('rejects open with ERR_NATS_TLS when the server certificate names another host', async () => {
    const port = await startServer([
      '--tls',
      '--tlscert',
      certs.otherName.certFile,
      '--tlskey',
      certs.otherName.keyFile,
    ]);
    const error = await refusal({
      servers: `tls://127.0.0.1:${port}`,
      tls: { caFile: certs.caFile },
    });
    expect(error.code).toBe('ERR_NATS_TLS');
  });

  it('rejects open with ERR_NATS_TLS when TLS is required but the server offers none', async () => {
    const port = await startServer([]);
    const error = await refusal({
      servers: `tls://127.0.0.1:${port}`,
      tls: { caFile: certs.caFile },
    });
    expect(error.code).toBe('ERR_NATS_TLS');
    expect(error.message).toContain('does not offer TLS');
  });

  it('presents a client certificate to a server that verifies clients', async () => {
    const port = verifyPort;
    await roundTrip({
      servers: `tls://127.0.0.1:${port}`,
      tls: { caFile: certs.caFile, certFile: certs.node.certFile, keyFile: certs.node.keyFile },
    });
  });

  it('rejects open with ERR_NATS_TLS without a client certificate the server trusts', async () => {
    // under TLS 1.3 the client sees only a timeout: the server's INFO (tls_verify) tells why
    const port = verifyPort;
    const servers = `tls://127.0.0.1:${port}`;
    const none = await refusal({ servers, connectTimeoutMs: 500, tls: { caFile: certs.caFile } });
    expect(none.code).toBe('ERR_NATS_TLS');
    expect(none.message).toContain('give "tls.certFile" and "tls.keyFile"');
    const foreign = await refusal({
      servers,
      connectTimeoutMs: 500,
      tls: {
        caFile: certs.caFile,
        certFile: certs.foreign.certFile,
        keyFile: certs.foreign.keyFile,
      },
    });
    expect(foreign.code).toBe('ERR_NATS_TLS');
    expect(foreign.message).toContain('did not accept this node');
  });
});

describe('NatsLink with nkeys', () => {
  it('authenticates with an nkey seed, and is refused with another one', async () => {
    const { createUser } = await import('@nats-io/nkeys');
    const user = createUser();
    const config = join(dir, 'nkey.conf');
    writeFileSync(config, `authorization { users = [ { nkey: "${user.getPublicKey()}" } ] }\n`);
    const port = await startServer(['-c', config]);
    const seedFile = join(dir, 'user.nk');
    writeFileSync(seedFile, `${new TextDecoder().decode(user.getSeed())}\n`);
    await roundTrip({ servers: `127.0.0.1:${port}`, nkeySeedFile: seedFile });

    const otherSeed = join(dir, 'other.nk');
    writeFileSync(otherSeed, new TextDecoder().decode(createUser().getSeed()));
    const error = await refusal({ servers: `127.0.0.1:${port}`, nkeySeedFile: otherSeed });
    expect(error.code).toBe('ERR_NATS_AUTH');
  });
});

describe('NATS connection options: TLS files', () => {
  /** The InvalidConfigError that resolving `options` (with a server) throws. */
  function refusal(options: Record<string, unknown>): InvalidConfigError {
    try {
      resolveNatsConnectionOptions(
        { servers: 'nats://127.0.0.1:4222', ...options } as unknown as NatsConnectionOptions,
        'dist (nats)',
      );
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidConfigError);
      return error as InvalidConfigError;
    }
    throw new Error(`accepted ${inspect(options)}`);
  }

  it('reads the TLS files and requires TLS when the tls option is given', () => {
    const o = resolveNatsConnectionOptions({
      servers: 'nats://127.0.0.1:4222',
      tls: { caFile: certs.caFile, certFile: certs.node.certFile, keyFile: certs.node.keyFile },
    });
    expect(o.tls).toBe(true);
    expect(o.secrets.reveal().tls).toEqual({
      ca: certs.ca,
      cert: certs.node.cert,
      key: certs.node.key,
    });
    expect(JSON.stringify(o)).not.toContain('PRIVATE KEY');
  });

  it('refuses a certificate and a key that do not belong together, without showing them', () => {
    const mismatch = refusal({
      tls: { certFile: certs.node.certFile, keyFile: certs.foreign.keyFile },
    });
    expect(mismatch.option).toBe('dist (nats).tls');
    expect(mismatch.message).not.toContain('PRIVATE');
  });
});
