/**
 * The gateway client against a real HTTP server on loopback that answers as etcd's gateway does,
 * with the timing each case needs (a slow authentication, a stream that never ends).
 */
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EtcdClient } from './etcd-client.js';

const RANGE = JSON.stringify({ header: { revision: '3' } });
const CREATED = JSON.stringify({ result: { header: { revision: '3' }, created: true } });

interface Gateway {
  readonly url: string;
  readonly server: Server;
  readonly seen: { path: string; headers: IncomingHttpHeaders }[];
  authDelayMs: number;
  authentications: number;
}

async function gateway(): Promise<Gateway> {
  const g = { seen: [], authDelayMs: 0, authentications: 0 } as unknown as Gateway & {
    url: string;
    server: Server;
  };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      g.seen.push({ path: req.url ?? '', headers: req.headers });
      if (req.url === '/v3/auth/authenticate') {
        g.authentications++;
        setTimeout(() => res.end(JSON.stringify({ token: 'tok.1' })), g.authDelayMs);
      } else if (req.url === '/v3/watch') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write(`${CREATED}\n`); // and never ends
      } else {
        res.end(RANGE);
      }
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  g.server = server;
  g.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return g;
}

describe('EtcdClient', () => {
  let g: Gateway;
  let client: EtcdClient;
  const make = (auth: boolean) =>
    new EtcdClient({
      endpoints: [g.url],
      requestTimeoutMs: 5_000,
      maxBodyBytes: 1 << 20,
      ...(auth ? { username: 'u', password: () => 'pw' } : {}),
    });

  beforeEach(async () => {
    g = await gateway();
  });
  afterEach(async () => {
    client.close();
    g.server.closeAllConnections();
    await new Promise(resolve => g.server.close(resolve));
  });

  it('requires a leader on a watch, says where it opened, and ends a planned cut normally', async () => {
    client = make(false);
    const values: unknown[] = [];
    let openedOn: string | undefined;
    const started = performance.now();
    const end = await client.stream(
      '/v3/watch',
      {},
      {
        signal: new AbortController().signal,
        maxDurationMs: 300,
        onValue: value => values.push(value),
        onOpen: endpoint => (openedOn = endpoint),
      },
    );
    expect(end).toBe('cut');
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(values).toEqual([JSON.parse(CREATED)]);
    expect(openedOn).toBe(g.url);
    const watch = g.seen.find(r => r.path === '/v3/watch')!;
    expect(watch.headers['grpc-metadata-hasleader']).toBe('true');
    await client.call('/v3/kv/range', {});
    expect(g.seen.at(-1)!.headers['grpc-metadata-hasleader']).toBeUndefined();
  });

  it("does not fail a shared authentication when the first caller's signal aborts", async () => {
    client = make(true);
    g.authDelayMs = 300;
    const first = new AbortController();
    const a = client.call('/v3/kv/range', {}, first.signal);
    const b = client.call('/v3/kv/range', {}, new AbortController().signal);
    setTimeout(() => first.abort(new Error('lookup gave up')), 50);
    await expect(a).rejects.toThrow('lookup gave up');
    await expect(b).resolves.toEqual(JSON.parse(RANGE));
    expect(g.authentications).toBe(1);
    expect(g.seen.at(-1)!.headers.authorization).toBe('tok.1');
  });

  it("bounds a caller waiting on someone else's authentication by its own signal", async () => {
    client = make(true);
    g.authDelayMs = 1_000;
    const a = client.call('/v3/kv/range', {});
    const mine = new AbortController();
    const b = client.call('/v3/kv/range', {}, mine.signal);
    const started = performance.now();
    setTimeout(() => mine.abort(new Error('lease time is up')), 100);
    await expect(b).rejects.toThrow('lease time is up');
    expect(performance.now() - started).toBeLessThan(600);
    await expect(a).resolves.toEqual(JSON.parse(RANGE));
  });
});
