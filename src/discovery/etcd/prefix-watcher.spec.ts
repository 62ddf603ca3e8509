/**
 * The watcher's loop against a scripted etcd: a fake `EtcdApi` whose `client.stream` hands each
 * opened stream to the test, which feeds it gateway lines and ends or breaks it.
 */
import { until } from '../../../test/support/wait.js';
import type { ClusterLogger } from '../../core/index.js';
import type { EtcdApi } from './etcd-api.js';
import type { StreamEnd, StreamHandlers } from './etcd-client.js';
import type { RangeAnswer } from './etcd-gateway.js';
import { etcdRequestError } from './etcd.errors.js';
import { PrefixWatcher } from './prefix-watcher.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const header = (revision: bigint) => ({ header: { revision: String(revision) } });
const created = () => ({ result: { ...header(1n), created: true } });
const put = (headerRevision: bigint, ...keys: [string, bigint][]) => ({
  result: {
    ...header(headerRevision),
    events: keys.map(([key, mod]) => ({
      kv: { key: b64(key), value: b64('v'), mod_revision: String(mod) },
    })),
  },
});

/** One stream the watcher opened. */
interface OpenStream {
  readonly startRevision: bigint;
  readonly endpoint: string;
  readonly signal: AbortSignal;
  readonly openedAt: number;
  send(line: unknown): void;
  end(how?: StreamEnd): void;
  fail(error: unknown): void;
}

class FakeEtcd {
  endpoint = 'http://a';
  streams: OpenStream[] = [];
  ranges = 0;
  invalidated = 0;
  kvs: string[] = ['/p/a'];
  rangeRevision = 10n;

  readonly api = {
    range: (): Promise<RangeAnswer> => {
      this.ranges++;
      return Promise.resolve({
        revision: this.rangeRevision,
        kvs: this.kvs.map(key => ({ key, value: 'v', lease: undefined, modRevision: 1n })),
      });
    },
    client: {
      get endpoint() {
        return fake.endpoint;
      },
      invalidateToken: () => {
        this.invalidated++;
      },
      stream: (_path: string, body: unknown, handlers: StreamHandlers): Promise<StreamEnd> =>
        new Promise<StreamEnd>((resolve, reject) => {
          const request = body as { create_request: { start_revision: string } };
          const fail = (error: unknown) => reject(error);
          handlers.signal.addEventListener('abort', () => fail(handlers.signal.reason), {
            once: true,
          });
          handlers.onOpen?.(this.endpoint);
          this.streams.push({
            startRevision: BigInt(request.create_request.start_revision),
            endpoint: this.endpoint,
            signal: handlers.signal,
            openedAt: performance.now(),
            send: line => {
              try {
                handlers.onValue(line);
              } catch (error) {
                fail(error);
              }
            },
            end: (how = 'end') => resolve(how),
            fail,
          });
        }),
    },
  };
}
let fake: FakeEtcd;

function logger(): ClusterLogger & { warns: string[]; debugs: string[] } {
  const warns: string[] = [];
  const debugs: string[] = [];
  return {
    warns,
    debugs,
    log: () => undefined,
    error: () => undefined,
    warn: (message: unknown) => warns.push(String(message)),
    debug: (message: unknown) => debugs.push(String(message)),
  } as ClusterLogger & { warns: string[]; debugs: string[] };
}

function watcher(
  options: { initialMs?: number; maxKeys?: number; failuresBeforeWarning?: number } = {},
) {
  const log = logger();
  const changes: string[][] = [];
  const w = new PrefixWatcher({
    api: fake.api as unknown as EtcdApi,
    prefix: '/p/',
    backoff: { initialMs: options.initialMs ?? 50, maxMs: 5_000, multiplier: 2, jitter: 0 },
    failuresBeforeWarning: options.failuresBeforeWarning ?? 1,
    maxStreamMs: 60_000,
    ...(options.maxKeys === undefined ? {} : { maxKeys: options.maxKeys }),
    logger: log,
    onChange: deleted => changes.push([...deleted]),
    describe: error => (error instanceof Error ? error.message : String(error)),
  });
  return { w, log, changes };
}

const stream = (i: number) => fake.streams[i]!;
const opened = (n: number) => until(() => fake.streams.length >= n, 3_000, `${n} streams`);

describe('PrefixWatcher', () => {
  let current: PrefixWatcher | undefined;
  beforeEach(() => {
    fake = new FakeEtcd();
  });
  afterEach(async () => {
    await current?.stop();
    current = undefined;
  });

  it('ranges, watches from the range revision + 1 and is healthy once created', async () => {
    const { w } = watcher();
    current = w;
    w.start();
    await opened(1);
    expect(stream(0).startRevision).toBe(11n);
    expect(w.healthy).toBe(false);
    stream(0).send(created());
    expect(w.healthy).toBe(true);
    expect([...w.snapshot().keys()]).toEqual(['/p/a']);
  });

  it("resumes after the last event's mod_revision, not the batch header's revision", async () => {
    const { w } = watcher();
    current = w;
    w.start();
    await opened(1);
    stream(0).send(created());
    // a catch-up batch cut at 1,000 revisions while the header says the store's revision
    stream(0).send(put(5_000n, ['/p/b', 900n], ['/p/c', 1_010n]));
    expect(w.version).toBe(1_010n);
    stream(0).fail(
      etcdRequestError(
        { kind: 'network', code: 'ECONNRESET', message: 'reset', tls: false },
        '/v3/watch',
        'http://a',
      ),
    );
    await opened(2);
    expect(stream(1).startRevision).toBe(1_011n);
    // a progress message (no events) moves the revision to its header's
    stream(1).send(created());
    stream(1).send({ result: { ...header(6_000n) } });
    expect(w.version).toBe(6_000n);
    expect(fake.ranges).toBe(1);
  });

  it('ranges again when the start revision was compacted', async () => {
    const { w, changes } = watcher();
    current = w;
    w.start();
    await opened(1);
    fake.kvs = ['/p/x'];
    fake.rangeRevision = 50n;
    stream(0).send({ result: { ...header(0n), canceled: true, compact_revision: '40' } });
    await opened(2);
    expect(fake.ranges).toBe(2);
    expect(stream(1).startRevision).toBe(51n);
    expect([...w.snapshot().keys()]).toEqual(['/p/x']);
    expect(changes.at(-1)).toEqual(['/p/a']);
  });

  it('waits at least the first backoff delay after a stream that was created and ended at once', async () => {
    const { w, log } = watcher({ initialMs: 400 });
    current = w;
    w.start();
    await opened(1);
    stream(0).send(created());
    stream(0).end();
    await opened(2);
    expect(stream(1).openedAt - stream(0).openedAt).toBeGreaterThanOrEqual(350);
    expect(stream(1).startRevision).toBe(11n);
    expect(log.warns).toEqual([]);
  });

  it('resumes at once after the planned cut, counting no failure', async () => {
    const { w, log } = watcher({ initialMs: 5_000 });
    current = w;
    w.start();
    await opened(1);
    stream(0).send(created());
    stream(0).end('cut');
    await opened(2);
    expect(stream(1).startRevision).toBe(11n);
    expect(log.warns).toEqual([]);
    expect(log.debugs.filter(m => m.includes('the watch ended'))).toEqual([]);
  });

  it('reports a cancel_reason and retries after a backoff', async () => {
    const { w, log } = watcher();
    current = w;
    w.start();
    await opened(1);
    stream(0).send({
      result: {
        ...header(7n),
        created: true,
        canceled: true,
        cancel_reason: 'rpc error: code = PermissionDenied desc = etcdserver: permission denied',
      },
    });
    await opened(2);
    expect(w.healthy).toBe(false);
    expect(log.warns.join('\n')).toContain('permission denied');
    stream(1).send(created());
    expect(w.healthy).toBe(true);
  });

  it('drops the token and reopens at once when the watch says the token is invalid', async () => {
    const { w, log } = watcher({ initialMs: 5_000 });
    current = w;
    w.start();
    await opened(1);
    stream(0).fail(
      etcdRequestError(
        { kind: 'status', status: 401, grpcCode: 16, message: 'etcdserver: invalid auth token' },
        '/v3/watch',
        'http://a',
      ),
    );
    await opened(2);
    expect(fake.invalidated).toBe(1);
    expect(log.warns).toEqual([]);
  });

  it('reopens a silent stream on the new endpoint when requests moved elsewhere', async () => {
    const { w } = watcher({ initialMs: 5_000 });
    current = w;
    w.start();
    await opened(1);
    stream(0).send(created());
    expect(w.healthy).toBe(true);
    // the stream never ends; a failover elsewhere moved the client's requests to b
    fake.endpoint = 'http://b';
    expect(w.healthy).toBe(false);
    await opened(2);
    expect(stream(0).signal.aborted).toBe(true);
    expect(stream(1).endpoint).toBe('http://b');
    expect(stream(1).startRevision).toBe(11n);
    expect(w.healthy).toBe(false);
    stream(1).send(created());
    expect(w.healthy).toBe(true);
  });

  it('drops the copy above maxKeys and warns once (rate-limited)', async () => {
    const { w, log } = watcher({ maxKeys: 3, initialMs: 20, failuresBeforeWarning: 100 });
    current = w;
    w.start();
    await opened(1);
    stream(0).send(created());
    stream(0).send(put(20n, ['/p/b', 20n], ['/p/c', 20n]));
    expect(w.snapshot().size).toBe(3);
    stream(0).send(put(21n, ['/p/d', 21n]));
    expect(w.healthy).toBe(false);
    expect(w.snapshot().size).toBe(0);
    // the next range is too big as well: still no copy, and no second warning
    fake.kvs = ['/p/a', '/p/b', '/p/c', '/p/d'];
    await until(() => fake.ranges >= 3, 3_000, 'ranges');
    expect(w.healthy).toBe(false);
    expect(w.snapshot().size).toBe(0);
    expect(log.warns.filter(m => m.includes('more than 3 keys'))).toHaveLength(1);
  });
});
