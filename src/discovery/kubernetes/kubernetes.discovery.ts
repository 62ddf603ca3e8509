import { isIP } from 'node:net';
import {
  type ClusterLogger,
  type DiscoveryContext,
  DiscoveryError,
  type DiscoveryStrategy,
  InvalidConfigError,
  type Peer,
  parseNodeName,
  toError,
} from '../../core/index.js';
import { KubeApiClient } from './api-client.js';
import {
  type EndpointSliceList,
  type PeerRules,
  isEndpointSlice,
  slicesToPeers,
} from './endpoint-slice.js';
import { KubeRequestError, kubeRequestError } from './kubernetes.errors.js';
import {
  KUBERNETES_DISCOVERY_DEFAULTS,
  type KubernetesDiscoveryOptions,
  type ResolvedKubernetesDiscoveryOptions,
  resolveKubernetesDiscoveryOptions,
} from './kubernetes-options.js';
import { KubernetesMessages } from './kubernetes.messages.js';
import { SliceWatcher } from './slice-watcher.js';

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
        KubernetesMessages.unreadableTokenFile(
          this.settings.tokenFile,
          failure?.kind === 'token' ? failure.message : toError(error).message,
        ),
        { option: 'tokenFile', cause: error },
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
        kubeRequestError(
          { kind: 'protocol', message: KubernetesMessages.notSliceList() },
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
