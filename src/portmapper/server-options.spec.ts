import { InvalidConfigError, MAX_TIMER_MS } from '../core/index.js';
import {
  type PortMapperServerOptions,
  checkListenAddress,
  checkServerOptions,
  listenScope,
} from './server-options.js';

describe('checkServerOptions', () => {
  it('accepts the defaults, an ephemeral port and the bounds', () => {
    for (const options of [
      {},
      { port: 0 },
      { port: 65_535, packetTimeoutMs: MAX_TIMER_MS },
      { maxRegistrations: 1, maxPendingConnections: 1_000_000 },
      { maxPendingPerAddress: 1 },
      { maxPendingPerAddress: 1_000_000 },
      { host: '0.0.0.0' },
      { host: '[::]' },
      { host: '10.0.0.5' },
      { host: 'localhost' },
    ]) {
      expect(() => checkServerOptions(options)).not.toThrow();
    }
  });

  it.each<[PortMapperServerOptions, string]>([
    [{ port: 70_000 }, 'port mapper (server).port'],
    [{ port: -1 }, 'port mapper (server).port'],
    [{ packetTimeoutMs: 0 }, 'port mapper (server).packetTimeoutMs'],
    [{ packetTimeoutMs: 1.5 }, 'port mapper (server).packetTimeoutMs'],
    [{ maxRegistrations: 0 }, 'port mapper (server).maxRegistrations'],
    [{ maxPendingConnections: 1_000_001 }, 'port mapper (server).maxPendingConnections'],
    [{ maxPendingPerAddress: 0 }, 'port mapper (server).maxPendingPerAddress'],
    [{ maxPendingPerAddress: 2.5 }, 'port mapper (server).maxPendingPerAddress'],
    [{ maxPendingPerAddress: 1_000_001 }, 'port mapper (server).maxPendingPerAddress'],
    [
      { maxPendingPerAddress: '32' as unknown as number },
      'port mapper (server).maxPendingPerAddress',
    ],
    [{ host: 'box-2.example' }, 'port mapper (server).host'],
    [{ host: '' }, 'port mapper (server).host'],
    [{ host: 7 as unknown as string }, 'port mapper (server).host'],
  ])('refuses %j, naming %s', (options, option) => {
    expect(() => checkServerOptions(options)).toThrow(InvalidConfigError);
    expect(() => checkServerOptions(options)).toThrow(option);
  });

  it('refuses a packet timeout Node would fire after 1 ms (above the timer ceiling)', () => {
    expect(() => checkServerOptions({ packetTimeoutMs: MAX_TIMER_MS + 1 })).toThrow(
      /packetTimeoutMs.*about 24\.8 days/,
    );
  });

  it('never prints a secret-sounding field of a refused value', () => {
    const options = { port: { token: 'hunter2' } } as unknown as PortMapperServerOptions;
    expect(() => checkServerOptions(options)).toThrow(/token: \(hidden\)/);
    expect(() => checkServerOptions(options)).not.toThrow(/hunter2/);
  });
});

describe('listen addresses', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.1.2.3', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['localhost', 'loopback'],
    ['0.0.0.0', 'every-interface'],
    ['::', 'every-interface'],
    ['[0:0:0:0:0:0:0:0]', 'every-interface'],
    ['10.0.0.5', 'one-interface'],
    ['fd00::5', 'one-interface'],
  ])('takes %s as %s', (host, scope) => {
    expect(listenScope(host)).toBe(scope);
  });

  it('refuses a host name, naming the option and the accepted addresses', () => {
    expect(() => checkListenAddress('bind', 'box-2.example')).toThrow(InvalidConfigError);
    expect(() => checkListenAddress('bind', 'box-2.example')).toThrow(
      /bind.*"box-2\.example".*"0\.0\.0\.0"/,
    );
  });
});
