import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidConfigError } from '../../core/index.js';
import {
  NATS_DISCOVERY_DEFAULTS,
  natsDiscoveryKeyOf,
  resolveNatsDiscoveryOptions,
} from './nats-discovery-options.js';

const SERVERS = 'nats://127.0.0.1:4222';

describe('resolveNatsDiscoveryOptions', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), `gc-nats-discovery-${process.pid}-`));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fills in the defaults', () => {
    const r = resolveNatsDiscoveryOptions({ strategy: 'nats', servers: SERVERS });
    expect(r).toMatchObject({
      namespace: 'default',
      intervalMs: NATS_DISCOVERY_DEFAULTS.intervalMs,
      failureTimeoutMs: NATS_DISCOVERY_DEFAULTS.failureTimeoutMs,
      maxCandidates: NATS_DISCOVERY_DEFAULTS.maxCandidates,
      key: undefined,
    });
    expect(r.connection.subjectPrefix).toBe('gc');
  });

  it('derives the key from the secret or its file, as deriveKey would from the same cookie', () => {
    const file = join(dir, 'secret');
    writeFileSync(file, 's3cret\n');
    const fromFile = resolveNatsDiscoveryOptions({ servers: SERVERS, secretFile: file }).key;
    const given = resolveNatsDiscoveryOptions({ servers: SERVERS, secret: 's3cret' }).key;
    expect(fromFile).toEqual(given);
    expect(given).toEqual(natsDiscoveryKeyOf('s3cret'));
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an unknown option', { servers: SERVERS, interval: 5 }, /discovery \(nats\)\.interval/],
    ['another strategy', { servers: SERVERS, strategy: 'gossip' }, /strategy/],
    ['a bad namespace', { servers: SERVERS, namespace: 'a b' }, /namespace/],
    [
      'a timeout not above the interval',
      { servers: SERVERS, failureTimeoutMs: 1000 },
      /failureTimeoutMs/,
    ],
    ['a zero maxCandidates', { servers: SERVERS, maxCandidates: 0 }, /maxCandidates/],
    ['both secret and secretFile', { servers: SERVERS, secret: 'x', secretFile: '/x' }, /both set/],
    ['an empty secret', { servers: SERVERS, secret: '' }, /secret/],
    ['a missing secret file', { servers: SERVERS, secretFile: '/nonexistent/x' }, /secretFile/],
    ['no servers', {}, /discovery \(nats\)\.servers/],
    ['a bad subject prefix', { servers: SERVERS, subjectPrefix: 'a.*' }, /subjectPrefix/],
  ])('refuses %s, naming the option', (_what, options, named) => {
    expect(() => resolveNatsDiscoveryOptions(options)).toThrow(InvalidConfigError);
    expect(() => resolveNatsDiscoveryOptions(options)).toThrow(named);
  });

  it('never shows the secret in a refusal', () => {
    expect(() => resolveNatsDiscoveryOptions({ servers: SERVERS, secret: 42 })).not.toThrow(/42/);
  });
});
