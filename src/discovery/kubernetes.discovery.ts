import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { BackoffOptions } from '../core/defaults.js';
import { DiscoveryError, InvalidConfigError, toError } from '../core/errors.js';
import type { ClusterLogger } from '../core/logger.js';
import {
  type Peer,
  canonicalHost,
  hostForUrl,
  NAME_PART_FORMS,
  isNamePart,
  parseNodeName,
} from '../core/peer.js';
import type { DiscoveryContext, DiscoveryStrategy } from '../core/strategy.js';
import { KubeApiClient, KubeRequestError } from './kubernetes/api-client.js';
import {
  type EndpointSliceList,
  type PeerRules,
  SERVICE_NAME_LABEL,
  isEndpointSlice,
  slicesToPeers,
} from './kubernetes/endpoint-slice.js';
import { SliceWatcher } from './kubernetes/slice-watcher.js';
import { KubernetesMessages } from './kubernetes.messages.js';

/**
 * Options of the `kubernetes` discovery: the pods behind a Service, read from the Kubernetes API's
 * `discovery.k8s.io/v1` EndpointSlices and kept current with a watch.
 *
 * Inside a pod only `service` is needed: the namespace, API server, token and CA come from the
 * pod's service account (`/var/run/secrets/kubernetes.io/serviceaccount/{namespace,token,ca.crt}`)
 * and the `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT` variables. The ServiceAccount needs
 * `get`, `list` and `watch` on `endpointslices` in the API group `discovery.k8s.io`, in that
 * namespace.
 *
 * @example Every pod runs as `app@${POD_IP}`:
 * { strategy: 'kubernetes', service: 'my-svc' }
 * @example Pods named after their DNS names, on the Service's port named "dist":
 * { strategy: 'kubernetes', service: 'my-svc', hostType: 'hostname', portName: 'dist' }
 */
export interface KubernetesDiscoveryOptions {
  readonly strategy: 'kubernetes';
  /**
   * The Service whose EndpointSlices list the peers (selects the label
   * `kubernetes.io/service-name=<service>`). `service` or `labelSelector` is required; with both,
   * a slice must match both.
   */
  readonly service?: string;
  /** A label selector of EndpointSlices, e.g. `app.kubernetes.io/part-of=my-app`. */
  readonly labelSelector?: string;
  /** The slice port to put on each peer (`Peer.port`); the slice's first port when unset. */
  readonly portName?: string;
  /** Namespace of the Service; the service account's namespace file by default. */
  readonly namespace?: string;
  /** `https://host[:port]`; `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT` by default. */
  readonly apiServer?: string;
  /**
   * Bearer token file, re-read every `tokenReloadIntervalMs` and at once on a 401 (bound tokens
   * rotate); the service account's `token` by default. The token is sent to `apiServer` only.
   */
  readonly tokenFile?: string;
  /** CA bundle (PEM) the API server's certificate must chain to; the service account's `ca.crt` by default. TLS is always verified. */
  readonly caFile?: string;
  /**
   * The host part of each peer: `'ip'` (default) the endpoint's first address
   * (`app@10.244.0.5`, `app@fd00::5`); `'hostname'` its DNS name,
   * `<label>.<subdomain>.<namespace>.svc.<clusterDomain>`, where `label` is the endpoint's
   * `hostname` (the pod's `spec.hostname`, set only when its `spec.subdomain` is the Service's
   * name), else its pod name (such names resolve with CoreDNS's `endpoint_pod_names`).
   */
  readonly hostType?: 'ip' | 'hostname';
  /** The subdomain of `'hostname'` names; the slice's Service name by default. */
  readonly subdomain?: string;
  /** The name part of every peer (`<nodeName>@<host>`); this node's own name part by default. */
  readonly nodeName?: string;
  /**
   * Which slices of a dual-stack Service to read. Default: the family of this node's host when it
   * is an IP address (so a pod named `app@10.244.0.5` finds its peers' IPv4 addresses), else both.
   */
  readonly addressType?: 'IPv4' | 'IPv6' | 'any';
  /** Include endpoints whose `ready` condition is false (default true: pods find each other while starting, for formation). */
  readonly includeNotReady?: boolean;
  /** Leave out endpoints whose `terminating` condition is true (default true). */
  readonly excludeTerminating?: boolean;
  /** Keep the slices current with a watch and refresh the cluster at each change (default true); `false` lists at every refresh. */
  readonly watch?: boolean;
  /** The cluster's DNS domain, for `'hostname'` names (default `cluster.local`). */
  readonly clusterDomain?: string;
  /** Deadline of one API request, in ms (default 5000). */
  readonly requestTimeoutMs?: number;
  /** How long a token read from `tokenFile` is used before the file is read again, in ms (default 60000). */
  readonly tokenReloadIntervalMs?: number;
}

/** The options in force, defaults and environment filled in. */
export interface ResolvedKubernetesDiscoveryOptions {
  readonly service: string | undefined;
  /** The label selector sent to the API. */
  readonly labelSelector: string;
  readonly portName: string | undefined;
  readonly namespace: string;
  readonly apiServer: string;
  readonly tokenFile: string;
  readonly caFile: string;
  readonly hostType: 'ip' | 'hostname';
  readonly subdomain: string | undefined;
  readonly nodeName: string | undefined;
  /** `undefined`: chosen at `init()` from this node's host. */
  readonly addressType: 'IPv4' | 'IPv6' | 'any' | undefined;
  readonly includeNotReady: boolean;
  readonly excludeTerminating: boolean;
  readonly watch: boolean;
  readonly clusterDomain: string;
  readonly requestTimeoutMs: number;
  readonly tokenReloadIntervalMs: number;
}

/** Defaults of the `kubernetes` discovery. */
export const KUBERNETES_DISCOVERY_DEFAULTS = Object.freeze({
  serviceAccountDir: '/var/run/secrets/kubernetes.io/serviceaccount',
  hostType: 'ip',
  includeNotReady: true,
  excludeTerminating: true,
  watch: true,
  clusterDomain: 'cluster.local',
  requestTimeoutMs: 5_000,
  tokenReloadIntervalMs: 60_000,
  /** Asked of the server for each watch stream; the client cuts a stream 30 s after it. */
  watchTimeoutSeconds: 300,
  /** Between failed watch attempts. */
  watchBackoff: Object.freeze({
    initialMs: 500,
    maxMs: 30_000,
    multiplier: 2,
    jitter: 0.2,
  }) as Readonly<BackoffOptions>,
  /** Failed watch attempts in a row after which `peers()` lists at every refresh. */
  watchFailuresBeforePolling: 3,
} as const);

const KNOWN_OPTIONS = [
  'strategy',
  'service',
  'labelSelector',
  'portName',
  'namespace',
  'apiServer',
  'tokenFile',
  'caFile',
  'hostType',
  'subdomain',
  'nodeName',
  'addressType',
  'includeNotReady',
  'excludeTerminating',
  'watch',
  'clusterDomain',
  'requestTimeoutMs',
  'tokenReloadIntervalMs',
] as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Peers from the Kubernetes API: the endpoints of a Service's `discovery.k8s.io/v1`
 * EndpointSlices, one peer per pod (`app@10.244.0.5`, or `app@pod-a.my-svc.my-ns.svc.cluster.local`
 * with `hostType: 'hostname'`), with the Service's port when the slice has one.
 *
 * With `watch` (the default) it lists the slices once, then watches them from the list's
 * resourceVersion (with bookmarks; a 410 Gone lists again; a broken stream is resumed with
 * backoff), calls the cluster's `requestRefresh()` when the peers change, and answers `peers()`
 * from the watched copy while the stream is open. Otherwise, and while the watch is down, each
 * `peers()` lists. After repeated watch failures a warning says it fell back to listing.
 *
 * Errors are {@link DiscoveryError}s, so the cluster keeps its last good peers: a 403 names the
 * verbs, resource and ServiceAccount to grant; a 401 the token file; a 5xx, a timeout or a TLS
 * failure the API server.
 */
export class KubernetesDiscovery implements DiscoveryStrategy {
  readonly name = 'kubernetes';
  /** The options in force, defaults and environment filled in. */
  readonly settings: ResolvedKubernetesDiscoveryOptions;

  private readonly client: KubeApiClient;
  private readonly listPath: string;
  private self: string | undefined;
  private selfName: string | undefined;
  private selfFamily: 'IPv4' | 'IPv6' | 'any' = 'any';
  private logger: ClusterLogger | undefined;
  private requestRefresh: (() => void) | undefined;
  private watcher: SliceWatcher | undefined;
  private watchedKey: string | undefined;
  private closed = false;

  /**
   * Checks the options and reads the namespace and CA files.
   * @param environment where `KUBERNETES_SERVICE_HOST`/`_PORT` are read (`process.env`).
   * @throws InvalidConfigError naming the option, the value and the accepted forms, or the file
   *   that cannot be read.
   */
  constructor(
    options: KubernetesDiscoveryOptions | Omit<KubernetesDiscoveryOptions, 'strategy'>,
    environment: Readonly<Record<string, string | undefined>> = process.env,
  ) {
    const { settings, ca } = resolveKubernetesDiscoveryOptions(options, environment);
    this.settings = settings;
    this.client = new KubeApiClient({
      apiServer: new URL(settings.apiServer),
      ca,
      tokenFile: settings.tokenFile,
      tokenReloadIntervalMs: settings.tokenReloadIntervalMs,
      requestTimeoutMs: settings.requestTimeoutMs,
    });
    this.listPath =
      `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(settings.namespace)}` +
      `/endpointslices?labelSelector=${encodeURIComponent(settings.labelSelector)}`;
  }

  /**
   * Reads the token (an unreadable token file fails the start) and, with `watch`, starts the
   * list-and-watch loop.
   * @throws InvalidConfigError when the token file cannot be read.
   */
  async init(context: DiscoveryContext): Promise<void> {
    this.self = context.self;
    const self = parseNodeName(context.self);
    this.selfName = self.name;
    const family = isIP(self.host);
    this.selfFamily = family === 4 ? 'IPv4' : family === 6 ? 'IPv6' : 'any';
    this.logger = context.logger;
    this.requestRefresh = context.requestRefresh;
    try {
      await this.client.loadToken(true);
    } catch (error) {
      const failure = error instanceof KubeRequestError ? error.failure : undefined;
      throw new InvalidConfigError(
        KubernetesMessages.unreadableFile(
          'tokenFile',
          this.settings.tokenFile,
          failure?.kind === 'token' ? failure.message : toError(error).message,
          'Mount the service account token (automountServiceAccountToken: true), or point "tokenFile" at a file holding a bearer token.',
        ),
      );
    }
    if (this.settings.watch && !this.closed && this.watcher === undefined) {
      const { watchTimeoutSeconds, watchBackoff, watchFailuresBeforePolling } =
        KUBERNETES_DISCOVERY_DEFAULTS;
      this.watcher = new SliceWatcher({
        client: this.client,
        listPath: this.listPath,
        watchPath: version =>
          `${this.listPath}&watch=1&resourceVersion=${encodeURIComponent(version)}` +
          `&allowWatchBookmarks=true&timeoutSeconds=${watchTimeoutSeconds}`,
        backoff: watchBackoff,
        failuresBeforePolling: watchFailuresBeforePolling,
        maxStreamMs: (watchTimeoutSeconds + 30) * 1_000,
        logger: this.logger,
        onChange: () => this.watchedChanged(),
        describe: error => this.toDiscoveryError(error, 'watch').message,
      });
      this.watcher.start();
    }
  }

  /** Whether `peers()` answers from the watch now (listed, and a watch stream is open). */
  get watching(): boolean {
    return this.watcher?.healthy ?? false;
  }

  /** The resourceVersion the watch has reached (moved on by events and bookmarks); for diagnostics. */
  get resourceVersion(): string | undefined {
    return this.watcher?.version;
  }

  async peers(signal?: AbortSignal): Promise<Peer[]> {
    if (this.closed) throw new DiscoveryError(KubernetesMessages.closed());
    const rules = this.rules();
    if (this.watcher?.healthy) {
      return this.answer(slicesToPeers(this.watcher.snapshot(), rules), 'watch');
    }
    if (signal?.aborted) throw toError(signal.reason);
    let list: EndpointSliceList;
    try {
      list = await this.client.getJson<EndpointSliceList>(this.listPath, signal);
    } catch (error) {
      if (signal?.aborted) throw toError(signal.reason);
      throw this.toDiscoveryError(error, 'list');
    }
    const raw: unknown = list?.items ?? [];
    if (!Array.isArray(raw)) {
      throw this.toDiscoveryError(
        new KubeRequestError(
          { kind: 'protocol', message: 'the answer is not an EndpointSliceList' },
          this.listPath,
        ),
        'list',
      );
    }
    const items = raw.filter(isEndpointSlice);
    return this.answer(slicesToPeers(items, rules), 'list');
  }

  /** Ends the watch and its timers, and closes the connections. */
  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.stop();
    this.client.close();
  }

  // --- internals -----------------------------------------------------------------------------

  private rules(): PeerRules {
    const nodeName = this.settings.nodeName ?? this.selfName;
    if (nodeName === undefined) throw new DiscoveryError(KubernetesMessages.noNodeName());
    return {
      nodeName,
      hostType: this.settings.hostType,
      includeNotReady: this.settings.includeNotReady,
      excludeTerminating: this.settings.excludeTerminating,
      addressType:
        this.settings.addressType ?? (this.settings.hostType === 'ip' ? this.selfFamily : 'any'),
      portName: this.settings.portName,
      namespace: this.settings.namespace,
      clusterDomain: this.settings.clusterDomain,
      subdomain: this.settings.subdomain,
      service: this.settings.service,
    };
  }

  private answer(result: { peers: Peer[]; skipped: string[] }, source: 'watch' | 'list'): Peer[] {
    for (const line of result.skipped) this.logger?.debug?.(line);
    const peers = result.peers.filter(peer => peer.node !== this.self);
    this.logger?.debug?.(KubernetesMessages.answered(peers.length, source));
    return peers;
  }

  /** Asks the cluster for a refresh when the watched peers changed. */
  private watchedChanged(): void {
    if (this.closed || !this.watcher) return;
    let key: string;
    try {
      key = JSON.stringify(slicesToPeers(this.watcher.snapshot(), this.rules()).peers);
    } catch (error) {
      key = `error: ${toError(error).message}`;
    }
    if (key === this.watchedKey) return;
    this.watchedKey = key;
    this.requestRefresh?.();
  }

  /** A DiscoveryError whose message says what failed and what to do. */
  private toDiscoveryError(error: unknown, verb: 'list' | 'watch'): DiscoveryError {
    if (error instanceof DiscoveryError) return error;
    const s = this.settings;
    const url = `${s.apiServer.replace(/\/+$/, '')}/apis/discovery.k8s.io/v1/namespaces/${s.namespace}/endpointslices`;
    const what =
      verb === 'list'
        ? KubernetesMessages.listWhat(s.namespace, s.labelSelector)
        : KubernetesMessages.watchWhat(s.namespace, s.labelSelector);
    const failed = (message: string, code: 'ERR_DISCOVERY_FAILED' | 'ERR_DISCOVERY_TIMEOUT') =>
      new DiscoveryError(message, { code, cause: error });
    if (!(error instanceof KubeRequestError))
      return failed(
        KubernetesMessages.network(what, 'ERROR', toError(error).message, url),
        'ERR_DISCOVERY_FAILED',
      );
    const f = error.failure;
    switch (f.kind) {
      case 'status':
        if (f.status === 403)
          return failed(
            KubernetesMessages.forbidden(
              verb,
              s.namespace,
              this.client.serviceAccount(),
              f.body?.message,
            ),
            'ERR_DISCOVERY_FAILED',
          );
        if (f.status === 401)
          return failed(
            KubernetesMessages.unauthorized(s.tokenFile, f.body?.message),
            'ERR_DISCOVERY_FAILED',
          );
        return failed(
          KubernetesMessages.serverError(
            what,
            f.status,
            f.body?.message ?? (f.text || undefined),
            url,
          ),
          'ERR_DISCOVERY_FAILED',
        );
      case 'timeout':
        return failed(KubernetesMessages.timeout(what, f.ms, url), 'ERR_DISCOVERY_TIMEOUT');
      case 'network':
        return failed(
          f.tls
            ? KubernetesMessages.tls(what, f.code, f.message, url, s.caFile)
            : KubernetesMessages.network(what, f.code, f.message, url),
          'ERR_DISCOVERY_FAILED',
        );
      case 'token':
        return failed(KubernetesMessages.token(f.file, f.message), 'ERR_DISCOVERY_FAILED');
      case 'protocol':
        return failed(KubernetesMessages.protocol(what, f.message, url), 'ERR_DISCOVERY_FAILED');
    }
  }
}

/** Validates the options, fills in defaults and reads the namespace and CA files. */
function resolveKubernetesDiscoveryOptions(
  options: unknown,
  env: Readonly<Record<string, string | undefined>>,
): { settings: ResolvedKubernetesDiscoveryOptions; ca: string } {
  const bad = (option: string, value: unknown, accepted: string) =>
    new InvalidConfigError(KubernetesMessages.invalidOption(option, value, accepted));
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw bad(
      '(options)',
      options,
      'an object such as { strategy: "kubernetes", service: "my-svc" }',
    );
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(KNOWN_OPTIONS as readonly string[]).includes(key))
      throw new InvalidConfigError(KubernetesMessages.unknownOption(key, KNOWN_OPTIONS));
  }
  if (o.strategy !== undefined && o.strategy !== 'kubernetes')
    throw bad('strategy', o.strategy, '"kubernetes"');
  const d = KUBERNETES_DISCOVERY_DEFAULTS;

  const service = o.service;
  if (service !== undefined && (typeof service !== 'string' || !DNS_1035_LABEL.test(service)))
    throw bad(
      'service',
      service,
      'the name of a Service: lower-case letters, digits and "-", starting with a letter, at most 63 characters',
    );
  const selector = o.labelSelector;
  if (
    selector !== undefined &&
    (typeof selector !== 'string' || selector.trim() === '' || hasControlCharacter(selector))
  )
    throw bad(
      'labelSelector',
      selector,
      'a label selector such as "app.kubernetes.io/name=my-app" or "tier in (a,b),!canary"',
    );
  if (service === undefined && selector === undefined)
    throw new InvalidConfigError(KubernetesMessages.needServiceOrSelector());
  const labelSelector = [
    ...(service !== undefined ? [`${SERVICE_NAME_LABEL}=${service}`] : []),
    ...(selector !== undefined ? [(selector as string).trim()] : []),
  ].join(',');

  const label = (option: string, value: unknown, what: string): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !DNS_LABEL.test(value))
      throw bad(
        option,
        value,
        `${what}: lower-case letters, digits and "-", at most 63 characters`,
      );
    return value;
  };
  const portName = label('portName', o.portName, 'the name of a port of the Service');
  const subdomain = label('subdomain', o.subdomain, 'a DNS label (the headless Service name)');

  const file = (option: string, fallback: string): string => {
    const value = o[option] ?? fallback;
    if (typeof value !== 'string' || value === '') throw bad(option, o[option], 'a file path');
    return value;
  };
  const tokenFile = file('tokenFile', join(d.serviceAccountDir, 'token'));
  const caFile = file('caFile', join(d.serviceAccountDir, 'ca.crt'));

  let namespace = label('namespace', o.namespace, 'a namespace name');
  if (namespace === undefined) {
    const namespaceFile = join(d.serviceAccountDir, 'namespace');
    let text: string;
    try {
      text = readFileSync(namespaceFile, 'utf8').trim();
    } catch (error) {
      throw new InvalidConfigError(
        KubernetesMessages.noNamespace(
          namespaceFile,
          (error as NodeJS.ErrnoException).code ?? toError(error).message,
        ),
      );
    }
    namespace = label('namespace', text, `a namespace name (read from ${namespaceFile})`)!;
  }

  let apiServer: string;
  if (o.apiServer !== undefined) {
    apiServer = checkApiServer(o.apiServer, bad);
  } else {
    const host = env.KUBERNETES_SERVICE_HOST;
    const port = env.KUBERNETES_SERVICE_PORT ?? '443';
    if (!host) throw new InvalidConfigError(KubernetesMessages.noApiServer());
    apiServer = checkApiServer(`https://${hostForUrl(host)}:${port}`, (_o, value, accepted) =>
      bad('apiServer', value, `${accepted} (built from KUBERNETES_SERVICE_HOST/PORT)`),
    );
  }

  let ca: string;
  try {
    ca = readFileSync(caFile, 'utf8');
  } catch (error) {
    throw new InvalidConfigError(
      KubernetesMessages.unreadableFile(
        'caFile',
        caFile,
        (error as NodeJS.ErrnoException).code ?? toError(error).message,
        'It holds the CA (PEM) the API server certificate must chain to; in a pod it is mounted with the service account token.',
      ),
    );
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----'))
    throw new InvalidConfigError(
      KubernetesMessages.unreadableFile(
        'caFile',
        caFile,
        'no PEM certificate in it',
        'It must hold the CA (PEM) the API server certificate must chain to.',
      ),
    );

  const hostType = o.hostType ?? d.hostType;
  if (hostType !== 'ip' && hostType !== 'hostname')
    throw bad('hostType', o.hostType, '"ip" or "hostname"');

  if (o.nodeName !== undefined && !isNamePart(o.nodeName)) {
    throw bad('nodeName', o.nodeName, NAME_PART_FORMS);
  }
  const nodeName = o.nodeName;

  const addressType = o.addressType;
  if (
    addressType !== undefined &&
    addressType !== 'IPv4' &&
    addressType !== 'IPv6' &&
    addressType !== 'any'
  )
    throw bad('addressType', addressType, '"IPv4", "IPv6" or "any"');

  const flag = (option: string, fallback: boolean): boolean => {
    const value = o[option] ?? fallback;
    if (typeof value !== 'boolean') throw bad(option, o[option], 'true or false');
    return value;
  };

  const domain = o.clusterDomain ?? d.clusterDomain;
  const clusterDomain = typeof domain === 'string' ? canonicalHost(domain) : undefined;
  if (clusterDomain === undefined || isIP(clusterDomain) !== 0 || clusterDomain === '')
    throw bad('clusterDomain', o.clusterDomain, 'a DNS name such as "cluster.local"');

  const milliseconds = (option: string, fallback: number): number => {
    const value = o[option] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1)
      throw bad(option, o[option], 'a positive integer number of milliseconds');
    return value;
  };

  return {
    ca,
    settings: {
      service: service as string | undefined,
      labelSelector,
      portName,
      namespace,
      apiServer,
      tokenFile,
      caFile,
      hostType,
      subdomain,
      nodeName,
      addressType,
      includeNotReady: flag('includeNotReady', d.includeNotReady),
      excludeTerminating: flag('excludeTerminating', d.excludeTerminating),
      watch: flag('watch', d.watch),
      clusterDomain,
      requestTimeoutMs: milliseconds('requestTimeoutMs', d.requestTimeoutMs),
      tokenReloadIntervalMs: milliseconds('tokenReloadIntervalMs', d.tokenReloadIntervalMs),
    },
  };
}

function hasControlCharacter(text: string): boolean {
  return [...text].some(c => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

/** `https://host[:port][/prefix]`, without credentials, query or fragment. */
function checkApiServer(
  value: unknown,
  bad: (option: string, value: unknown, accepted: string) => InvalidConfigError,
): string {
  const accepted =
    'an https URL of the API server, such as "https://kubernetes.default.svc" or "https://10.96.0.1:443" (TLS is always verified)';
  if (typeof value !== 'string') throw bad('apiServer', value, accepted);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw bad('apiServer', value, accepted);
  }
  if (
    url.protocol !== 'https:' ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.hostname === ''
  )
    throw bad('apiServer', value, accepted);
  return url.href.replace(/\/+$/, '');
}
