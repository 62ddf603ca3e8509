/**
 * NatsDiscovery's refusals at init, which come before any connection: no server needed. The
 * behaviour against a real nats-server is test/e2e/nats-discovery-integration.e2e-spec.ts.
 */
import { type DiscoveryContext, InvalidConfigError } from '../../core/index.js';
import { NatsDiscovery } from './nats.discovery.js';
import type { NatsDiscoveryOptions } from './nats-discovery-options.js';

/** Nothing listens there, and nothing dials it: init refuses first. */
const options: NatsDiscoveryOptions = {
  strategy: 'nats',
  servers: 'nats://127.0.0.1:1',
  namespace: 'unit',
};

function context(self: string, port: number, more: Partial<DiscoveryContext> = {}) {
  const ctx: DiscoveryContext = {
    self,
    port,
    logger: { log: () => {}, warn: () => {}, error: () => {} },
    requestRefresh: () => {},
    deriveKey: () => Buffer.alloc(32, 1),
    ...more,
  };
  return { ctx };
}

describe('NatsDiscovery', () => {
  const started: NatsDiscovery[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map(d => d.close()));
  });

  it('refuses to start without a key or without a port', async () => {
    const noKey = new NatsDiscovery(options);
    started.push(noKey);
    const { ctx } = context('a@127.0.0.1', 4001, { deriveKey: undefined });
    await expect(noKey.init(ctx)).rejects.toThrow(InvalidConfigError);
    await expect(noKey.init(ctx)).rejects.toThrow(/"secret" or "secretFile"/);
    const noPort = new NatsDiscovery(options);
    started.push(noPort);
    await expect(noPort.init(context('a@127.0.0.1', 0, { port: undefined }).ctx)).rejects.toThrow(
      /port/,
    );
  });
});
