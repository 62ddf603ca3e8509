import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from '../../../test/support/managed-process.js';
import { freePort } from '../../../test/support/ports.js';
import { makeTestCerts, type TestCerts } from '../../../test/support/test-certs.js';
import { until } from '../../../test/support/wait.js';
import { InvalidConfigError } from '../../core/index.js';
import {
  type NatsConnectionOptions,
  resolveNatsConnectionOptions,
} from './nats-connection-options.js';
import { NatsConnectionError } from './nats-connection.errors.js';
import { NatsLink } from './nats-link.js';

/** nats-server processes this spec started, stopped by their own pid after each test. */
const running: ManagedProcess[] = [];

/** Starts nats-server on 127.0.0.1 with `args`; resolves with its port once it is ready. */
async function startServer(args: readonly string[]): Promise<number> {
  const port = await freePort();
  const child = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = new ManagedProcess(child);
  running.push(proc);
  await until(
    () => {
      if (proc.exitCode !== undefined) throw new Error(proc.output.join('\n'));
      return proc.output.some(line => line.includes('Server is ready'));
    },
    10_000,
    `nats-server on ${port}`,
  );
  return port;
}

let certs: TestCerts;
let dir: string;
const links: NatsLink[] = [];

beforeAll(async () => {
  certs = await makeTestCerts();
  dir = mkdtempSync(join(tmpdir(), `gen-cluster-nats-tls-${process.pid}-`));
}, 30_000);
afterAll(async () => {
  await certs?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(links.splice(0).map(link => link.close()));
  await Promise.all(running.splice(0).map(proc => proc.stop(2_000)));
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
    const port = await startServer(tlsArgs());
    await roundTrip({ servers: `tls://127.0.0.1:${port}`, tls: { caFile: certs.caFile } });
  });

  it('upgrades a nats:// server to TLS when the tls option is given', async () => {
    const port = await startServer(tlsArgs());
    await roundTrip({ servers: `nats://127.0.0.1:${port}`, tls: { caFile: certs.caFile } });
  });

  it('rejects open with ERR_NATS_TLS when the server certificate is not trusted', async () => {
    const port = await startServer(tlsArgs());
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
    const port = await startServer(verifyArgs());
    await roundTrip({
      servers: `tls://127.0.0.1:${port}`,
      tls: { caFile: certs.caFile, certFile: certs.node.certFile, keyFile: certs.node.keyFile },
    });
  });

  it('rejects open with ERR_NATS_TLS without a client certificate the server trusts', async () => {
    // under TLS 1.3 the client sees only a timeout: the server's INFO (tls_verify) tells why
    const port = await startServer(verifyArgs());
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

  it('refuses at open a seed that has the right shape but cannot sign', async () => {
    // valid base32 and prefix, wrong checksum
    const seedFile = join(dir, 'broken.nk');
    writeFileSync(seedFile, `SU${'A'.repeat(56)}\n`);
    const error = await NatsLink.open(
      resolveNatsConnectionOptions({ servers: '127.0.0.1:1', nkeySeedFile: seedFile }),
      { name: 'a@h', logger: { log: noop, warn: noop, error: noop }, status: noop },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).option).toBe('nats.nkeySeedFile');
  });
});
