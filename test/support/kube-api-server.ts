import { randomUUID } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Server, createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EndpointSlice } from '../../src/discovery/kubernetes/endpoint-slice.js';
import { type TestCerts, makeTestCerts } from './test-certs.js';
import { until } from './wait.js';

/**
 * A Kubernetes API server for tests, on 127.0.0.1 over HTTPS, serving `discovery.k8s.io/v1`
 * EndpointSlices the way kube-apiserver does:
 *
 * - `GET /apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices?labelSelector=...` answers an
 *   `EndpointSliceList` (`metadata.resourceVersion`, `items` without `kind`/`apiVersion`), filtered
 *   by the label selector (`k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`).
 * - With `watch=1` (or `true`) and `resourceVersion=N` it answers 200 and streams
 *   newline-delimited JSON events: every change after N from its history, then each change as it
 *   happens (`ADDED`, `MODIFIED`, `DELETED`, objects with `kind`/`apiVersion`), `BOOKMARK`s when
 *   the test calls {@link KubeApiServer.bookmark} and the client sent `allowWatchBookmarks=true`
 *   (an empty EndpointSlice carrying only `metadata.resourceVersion`, as Go marshals it), and an
 *   `ERROR` event with a `Status` of code 410 (reason `Expired`) when N is older than the history
 *   kept ({@link KubeApiServer.compact}). `timeoutSeconds` ends the stream cleanly.
 * - Every request needs `Authorization: Bearer <token>`; others get a 401 `Status`. The token is a
 *   JWT-shaped string whose `sub` is `system:serviceaccount:<ns>:<name>`;
 *   {@link KubeApiServer.rotateToken} makes a new one, accepts only it, and rewrites the token
 *   file.
 * - Failures on demand: 401/403/500 (or any status) `Status` answers for lists, watches or both
 *   ({@link KubeApiServer.failWith}; 410 on a watch is an `ERROR` event, as the server sends it); requests left unanswered ({@link KubeApiServer.hang});
 *   open watches cut ({@link KubeApiServer.dropWatches}) or ended with 410
 *   ({@link KubeApiServer.expireWatches}).
 * - TLS: a certificate for `IP:127.0.0.1` from the test CA of `test-certs.ts` (made with
 *   `openssl` in a temp dir), or one from another CA (`cert: 'foreign'`). The service-account
 *   files (`token`, `ca.crt` of the trusted test CA, `namespace`) are written to a temp dir;
 *   {@link KubeApiServer.stop} removes it and closes every socket.
 */

/** One endpoint of {@link endpointSlice}. */
export interface EndpointSpec {
  readonly ip: string;
  /** The pod name (`targetRef`); none when unset. */
  readonly pod?: string;
  /** The endpoint's `hostname` (a pod with `spec.hostname` and the Service as subdomain). */
  readonly hostname?: string;
  /** Condition `ready`; `null` leaves it unknown. Default true (false when terminating). */
  readonly ready?: boolean | null;
  /** Condition `serving`; defaults to `ready`'s value (true while terminating). */
  readonly serving?: boolean | null;
  /** Condition `terminating`; default false. */
  readonly terminating?: boolean | null;
  readonly nodeName?: string;
  readonly zone?: string;
}

/** What {@link endpointSlice} builds. */
export interface SliceSpec {
  readonly name: string;
  readonly service: string;
  readonly namespace?: string;
  readonly addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  readonly endpoints: readonly EndpointSpec[];
  /** Default: one TCP port named `dist`, 39135. `null` gives `ports: null`. */
  readonly ports?: readonly { name?: string; port: number | null; protocol?: string }[] | null;
  readonly labels?: Readonly<Record<string, string>>;
}

/** One request the server got. */
export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly watch: boolean;
  /** The `Authorization` header as sent. */
  readonly authorization: string | undefined;
  readonly host: string | undefined;
  status: number;
}

/** A failure answered instead of the real thing. */
export interface Failure {
  readonly status: number;
  /** Which requests fail; `'all'` by default. */
  readonly on?: 'list' | 'watch' | 'all';
  /** How many requests fail before normal service resumes; every one when unset. */
  readonly times?: number;
}

/** Options of {@link KubeApiServer.start}. */
export interface KubeApiServerOptions {
  /** Shared test PKI (made and cleaned up by the server when absent). */
  readonly certs?: TestCerts;
  /** `'trusted'` (default): signed by the test CA; `'foreign'`: signed by a CA nobody trusts. */
  readonly cert?: 'trusted' | 'foreign';
  /** The namespace of the service account (the `namespace` file); `my-ns` by default. */
  readonly namespace?: string;
  /** The ServiceAccount named in tokens and 403 messages; `my-app` by default. */
  readonly serviceAccount?: string;
}

const BASE = '/apis/discovery.k8s.io/v1/namespaces/';
const SERVICE_NAME = 'kubernetes.io/service-name';

interface HistoryEntry {
  readonly version: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: StoredSlice;
}

type StoredSlice = EndpointSlice & {
  readonly metadata: EndpointSlice['metadata'] & { namespace: string; name: string };
};

interface OpenWatch {
  readonly res: ServerResponse;
  readonly namespace: string;
  readonly selector: Selector;
  readonly bookmarks: boolean;
  readonly timer: ReturnType<typeof setTimeout> | undefined;
}

type Selector = (labels: Readonly<Record<string, string>>) => boolean;

const live = new Set<KubeApiServer>();

/** Builds an EndpointSlice in the exact shape of `discovery.k8s.io/v1`. */
export function endpointSlice(spec: SliceSpec): EndpointSlice {
  const namespace = spec.namespace ?? 'my-ns';
  const ports =
    spec.ports === undefined
      ? [{ name: 'dist', port: 39135, protocol: 'TCP' }]
      : spec.ports === null
        ? null
        : spec.ports.map(p => ({
            name: p.name ?? '',
            port: p.port,
            protocol: p.protocol ?? 'TCP',
          }));
  const slice = {
    metadata: {
      name: spec.name,
      generateName: `${spec.service}-`,
      namespace,
      uid: randomUUID(),
      generation: 1,
      creationTimestamp: '2025-01-01T00:00:00Z',
      labels: {
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        [SERVICE_NAME]: spec.service,
        ...spec.labels,
      },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2025-01-01T00:00:00Z' },
      ownerReferences: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          name: spec.service,
          uid: randomUUID(),
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    addressType: spec.addressType ?? 'IPv4',
    endpoints: spec.endpoints.map(e => {
      const terminating = e.terminating ?? false;
      const ready = e.ready === undefined ? !terminating : e.ready;
      const serving = e.serving === undefined ? (terminating ? true : ready) : e.serving;
      const conditions: Record<string, boolean> = {};
      if (ready !== null) conditions.ready = ready;
      if (serving !== null) conditions.serving = serving;
      if (terminating !== null) conditions.terminating = terminating;
      return {
        addresses: [e.ip],
        conditions,
        ...(e.hostname ? { hostname: e.hostname } : {}),
        ...(e.pod ? { targetRef: { kind: 'Pod', namespace, name: e.pod, uid: randomUUID() } } : {}),
        nodeName: e.nodeName ?? 'kind-worker',
        zone: e.zone ?? 'zone-a',
      };
    }),
    ports,
  };
  return slice as unknown as EndpointSlice;
}

/** A Kubernetes API server for tests (see the file comment). */
export class KubeApiServer {
  /** Every request, oldest first. */
  readonly requests: LoggedRequest[] = [];
  /** The token the server accepts now. */
  token: string;
  private readonly slices = new Map<string, StoredSlice>();
  private readonly history: HistoryEntry[] = [];
  private readonly watches = new Set<OpenWatch>();
  private readonly sockets = new Set<Socket>();
  private readonly hung = new Set<ServerResponse>();
  private version = 100;
  /** Watches from a version below this get 410. */
  private oldest = 100;
  private failure: (Failure & { left: number }) | undefined;
  private hanging: 'list' | 'watch' | 'all' | undefined;
  private tokenGeneration = 1;

  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    private readonly ownCerts: TestCerts | undefined,
    readonly certs: TestCerts,
    readonly namespace: string,
    readonly serviceAccount: string,
  ) {
    this.token = this.makeToken();
  }

  /** Starts a server on 127.0.0.1 (a free port) and writes its service-account files. */
  static async start(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
    const ownCerts = options.certs ? undefined : await makeTestCerts();
    const certs = options.certs ?? ownCerts!;
    const leaf = options.cert === 'foreign' ? certs.foreign : certs.node;
    const dir = mkdtempSync(join(tmpdir(), 'gen-cluster-kube-api-'));
    const server = createServer({ key: leaf.key, cert: leaf.cert });
    const api = new KubeApiServer(
      server,
      dir,
      ownCerts,
      certs,
      options.namespace ?? 'my-ns',
      options.serviceAccount ?? 'my-app',
    );
    live.add(api);
    server.on('secureConnection', socket => {
      api.sockets.add(socket);
      socket.once('close', () => api.sockets.delete(socket));
    });
    // Refused handshakes (the foreign-CA test) are expected; keep them from being unhandled.
    server.on('tlsClientError', () => undefined);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => api.handle(req, res));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      writeFileSync(join(dir, 'ca.crt'), certs.ca);
      writeFileSync(join(dir, 'namespace'), api.namespace);
      api.writeToken();
    } catch (error) {
      await api.stop();
      throw error;
    }
    return api;
  }

  /** `https://127.0.0.1:<port>`. */
  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The token file (mode 0600), rewritten by {@link rotateToken}. */
  get tokenFile(): string {
    return join(this.dir, 'token');
  }

  /** The trusted test CA (PEM file), as the service account's `ca.crt`. */
  get caFile(): string {
    return join(this.dir, 'ca.crt');
  }

  /** The service account's `namespace` file. */
  get namespaceFile(): string {
    return join(this.dir, 'namespace');
  }

  /** The current resourceVersion. */
  get resourceVersion(): string {
    return String(this.version);
  }

  /** How many watch streams are open. */
  get openWatches(): number {
    return this.watches.size;
  }

  /** List requests (not watches) so far. */
  lists(): LoggedRequest[] {
    return this.requests.filter(r => r.path.includes('/endpointslices') && !r.watch);
  }

  /** Watch requests so far. */
  watchRequests(): LoggedRequest[] {
    return this.requests.filter(r => r.watch);
  }

  /** Creates or replaces a slice (an `ADDED` or `MODIFIED` event); returns it as stored. */
  apply(slice: EndpointSlice): EndpointSlice {
    const namespace = slice.metadata.namespace ?? this.namespace;
    const name = slice.metadata.name!;
    const key = `${namespace}/${name}`;
    const type = this.slices.has(key) ? 'MODIFIED' : 'ADDED';
    const stored = {
      ...slice,
      metadata: { ...slice.metadata, namespace, name, resourceVersion: String(++this.version) },
    } as StoredSlice;
    this.slices.set(key, stored);
    this.record(type, stored);
    return stored;
  }

  /** Deletes a slice (a `DELETED` event). */
  delete(name: string, namespace = this.namespace): void {
    const key = `${namespace}/${name}`;
    const old = this.slices.get(key);
    if (!old) throw new Error(`KubeApiServer: no slice ${key}`);
    this.slices.delete(key);
    const stored = {
      ...old,
      metadata: { ...old.metadata, resourceVersion: String(++this.version) },
    } as StoredSlice;
    this.record('DELETED', stored);
  }

  /** Moves the resourceVersion on without a change any watcher sees (another object changed). */
  bumpVersion(by = 1): string {
    this.version += by;
    return this.resourceVersion;
  }

  /** Sends a `BOOKMARK` at the current resourceVersion to every watch that allows them. */
  bookmark(): void {
    const line = JSON.stringify({
      type: 'BOOKMARK',
      object: {
        kind: 'EndpointSlice',
        apiVersion: 'discovery.k8s.io/v1',
        metadata: { resourceVersion: this.resourceVersion, creationTimestamp: null },
        addressType: '',
        endpoints: null,
      },
    });
    for (const watch of this.watches) if (watch.bookmarks) watch.res.write(`${line}\n`);
  }

  /** Forgets the history: a watch from an older resourceVersion gets a 410 `ERROR` event. */
  compact(): void {
    this.oldest = this.version;
    this.history.length = 0;
  }

  /** Compacts, then ends every open watch with an `ERROR` event of code 410. */
  expireWatches(): void {
    this.compact();
    for (const watch of [...this.watches]) {
      this.endWatch(watch, this.goneLine('0'));
    }
  }

  /** Cuts every open watch mid-stream (destroys its socket). */
  dropWatches(): void {
    for (const watch of [...this.watches]) {
      this.watches.delete(watch);
      clearTimeout(watch.timer);
      watch.res.socket?.destroy();
    }
  }

  /** Makes a new token, accepts only it from now on, and (by default) writes it to the token file. */
  rotateToken(writeFile = true): string {
    this.tokenGeneration++;
    this.token = this.makeToken();
    if (writeFile) this.writeToken();
    return this.token;
  }

  /** Answers `failure.status` (a `Status` body) instead; `undefined` restores normal service. */
  failWith(failure: Failure | undefined): void {
    this.failure = failure ? { ...failure, left: failure.times ?? Infinity } : undefined;
  }

  /** Leaves requests unanswered (until {@link stop}, or `hang(undefined)`, which answers 503). */
  hang(on: 'list' | 'watch' | 'all' | undefined): void {
    this.hanging = on;
    if (on === undefined) {
      for (const res of this.hung) this.status(res, 503, 'ServiceUnavailable', 'released');
      this.hung.clear();
    }
  }

  /** Waits until `count` watch streams are open. */
  async waitForWatches(count = 1, timeoutMs = 5_000): Promise<void> {
    await until(() => this.watches.size >= count, timeoutMs, `${count} open watch(es)`);
  }

  /** Closes every socket and the server, and removes the temp files. */
  async stop(): Promise<void> {
    live.delete(this);
    for (const watch of this.watches) clearTimeout(watch.timer);
    this.watches.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>(resolve => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
    await this.ownCerts?.cleanup();
  }

  /** Destroys everything at once (the process `exit` hook). */
  killNow(): void {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
    if (this.ownCerts) rmSync(this.ownCerts.dir, { recursive: true, force: true });
  }

  // --- internals -----------------------------------------------------------------------------

  private makeToken(): string {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return [
      part({ alg: 'RS256', kid: 'test' }),
      part({
        aud: ['https://kubernetes.default.svc.cluster.local'],
        iss: 'https://kubernetes.default.svc.cluster.local',
        sub: `system:serviceaccount:${this.namespace}:${this.serviceAccount}`,
        'kubernetes.io': {
          namespace: this.namespace,
          serviceaccount: { name: this.serviceAccount },
        },
        generation: this.tokenGeneration,
        nonce: randomUUID(),
      }),
      Buffer.from(randomUUID()).toString('base64url'),
    ].join('.');
  }

  private writeToken(): void {
    // Written aside, then renamed over the old one (as the kubelet swaps projected files), so a
    // reader never sees a partial token.
    const temp = `${this.tokenFile}.${this.tokenGeneration}.tmp`;
    writeFileSync(temp, this.token, { mode: 0o600 });
    renameSync(temp, this.tokenFile);
  }

  private record(type: HistoryEntry['type'], object: StoredSlice): void {
    this.history.push({ version: this.version, type, object });
    for (const watch of this.watches) this.send(watch, type, object);
  }

  private send(watch: OpenWatch, type: string, object: StoredSlice): void {
    if (object.metadata.namespace !== watch.namespace) return;
    if (!watch.selector(object.metadata.labels ?? {})) return;
    const full = { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', ...object };
    watch.res.write(`${JSON.stringify({ type, object: full })}\n`);
  }

  private goneLine(from: string): string {
    return JSON.stringify({
      type: 'ERROR',
      object: {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${from} (${this.oldest})`,
        reason: 'Expired',
        code: 410,
      },
    });
  }

  private endWatch(watch: OpenWatch, lastLine?: string): void {
    this.watches.delete(watch);
    clearTimeout(watch.timer);
    if (lastLine) watch.res.write(`${lastLine}\n`);
    watch.res.end();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const params = Object.fromEntries(url.searchParams);
    const watch = params.watch === '1' || params.watch === 'true';
    const entry: LoggedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      params,
      watch,
      authorization: req.headers.authorization,
      host: req.headers.host,
      status: 0,
    };
    this.requests.push(entry);
    const answer = (status: number, reason: string, message: string) => {
      entry.status = status;
      this.status(res, status, reason, message);
    };
    const match = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/.exec(
      url.pathname,
    );
    if (req.method !== 'GET' || !match) {
      return answer(404, 'NotFound', 'the server could not find the requested resource');
    }
    const namespace = decodeURIComponent(match[1]!);
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return answer(401, 'Unauthorized', 'Unauthorized');
    const kind = watch ? 'watch' : 'list';
    if (this.hanging === 'all' || this.hanging === kind) {
      this.hung.add(res);
      res.once('close', () => this.hung.delete(res));
      return;
    }
    const failure = this.failure;
    if (failure && failure.left > 0 && (failure.on ?? 'all') !== (watch ? 'list' : 'watch')) {
      failure.left--;
      if (failure.status === 410 && watch) {
        // As kube-apiserver says it: a 200 stream holding one ERROR event of code 410.
        entry.status = 200;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(`${this.goneLine(params.resourceVersion ?? '')}\n`);
        return;
      }
      if (failure.status === 403)
        return answer(
          403,
          'Forbidden',
          `endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:${this.namespace}:${this.serviceAccount}" cannot ${kind} resource "endpointslices" in API group "discovery.k8s.io" in the namespace "${namespace}"`,
        );
      if (failure.status === 401) return answer(401, 'Unauthorized', 'Unauthorized');
      return answer(
        failure.status,
        failure.status >= 500 ? 'InternalError' : 'BadRequest',
        failure.status >= 500
          ? 'Internal error occurred: etcdserver: request timed out'
          : 'bad request',
      );
    }
    let selector: Selector;
    try {
      selector = parseSelector(params.labelSelector ?? '');
    } catch (error) {
      return answer(400, 'BadRequest', (error as Error).message);
    }
    if (!watch) {
      entry.status = 200;
      const items = [...this.slices.values()].filter(
        s => s.metadata.namespace === namespace && selector(s.metadata.labels ?? {}),
      );
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'EndpointSliceList',
          apiVersion: 'discovery.k8s.io/v1',
          metadata: { resourceVersion: this.resourceVersion },
          items,
        }),
      );
      return;
    }
    entry.status = 200;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const from = Number(params.resourceVersion ?? '0');
    if (!Number.isFinite(from) || from < this.oldest) {
      res.end(`${this.goneLine(params.resourceVersion ?? '')}\n`);
      return;
    }
    const seconds = Number(params.timeoutSeconds);
    const open: OpenWatch = {
      res,
      namespace,
      selector,
      bookmarks: params.allowWatchBookmarks === 'true',
      timer:
        Number.isFinite(seconds) && seconds > 0
          ? setTimeout(() => this.endWatch(open), seconds * 1_000)
          : undefined,
    };
    open.timer?.unref();
    this.watches.add(open);
    res.once('close', () => {
      clearTimeout(open.timer);
      this.watches.delete(open);
    });
    for (const event of this.history) {
      if (event.version > from) this.send(open, event.type, event.object);
    }
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message,
        reason,
        ...(code === 403 ? { details: { group: 'discovery.k8s.io', kind: 'endpointslices' } } : {}),
        code,
      }),
    );
  }
}

/** A label selector as kube-apiserver reads it (the forms the tests use). */
export function parseSelector(text: string): Selector {
  const terms: Selector[] = [];
  let depth = 0;
  let start = 0;
  const parts: string[] = [];
  for (let i = 0; i <= text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if ((c === ',' && depth === 0) || i === text.length) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  for (const part of parts) {
    if (part === '') continue;
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      const [, key, op, list] = m as unknown as [string, string, string, string];
      const values = list.split(',').map(v => v.trim());
      terms.push(l =>
        op === 'in' ? values.includes(l[key] ?? '\0') : !values.includes(l[key] ?? '\0'),
      );
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(part))) {
      const [, key, op, value] = m as unknown as [string, string, string, string];
      terms.push(l => (op === '!=' ? l[key] !== value : l[key] === value));
    } else if ((m = /^!([\w./-]+)$/.exec(part))) {
      const key = m[1]!;
      terms.push(l => !(key in l));
    } else if ((m = /^([\w./-]+)$/.exec(part))) {
      const key = m[1]!;
      terms.push(l => key in l);
    } else {
      throw new Error(`unable to parse requirement: ${JSON.stringify(part)}`);
    }
  }
  return labels => terms.every(term => term(labels));
}

/** The path of the EndpointSlices of a namespace. */
export function sliceListPath(namespace: string): string {
  return `${BASE}${namespace}/endpointslices`;
}

process.once('exit', () => {
  for (const server of live) server.killNow();
});
