/**
 * The options of the NATS discovery: their type and defaults, and their resolution (checks,
 * defaults, the secret file read, the connection options resolved).
 */
import { readFileSync } from 'node:fs';
import {
  DEFAULT_NAMESPACE,
  InvalidConfigError,
  checkInteger,
  checkKnownKeys,
  checkMilliseconds,
  checkNamespace,
  checkOneOf,
  deriveLabelledKey,
  invalidOption,
  isPlainObject,
  toError,
} from '../../core/index.js';
import {
  NATS_CONNECTION_OPTION_KEYS,
  type NatsConnectionOptions,
  type ResolvedNatsConnection,
  resolveNatsConnectionOptions,
} from '../connection/index.js';
import { NatsDiscoveryMessages as M } from './nats-discovery.messages.js';

/**
 * Options of the `nats` discovery, for the TCP mesh: members are found through NATS (each node
 * announces its name and TCP port on a subject of its namespace, signed with a key derived from
 * the cookie) and connected by the TCP dist. The NATS connection options are those of the NATS
 * dist. (With the NATS dist itself no discovery is needed: it finds its peers.)
 *
 * @example { strategy: 'nats', servers: 'nats://10.0.0.1:4222', user: 'gc', passwordFile: '/run/secrets/nats' }
 */
export interface NatsDiscoveryOptions extends NatsConnectionOptions {
  readonly strategy?: 'nats';
  /**
   * The cluster namespace (`GEN_CLUSTER_NAMESPACE`), `'default'` by default: nodes of different
   * namespaces use different subjects and never hear each other.
   */
  readonly namespace?: string;
  /** Between two announcements of this node, in ms (±10% jitter); 1000 by default. */
  readonly intervalMs?: number;
  /** A node not heard for this long drops out of the answer, in ms; 5000 by default (above intervalMs). */
  readonly failureTimeoutMs?: number;
  /** The most nodes remembered at once (the least recently heard is forgotten); 1024 by default. */
  readonly maxCandidates?: number;
  /**
   * The shared secret announcements are signed with (HKDF-SHA256, as the TCP dist derives its
   * keys from the cookie). Only needed with a dist that derives no key (the TCP dist derives one
   * from the cookie), or to sign under another secret than the cookie: when given, it is used.
   * Never logged. The same on every node.
   */
  readonly secret?: string;
  /** A file holding {@link secret} (trimmed), for a secret kept out of the configuration. */
  readonly secretFile?: string;
}

/** Defaults of the `nats` discovery's own options. */
export const NATS_DISCOVERY_DEFAULTS = Object.freeze({
  namespace: DEFAULT_NAMESPACE,
  intervalMs: 1_000,
  failureTimeoutMs: 5_000,
  maxCandidates: 1_024,
  /** ± this share of `intervalMs` at random, so nodes started together do not send together. */
  jitter: 0.1,
  /** The longest `close()` waits for its `leaving` to reach the server. */
  closeFlushMs: 500,
} as const);

/**
 * The HKDF label of the discovery key: `context.deriveKey(NATS_DISCOVERY_KEY_LABEL)`, or the same
 * derivation of the `secret` option (so `secret` equal to the cookie gives the dist's key).
 */
export const NATS_DISCOVERY_KEY_LABEL = 'gen-cluster/nats/discovery';

/** The options in force. */
export interface ResolvedNatsDiscoveryOptions {
  readonly namespace: string;
  readonly intervalMs: number;
  readonly failureTimeoutMs: number;
  readonly maxCandidates: number;
  /** The key derived from `secret`/`secretFile`; `undefined`: the dist derives it. */
  readonly key: Buffer | undefined;
  readonly connection: ResolvedNatsConnection;
}

const OWN_KEYS = [
  'strategy',
  'namespace',
  'intervalMs',
  'failureTimeoutMs',
  'maxCandidates',
  'secret',
  'secretFile',
] as const;
const KNOWN_KEYS: readonly string[] = [...OWN_KEYS, ...NATS_CONNECTION_OPTION_KEYS];
const PREFIX = 'discovery (nats)';
const option = (key: string) => `${PREFIX}.${key}`;

/** The discovery key of a shared secret: HKDF-SHA256 with {@link NATS_DISCOVERY_KEY_LABEL}. */
export function natsDiscoveryKeyOf(secret: string | Buffer): Buffer {
  return deriveLabelledKey(secret, NATS_DISCOVERY_KEY_LABEL);
}

/**
 * Checks the options, fills in defaults, reads the secret file and the connection's files.
 * @throws InvalidConfigError naming the option (`discovery (nats).intervalMs`), the value and the
 *   accepted forms
 */
export function resolveNatsDiscoveryOptions(options: unknown): ResolvedNatsDiscoveryOptions {
  if (!isPlainObject(options)) throw invalidOption(PREFIX, options, M.accepts.options);
  checkKnownKeys(PREFIX, options, KNOWN_KEYS);
  const o = options as Record<string, unknown>;
  const d = NATS_DISCOVERY_DEFAULTS;
  if (o.strategy !== undefined) checkOneOf(option('strategy'), o.strategy, ['nats']);
  const namespace = o.namespace ?? d.namespace;
  checkNamespace(option('namespace'), namespace);
  const intervalMs = o.intervalMs ?? d.intervalMs;
  checkMilliseconds(option('intervalMs'), intervalMs, { min: 10 });
  const failureTimeoutMs = o.failureTimeoutMs ?? d.failureTimeoutMs;
  checkMilliseconds(option('failureTimeoutMs'), failureTimeoutMs);
  if (failureTimeoutMs <= intervalMs)
    throw invalidOption(
      option('failureTimeoutMs'),
      failureTimeoutMs,
      M.failureNotAboveInterval(intervalMs),
    );
  const maxCandidates = o.maxCandidates ?? d.maxCandidates;
  checkInteger(option('maxCandidates'), maxCandidates, 1, 1_000_000);
  const key = secretKey(o.secret, o.secretFile);
  const connectionOptions = Object.fromEntries(
    Object.entries(o).filter(([k]) => !(OWN_KEYS as readonly string[]).includes(k)),
  ) as unknown as NatsConnectionOptions;
  const connection = resolveNatsConnectionOptions(connectionOptions, PREFIX);
  return { namespace, intervalMs, failureTimeoutMs, maxCandidates, key, connection };
}

function secretKey(secret: unknown, secretFile: unknown): Buffer | undefined {
  if (secret !== undefined && secretFile !== undefined)
    throw new InvalidConfigError(M.secretAndFile(), { option: option('secret') });
  if (secret !== undefined) {
    // Never shown: it is the secret, whatever its type.
    if (typeof secret !== 'string' || secret.length === 0)
      throw invalidOption(option('secret'), '(hidden)', M.accepts.secret);
    return natsDiscoveryKeyOf(secret);
  }
  if (secretFile === undefined) return undefined;
  if (typeof secretFile !== 'string' || secretFile === '' || secretFile.includes('\0'))
    throw invalidOption(option('secretFile'), secretFile, M.accepts.secretFile);
  let text: string;
  try {
    text = readFileSync(secretFile, 'utf8').trim();
  } catch (error) {
    throw new InvalidConfigError(M.unreadableSecretFile(secretFile, toError(error).message), {
      option: option('secretFile'),
      cause: error,
    });
  }
  if (text === '')
    throw new InvalidConfigError(M.emptySecretFile(secretFile), { option: option('secretFile') });
  return natsDiscoveryKeyOf(text);
}
