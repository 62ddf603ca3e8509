/**
 * NatsLink where no server is needed: an open aborted by its signal, and a seed refused before
 * any connection. Against real nats-servers: test/e2e/nats-link.e2e-spec.ts and
 * test/e2e/nats-link-tls.e2e-spec.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../test/support/ports.js';
import { InvalidConfigError } from '../../core/index.js';
import { resolveNatsConnectionOptions } from './nats-connection-options.js';
import { NatsLink } from './nats-link.js';

const noop = () => undefined;
const logger = { log: noop, warn: noop, error: noop };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), `gen-cluster-nats-link-${process.pid}-`));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('NatsLink', () => {
  it('ends a pending open when its signal aborts', async () => {
    // a free port: nothing listens, every dial is refused at once
    const servers = `nats://127.0.0.1:${await freePort()}`;
    const controller = new AbortController();
    const pending = NatsLink.open(
      resolveNatsConnectionOptions({
        servers,
        reconnectTimeWaitMs: 100,
        connectTimeoutMs: 1_000,
        firstConnectWaitMs: 10_000,
      }),
      { name: 'a@h', logger, status: noop, signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toMatchObject({ code: 'ERR_NATS_CONNECT' });
  });

  it('refuses at open a seed that has the right shape but cannot sign', async () => {
    // valid base32 and prefix, wrong checksum
    const seedFile = join(dir, 'broken.nk');
    writeFileSync(seedFile, `SU${'A'.repeat(56)}\n`);
    const error = await NatsLink.open(
      resolveNatsConnectionOptions({ servers: '127.0.0.1:1', nkeySeedFile: seedFile }),
      { name: 'a@h', logger, status: noop },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).option).toBe('nats.nkeySeedFile');
  });
});
