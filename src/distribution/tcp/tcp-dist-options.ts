/**
 * The options of the TCP dist: what each means, their defaults, and the checks that refuse a bad
 * one at construction (before anything listens).
 */
import { isIP } from 'node:net';
import {
  DEFAULT_NAMESPACE,
  checkInteger,
  checkMilliseconds,
  checkNamespace,
  checkOneOf,
  checkPort,
  invalidOption,
} from '../../core/index.js';
import {
  DEFAULT_MAX_STRUCTURED_PAYLOAD_BYTES,
  type PayloadCodec,
  structuredLimit,
} from '../messaging/index.js';
import { DEFAULT_PORT_MAPPER_PORT } from '../../portmapper/index.js';
import {
  DEFAULT_HANDSHAKE_STEP_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TOTAL_TIMEOUT_MS,
} from './handshake/index.js';
import { DEFAULT_MIN_RECEIVE_BYTES_PER_SECOND } from './receive-deadline.js';
import { TcpMessages as M } from './tcp.messages.js';
import type { TlsOptions } from './tls-options.js';

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
  /**
   * This node's start time, in ms since the epoch: `Date.now()` when the dist starts unless given
   * (an integer from 1 to `Number.MAX_SAFE_INTEGER`). Told to peers in the handshake (capability
   * `started`), it orders leadership: the member that started first leads, ties broken by name.
   * Set it only to fix that order, as tests do; a value more than a day ahead of a peer's clock
   * makes that peer refuse the handshake as malformed.
   */
  readonly startedAt?: number;
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

/** The options that always have a value once resolved (every other one stays optional). */
export type TcpDistSettings = Required<
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
    | 'startedAt'
  >
>;

/**
 * The options merged over the defaults, then checked.
 * @throws InvalidConfigError naming the first bad option, its value and the forms accepted.
 */
export function resolveTcpDistSettings(options: TcpDistOptions): TcpDistSettings {
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
  const settings = { ...merged, maxStructuredPayloadBytes: structured } as TcpDistSettings;
  validate(settings, options);
  return settings;
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
function validate(settings: TcpDistSettings, options: TcpDistOptions): void {
  checkPort('port', settings.port, { allowZero: true });
  for (const key of DURATION_OPTIONS) checkMilliseconds(key, settings[key]);
  for (const key of COUNT_OPTIONS) checkInteger(key, settings[key], 1);
  checkInteger('maxFrameBytes', settings.maxFrameBytes, MIN_FRAME_BYTES, MAX_FRAME_BYTES);
  checkPort('portMapperPort', settings.portMapperPort);
  checkOneOf('portMapper', settings.portMapper, [true, false, 'auto']);
  checkNamespace('namespace', settings.namespace);
  if (options.startedAt !== undefined)
    checkInteger('startedAt', options.startedAt, 1, Number.MAX_SAFE_INTEGER);
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
