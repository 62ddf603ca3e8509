import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { TLSSocket } from 'node:tls';
import {
  type ClusterLogger,
  ConnectError,
  type DistContext,
  type DistHealth,
  type DistStats,
  GenClusterError,
  type MessagingDistStrategy,
  type Peer,
  nodeKey,
  parseNodeName,
  deriveLabelledKey,
} from '../../core/index.js';
import { DeferredMessaging } from '../deferred-messaging.js';
import { Messaging } from '../messaging/index.js';
import { PortMapperRegistration } from '../../portmapper/index.js';
import { resolveCookie } from './cookie.js';
import { listenFailure } from './listen-failure.js';
import { Mesh } from './mesh.js';
import { meshTransport } from './mesh-transport.js';
import { TcpMessages as M } from './tcp.messages.js';
import {
  type TcpDistOptions,
  type TcpDistSettings,
  resolveTcpDistSettings,
} from './tcp-dist-options.js';
import { type ResolvedTls, checkOwnCertificate, resolveTlsOptions } from './tls-options.js';

export { DEFAULT_TCP_DIST_OPTIONS, type TcpDistOptions } from './tcp-dist-options.js';

/**
 * The built-in dist: an authenticated TCP mesh with heartbeats and messaging (the counterpart of
 * Erlang distribution). See the README for the protocol and its guarantees.
 */
export class TcpDist implements MessagingDistStrategy {
  readonly name = 'tcp';
  /**
   * Messaging between nodes: handlers may be registered at once (they are attached at start, so
   * no message arriving after start is missed); calls to peers work once the cluster started.
   */
  readonly messaging: DeferredMessaging;
  private readonly settings: TcpDistSettings;
  private readonly cookie: Buffer;
  private readonly tls: ResolvedTls | undefined;
  private mesh: Mesh | undefined;
  private inner: Messaging | undefined;
  private registration: PortMapperRegistration | undefined;
  private started: number | undefined;

  constructor(private readonly options: TcpDistOptions = {}) {
    this.settings = resolveTcpDistSettings(options);
    this.cookie = resolveCookie(options);
    this.tls = options.tls === undefined ? undefined : resolveTlsOptions(options.tls);
    // Node names are taken in any spelling (`b@LOCALHOST`, `b@[::1]:4370`), as everywhere else.
    this.messaging = new DeferredMessaging(
      () => new GenClusterError('ERR_NOT_STARTED', M.distNotStarted()),
      { nodeName: nodeKey },
    );
  }

  /** The port this node listens on, once started. */
  get port(): number | null {
    return this.mesh?.port ?? null;
  }

  /**
   * A 32-byte key for one purpose, HKDF-SHA256 of the cookie with `label` as its info, so gossip
   * can sign announcements with the cluster's secret without ever holding the cookie; two labels
   * never give the same key, and no key reveals the cookie or the handshake's digests.
   */
  deriveKey(label: string): Buffer {
    return deriveLabelledKey(this.cookie, label);
  }

  /** The cluster namespace this node is in (the `namespace` option). */
  get namespace(): string {
    return this.settings.namespace;
  }

  /** This start's incarnation, once started. */
  get incarnation(): string | undefined {
    return this.mesh?.incarnation;
  }

  /**
   * This node's start time as told to peers (ms since the epoch): the `startedAt` option, or
   * `Date.now()` at start; `undefined` before start.
   */
  get startedAt(): number | undefined {
    return this.started;
  }

  /** Whether this node connects as a hidden node (the `hidden` option): never a peer's member. */
  get hidden(): boolean {
    return this.settings.hidden;
  }

  /** How long a silent peer takes to be declared down: the `failureTimeoutMs` setting. */
  get failureTimeoutMs(): number {
    return this.settings.failureTimeoutMs;
  }

  async init(context: DistContext): Promise<void> {
    const { host } = parseNodeName(context.self);
    if (this.tls) checkOwnCertificate(this.tls, context.self);
    const bind = this.options.bind ?? (isIP(host) ? host : undefined);
    const logger: ClusterLogger = context.logger;
    const startedAt = this.options.startedAt ?? Date.now();
    let mesh: Mesh | undefined = undefined;
    const messaging = new Messaging({
      self: context.self,
      codec: this.options.codec ?? 'msgpack',
      defaultRequestTimeoutMs: this.settings.requestTimeoutMs,
      maxMessageBytes: this.settings.maxMessageBytes,
      maxStructuredPayloadBytes: this.settings.maxStructuredPayloadBytes,
      logger,
      transport: meshTransport(() => mesh),
    });
    mesh = new Mesh(
      {
        ...this.settings,
        self: context.self,
        cookie: this.cookie,
        startedAt,
        bind,
        maxFramePayloadBytes: this.settings.maxFrameBytes,
        lookup: this.options.dnsServers?.length ? lookupWith(this.options.dnsServers) : undefined,
        tls: this.tls,
      },
      {
        nodeUp: peer => context.nodeUp(peer),
        nodeDown: (node, reason) => {
          messaging.nodeDown(node);
          context.nodeDown(node, reason);
        },
        message: (from, bytes) => messaging.receive(from, bytes),
        hiddenDown: node => messaging.nodeDown(node),
        admission: context.admission,
      },
      logger,
    );
    const port = await mesh.listen().catch((error: unknown) => {
      const bindFrom = this.options.bind === undefined ? 'node' : 'bind';
      throw listenFailure(error, { bind, bindFrom, port: this.settings.port, self: context.self });
    });
    this.mesh = mesh;
    this.started = startedAt;
    this.inner = messaging;
    this.messaging.attach(messaging);
    const register =
      this.settings.portMapper === 'auto' ? this.settings.port === 0 : this.settings.portMapper;
    if (register) {
      // Fails at startup only on a name already registered on this host (a duplicate node
      // name). A mapper that cannot be reached or does not answer (its process stopped) is not
      // fatal: the node starts unregistered, with a warning, and keeps trying in the background.
      const registration = new PortMapperRegistration({
        name: context.self,
        port,
        portMapperPort: this.settings.portMapperPort,
        namespace: this.settings.namespace,
        ...(this.options.portMapperBind === undefined ? {} : { bind: this.options.portMapperBind }),
        logger,
      });
      try {
        await registration.startOrRetry();
      } catch (error) {
        await mesh.close();
        throw error;
      }
      this.registration = registration;
    }
    const tls = this.tls ? M.listeningTls(this.tls.mutual, this.tls.minVersion) : '';
    logger.log(M.listening(bind ?? '*', port, context.self, tls));
  }

  members(): Peer[] {
    return this.mesh?.members() ?? [];
  }

  /** `listening: false` once the listener was lost (not stopped by leave/close); else true. */
  health(): DistHealth {
    return this.mesh?.health() ?? { listening: true };
  }

  /** Each link's queue and socket counters, and handshake refusals by reason (both directions). */
  stats(): DistStats {
    return this.mesh?.stats() ?? { links: [], handshakeRefusals: {} };
  }

  async connect(peer: Peer, signal: AbortSignal): Promise<boolean> {
    if (!this.mesh) return false;
    return this.mesh.connect(peer, signal);
  }

  async disconnect(peer: Peer): Promise<boolean> {
    return this.mesh?.disconnect(peer.node) ?? false;
  }

  /**
   * Local and remote ports of the link to `node`, and its TLS version when it runs over TLS, for
   * diagnostics and tests.
   */
  linkAddress(node: string): { localPort: number; remotePort: number; tls?: string } | undefined {
    const socket = this.mesh?.connectionTo(node)?.socket;
    if (!socket?.localPort || !socket.remotePort) return undefined;
    const address = { localPort: socket.localPort, remotePort: socket.remotePort };
    if (!(socket instanceof TLSSocket)) return address;
    return { ...address, tls: socket.getProtocol() ?? 'unknown' };
  }

  /**
   * Destroys the socket to `node` without a goodbye, as a crash would.
   * @internal Only the end-to-end tests call it: no public API can kill a link like a crash does.
   */
  dropLinkForTest(node: string): void {
    this.mesh?.connectionTo(node)?.socket.destroy();
  }

  /**
   * Stops reading and writing on every link, as a stopped (SIGSTOP) process would.
   * @internal Only the end-to-end tests call it, to prove failure detection within one process.
   */
  freezeForTest(): void {
    this.mesh?.freeze();
  }

  async leave(): Promise<void> {
    // Unregister first, so that local discovery stops naming a node that is going away.
    await this.registration?.close();
    await this.mesh?.leave();
  }

  async close(): Promise<void> {
    this.inner?.close();
    await this.registration?.close();
    await this.mesh?.close();
  }
}

function lookupWith(
  servers: readonly { host: string; port: number }[],
): (host: string) => Promise<readonly string[]> {
  const resolver = new Resolver({ timeout: 3_000, tries: 2 });
  resolver.setServers(
    servers.map(s => (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`)),
  );
  return async host => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    const addresses = [
      ...(v4.status === 'fulfilled' ? v4.value : []),
      ...(v6.status === 'fulfilled' ? v6.value : []),
    ];
    if (addresses.length === 0) {
      throw new ConnectError(M.unresolvable(host), { node: host });
    }
    return addresses;
  };
}
