/**
 * The options of the NATS dist: what each means, their defaults, and the checks that refuse a bad
 * one at construction (before anything connects).
 */
import {
  DEFAULT_NAMESPACE,
  checkInteger,
  checkKnownKeys,
  checkMilliseconds,
  checkNamespace,
  checkOneOf,
  invalidOption,
} from '../../core/index.js';
import {
  DEFAULT_MAX_STRUCTURED_PAYLOAD_BYTES,
  type PayloadCodec,
  structuredLimit,
} from '../../distribution/index.js';
import { NATS_CONNECTION_OPTION_KEYS, type NatsConnectionOptions } from '../connection/index.js';
import { NatsDistMessages as M } from './nats-dist.messages.js';

/**
 * How messages between nodes are authenticated: `'hmac'` (default) signs every NATS payload with
 * a key derived from the cookie, so a client that can publish to the NATS server but lacks the
 * cookie cannot inject or replay messages; `'none'` sends them unsigned (slightly faster; only
 * for a NATS server whose accounts already keep strangers out). Presence is always signed: the
 * cookie decides who is a member either way. All nodes of a cluster must agree.
 */
export type NatsMessageAuth = 'hmac' | 'none';

/** Options of the NATS dist: the connection to NATS, plus the cluster's own settings. */
export interface NatsDistOptions extends NatsConnectionOptions {
  readonly strategy?: 'nats';
  /** The shared secret (`GEN_CLUSTER_COOKIE`); wins over `cookieFile`. As the TCP dist's. */
  readonly cookie?: string;
  /** File holding the secret (`GEN_CLUSTER_COOKIE_FILE`); `~/.gen-cluster.cookie` by default. */
  readonly cookieFile?: string;
  /**
   * The cluster namespace (`GEN_CLUSTER_NAMESPACE`), `'default'` by default: 1 to 64 letters,
   * digits, `.`, `_` or `-`. Each namespace has its own NATS subjects: nodes of different
   * namespaces never hear each other.
   */
  readonly namespace?: string;
  /**
   * How often this node announces it is alive, in ms (1000 by default; each announcement is
   * jittered by ±10%). Every node hears every other one's: N nodes cost N² small messages per
   * interval over the cluster. All nodes should agree.
   */
  readonly heartbeatIntervalMs?: number;
  /**
   * Silence after which a peer is declared down (`heartbeatTimeout`), 5000 ms by default; at
   * least twice `heartbeatIntervalMs`. Not applied while this node is cut off from NATS: peers
   * not heard within it after the reconnect are declared down then. Membership also freezes when
   * this node's own presence stops coming back from NATS for max(1.65 × heartbeatIntervalMs,
   * failureTimeoutMs / 2) although the client counts as connected (a hung server). With
   * `failureTimeoutMs` at least twice the heartbeat that limit is always below it, so the check is
   * on, except before this node's first announcement came back (a server that does not echo
   * changes nothing), after `leave`, and while cut off (it restarts at the reconnect).
   */
  readonly failureTimeoutMs?: number;
  /** Default request timeout, in ms (5000). */
  readonly requestTimeoutMs?: number;
  /** Payload codec: `'msgpack'` (default, structured clone), `'json'`, or your own. */
  readonly codec?: 'msgpack' | 'json' | PayloadCodec;
  /**
   * Largest message, sent or received (64 MiB): larger than the NATS server's `max_payload`
   * (1 MiB by default), a message is sent as fragments that the receiver reassembles.
   */
  readonly maxMessageBytes?: number;
  /**
   * Largest structured (non-binary) payload once encoded, sent or received: 2 MiB by default, at
   * most `maxMessageBytes` (as the TCP dist's).
   */
  readonly maxStructuredPayloadBytes?: number;
  /** How messages are authenticated: see {@link NatsMessageAuth}. */
  readonly messageAuth?: NatsMessageAuth;
  /**
   * Most bytes the NATS client may hold unsent (while the server is slow to read): over it `send`
   * throws `ERR_QUEUE_FULL` (128 MiB by default; at least `maxMessageBytes`).
   */
  readonly maxQueueBytes?: number;
  /**
   * This node's start time, ms since the epoch: `Date.now()` when the dist starts unless given.
   * Announced in presence; it orders leadership (the member that started first leads). Set it
   * only to fix that order, as tests do.
   */
  readonly startedAt?: number;
}

/** Defaults of the NATS dist's own options (the connection's are the connection's). */
export const NATS_DIST_DEFAULTS = Object.freeze({
  namespace: DEFAULT_NAMESPACE,
  heartbeatIntervalMs: 1_000,
  failureTimeoutMs: 5_000,
  requestTimeoutMs: 5_000,
  maxMessageBytes: 64 * 1024 * 1024,
  /** 2 MiB, or `maxMessageBytes` when that is smaller. */
  maxStructuredPayloadBytes: DEFAULT_MAX_STRUCTURED_PAYLOAD_BYTES,
  messageAuth: 'hmac' as NatsMessageAuth,
  maxQueueBytes: 128 * 1024 * 1024,
});

/** The option prefix of the dist in messages (`dist (nats).servers`). */
export const NATS_DIST_OPTION_PREFIX = 'dist (nats)';

/** Every option key the dist takes: its own, the connection's, `strategy`. */
const KNOWN_KEYS: readonly string[] = [
  'strategy',
  ...Object.keys(NATS_DIST_DEFAULTS),
  'cookie',
  'cookieFile',
  'codec',
  'startedAt',
  ...NATS_CONNECTION_OPTION_KEYS,
];

/** The dist's own options, resolved: every one has a value. */
export type NatsDistSettings = {
  -readonly [K in keyof typeof NATS_DIST_DEFAULTS]: (typeof NATS_DIST_DEFAULTS)[K];
};

/**
 * The dist's own options merged over the defaults, then checked.
 * @throws InvalidConfigError naming the first bad option, its value and the forms accepted (an
 *   unknown key too: a misspelt option must not be silently ignored).
 */
export function resolveNatsDistSettings(options: NatsDistOptions): NatsDistSettings {
  checkKnownKeys(NATS_DIST_OPTION_PREFIX, options, KNOWN_KEYS);
  const given = Object.fromEntries(
    Object.keys(NATS_DIST_DEFAULTS)
      .map(key => [key, (options as unknown as Record<string, unknown>)[key]])
      .filter(([, value]) => value !== undefined),
  ) as Partial<NatsDistSettings>;
  const merged = { ...NATS_DIST_DEFAULTS, ...given };
  checkInteger('maxMessageBytes', merged.maxMessageBytes, 1);
  const settings: NatsDistSettings = {
    ...merged,
    // Checked against the message limit; unset, the default capped by that limit.
    maxStructuredPayloadBytes: structuredLimit({
      maxStructuredPayloadBytes: given.maxStructuredPayloadBytes,
      maxMessageBytes: merged.maxMessageBytes,
    }),
  };
  validate(settings, options);
  return settings;
}

function validate(settings: NatsDistSettings, options: NatsDistOptions): void {
  if (options.strategy !== undefined) checkOneOf('strategy', options.strategy, ['nats']);
  checkNamespace('namespace', settings.namespace);
  for (const key of ['heartbeatIntervalMs', 'failureTimeoutMs', 'requestTimeoutMs'] as const)
    checkMilliseconds(key, settings[key]);
  checkOneOf('messageAuth', settings.messageAuth, ['hmac', 'none']);
  checkInteger('maxQueueBytes', settings.maxQueueBytes, 1);
  if (options.startedAt !== undefined)
    checkInteger('startedAt', options.startedAt, 1, Number.MAX_SAFE_INTEGER);
  if (settings.failureTimeoutMs < 2 * settings.heartbeatIntervalMs)
    throw invalidOption(
      'failureTimeoutMs',
      settings.failureTimeoutMs,
      M.failureNotAboveHeartbeat(settings.heartbeatIntervalMs),
    );
  if (settings.maxQueueBytes < settings.maxMessageBytes)
    throw invalidOption(
      'maxQueueBytes',
      settings.maxQueueBytes,
      M.queueBelowMessage(settings.maxMessageBytes),
    );
}
