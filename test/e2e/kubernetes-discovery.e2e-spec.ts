import { DiscoveryError, GenCluster, type ClusterLogger, type Peer } from '../../src/core/index.js';
import { KubernetesDiscovery, type KubernetesDiscoveryOptions } from '../../src/discovery/index.js';
import {
  type EndpointSpec,
  KubeApiServer,
  endpointSlice,
  sliceListPath,
} from '../support/kube-api-server.js';
import { type TestCerts, makeTestCerts } from '../support/test-certs.js';
import { TestDist } from '../../src/testing/index.js';
import { until } from '../support/wait.js';

/**
 * The `kubernetes` discovery against a test API server (test/support/kube-api-server.ts): HTTPS
 * with a test CA, a bearer token in a file, and the real JSON of `discovery.k8s.io/v1`
 * EndpointSlice lists and watch streams.
 */

const SELF = 'app@10.244.0.5';
const SVC = 'my-svc';
const NS = 'my-ns';

let certs: TestCerts;
let server: KubeApiServer;
const servers: KubeApiServer[] = [];
const discoveries: KubernetesDiscovery[] = [];
const clusters: GenCluster[] = [];

interface Logs {
  debug: string[];
  log: string[];
  warn: string[];
  error: string[];
}
let logs: Logs;
const logger: ClusterLogger = {
  debug: m => logs.debug.push(m),
  log: m => logs.log.push(m),
  warn: m => logs.warn.push(m),
  error: m => logs.error.push(m),
};

async function startServer(options: Parameters<typeof KubeApiServer.start>[0] = {}) {
  const started = await KubeApiServer.start({ certs, namespace: NS, ...options });
  servers.push(started);
  return started;
}

/** A discovery pointed at `api` (the test's server by default). */
function discovery(
  options: Partial<KubernetesDiscoveryOptions> = {},
  api: KubeApiServer = server,
): KubernetesDiscovery {
  const d = new KubernetesDiscovery({
    strategy: 'kubernetes',
    service: SVC,
    namespace: NS,
    apiServer: api.url,
    tokenFile: api.tokenFile,
    caFile: api.caFile,
    requestTimeoutMs: 2_000,
    ...options,
  });
  discoveries.push(d);
  return d;
}

/** Initialises `d` as node `self`; returns the counter of refresh requests. */
async function start(d: KubernetesDiscovery, self = SELF): Promise<{ count: number }> {
  const refreshes = { count: 0 };
  await d.init({ self, logger, requestRefresh: () => refreshes.count++ });
  return refreshes;
}

const ask = (d: KubernetesDiscovery) => d.peers(new AbortController().signal);
const nodes = (peers: readonly Peer[]) => peers.map(p => p.node);

/** The pods 10.244.0.<n> for each n, named app-<n>. */
const pods = (...ns: number[]): EndpointSpec[] =>
  ns.map(n => ({ ip: `10.244.0.${n}`, pod: `app-${n}` }));

const slice = (name: string, endpoints: EndpointSpec[], service = SVC) =>
  endpointSlice({ name, service, namespace: NS, endpoints });

/** The error `promise` rejects with (fails the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the discovery to fail, but it answered');
}

beforeAll(async () => {
  certs = await makeTestCerts();
});
afterAll(async () => {
  await certs?.cleanup();
});
beforeEach(async () => {
  logs = { debug: [], log: [], warn: [], error: [] };
  server = await startServer();
});
afterEach(async () => {
  await Promise.allSettled(clusters.splice(0).map(c => c.stop()));
  await Promise.allSettled(discoveries.splice(0).map(d => d.close()));
  await Promise.allSettled(servers.splice(0).map(s => s.stop()));
});

describe('listing EndpointSlices', () => {
  it('gives one peer per endpoint of the Service, with the slice port, without self or other Services', async () => {
    server.apply(slice('my-svc-abc12', pods(5, 6, 7)));
    server.apply(slice('other-svc-xyz', pods(8), 'other-svc'));
    const d = discovery({ watch: false });
    await start(d);
    const peers = await ask(d);
    expect(nodes(peers)).toEqual(['app@10.244.0.6', 'app@10.244.0.7']);
    expect(peers[0]).toMatchObject({
      port: 39135,
      meta: { pod: 'app-6', address: '10.244.0.6', slice: 'my-svc-abc12', ready: true },
    });
    const [list] = server.lists();
    expect(list!.path).toBe(sliceListPath(NS));
    expect(list!.params.labelSelector).toBe('kubernetes.io/service-name=my-svc');
    expect(list!.authorization).toBe(`Bearer ${server.token}`);
  });

  it('reads a label selector instead of a Service, and the port named by portName', async () => {
    server.apply(
      endpointSlice({
        name: 'web-1',
        service: 'web',
        namespace: NS,
        labels: { 'app.kubernetes.io/part-of': 'shop' },
        endpoints: pods(6),
        ports: [
          { name: 'http', port: 8080 },
          { name: 'dist', port: 4370 },
        ],
      }),
    );
    server.apply(
      endpointSlice({
        name: 'db-1',
        service: 'db',
        namespace: NS,
        labels: { 'app.kubernetes.io/part-of': 'other' },
        endpoints: pods(7),
        ports: [{ name: 'dist', port: 4370 }],
      }),
    );
    const d = discovery({
      service: undefined,
      labelSelector: 'app.kubernetes.io/part-of=shop',
      portName: 'dist',
      watch: false,
    });
    await start(d);
    expect(await ask(d)).toEqual([expect.objectContaining({ node: 'app@10.244.0.6', port: 4370 })]);
  });

  it('reads IPv6 slices for an IPv6 node, in RFC 5952 form', async () => {
    server.apply(
      endpointSlice({
        name: 'my-svc-v6',
        service: SVC,
        namespace: NS,
        addressType: 'IPv6',
        endpoints: [
          { ip: 'fd00:10:244:0:0:0:0:5', pod: 'app-5' },
          { ip: 'FD00:10:244::6', pod: 'app-6' },
        ],
      }),
    );
    server.apply(slice('my-svc-v4', pods(5, 6)));
    const d = discovery({ watch: false });
    await start(d, 'app@fd00:10:244::5');
    expect(nodes(await ask(d))).toEqual(['app@fd00:10:244::6']);
  });
});

describe('endpoint conditions', () => {
  const mixed = () =>
    slice('my-svc-abc12', [
      { ip: '10.244.0.6', pod: 'ready' },
      { ip: '10.244.0.7', pod: 'starting', ready: false },
      { ip: '10.244.0.8', pod: 'stopping', terminating: true },
    ]);

  it('includes not-ready endpoints and leaves out terminating ones by default', async () => {
    server.apply(mixed());
    const d = discovery({ watch: false });
    await start(d);
    expect(nodes(await ask(d))).toEqual(['app@10.244.0.6', 'app@10.244.0.7']);
  });

  it('takes only ready endpoints with includeNotReady: false', async () => {
    server.apply(mixed());
    const d = discovery({ watch: false, includeNotReady: false });
    await start(d);
    expect(nodes(await ask(d))).toEqual(['app@10.244.0.6']);
  });

  it('keeps terminating endpoints with excludeTerminating: false', async () => {
    server.apply(mixed());
    const d = discovery({ watch: false, excludeTerminating: false });
    await start(d);
    const peers = await ask(d);
    expect(nodes(peers)).toEqual(['app@10.244.0.6', 'app@10.244.0.7', 'app@10.244.0.8']);
    expect(peers[2]!.meta).toMatchObject({ terminating: true, ready: false });
  });
});

describe('hostType hostname', () => {
  it('names peers <hostname or pod name>.<service>.<namespace>.svc.<clusterDomain>, skipping endpoints with neither', async () => {
    server.apply(
      slice('my-svc-abc12', [
        { ip: '10.244.0.5', pod: 'app-5f7d-self0' },
        { ip: '10.244.0.6', pod: 'web-0', hostname: 'web-0' },
        { ip: '10.244.0.7', pod: 'app-5f7d-x2k9p' },
        { ip: '10.244.0.8' },
      ]),
    );
    const d = discovery({ watch: false, hostType: 'hostname', clusterDomain: 'k8s.example' });
    await start(d, 'app@app-5f7d-self0.my-svc.my-ns.svc.k8s.example');
    const peers = await ask(d);
    expect(peers).toEqual([
      expect.objectContaining({
        node: 'app@app-5f7d-x2k9p.my-svc.my-ns.svc.k8s.example',
        port: 39135,
      }),
      expect.objectContaining({ node: 'app@web-0.my-svc.my-ns.svc.k8s.example', port: 39135 }),
    ]);
    expect(logs.debug.some(m => m.includes('10.244.0.8') && m.includes('skipped'))).toBe(true);
  });
});

describe('watching', () => {
  /** A discovery that watches, started, with its stream open. */
  async function watching(options: Partial<KubernetesDiscoveryOptions> = {}) {
    const d = discovery(options);
    const refreshes = await start(d);
    await until(() => d.watching, 5_000, 'the watch to open');
    return { d, refreshes };
  }

  it('sees pods join and leave (ADDED, MODIFIED, DELETED), asking for a refresh at each change, without listing again', async () => {
    server.apply(slice('my-svc-a', pods(5, 6)));
    const { d, refreshes } = await watching();
    expect(nodes(await ask(d))).toEqual(['app@10.244.0.6']);
    const lists = server.lists().length;

    let before = refreshes.count;
    server.apply(slice('my-svc-a', pods(5, 6, 7))); // MODIFIED: a pod joins
    await until(() => refreshes.count > before, 5_000, 'a refresh request after MODIFIED');
    expect(nodes(await ask(d))).toEqual(['app@10.244.0.6', 'app@10.244.0.7']);

    before = refreshes.count;
    server.apply(slice('my-svc-b', pods(9))); // ADDED: a second slice
    await until(() => refreshes.count > before, 5_000, 'a refresh request after ADDED');
    expect(nodes(await ask(d))).toEqual(['app@10.244.0.6', 'app@10.244.0.7', 'app@10.244.0.9']);

    before = refreshes.count;
    server.apply(slice('my-svc-a', pods(5, 7))); // a pod leaves
    server.delete('my-svc-b'); // DELETED
    await until(
      async () => nodes(await ask(d)).join() === 'app@10.244.0.7',
      5_000,
      'the pods that left to be gone',
    );
    expect(refreshes.count).toBeGreaterThan(before);
    expect(server.lists().length).toBe(lists);
  });

  it('asks for no refresh when a change leaves the peers as they were', async () => {
    server.apply(slice('my-svc-a', pods(5, 6)));
    const { d, refreshes } = await watching();
    const before = refreshes.count;
    server.apply(slice('my-svc-a', pods(5, 6))); // MODIFIED, same endpoints
    server.apply(slice('my-svc-a', pods(5, 6, 7))); // then a real change
    await until(() => refreshes.count > before, 5_000, 'the refresh of the real change');
    expect(refreshes.count).toBe(before + 1);
    expect(d.resourceVersion).toBe(server.resourceVersion);
  });

  it('resumes a dropped watch from the last resourceVersion, without listing again', async () => {
    server.apply(slice('my-svc-a', pods(5, 6)));
    const { d } = await watching();
    server.apply(slice('my-svc-a', pods(5, 6, 7)));
    await until(() => d.resourceVersion === server.resourceVersion, 5_000, 'the event');
    const versionAtDrop = server.resourceVersion;
    const watchesBefore = server.watchRequests().length;
    const lists = server.lists().length;

    server.dropWatches();
    server.apply(slice('my-svc-a', pods(5, 7))); // while the stream is down, or just back
    await until(
      async () => d.watching && nodes(await ask(d)).join() === 'app@10.244.0.7',
      5_000,
      'the watch to resume and deliver the change',
    );
    const resumed = server.watchRequests()[watchesBefore]!;
    expect(resumed.params.resourceVersion).toBe(versionAtDrop);
    expect(resumed.params.allowWatchBookmarks).toBe('true');
    expect(server.lists().length).toBe(lists);
  });

  it('lists again after 410 Gone on an open watch, and watches from the new list', async () => {
    server.apply(slice('my-svc-a', pods(5, 6)));
    const { d, refreshes } = await watching();
    const lists = server.lists().length;
    const before = refreshes.count;

    server.dropWatches();
    server.apply(slice('my-svc-a', pods(5, 8))); // missed, and then forgotten:
    server.compact(); // the resumed watch is told 410 Gone
    await until(
      async () => d.watching && nodes(await ask(d)).join() === 'app@10.244.0.8',
      5_000,
      'a new list after 410',
    );
    expect(server.lists().length).toBe(lists + 1);
    expect(server.watchRequests().at(-1)!.params.resourceVersion).toBe(server.resourceVersion);
    expect(refreshes.count).toBeGreaterThan(before);

    // An ERROR 410 event on a stream that is open: listed again too.
    server.expireWatches();
    await until(() => server.lists().length === lists + 2, 5_000, 'a list after ERROR 410');
    await until(() => d.watching, 5_000, 'the watch to reopen');
    expect(logs.debug.some(m => m.includes('410 Gone'))).toBe(true);
  });

  it('moves its resourceVersion on with bookmarks, so a resumed watch is not Gone', async () => {
    server.apply(slice('my-svc-a', pods(5, 6)));
    const { d } = await watching();
    const lists = server.lists().length;
    const bumped = server.bumpVersion(7); // changes this watch does not see
    server.bookmark();
    await until(() => d.resourceVersion === bumped, 5_000, 'the bookmark');
    server.compact(); // anything older than the bookmark is gone
    const watchesBefore = server.watchRequests().length;
    server.dropWatches();
    await until(() => d.watching && server.watchRequests().length > watchesBefore, 5_000, 'resume');
    expect(server.watchRequests()[watchesBefore]!.params.resourceVersion).toBe(bumped);
    expect(server.lists().length).toBe(lists);
  });

  it('falls back to listing at every refresh when the watch keeps failing, and back to the watch when it works', async () => {
    server.apply(slice('my-svc-a', pods(5, 6)));
    server.failWith({ status: 500, on: 'watch' });
    const d = discovery();
    await start(d);
    await until(() => logs.warn.length > 0, 10_000, 'the fallback warning');
    expect(logs.warn[0]).toMatch(
      /watch failed 3 times in a row.*HTTP 500.*listing at every refresh/,
    );
    expect(d.watching).toBe(false);

    server.apply(slice('my-svc-a', pods(5, 6, 7)));
    const lists = server.lists().length;
    expect(nodes(await ask(d))).toEqual(['app@10.244.0.6', 'app@10.244.0.7']);
    expect(server.lists().length).toBe(lists + 1);

    server.failWith(undefined);
    await until(() => d.watching, 10_000, 'the watch to work again');
    const listsNow = server.lists().length;
    await ask(d);
    expect(server.lists().length).toBe(listsNow);
    await until(() => logs.log.some(m => m.includes('works again')), 5_000, 'the log line');
  });

  it('backs off, rather than spinning, when even a fresh list is Gone at once', async () => {
    server.apply(slice('my-svc-a', pods(5, 6)));
    server.failWith({ status: 410, on: 'watch' });
    const d = discovery();
    await start(d);
    await until(() => logs.warn.length > 0, 10_000, 'the fallback warning');
    expect(logs.warn[0]).toMatch(/failed 3 times in a row/);
    expect(server.lists().length).toBeLessThanOrEqual(4);
    expect(nodes(await ask(d))).toEqual(['app@10.244.0.6']);
  });

  it('re-reads a rotated token when a resumed watch gets 401', async () => {
    server.apply(slice('my-svc-a', pods(5, 6)));
    const { d } = await watching();
    const watchesBefore = server.watchRequests().length;
    server.rotateToken();
    server.dropWatches();
    await until(
      () =>
        d.watching && server.watchRequests().some((r, i) => i >= watchesBefore && r.status === 200),
      5_000,
      'the watch to resume with the new token',
    );
    const resumed = server.watchRequests().slice(watchesBefore);
    expect(resumed[0]!.status).toBe(401);
    expect(resumed.at(-1)!.authorization).toBe(`Bearer ${server.token}`);
  });

  it('ends the watch and its timers on close()', async () => {
    server.apply(slice('my-svc-a', pods(5, 6)));
    const { d } = await watching();
    expect(server.openWatches).toBe(1);
    await d.close();
    await until(() => server.openWatches === 0, 5_000, 'the stream to close');
    expect(d.watching).toBe(false);
    await expect(ask(d)).rejects.toThrow(/closed/);
  });
});

describe('errors', () => {
  it('403: names the verbs, the resource, the namespace and the ServiceAccount to grant', async () => {
    server.failWith({ status: 403 });
    const d = discovery({ watch: false });
    await start(d);
    const error = await failure(ask(d));
    expect(error).toBeInstanceOf(DiscoveryError);
    expect((error as DiscoveryError).code).toBe('ERR_DISCOVERY_FAILED');
    expect(error.message).toContain('refused to list EndpointSlices in namespace "my-ns"');
    expect(error.message).toContain('the verbs get, list and watch');
    expect(error.message).toContain('endpointslices.discovery.k8s.io');
    expect(error.message).toContain('ServiceAccount "my-app" of namespace "my-ns"');
    expect(error.message).toContain(
      'kubectl auth can-i list endpointslices.discovery.k8s.io -n my-ns --as=system:serviceaccount:my-ns:my-app',
    );
    expect(error.message).toContain('cannot list resource "endpointslices"');
  });

  it('403 on the watch only (a Role without "watch"): the fallback warning says what to grant', async () => {
    server.apply(slice('my-svc-a', pods(5, 6)));
    server.failWith({ status: 403, on: 'watch' });
    const d = discovery();
    await start(d);
    await until(() => logs.warn.length > 0, 10_000, 'the fallback warning');
    expect(logs.warn[0]).toContain('refused to watch EndpointSlices');
    expect(logs.warn[0]).toContain('kubectl auth can-i watch endpointslices.discovery.k8s.io');
    expect(nodes(await ask(d))).toEqual(['app@10.244.0.6']);
  });

  it('500: a DiscoveryError naming the API server and its message', async () => {
    server.failWith({ status: 500 });
    const d = discovery({ watch: false });
    await start(d);
    const error = await failure(ask(d));
    expect(error).toBeInstanceOf(DiscoveryError);
    expect((error as DiscoveryError).code).toBe('ERR_DISCOVERY_FAILED');
    expect(error.message).toContain('HTTP 500');
    expect(error.message).toContain('etcdserver: request timed out');
    expect(error.message).toContain(server.url);
    expect(error.message).toContain('keeping the last good peers');
  });

  it('a request with no answer: ERR_DISCOVERY_TIMEOUT naming requestTimeoutMs', async () => {
    server.hang('list');
    const d = discovery({ watch: false, requestTimeoutMs: 300 });
    await start(d);
    const error = await failure(ask(d));
    expect((error as DiscoveryError).code).toBe('ERR_DISCOVERY_TIMEOUT');
    expect(error.message).toContain('within 300 ms');
  });

  it('re-reads a rotated token file on 401 and succeeds', async () => {
    server.apply(slice('my-svc-a', pods(5, 6)));
    const d = discovery({ watch: false });
    await start(d);
    await ask(d);
    const old = server.token;
    server.rotateToken();
    expect(nodes(await ask(d))).toEqual(['app@10.244.0.6']);
    const [rejected, accepted] = server.lists().slice(-2);
    expect(rejected).toMatchObject({ status: 401, authorization: `Bearer ${old}` });
    expect(accepted).toMatchObject({ status: 200, authorization: `Bearer ${server.token}` });
  });

  it('re-reads the token file periodically (tokenReloadIntervalMs), before any 401', async () => {
    const d = discovery({ watch: false, tokenReloadIntervalMs: 50 });
    await start(d);
    await ask(d);
    server.rotateToken();
    const readAfter = performance.now() + 60;
    await until(() => performance.now() > readAfter, 1_000, 'the token to age');
    await ask(d);
    expect(server.lists().at(-1)).toMatchObject({
      status: 200,
      authorization: `Bearer ${server.token}`,
    });
    expect(server.lists().some(r => r.status === 401)).toBe(false);
  });

  it('401 that a re-read does not cure: names the token file', async () => {
    const d = discovery({ watch: false });
    await start(d);
    server.rotateToken(false); // the server moved on, the file did not
    const error = await failure(ask(d));
    expect(error).toBeInstanceOf(DiscoveryError);
    expect(error.message).toContain('401 Unauthorized');
    expect(error.message).toContain(server.tokenFile);
    expect(server.lists().filter(r => r.status === 401)).toHaveLength(2);
  });

  it('refuses an API server whose certificate is from another CA, and never sends it the token', async () => {
    const foreign = await startServer({ cert: 'foreign' });
    const d = discovery({ watch: false }, foreign);
    await start(d);
    const error = await failure(ask(d));
    expect(error).toBeInstanceOf(DiscoveryError);
    expect(error.message).toContain('TLS certificate was not accepted');
    expect(error.message).toContain(foreign.caFile);
    expect(foreign.requests).toHaveLength(0);
  });

  it('fails init() when the token file cannot be read, naming the option', async () => {
    const d = discovery({ tokenFile: `${server.tokenFile}.missing` });
    await expect(start(d)).rejects.toThrow(/"tokenFile".*ENOENT/);
  });
});

describe('with GenCluster', () => {
  it('connects a pod added to the Service at once, without waiting for the refresh interval', async () => {
    server.apply(slice('my-svc-a', pods(5, 6)));
    const d = discovery();
    const dist = new TestDist();
    const cluster = new GenCluster({
      node: SELF,
      discovery: d,
      dist,
      logger,
      refreshIntervalMs: 'infinity',
    });
    clusters.push(cluster);
    await cluster.start();
    await until(() => cluster.nodes().join() === 'app@10.244.0.6', 5_000, 'the first peer');
    await until(() => d.watching, 5_000, 'the watch');
    server.apply(slice('my-svc-a', pods(5, 6, 7)));
    await until(
      () => cluster.nodes().join() === 'app@10.244.0.6,app@10.244.0.7',
      5_000,
      'the new pod to be connected',
    );
    expect(dist.connected.get('app@10.244.0.7')?.port).toBe(39135);
  });

  it('keeps the last good peers while the API answers 500', async () => {
    server.apply(slice('my-svc-a', pods(5, 6)));
    const d = discovery({ watch: false });
    const cluster = new GenCluster({
      node: SELF,
      discovery: d,
      dist: new TestDist(),
      logger,
      refreshIntervalMs: 'infinity',
    });
    clusters.push(cluster);
    await cluster.start();
    await until(() => cluster.discoveredPeers().length === 1, 5_000, 'the first answer');
    server.failWith({ status: 500 });
    await cluster.refresh();
    expect(cluster.discoveredPeers().map(p => p.node)).toEqual(['app@10.244.0.6']);
    expect(logs.warn.some(m => m.includes('HTTP 500'))).toBe(true);
  });
});
