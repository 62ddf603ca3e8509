import { type ClusterLogger, type DiscoveryContext, DiscoveryError } from '../../core/index.js';
import type { EtcdApi } from './etcd-api.js';
import type { RangeAnswer } from './etcd-gateway.js';
import { etcdRequestError } from './etcd.errors.js';
import { EtcdDiscovery } from './etcd.discovery.js';
import { resolveEtcdDiscoveryOptions } from './etcd-options.js';

/** Waits until `condition` holds (polling), failing after `ms`. */
async function until(condition: () => boolean | Promise<boolean>, ms = 3_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise(resolve => setTimeout(resolve, 5));
  }
}

const PREFIX = '/gc/default/';
const b64 = (text: string) => Buffer.from(text).toString('base64');
const refused = (path: string) =>
  etcdRequestError(
    { kind: 'network', code: 'ECONNREFUSED', message: 'refused', tls: false },
    path,
    'http://fake:2379',
  );
const denied = () =>
  etcdRequestError(
    { kind: 'status', status: 403, grpcCode: 7, message: 'etcdserver: permission denied' },
    '/v3/kv/put',
    'http://fake:2379',
  );
const value = (node: string, port: number) => JSON.stringify({ node, port, incarnation: '1' });

/**
 * etcd in memory behind the {@link EtcdApi} surface the discovery uses: a key table with
 * revisions, leases with a 3 s TTL (keepalive period 1 s), and one watch stream at a time that
 * the test feeds. `down` refuses every request; `failKeepAlive` only keepalives; `putError` fails
 * puts; `hangGrant` answers no grant until aborted.
 */
class FakeApi {
  readonly kv = new Map<string, string>();
  revision = 10n;
  down = false;
  hangGrant = false;
  failKeepAlive = false;
  putError: (() => Error) | undefined;
  ranges = 0;
  private watch: ((line: unknown) => void) | undefined;

  readonly client = {
    endpoint: 'http://fake:2379',
    invalidateToken: () => {},
    close: () => {},
    stream: (
      path: string,
      _body: unknown,
      handlers: { signal: AbortSignal; onValue: (value: unknown) => void },
    ): Promise<void> => {
      if (this.down) return Promise.reject(refused(path));
      if (handlers.signal.aborted) return Promise.reject(handlers.signal.reason);
      return new Promise<void>((_, reject) => {
        this.watch = handlers.onValue;
        handlers.onValue({
          result: { header: { revision: String(this.revision) }, created: true },
        });
        handlers.signal.addEventListener('abort', () => reject(handlers.signal.reason));
      });
    },
  };

  async range(prefix: string): Promise<RangeAnswer> {
    this.ranges++;
    if (this.down) throw refused('/v3/kv/range');
    const kvs = [...this.kv]
      .filter(([k]) => k.startsWith(prefix))
      .map(([key, v]) => ({ key, value: v, lease: undefined, modRevision: this.revision }));
    return { revision: this.revision, kvs };
  }
  async grant(_ttl: number, signal: AbortSignal): Promise<{ id: string; ttl: number }> {
    if (this.hangGrant)
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason)),
      );
    if (this.down) throw refused('/v3/lease/grant');
    return { id: '7', ttl: 3 };
  }
  async put(key: string, v: string): Promise<bigint> {
    if (this.down) throw refused('/v3/kv/put');
    if (this.putError) throw this.putError();
    this.set(key, v);
    return this.revision;
  }
  async keepAlive(): Promise<number> {
    if (this.down || this.failKeepAlive) throw refused('/v3/lease/keepalive');
    return 3;
  }
  async revoke(): Promise<void> {}

  /** A write by someone else (or by us): the table changes and the watch sees it. */
  set(key: string, v: string): void {
    this.revision++;
    this.kv.set(key, v);
    this.event({ kv: { key: b64(key), value: b64(v), mod_revision: String(this.revision) } });
  }
  delete(key: string): void {
    this.revision++;
    this.kv.delete(key);
    this.event({ type: 'DELETE', kv: { key: b64(key), mod_revision: String(this.revision) } });
  }
  private event(event: unknown): void {
    this.watch?.({ result: { header: { revision: String(this.revision) }, events: [event] } });
  }
}

function setup(options: Record<string, unknown> = {}) {
  const api = new FakeApi();
  const logs: string[] = [];
  const reported: [Error, string, number | undefined][] = [];
  let refreshes = 0;
  const logger: ClusterLogger = {
    debug: () => {},
    log: m => logs.push(`log ${m}`),
    warn: m => logs.push(`warn ${m}`),
    error: m => logs.push(`error ${m}`),
  };
  const all = { endpoints: ['http://fake:2379'], prefix: '/gc', leaseTtlSeconds: 3, ...options };
  const discovery = EtcdDiscovery.withInternals(all, {
    api: api as unknown as EtcdApi,
    resolved: resolveEtcdDiscoveryOptions(all),
  });
  const context: DiscoveryContext = {
    self: 'a@h',
    logger,
    port: 4_000,
    requestRefresh: () => void refreshes++,
    reportError: (error, source, consecutive) => void reported.push([error, source, consecutive]),
  };
  return { api, discovery, context, logs, reported, refreshes: () => refreshes };
}

const warnings = (logs: string[]) => logs.filter(l => l.startsWith('warn'));

describe('EtcdDiscovery (fake etcd)', () => {
  it('answers from the watched copy while watching, and ranges when the watch is down', async () => {
    const { api, discovery, context } = setup();
    api.kv.set(`${PREFIX}b@h`, value('b@h', 4_001));
    await discovery.init(context);
    await until(() => discovery.watching);
    api.set(`${PREFIX}c@h`, value('c@h', 4_002));
    const ranges = api.ranges;
    expect(await discovery.peers()).toEqual([
      { node: 'b@h', port: 4_001 },
      { node: 'c@h', port: 4_002 },
    ]);
    expect(api.ranges).toBe(ranges);

    // a change the watch cannot see (written behind its back): only a range finds it
    api.kv.set(`${PREFIX}d@h`, value('d@h', 4_003));
    expect(await discovery.peers()).toHaveLength(2);
    // the lease cannot be kept: the copy is no longer trusted, each lookup ranges
    api.failKeepAlive = true;
    await until(() => !discovery.watching, 5_000);
    expect((await discovery.peers()).map(p => p.node)).toEqual(['b@h', 'c@h', 'd@h']);
    expect(api.ranges).toBeGreaterThan(ranges);
    api.down = true;
    await expect(discovery.peers()).rejects.toBeInstanceOf(DiscoveryError);
    await discovery.close();
  });

  it('throws a DiscoveryError while etcd is unreachable, never an empty answer', async () => {
    const { api, discovery, context, reported } = setup();
    api.down = true;
    await discovery.init(context);
    const failure = await discovery.peers().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DiscoveryError);
    expect((failure as DiscoveryError).message).toContain('keeping the last good peers');
    expect(reported[0]![1]).toBe('etcd lease');
    await discovery.close();
  });

  it('puts its own key back when the watch sees it deleted', async () => {
    const { api, discovery, context, logs, refreshes } = setup();
    await discovery.init(context);
    await until(() => discovery.watching);
    const key = `${PREFIX}a@h`;
    expect(api.kv.has(key)).toBe(true);
    const before = refreshes();
    api.set(`${PREFIX}b@h`, value('b@h', 4_001));
    expect(refreshes()).toBe(before + 1);
    const deletedAt = performance.now();
    api.delete(key);
    // put back at once (the keepalive period is 1 s)
    await until(() => api.kv.has(key), 3_000);
    expect(performance.now() - deletedAt).toBeLessThan(500);
    expect(logs).toContainEqual(expect.stringContaining(`${key} was deleted`));
    await discovery.close();
  });

  it('logs a refused registration (with the grant to make) and reports it, at 1, 2, 4, 8...', async () => {
    const { api, discovery, context, logs, reported } = setup();
    api.putError = denied;
    await discovery.init(context);
    await until(() => reported.length >= 3, 5_000);
    expect(reported.map(r => r[2])).toEqual([1, 2, 4].slice(0, reported.length));
    const lines = warnings(logs).filter(l => l.includes('cannot register'));
    expect(lines.length).toBe(reported.length);
    expect(lines[0]).toContain('grant-permission');
    expect(lines[0]).toContain('permission denied');
    expect(reported[0]![0].message).toContain('grant-permission');
    await discovery.close();
  });

  it('init waits for a first registration with no answer at most one requestTimeoutMs', async () => {
    const { api, discovery, context } = setup({ requestTimeoutMs: 300 });
    api.hangGrant = true;
    const started = performance.now();
    await discovery.init(context);
    expect(performance.now() - started).toBeLessThan(1_500);
    await discovery.close();
  });

  it('warns once at init when a password would travel over plain http', async () => {
    const { discovery, context, logs } = setup({ username: 'u', password: 'p' });
    await discovery.init(context);
    const lines = warnings(logs).filter(l => l.includes('plain http'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('http://fake:2379');
    expect(lines[0]).not.toContain('"p"');
    await discovery.close();

    const quiet = setup();
    await quiet.discovery.init(quiet.context);
    expect(warnings(quiet.logs).filter(l => l.includes('plain http'))).toEqual([]);
    await quiet.discovery.close();
  });
});
