import type { ClusterLogger } from '../../core/index.js';
import type { LeaseApi } from './etcd-api.js';
import { etcdRequestError } from './etcd.errors.js';
import { LeaseKeeper } from './lease-keeper.js';

/** Waits until `condition` holds (polling), failing after `ms`. */
async function until(condition: () => boolean, ms = 3_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise(resolve => setTimeout(resolve, 5));
  }
}

const refused = () =>
  etcdRequestError(
    { kind: 'network', code: 'ECONNREFUSED', message: 'refused', tls: false },
    '/v3/lease/keepalive',
    'http://e',
  );
const notFound = () =>
  etcdRequestError(
    { kind: 'status', status: 404, grpcCode: 5, message: 'etcdserver: requested lease not found' },
    '/v3/kv/put',
    'http://e',
  );

/**
 * etcd's lease operations in memory, as the gateway answers them: a TTL of 0.3 s makes the
 * keepalive period 100 ms. `down` makes every call fail as a refused connection.
 */
class FakeEtcd implements LeaseApi {
  calls: string[] = [];
  leases = new Set<string>();
  keys = new Map<string, { value: string; lease: string }>();
  down = false;
  hangRevoke = false;
  /** TTL granted, in seconds. */
  ttl = 0.3;
  /** When set, a keepalive waits for it (never settles when it never resolves). */
  holdKeepAlive: Promise<void> | undefined;
  private next = 1;

  async grant(): Promise<{ id: string; ttl: number }> {
    this.calls.push('grant');
    if (this.down) throw refused();
    const id = `${7_000_000_000_000_000_000n + BigInt(this.next++)}`;
    this.leases.add(id);
    return { id, ttl: this.ttl };
  }
  async put(key: string, value: string, id: string): Promise<bigint> {
    this.calls.push('put');
    if (this.down) throw refused();
    if (!this.leases.has(id)) throw notFound();
    this.keys.set(key, { value, lease: id });
    return 1n;
  }
  async keepAlive(id: string): Promise<number> {
    this.calls.push('keepalive');
    if (this.holdKeepAlive) await this.holdKeepAlive;
    if (this.down) throw refused();
    return this.leases.has(id) ? this.ttl : 0;
  }
  async revoke(id: string, signal: AbortSignal): Promise<void> {
    this.calls.push('revoke');
    if (this.hangRevoke)
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason)),
      );
    this.expire(id);
  }
  /** etcd expires (or someone revokes) lease `id`: its keys go. */
  expire(id: string): void {
    this.leases.delete(id);
    for (const [key, entry] of this.keys) if (entry.lease === id) this.keys.delete(key);
  }
}

function setup() {
  const etcd = new FakeEtcd();
  const logs: string[] = [];
  const failures: [string, number][] = [];
  const logger: ClusterLogger = {
    debug: m => logs.push(`debug ${m}`),
    log: m => logs.push(`log ${m}`),
    warn: m => logs.push(`warn ${m}`),
    error: m => logs.push(`error ${m}`),
  };
  let registrations = 0;
  const keeper = new LeaseKeeper({
    api: etcd,
    key: '/gc/default/a@h',
    value: '{"node":"a@h"}',
    ttlSeconds: 2,
    logger,
    onFailure: (error, consecutive) => failures.push([error.message, consecutive]),
    onRegistered: () => registrations++,
  });
  return { etcd, keeper, logs, failures, registrations: () => registrations };
}

const warnings = (logs: string[]) => logs.filter(l => l.startsWith('warn'));

describe('LeaseKeeper', () => {
  it('grants, puts, then keeps the lease alive every third of the granted TTL', async () => {
    const { etcd, keeper } = setup();
    await keeper.start();
    expect(keeper.healthy).toBe(true);
    expect(etcd.calls).toEqual(['grant', 'put']);
    expect(etcd.keys.get('/gc/default/a@h')?.lease).toBe(keeper.leaseId);
    const started = performance.now();
    await until(() => etcd.calls.filter(c => c === 'keepalive').length >= 3);
    // 3 keepalives at 100 ms each (TTL 0.3 s granted, not the 2 s asked)
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(etcd.calls.filter(c => c === 'grant')).toHaveLength(1);
    await keeper.stop();
  });

  it('on a lost lease (keepalive without TTL) grants and puts again at once, logging the loss once', async () => {
    const { etcd, keeper, logs, registrations } = setup();
    await keeper.start();
    const first = keeper.leaseId!;
    const mark = etcd.calls.length;
    etcd.expire(first);
    expect(etcd.keys.size).toBe(0);
    await until(() => keeper.leaseId !== undefined && keeper.leaseId !== first && keeper.healthy);
    expect(etcd.keys.get('/gc/default/a@h')?.lease).toBe(keeper.leaseId);
    // the keepalive that finds the lease gone is followed at once by a grant and a put
    expect(etcd.calls.slice(mark, mark + 3)).toEqual(['keepalive', 'grant', 'put']);
    expect(warnings(logs)).toEqual([
      expect.stringContaining(`lease ${first} of /gc/default/a@h is gone`),
    ]);
    expect(logs).toContainEqual(
      expect.stringContaining(`registered again with lease ${keeper.leaseId}`),
    );
    expect(registrations()).toBe(2);
    await keeper.stop();
  });

  it('reports failures while etcd is away, keeps the lease when it comes back in time', async () => {
    const { etcd, keeper, failures, logs } = setup();
    await keeper.start();
    const lease = keeper.leaseId;
    etcd.down = true;
    await until(() => failures.length >= 2);
    expect(keeper.healthy).toBe(false);
    expect(failures.map(f => f[1])).toEqual(failures.map((_, i) => i + 1));
    etcd.down = false;
    await until(() => keeper.healthy);
    expect(keeper.leaseId).toBe(lease);
    expect(warnings(logs)).toEqual([]);
    await keeper.stop();
  });

  it('after an outage longer than the TTL, registers again with one loss logged', async () => {
    const { etcd, keeper, failures, logs } = setup();
    await keeper.start();
    const lease = keeper.leaseId!;
    etcd.down = true;
    await until(() => failures.length >= 3);
    etcd.expire(lease);
    etcd.down = false;
    await until(() => keeper.healthy && keeper.leaseId !== lease);
    expect(etcd.keys.get('/gc/default/a@h')?.lease).toBe(keeper.leaseId);
    expect(warnings(logs)).toHaveLength(1);
    await keeper.stop();
  });

  it('a put answering "requested lease not found" is a lost lease too', async () => {
    const { etcd, keeper, logs } = setup();
    await keeper.start();
    const lease = keeper.leaseId!;
    etcd.expire(lease);
    const mark = etcd.calls.length;
    keeper.reput();
    await until(() => keeper.healthy && keeper.leaseId !== lease);
    expect(etcd.calls.slice(mark, mark + 3)).toEqual(['put', 'grant', 'put']);
    expect(warnings(logs)).toHaveLength(1);
    await keeper.stop();
  });

  it('reput() puts the key again under the same lease', async () => {
    const { etcd, keeper } = setup();
    await keeper.start();
    etcd.keys.clear();
    keeper.reput();
    await until(() => etcd.keys.has('/gc/default/a@h'));
    expect(etcd.calls.filter(c => c === 'grant')).toHaveLength(1);
    await keeper.stop();
  });

  it('a first attempt that fails still resolves start(), and retries in the background', async () => {
    const { etcd, keeper, failures } = setup();
    etcd.down = true;
    await keeper.start();
    expect(keeper.healthy).toBe(false);
    expect(failures).toHaveLength(1);
    etcd.down = false;
    await until(() => keeper.healthy);
    await keeper.stop();
  });

  it('stop() revokes the lease, and gives up on a hanging revoke within the bound', async () => {
    const { etcd, keeper } = setup();
    await keeper.start();
    expect(await keeper.stop(1_000)).toBeUndefined();
    expect(etcd.keys.size).toBe(0);
    expect(keeper.state).toBe('stopped');

    const second = setup();
    await second.keeper.start();
    second.etcd.hangRevoke = true;
    const started = performance.now();
    const error = await second.keeper.stop(200);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(error).toMatchObject({ code: 'ERR_ETCD_REQUEST' });
  });

  it('reput() while a keepalive is in flight puts right after it, not a period later', async () => {
    const { etcd, keeper } = setup();
    etcd.ttl = 3; // keepalive period 1 s
    await keeper.start();
    let release!: () => void;
    etcd.holdKeepAlive = new Promise<void>(resolve => (release = resolve));
    await until(() => etcd.calls.includes('keepalive'), 3_000);
    etcd.keys.clear();
    keeper.reput();
    etcd.holdKeepAlive = undefined;
    const released = performance.now();
    release();
    await until(() => etcd.keys.has('/gc/default/a@h'), 3_000);
    expect(performance.now() - released).toBeLessThan(500);
    await keeper.stop();
  });

  it("a keepalive with no answer gives up when the lease's time is up, not never", async () => {
    const { etcd, keeper, failures } = setup();
    etcd.ttl = 0.6; // period 200 ms; the lease is gone 600 ms after its last renewal
    await keeper.start();
    etcd.holdKeepAlive = new Promise<void>(() => {});
    await until(() => etcd.calls.includes('keepalive'), 3_000);
    const started = performance.now();
    await until(() => failures.length >= 1, 3_000);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(failures[0]![0]).toMatch(/keepalive/);
    await keeper.stop();
  });
});
