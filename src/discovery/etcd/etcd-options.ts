/**
 * The options of the `etcd` discovery: their type, defaults and synchronous resolution (checks,
 * defaults, and the password and TLS files read once so a bad path fails at construction).
 * Imported by the main entry's configuration; the client itself loads lazily (etcd-lazy.ts).
 */
import { readFileSync } from 'node:fs';
import {
  type BackoffOptions,
  DEFAULT_NAMESPACE,
  InvalidConfigError,
  MAX_TIMER_MS,
  redactUrlCredentials,
  checkInteger,
  checkMilliseconds,
  checkNamespace,
  invalidOption,
  toError,
} from '../../core/index.js';
import { checkStrategyOptions, optionName } from '../option-checks.js';
import { EtcdMessages } from './etcd.messages.js';

/**
 * Options of the `etcd` discovery: each node puts `<prefix>/<namespace>/<node>` (value
 * `{"node","port","incarnation"}`) under a lease it keeps alive, and ranges and watches the
 * prefix for the others, through etcd's HTTP/JSON v3 gateway (etcd 3.4 or later).
 *
 * @example { strategy: 'etcd', endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'] }
 */
export interface EtcdDiscoveryOptions {
  readonly strategy: 'etcd';
  /** http(s) URLs of etcd members (no path); asked in turn, the next one when one fails. */
  readonly endpoints: readonly string[];
  /** Key prefix (default `/gen-cluster`); keys are `<prefix>/<namespace>/<node>`. */
  readonly prefix?: string;
  /** TTL of this node's lease in seconds (default 10); kept alive every TTL/3. */
  readonly leaseTtlSeconds?: number;
  /**
   * Deadline of one request to one endpoint, in ms: at most a third of the lease TTL (a
   * keepalive must be able to fail and be retried before the lease runs out). Default 5000,
   * lowered to that third when the TTL is shorter than 15 s.
   */
  readonly requestTimeoutMs?: number;
  /** etcd user, when etcd has authentication enabled. */
  readonly username?: string;
  /** That user's password (prefer `passwordFile`: options can end up in logs). */
  readonly password?: string;
  /** File holding that user's password, re-read at each authentication. */
  readonly passwordFile?: string;
  /** CA bundle (PEM) the members' certificates must chain to; the system CAs when unset. */
  readonly caFile?: string;
  /** Client certificate (PEM), for etcd's `--client-cert-auth`; with `keyFile`. */
  readonly certFile?: string;
  /** Key (PEM) of `certFile`. */
  readonly keyFile?: string;
  /** Cluster namespace (default `default`); filled from the cluster's namespace by the config. */
  readonly namespace?: string;
}

/** The options in force, defaults filled in; no secret in it. */
export interface ResolvedEtcdDiscoveryOptions {
  /** Origins, `http://host:port`. */
  readonly endpoints: readonly string[];
  /** Without a trailing `/` (`''` for the root). */
  readonly prefix: string;
  readonly leaseTtlSeconds: number;
  readonly requestTimeoutMs: number;
  readonly username: string | undefined;
  readonly passwordFile: string | undefined;
  readonly caFile: string | undefined;
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly namespace: string;
}

/** What the client needs besides the settings: the password source and the TLS material. */
export interface EtcdSecrets {
  /** Returns the password (re-reading `passwordFile`); `undefined` without `username`. */
  readonly password: (() => string) | undefined;
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
}

/** Defaults of the `etcd` discovery. */
export const ETCD_DISCOVERY_DEFAULTS = Object.freeze({
  prefix: '/gen-cluster',
  leaseTtlSeconds: 10,
  requestTimeoutMs: 5_000,
  namespace: DEFAULT_NAMESPACE,
  /** Between failed watch attempts. */
  watchBackoff: Object.freeze({
    initialMs: 200,
    maxMs: 5_000,
    multiplier: 2,
    jitter: 0.2,
  }) as Readonly<BackoffOptions>,
  /** Failed watch attempts in a row after which a warning says the watch is down. */
  watchFailuresBeforeWarning: 3,
  /** A watch stream is cut and resumed after this long (a dead connection would hang it). */
  maxStreamMs: 60_000,
  /** How long `close()` waits for the lease revocation. */
  closeTimeoutMs: 1_000,
  /** Largest answer or watch line accepted. */
  maxBodyBytes: 16 * 1024 * 1024,
} as const);

/** Most endpoints accepted. */
const MAX_ENDPOINTS = 16;
/** Longest prefix accepted, in characters. */
const MAX_PREFIX = 256;
/** Longest lease TTL: its third, in ms, must fit a Node timer. */
const MAX_TTL_SECONDS = Math.floor(MAX_TIMER_MS / 1_000);

const KNOWN_OPTIONS = [
  'strategy',
  'endpoints',
  'prefix',
  'leaseTtlSeconds',
  'requestTimeoutMs',
  'username',
  'password',
  'passwordFile',
  'caFile',
  'certFile',
  'keyFile',
  'namespace',
] as const;

const ACCEPTS = EtcdMessages.accepts;
const option = (key: string) => optionName('etcd', key);
/** Whether `text` holds a control character (none may go into a key or a user name). */
const hasControl = (text: string) =>
  [...text].some(c => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/**
 * Validates the options, fills in defaults and reads the password and TLS files.
 * @throws InvalidConfigError naming the option, the value and the accepted forms, or the file
 *   that cannot be read. A password is never shown.
 */
export function resolveEtcdDiscoveryOptions(options: unknown): {
  settings: ResolvedEtcdDiscoveryOptions;
  secrets: EtcdSecrets;
} {
  checkStrategyOptions('etcd', options, KNOWN_OPTIONS, ACCEPTS.options);
  const o = options;
  const d = ETCD_DISCOVERY_DEFAULTS;

  const endpoints = checkEndpoints(o.endpoints);

  const rawPrefix = o.prefix ?? d.prefix;
  if (
    typeof rawPrefix !== 'string' ||
    !rawPrefix.startsWith('/') ||
    rawPrefix.length > MAX_PREFIX ||
    hasControl(rawPrefix)
  )
    throw invalidOption(option('prefix'), o.prefix, ACCEPTS.prefix);
  const prefix = rawPrefix.replace(/\/+$/, '');

  const leaseTtlSeconds = o.leaseTtlSeconds ?? d.leaseTtlSeconds;
  checkInteger(option('leaseTtlSeconds'), leaseTtlSeconds, 2, MAX_TTL_SECONDS);

  // A keepalive goes every TTL/3: a request may not outlast that period, or one black-holed
  // endpoint lets the lease run out before the next endpoint is tried.
  const maxRequestMs = Math.floor((leaseTtlSeconds * 1_000) / 3);
  const requestTimeoutMs = o.requestTimeoutMs ?? Math.min(d.requestTimeoutMs, maxRequestMs);
  checkMilliseconds(option('requestTimeoutMs'), requestTimeoutMs);
  if ((requestTimeoutMs as number) > maxRequestMs)
    throw new InvalidConfigError(
      EtcdMessages.requestTimeoutTooLong(requestTimeoutMs as number, leaseTtlSeconds, maxRequestMs),
      { option: option('requestTimeoutMs') },
    );

  const namespace = o.namespace ?? d.namespace;
  checkNamespace(option('namespace'), namespace);

  const username = o.username;
  if (
    username !== undefined &&
    (typeof username !== 'string' || username === '' || hasControl(username))
  )
    throw invalidOption(option('username'), username, ACCEPTS.username);
  if (o.password !== undefined && (typeof o.password !== 'string' || o.password === ''))
    // the value is not shown: it may be a real password of the wrong type
    throw invalidOption(option('password'), '(hidden)', ACCEPTS.password);
  const passwordFile = filePath('passwordFile', o.passwordFile);
  if (o.password !== undefined && passwordFile !== undefined)
    throw new InvalidConfigError(EtcdMessages.bothPasswords(), { option: option('password') });
  const hasPassword = o.password !== undefined || passwordFile !== undefined;
  if (hasPassword && username === undefined)
    throw new InvalidConfigError(EtcdMessages.passwordWithoutUser(), {
      option: option('username'),
    });
  if (username !== undefined && !hasPassword)
    throw new InvalidConfigError(EtcdMessages.userWithoutPassword(), {
      option: option('password'),
    });
  let password: (() => string) | undefined;
  if (passwordFile !== undefined) {
    readPassword(passwordFile);
    password = () => readPassword(passwordFile);
  } else if (typeof o.password === 'string') {
    const text = o.password;
    password = () => text;
  }

  const caFile = filePath('caFile', o.caFile);
  const certFile = filePath('certFile', o.certFile);
  const keyFile = filePath('keyFile', o.keyFile);
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new InvalidConfigError(EtcdMessages.certWithoutKey(), {
      option: option(certFile === undefined ? 'certFile' : 'keyFile'),
    });
  if (
    (caFile !== undefined || certFile !== undefined) &&
    !endpoints.some(e => e.startsWith('https:'))
  )
    throw new InvalidConfigError(EtcdMessages.tlsWithoutHttps(), { option: option('endpoints') });

  return {
    settings: {
      endpoints,
      prefix,
      leaseTtlSeconds,
      requestTimeoutMs,
      username: username as string | undefined,
      passwordFile,
      caFile,
      certFile,
      keyFile,
      namespace,
    },
    secrets: {
      password,
      ca: caFile === undefined ? undefined : readPem('caFile', caFile),
      cert: certFile === undefined ? undefined : readPem('certFile', certFile),
      key: keyFile === undefined ? undefined : readPem('keyFile', keyFile),
    },
  };
}

/** `http(s)://host[:port]` origins, without path, query, fragment or credentials. */
function checkEndpoints(value: unknown): string[] {
  // the refused value is quoted with any user:password@ of its URLs hidden (that is refused too)
  const shown = Array.isArray(value) ? value.map(hideCredentials) : hideCredentials(value);
  const refuse = () => invalidOption(option('endpoints'), shown, ACCEPTS.endpoints);
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_ENDPOINTS) throw refuse();
  const origins: string[] = [];
  for (const item of value as unknown[]) {
    if (typeof item !== 'string') throw refuse();
    let url: URL;
    try {
      url = new URL(item);
    } catch {
      throw refuse();
    }
    if (
      (url.protocol !== 'http:' && url.protocol !== 'https:') ||
      url.username !== '' ||
      url.password !== '' ||
      url.search !== '' ||
      url.hash !== '' ||
      url.hostname === '' ||
      (url.pathname !== '/' && url.pathname !== '')
    )
      throw refuse();
    if (!origins.includes(url.origin)) origins.push(url.origin);
  }
  return origins;
}

function hideCredentials(value: unknown): unknown {
  return typeof value === 'string' ? redactUrlCredentials(value) : value;
}

function filePath(key: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw invalidOption(option(key), value, ACCEPTS.file);
  return value;
}

function readFile(key: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? toError(error).message;
    throw new InvalidConfigError(EtcdMessages.unreadableFile(key, file, code), {
      option: option(key),
      cause: error,
    });
  }
}

function readPem(key: string, file: string): string {
  const text = readFile(key, file);
  if (!text.includes('-----BEGIN '))
    throw new InvalidConfigError(EtcdMessages.noCertificate(key, file), { option: option(key) });
  return text;
}

/** The password in `file`, one trailing newline removed (as written by `echo`). */
function readPassword(file: string): string {
  const text = readFile('passwordFile', file).replace(/\r?\n$/, '');
  if (text === '')
    throw new InvalidConfigError(EtcdMessages.emptyPasswordFile(file), {
      option: option('passwordFile'),
    });
  return text;
}
