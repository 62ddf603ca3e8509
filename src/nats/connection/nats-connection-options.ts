/**
 * The options of a connection to NATS (shared by the NATS dist and the NATS discovery): their
 * type, defaults and synchronous resolution (checks, defaults, and the credential and TLS files
 * read once, so a bad value or path fails at construction, never later).
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { inspect } from 'node:util';
import {
  InvalidConfigError,
  checkMilliseconds,
  invalidOption,
  isPlainObject,
  toError,
} from '../../core/index.js';
import { NatsConnectionMessages } from './nats-connection.messages.js';
import { type NatsServerAddress, parseNatsServers } from './nats-servers.js';

/**
 * How to reach NATS. Credentials come from files where they can (`passwordFile`, `tokenFile`,
 * `nkeySeedFile`, `credsFile`): option values end up in logs and crash reports. At most one way
 * to authenticate is given.
 *
 * @example { servers: 'nats://10.0.0.1:4222,nats://10.0.0.2:4222', user: 'gc', passwordFile: '/run/secrets/nats' }
 */
export interface NatsConnectionOptions {
  /**
   * The NATS server(s): `'nats://host:4222'`, `'tls://host:4222'` (TLS required), `'host:4222'`,
   * `'host'` (port 4222) or `'[::1]:4222'`; several as an array or one comma-separated string.
   * The client tries them in random order and moves to another when one fails. Credentials in a
   * URL are refused. Required.
   */
  readonly servers: string | readonly string[];
  /** User name, with `password` or `passwordFile` (`GEN_CLUSTER_NATS_USER`). No default. */
  readonly user?: string;
  /** The user's password; prefer `passwordFile`. No default. */
  readonly password?: string;
  /** A file holding the user's password (one trailing newline ignored), read once at construction (`GEN_CLUSTER_NATS_PASSWORD_FILE`). No default. */
  readonly passwordFile?: string;
  /** An authentication token (nats-server `--auth`); prefer `tokenFile`. No default. */
  readonly token?: string;
  /** A file holding the token (one trailing newline ignored), read once (`GEN_CLUSTER_NATS_TOKEN_FILE`). No default. */
  readonly tokenFile?: string;
  /** A file holding a user nkey seed (`SU...`), read once; NATS challenges it at each connect (`GEN_CLUSTER_NATS_NKEY_SEED_FILE`). No default. */
  readonly nkeySeedFile?: string;
  /** A NATS creds file (user JWT and seed, from `nsc generate creds`), read once (`GEN_CLUSTER_NATS_CREDS_FILE`). No default. */
  readonly credsFile?: string;
  /**
   * TLS to NATS: given (even `{}`), TLS is required. `caFile`: PEM CA bundle the server's
   * certificate must chain to (default: the system CAs); `certFile` + `keyFile`: a client
   * certificate, for servers that verify clients (`--tlsverify`). Read once
   * (`GEN_CLUSTER_NATS_CA_FILE`, `_CERT_FILE`, `_KEY_FILE`). Default: TLS only for `tls://` servers,
   * or when the server requires it.
   */
  readonly tls?: {
    readonly caFile?: string;
    readonly certFile?: string;
    readonly keyFile?: string;
  };
  /** First token(s) of every subject gen-cluster uses (`<prefix>.<namespace>...`). Default `'gc'`. */
  readonly subjectPrefix?: string;
  /** Wait between two connection attempts (and before retrying the same server). Default 1000 ms. */
  readonly reconnectTimeWaitMs?: number;
  /**
   * Client-to-server pings: a connection whose server leaves 2 pings unanswered is dropped and
   * replaced (another server of the list first), so a silent server is noticed within 2-3
   * intervals (10-15 s by default); a server that dies or closes the connection is noticed at
   * once. Default 5000 ms.
   */
  readonly pingIntervalMs?: number;
  /**
   * How long start-up waits for the first connection before going on cut off (connecting in the
   * background; the cluster reports it is cut off until connected). Default 2000 ms; 0 does not wait.
   */
  readonly firstConnectWaitMs?: number;
  /** Deadline of one connection attempt to one server (TCP, TLS and NATS handshake). Default 5000 ms. */
  readonly connectTimeoutMs?: number;
}

/** Defaults of {@link NatsConnectionOptions}. */
export const NATS_CONNECTION_DEFAULTS = Object.freeze({
  subjectPrefix: 'gc',
  reconnectTimeWaitMs: 1_000,
  pingIntervalMs: 5_000,
  firstConnectWaitMs: 2_000,
  connectTimeoutMs: 5_000,
  /** Pings without an answer after which the connection is dropped. */
  maxPingOut: 2,
  /** The server's max_payload assumed before it is known (nats-server's default). */
  maxPayload: 1024 * 1024,
  /** The longest `close()` waits for the client. */
  closeTimeoutMs: 1_000,
  /** The longest `flush()` waits by default. */
  flushTimeoutMs: 5_000,
} as const);

/** The keys of {@link NatsConnectionOptions}, for the known-key lists of the dist and the discovery. */
export const NATS_CONNECTION_OPTION_KEYS = [
  'servers',
  'user',
  'password',
  'passwordFile',
  'token',
  'tokenFile',
  'nkeySeedFile',
  'credsFile',
  'tls',
  'subjectPrefix',
  'reconnectTimeWaitMs',
  'pingIntervalMs',
  'firstConnectWaitMs',
  'connectTimeoutMs',
] as const;

/** How the connection authenticates. */
export type NatsAuthMethod = 'none' | 'password' | 'token' | 'nkey' | 'creds';

/**
 * The credentials and TLS material read from the options. Opaque: it shows as `[hidden]` when
 * logged, inspected or serialised.
 */
export class NatsSecrets {
  readonly #password: string | undefined;
  readonly #token: string | undefined;
  readonly #seed: string | undefined;
  readonly #creds: string | undefined;
  readonly #tls: { ca?: string; cert?: string; key?: string };

  /** @internal */
  constructor(s: {
    password?: string;
    token?: string;
    seed?: string;
    creds?: string;
    tls: { ca?: string; cert?: string; key?: string };
  }) {
    this.#password = s.password;
    this.#token = s.token;
    this.#seed = s.seed;
    this.#creds = s.creds;
    this.#tls = s.tls;
  }

  /** @internal */
  reveal(): {
    readonly password: string | undefined;
    readonly token: string | undefined;
    readonly seed: string | undefined;
    readonly creds: string | undefined;
    readonly tls: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  } {
    return {
      password: this.#password,
      token: this.#token,
      seed: this.#seed,
      creds: this.#creds,
      tls: this.#tls,
    };
  }

  toJSON(): string {
    return '[hidden]';
  }

  [inspect.custom](): string {
    return 'NatsSecrets [hidden]';
  }
}

/** The connection options in force: checked, defaults filled in, files read. */
export interface ResolvedNatsConnection {
  /** The servers, checked, duplicates dropped. */
  readonly servers: readonly NatsServerAddress[];
  readonly auth: NatsAuthMethod;
  /** The user name, for `auth: 'password'`. */
  readonly user: string | undefined;
  /** Whether TLS is required (a `tls` option or a `tls://` server). */
  readonly tls: boolean;
  /** The files read, by option (for messages), e.g. `{ passwordFile: '/run/secrets/nats' }`. */
  readonly files: Readonly<Record<string, string>>;
  readonly subjectPrefix: string;
  readonly reconnectTimeWaitMs: number;
  readonly pingIntervalMs: number;
  readonly firstConnectWaitMs: number;
  readonly connectTimeoutMs: number;
  /** The option names' prefix in messages, e.g. `dist (nats)`. */
  readonly optionPrefix: string;
  /** Credentials and TLS material; never shown. */
  readonly secrets: NatsSecrets;
}

const ACCEPTS = NatsConnectionMessages.accepts;
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;
/** No whitespace and no control character (\s covers neither all controls nor DEL). */
const USER = /^[^\s\p{Cc}]+$/u;
const SEED = /^SU[A-Z2-7]{56}$/;

/**
 * Checks the connection options, fills in defaults and reads the credential and TLS files (once).
 * Keys that are not connection options are ignored (the dist and the discovery check their own).
 * @param optionPrefix how messages name the options, e.g. `dist (nats)` gives `dist (nats).servers`
 * @throws InvalidConfigError naming the option, the value (never a credential) and what is accepted.
 */
export function resolveNatsConnectionOptions(
  options: NatsConnectionOptions,
  optionPrefix = 'nats',
): ResolvedNatsConnection {
  const name = (key: string) => `${optionPrefix}.${key}`;
  if (!isPlainObject(options)) throw invalidOption(optionPrefix, options, ACCEPTS.options);
  const o = options as unknown as Record<string, unknown>;
  const d = NATS_CONNECTION_DEFAULTS;

  const servers = parseNatsServers(name('servers'), o.servers);

  const files: Record<string, string> = {};
  const file = (key: string, value: unknown): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '' || value.includes('\0'))
      throw invalidOption(name(key), value, ACCEPTS.file);
    files[key] = value;
    return value;
  };
  const secretText = (key: string, value: unknown, accepted: string): string | undefined => {
    if (value === undefined) return undefined;
    // the value is not shown: it may be a real secret of the wrong type
    if (typeof value !== 'string' || value === '')
      throw invalidOption(name(key), '(hidden)', accepted);
    return value;
  };

  const user = o.user;
  if (user !== undefined && (typeof user !== 'string' || !USER.test(user)))
    throw invalidOption(name('user'), user, ACCEPTS.user);
  let password = secretText('password', o.password, ACCEPTS.password);
  const passwordFile = file('passwordFile', o.passwordFile);
  let token = secretText('token', o.token, ACCEPTS.token);
  const tokenFile = file('tokenFile', o.tokenFile);
  const seedFile = file('nkeySeedFile', o.nkeySeedFile);
  const credsFile = file('credsFile', o.credsFile);

  if (password !== undefined && passwordFile !== undefined)
    throw new InvalidConfigError(
      NatsConnectionMessages.both(name('password'), 'password', 'passwordFile'),
      { option: name('password') },
    );
  if (token !== undefined && tokenFile !== undefined)
    throw new InvalidConfigError(NatsConnectionMessages.both(name('token'), 'token', 'tokenFile'), {
      option: name('token'),
    });
  const hasPassword = password !== undefined || passwordFile !== undefined;
  if (hasPassword && user === undefined)
    throw new InvalidConfigError(NatsConnectionMessages.passwordWithoutUser(name('user')), {
      option: name('user'),
    });
  if (user !== undefined && !hasPassword)
    throw new InvalidConfigError(NatsConnectionMessages.userWithoutPassword(name('password')), {
      option: name('password'),
    });
  const methods = [
    hasPassword ? 'user and password' : undefined,
    token !== undefined || tokenFile !== undefined ? 'token' : undefined,
    seedFile !== undefined ? 'nkeySeedFile' : undefined,
    credsFile !== undefined ? 'credsFile' : undefined,
  ].filter((m): m is string => m !== undefined);
  if (methods.length > 1)
    throw new InvalidConfigError(NatsConnectionMessages.severalMethods(optionPrefix, methods), {
      option: optionPrefix,
    });

  // TLS paths are checked before any file is read, so a wrong shape fails first.
  const tlsOption = o.tls;
  if (tlsOption !== undefined && !isPlainObject(tlsOption))
    throw invalidOption(name('tls'), tlsOption, ACCEPTS.tls);
  const tlsKeys = ['caFile', 'certFile', 'keyFile'];
  for (const key of Object.keys(tlsOption ?? {}))
    if (!tlsKeys.includes(key))
      throw invalidOption(
        name(`tls.${key}`),
        tlsOption![key],
        `no such option; known: ${tlsKeys.join(', ')}`,
      );
  const tlsFile = (key: string) => {
    const value = tlsOption?.[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '' || value.includes('\0'))
      throw invalidOption(name(`tls.${key}`), value, ACCEPTS.file);
    files[`tls.${key}`] = value;
    return value;
  };
  const caFile = tlsFile('caFile');
  const certFile = tlsFile('certFile');
  const keyFile = tlsFile('keyFile');
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new InvalidConfigError(
      NatsConnectionMessages.certWithoutKey(
        name(certFile === undefined ? 'tls.certFile' : 'tls.keyFile'),
      ),
      { option: name(certFile === undefined ? 'tls.certFile' : 'tls.keyFile') },
    );

  const subjectPrefix = o.subjectPrefix ?? d.subjectPrefix;
  if (
    typeof subjectPrefix !== 'string' ||
    subjectPrefix.length > 64 ||
    !SUBJECT_PREFIX.test(subjectPrefix)
  )
    throw invalidOption(name('subjectPrefix'), o.subjectPrefix, ACCEPTS.subjectPrefix);
  const reconnectTimeWaitMs = o.reconnectTimeWaitMs ?? d.reconnectTimeWaitMs;
  checkMilliseconds(name('reconnectTimeWaitMs'), reconnectTimeWaitMs, { min: 10 });
  const pingIntervalMs = o.pingIntervalMs ?? d.pingIntervalMs;
  checkMilliseconds(name('pingIntervalMs'), pingIntervalMs, { min: 100 });
  const firstConnectWaitMs = o.firstConnectWaitMs ?? d.firstConnectWaitMs;
  checkMilliseconds(name('firstConnectWaitMs'), firstConnectWaitMs, { min: 0 });
  const connectTimeoutMs = o.connectTimeoutMs ?? d.connectTimeoutMs;
  checkMilliseconds(name('connectTimeoutMs'), connectTimeoutMs, { min: 100 });

  // Files are read last, once every value is known good.
  const read = (key: string, path: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? toError(error).message;
      throw new InvalidConfigError(
        NatsConnectionMessages.unreadableFile(name(key), key.replace(/^tls\./, ''), path, code),
        { option: name(key), cause: error },
      );
    }
  };
  const readSecret = (key: string, path: string): string => {
    const text = read(key, path).replace(/\r?\n$/, '');
    if (text === '')
      throw new InvalidConfigError(NatsConnectionMessages.emptyFile(name(key), path), {
        option: name(key),
      });
    return text;
  };
  if (passwordFile !== undefined) password = readSecret('passwordFile', passwordFile);
  if (tokenFile !== undefined) token = readSecret('tokenFile', tokenFile);
  let seed: string | undefined;
  if (seedFile !== undefined) {
    seed = readSecret('nkeySeedFile', seedFile).trim();
    if (!SEED.test(seed))
      throw new InvalidConfigError(NatsConnectionMessages.notSeed(name('nkeySeedFile'), seedFile), {
        option: name('nkeySeedFile'),
      });
  }
  let creds: string | undefined;
  if (credsFile !== undefined) {
    creds = read('credsFile', credsFile);
    if (
      !creds.includes('-----BEGIN NATS USER JWT-----') ||
      !creds.includes('-----BEGIN USER NKEY SEED-----')
    )
      throw new InvalidConfigError(NatsConnectionMessages.notCreds(name('credsFile'), credsFile), {
        option: name('credsFile'),
      });
  }
  const pem = (key: string, path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    const text = read(key, path);
    if (!text.includes('-----BEGIN '))
      throw new InvalidConfigError(NatsConnectionMessages.notPem(name(key), path), {
        option: name(key),
      });
    return text;
  };
  const tlsMaterial = {
    ca: pem('tls.caFile', caFile),
    cert: pem('tls.certFile', certFile),
    key: pem('tls.keyFile', keyFile),
  };
  if (tlsOption !== undefined) checkTlsMaterial(name('tls'), tlsMaterial);

  return Object.freeze({
    servers: Object.freeze(servers),
    auth: hasPassword
      ? 'password'
      : token !== undefined
        ? 'token'
        : seed !== undefined
          ? 'nkey'
          : creds !== undefined
            ? 'creds'
            : 'none',
    user: user as string | undefined,
    tls: tlsOption !== undefined || servers.some(s => s.scheme === 'tls'),
    files: Object.freeze(files),
    subjectPrefix,
    reconnectTimeWaitMs,
    pingIntervalMs,
    firstConnectWaitMs,
    connectTimeoutMs,
    optionPrefix,
    secrets: new NatsSecrets({ password, token, seed, creds, tls: stripUndefined(tlsMaterial) }),
  });
}

/** Builds a TLS context from the material, so a bad key or a key of another certificate fails now. */
function checkTlsMaterial(option: string, m: { ca?: string; cert?: string; key?: string }): void {
  try {
    createSecureContext(stripUndefined(m));
  } catch (error) {
    // OpenSSL's reasons name no key material ("key values mismatch", "no start line")
    throw new InvalidConfigError(
      NatsConnectionMessages.badTlsMaterial(option, toError(error).message),
      { option, cause: error },
    );
  }
}

function stripUndefined<T extends Record<string, string | undefined>>(
  value: T,
): { [K in keyof T]?: string } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: string;
  };
}
