import { InvalidConfigError } from '../../core/index.js';
import { TcpDist } from '../../distribution/index.js';
import { NatsDist } from './nats.dist.js';
import {
  NATS_DIST_DEFAULTS,
  type NatsDistOptions,
  resolveNatsDistSettings,
} from './nats-dist-options.js';

const base: NatsDistOptions = { servers: 'nats://127.0.0.1:4222', cookie: 'c' };

describe('NATS dist options', () => {
  it('fills in the defaults', () => {
    expect(resolveNatsDistSettings(base)).toEqual({
      namespace: 'default',
      heartbeatIntervalMs: 1_000,
      failureTimeoutMs: 5_000,
      requestTimeoutMs: 5_000,
      maxMessageBytes: 64 * 1024 * 1024,
      maxStructuredPayloadBytes: 2 * 1024 * 1024,
      messageAuth: 'hmac',
      maxQueueBytes: 128 * 1024 * 1024,
    });
    expect(Object.isFrozen(NATS_DIST_DEFAULTS)).toBe(true);
  });

  it('caps the structured payload default by a smaller message limit', () => {
    expect(
      resolveNatsDistSettings({ ...base, maxMessageBytes: 1024 }).maxStructuredPayloadBytes,
    ).toBe(1024);
  });

  const bad: [string, Partial<NatsDistOptions>][] = [
    ['strategy', { strategy: 'tcp' as 'nats' }],
    ['namespace', { namespace: 'has space' }],
    ['heartbeatIntervalMs', { heartbeatIntervalMs: 0 }],
    ['failureTimeoutMs', { failureTimeoutMs: 1.5 }],
    ['failureTimeoutMs', { heartbeatIntervalMs: 1_000, failureTimeoutMs: 1_000 }],
    ['failureTimeoutMs', { heartbeatIntervalMs: 1_000, failureTimeoutMs: 1_999 }],
    ['dist (nats).heartbeatInterval', { heartbeatInterval: 500 } as Partial<NatsDistOptions>],
    ['dist (nats).port', { port: 4370 } as Partial<NatsDistOptions>],
    ['requestTimeoutMs', { requestTimeoutMs: -1 }],
    ['messageAuth', { messageAuth: 'sha1' as 'hmac' }],
    ['maxMessageBytes', { maxMessageBytes: 0 }],
    ['maxQueueBytes', { maxMessageBytes: 2048, maxQueueBytes: 1024 }],
    ['maxStructuredPayloadBytes', { maxMessageBytes: 1024, maxStructuredPayloadBytes: 2048 }],
    ['startedAt', { startedAt: 0 }],
  ];
  it('accepts a failure timeout of exactly twice the heartbeat, and names both when under', () => {
    expect(
      resolveNatsDistSettings({ ...base, heartbeatIntervalMs: 500, failureTimeoutMs: 1_000 })
        .failureTimeoutMs,
    ).toBe(1_000);
    expect(() =>
      resolveNatsDistSettings({ ...base, heartbeatIntervalMs: 500, failureTimeoutMs: 999 }),
    ).toThrow(/failureTimeoutMs[\s\S]*heartbeatIntervalMs/);
  });

  it('names a bad connection option under the dist (dist (nats).servers)', () => {
    expect(() => new NatsDist({ ...base, servers: 'http://h:1' })).toThrow('dist (nats).servers');
  });

  it.each(bad)('refuses a bad %s, naming it', (option, options) => {
    const resolve = () => resolveNatsDistSettings({ ...base, ...options });
    expect(resolve).toThrow(InvalidConfigError);
    expect(resolve).toThrow(option);
  });

  it('refuses bad connection options and a bad cookie at construction', () => {
    expect(() => new NatsDist({ ...base, servers: [] })).toThrow(InvalidConfigError);
    expect(() => new NatsDist({ ...base, cookie: '' })).toThrow(InvalidConfigError);
  });

  it('derives the same keys as the TCP dist from the same cookie, distinct per label', () => {
    const dist = new NatsDist(base);
    expect(dist.deriveKey('a')).toHaveLength(32);
    expect(dist.deriveKey('a').equals(new TcpDist({ cookie: 'c' }).deriveKey('a'))).toBe(true);
    expect(dist.deriveKey('a').equals(dist.deriveKey('b'))).toBe(false);
    expect(dist.deriveKey('a').equals(new NatsDist({ ...base, cookie: 'd' }).deriveKey('a'))).toBe(
      false,
    );
  });

  it('reports what it can before start', async () => {
    const dist = new NatsDist(base);
    expect(dist.name).toBe('nats');
    expect(dist.members()).toEqual([]);
    expect(dist.startedAt).toBeUndefined();
    expect(dist.connected).toBe(false);
    expect(dist.port).toBeNull();
    expect(dist.failureTimeoutMs).toBe(5_000);
    expect(dist.health()).toEqual({ listening: true });
    expect(dist.stats().nats.connected).toBe(false);
    await expect(dist.connect({ node: 'a@h' }, new AbortController().signal)).resolves.toBe(false);
    await expect(dist.disconnect({ node: 'a@h' })).resolves.toBe(false);
    expect(() => dist.discovery().peers(new AbortController().signal)).toThrow(
      expect.objectContaining({ code: 'ERR_DISCOVERY_FAILED' }),
    );
    expect(() => dist.messaging.send('a@h', 't', 1)).toThrow(
      expect.objectContaining({ code: 'ERR_NOT_STARTED' }),
    );
    await dist.leave();
    await dist.close();
  });
});
