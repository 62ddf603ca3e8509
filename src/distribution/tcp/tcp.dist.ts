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
  DEFAULT_NAMESPACE,
  checkInteger,
  checkMilliseconds,
  checkNamespace,
  checkOneOf,
  checkPort,
  invalidOption,
  nodeKey,
  parseNodeName,
} from '../../core/index.js';
import { DeferredMessaging } from '../deferred-messaging.js';
import {
  DEFAULT_MAX_STRUCTURED_PAYLOAD_BYTES,
  Messaging,
  type PayloadCodec,
  structuredLimit,
} from '../messaging/index.js';
import { DEFAULT_PORT_MAPPER_PORT, PortMapperRegistration } from '../../portmapper/index.js';
import { resolveCookie } from './cookie.js';
import { listenFailure } from './listen-failure.js';
import {
  DEFAULT_HANDSHAKE_STEP_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TOTAL_TIMEOUT_MS,
} from './handshake/index.js';
import { Mesh } from './mesh.js';
import { meshTransport } from './mesh-transport.js';
import { DEFAULT_MIN_RECEIVE_BYTES_PER_SECOND } from './receive-deadline.js';
import { TcpMessages as M } from './tcp.messages.js';
import {
  type ResolvedTls,
  type TlsOptions,
  checkOwnCertificate,
  resolveTlsOptions,
} from './tls-options.js';

/** Options of the built-in TCP mesh dist. */
export interface TcpDistOptions {
  readonly strategy?: 'tcp';
  /** Port to listen on and to dial peers that came without one (`GEN_CLUSTER_PORT`); 0: ephemeral. */
  readonly port?: number;
  /** Address to listen on (`GEN_CLUSTER_BIND`); the node's host when it is an IP, else all interfaces. */
  readonly bind?: string;
  /** The shared secret (`GEN_CLUSTER_COOKIE`); wins over `cookieFile`. */
  readonly cookie?: string;
  /** File holding the secret (`GEN_CLUSTER_COOKIE_FILE`); `~/.gen-cluster.cookie` by default. */
  readonly cookieFile?: string;
  /** Idle time after which a tick is sent; all nodes must agree (checked in the handshake). */
  readonly heartbeatMs?: number;
  /** Silence after which a peer is declared down; all nodes must agree. */
  readonly failureTimeoutMs?: number;
  readonly handshakeStepTimeoutMs?: number;
  readonly handshakeTotalTimeoutMs?: number;
  /** Largest frame payload; larger messages are fragmented. */
  readonly maxFrameBytes?: number;
  /** Largest message, sent or received. */
  readonly maxMessageBytes?: number;
  /**
   * Bound of each peer's send queue, in bytes; over it `send` throws `ERR_QUEUE_FULL`. It must hold
   * at least two messages of `maxMessageBytes` (a smaller value is refused), so that a largest
   * message can be queued while another is being written; twice `maxMessageBytes` by default.
   */
  readonly maxQueueBytes?: number;
  /** Bound of each peer's send queue, in messages. */
  readonly maxQueueMessages?: number;
  /**
   * Largest structured (non-binary) payload once encoded, sent or received: 2 MiB by default, at
   * most `maxMessageBytes`.
   * Encoding and decoding structured data runs on the event loop (tens of ms per MiB), so a larger
   * one fails with `ERR_PAYLOAD_TOO_LARGE`, before encoding where a quick walk shows it; send bulk
   * data as a `Buffer`, which passes through without copy or scan up to `maxMessageBytes`.
   */
  readonly maxStructuredPayloadBytes?: number;
  /**
   * Slowest receive accepted for a frame or fragmented message in progress, in bytes per second
   * (64 KiB/s by default): one holding N bytes may take `failureTimeoutMs + N / rate`, so a peer
   * that trickles a declared frame is closed, and a large message on any faster link never is.
   */
  readonly minReceiveBytesPerSecond?: number;
  /** Concurrent unauthenticated connections, in all and per source address. */
  readonly maxPendingHandshakes?: number;
  readonly maxPendingHandshakesPerIp?: number;
  /** Learn and connect the peers of a peer (Erlang's `connect_all`). */
  readonly transitive?: boolean;
  /** Connect as a hidden node: not a member of the peers' clusters, not propagated (for tools). */
  readonly hidden?: boolean;
  /**
   * The cluster namespace (`GEN_CLUSTER_NAMESPACE`), `'default'` by default: 1 to 64 letters,
   * digits, `.`, `_` or `-`. Sent in the handshake, where a node of another namespace is refused
   * (`ERR_NAMESPACE_MISMATCH`) whatever its cookie, and in the port mapper registration, so that
   * `local` discovery of other namespaces does not list this node. A peer of a version without
   * namespaces counts as `'default'`.
   */
  readonly namespace?: string;
  /** Payload codec: `'msgpack'` (default, structured clone), `'json'`, or your own. */
  readonly codec?: 'msgpack' | 'json' | PayloadCodec;
  /** Default request timeout. */
  readonly requestTimeoutMs?: number;
  /**
   * Register this node's name and port with the host-local port mapper, so `local` discovery
   * finds it: `'auto'` (default) when the port is ephemeral, `true` always, `false` never.
   */
  readonly portMapper?: boolean | 'auto';
  /** Port of the host-local port mapper (`GEN_CLUSTER_PORTMAPPER_PORT`). */
  readonly portMapperPort?: number;
  /**
   * Address the port mapper listens on when this node serves it (`GEN_CLUSTER_PORTMAPPER_BIND`):
   * loopback only by default. Opt-in for `local` discovery across hosts: `0.0.0.0` or `::` (every
   * interface), or one interface's address (plus loopback). Other hosts may then ask for this
   * host's node names and ports; registrations and kills are still taken from loopback only.
   */
  readonly portMapperBind?: string;
  /** Resolvers for peer host names (`GEN_CLUSTER_DNS_SERVERS`); the system's when unset. */
  readonly dnsServers?: readonly { readonly host: string; readonly port: number }[];
  /**
   * TLS on every link, mutual by default, with certificates bound to node names; the cookie is
   * still required inside TLS. Checked at construction: half-configured TLS throws
   * `ERR_INVALID_CONFIG` naming the option. All nodes of a cluster must agree.
   */
  readonly tls?: TlsOptions;
}

/** Defaults of the TCP dist. */
export const DEFAULT_TCP_DIST_OPTIONS = Object.freeze({
  port: 0,
  heartbeatMs: 1_000,
  failureTimeoutMs: 5_000,
  handshakeStepTimeoutMs: DEFAULT_HANDSHAKE_STEP_TIMEOUT_MS,
  handshakeTotalTimeoutMs: DEFAULT_HANDSHAKE_TOTAL_TIMEOUT_MS,
  maxFrameBytes: 1024 * 1024,
  maxMessageBytes: 64 * 1024 * 1024,
  /** Twice `maxMessageBytes`; unset, it follows a `maxMessageBytes` of the options. */
  maxQueueBytes: 128 * 1024 * 1024,
  maxQueueMessages: 10_000,
  /** 2 MiB, or `maxMessageBytes` when that is smaller. */
  maxStructuredPayloadBytes: DEFAULT_MAX_STRUCTURED_PAYLOAD_BYTES,
  minReceiveBytesPerSecond: DEFAULT_MIN_RECEIVE_BYTES_PER_SECOND,
  maxPendingHandshakes: 256,
  maxPendingHandshakesPerIp: 32,
  transitive: true,
  hidden: false,
  namespace: DEFAULT_NAMESPACE,
  requestTimeoutMs: 5_000,
  portMapper: 'auto' as boolean | 'auto',
  portMapperPort: DEFAULT_PORT_MAPPER_PORT,
});

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
  private readonly settings: Required<
    Omit<
      TcpDistOptions,
      | 'strategy'
      | 'bind'
      | 'cookie'
      | 'cookieFile'
      | 'dnsServers'
      | 'codec'
      | 'tls'
      | 'portMapperBind'
    >
  >;
  private readonly cookie: Buffer;
  private readonly tls: ResolvedTls | undefined;
  private mesh: Mesh | undefined;
  private inner: Messaging | undefined;
  private registration: PortMapperRegistration | undefined;

  constructor(private readonly options: TcpDistOptions = {}) {
    const given = definedOnly(options);
    // An unset queue bound follows the message limit: it always holds two of the largest messages.
    const queue =
      given.maxQueueBytes === undefined && Number.isInteger(given.maxMessageBytes)
        ? { maxQueueBytes: QUEUE_MESSAGES_AT_LIMIT * given.maxMessageBytes! }
        : {};
    const merged = { ...DEFAULT_TCP_DIST_OPTIONS, ...given, ...queue };
    // Checked against the message limit; unset, the default capped by that limit.
    const structured = structuredLimit({
      maxStructuredPayloadBytes: given.maxStructuredPayloadBytes,
      maxMessageBytes: merged.maxMessageBytes,
    });
    this.settings = { ...merged, maxStructuredPayloadBytes: structured } as TcpDist['settings'];
    validate(this.settings, options);
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

  /** The cluster namespace this node is in (the `namespace` option). */
  get namespace(): string {
    return this.settings.namespace;
  }

  /** This start's incarnation, once started. */
  get incarnation(): string | undefined {
    return this.mesh?.incarnation;
  }

  async init(context: DistContext): Promise<void> {
    const { host } = parseNodeName(context.self);
    if (this.tls) checkOwnCertificate(this.tls, context.self);
    const bind = this.options.bind ?? (isIP(host) ? host : undefined);
    const logger: ClusterLogger = context.logger;
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

/** Options that are durations, in milliseconds. */
const DURATION_OPTIONS = [
  'heartbeatMs',
  'failureTimeoutMs',
  'handshakeStepTimeoutMs',
  'handshakeTotalTimeoutMs',
  'requestTimeoutMs',
] as const;

/** Options that are positive counts or sizes. */
const COUNT_OPTIONS = [
  'maxMessageBytes',
  'maxQueueBytes',
  'maxQueueMessages',
  'minReceiveBytesPerSecond',
  'maxPendingHandshakes',
  'maxPendingHandshakesPerIp',
] as const;

/** Messages of `maxMessageBytes` a send queue holds at least (`maxQueueBytes`). */
const QUEUE_MESSAGES_AT_LIMIT = 2;

/** Bounds of `maxFrameBytes`: 1 KiB to 16 MiB. */
const MIN_FRAME_BYTES = 1024;
const MAX_FRAME_BYTES = 16 * 1024 * 1024;

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Refuses bad options at construction with an `InvalidConfigError` naming the option. Every
 * duration is capped at the timer maximum: Node fires a longer timer after 1 ms.
 */
function validate(settings: TcpDist['settings'], options: TcpDistOptions): void {
  checkPort('port', settings.port, { allowZero: true });
  for (const key of DURATION_OPTIONS) checkMilliseconds(key, settings[key]);
  for (const key of COUNT_OPTIONS) checkInteger(key, settings[key], 1);
  checkInteger('maxFrameBytes', settings.maxFrameBytes, MIN_FRAME_BYTES, MAX_FRAME_BYTES);
  checkPort('portMapperPort', settings.portMapperPort);
  checkOneOf('portMapper', settings.portMapper, [true, false, 'auto']);
  checkNamespace('namespace', settings.namespace);
  if (settings.failureTimeoutMs <= settings.heartbeatMs) {
    throw invalidOption(
      'failureTimeoutMs',
      settings.failureTimeoutMs,
      M.failureNotAboveHeartbeat(settings.heartbeatMs),
    );
  }
  if (settings.maxQueueBytes < QUEUE_MESSAGES_AT_LIMIT * settings.maxMessageBytes) {
    throw invalidOption(
      'maxQueueBytes',
      settings.maxQueueBytes,
      M.queueBelowMessages(QUEUE_MESSAGES_AT_LIMIT, settings.maxMessageBytes),
    );
  }
  if (options.bind !== undefined && isIP(options.bind) === 0) {
    throw invalidOption('bind', options.bind, M.notAnIp());
  }
  if (options.portMapperBind !== undefined && isIP(options.portMapperBind) === 0) {
    throw invalidOption('portMapperBind', options.portMapperBind, M.notAnIp());
  }
}
