/**
 * The environment's share of the dist's options once the layers are merged: what applies to the
 * dist the options ended with, whichever layer named it (`GEN_CLUSTER_COOKIE` reaches a NATS dist
 * written in code as it reaches the TCP one), the `GEN_CLUSTER_NATS_*` credentials, and the
 * refusal of the TCP mesh's variables with the NATS dist.
 */
import { InvalidConfigError, isPlainObject } from '../core/index.js';
import { isBuiltInOptions } from './built-in-strategies.js';
import { ConfigMessages } from './config.messages.js';
import { ENV, type EnvConfig, type EnvNatsCredentials } from './env.config.js';

/** The TCP dist's fields the environment gives, by variable. */
const TCP_FIELDS = [
  ['port', ENV.port],
  ['bind', ENV.bind],
  ['portMapperBind', ENV.portMapperBind],
  ['dnsServers', ENV.dnsServers],
  ['portMapperPort', ENV.portMapperPort],
] as const satisfies readonly [keyof EnvConfig, string][];

/** The variables that configure only the TCP mesh's listener: refused with the NATS dist. */
const TCP_LISTENER_FIELDS = ['port', 'bind', 'portMapperBind'] as const;

/**
 * The built-in dist options with the environment's fields filled in where they are left out: the
 * cookie (one setting with the cookie file: neither is filled when either is given), the TCP
 * mesh's fields for `tcp`, the NATS credentials for `nats`. A no-op where the merge already did it
 * (the same strategy in both layers); it matters when the code names another built-in dist than
 * the environment. Anything else is returned as it is.
 */
export function fillDistFromEnv(dist: unknown, env: EnvConfig): unknown {
  if (!isBuiltInOptions(dist) || (dist.strategy !== 'tcp' && dist.strategy !== 'nats')) return dist;
  const filled: Record<string, unknown> = { ...dist };
  if (filled.cookie === undefined && filled.cookieFile === undefined) {
    if (env.cookie !== undefined) filled.cookie = env.cookie;
    if (env.cookieFile !== undefined) filled.cookieFile = env.cookieFile;
  }
  if (dist.strategy === 'tcp') {
    for (const [field] of TCP_FIELDS)
      if (filled[field] === undefined && env[field] !== undefined) filled[field] = env[field];
    return filled;
  }
  return withNatsCredentials(filled, env.nats);
}

/**
 * NATS options (the dist's or the discovery's) with the `GEN_CLUSTER_NATS_*` credentials filled in
 * where the options leave them out. Authentication is one setting, as NATS takes one method: with
 * none in the options, the environment's applies (user and password file, token file, nkey seed
 * file or creds file); with a user and/or password in the options, the environment may complete
 * that pair (the user, the password file) and nothing else; with a token, an nkey seed or a creds
 * file in the options, the environment's authentication is left out. Each TLS file applies unless
 * `tls` gives that one. A copy; the input as it is without credentials in the environment.
 */
export function withNatsCredentials<T extends Record<string, unknown>>(
  options: T,
  credentials: EnvNatsCredentials | undefined,
): T {
  if (!credentials) return options;
  const found: Record<string, unknown> = { ...options };
  const given = (...keys: string[]) => keys.some(key => found[key] !== undefined);
  const { user, passwordFile, tokenFile, nkeySeedFile, credsFile } = credentials;
  const otherMethod = given('token', 'tokenFile', 'nkeySeedFile', 'credsFile');
  const passwordMethod = given('user', 'password', 'passwordFile');
  if (!otherMethod) {
    if (found.user === undefined && user !== undefined) found.user = user;
    if (!given('password', 'passwordFile') && passwordFile !== undefined)
      found.passwordFile = passwordFile;
    // with no method in the options, the environment's go through as they are (the connection
    // refuses several at once, naming them)
    if (!passwordMethod) {
      if (tokenFile !== undefined) found.tokenFile = tokenFile;
      if (nkeySeedFile !== undefined) found.nkeySeedFile = nkeySeedFile;
      if (credsFile !== undefined) found.credsFile = credsFile;
    }
  }
  const files = {
    ...(credentials.caFile !== undefined && { caFile: credentials.caFile }),
    ...(credentials.certFile !== undefined && { certFile: credentials.certFile }),
    ...(credentials.keyFile !== undefined && { keyFile: credentials.keyFile }),
  };
  // a `tls` that is no object is the connection's to refuse, naming the option
  if (Object.keys(files).length && (found.tls === undefined || isPlainObject(found.tls))) {
    const tls: Record<string, unknown> = { ...files };
    for (const [key, value] of Object.entries((found.tls ?? {}) as Record<string, unknown>))
      if (value !== undefined) tls[key] = value;
    found.tls = tls;
  }
  return found as T;
}

/**
 * Refuses `GEN_CLUSTER_PORT`, `GEN_CLUSTER_BIND` and `GEN_CLUSTER_PORTMAPPER_BIND` when the dist
 * is the NATS dist: they say where the TCP mesh listens, and the NATS dist listens nowhere, so a
 * deployment switched to NATS with them left in place is told rather than silently ignored.
 */
export function checkTcpOnlyVariables(dist: unknown, env: EnvConfig): void {
  if (!isBuiltInOptions(dist) || dist.strategy !== 'nats') return;
  for (const field of TCP_LISTENER_FIELDS) {
    if (env[field] === undefined) continue;
    const variable = TCP_FIELDS.find(([f]) => f === field)![1];
    throw new InvalidConfigError(ConfigMessages.tcpOnlyWithNats(variable), { option: variable });
  }
}

/**
 * Refuses the discoveries that cannot work beside the NATS dist: the NATS discovery (it announces
 * a TCP port for the TCP mesh, and the NATS dist listens on none: it would fail only at start,
 * with `noPort`) and `local` discovery (it asks this host's port mapper, where the NATS dist
 * registers nothing: it finds nobody), at any depth of an aggregate. `discovery` is the merged
 * option, short forms already parsed.
 */
export function checkDiscoveryWithNatsDist(dist: unknown, discovery: unknown): void {
  // the options, or an instance (the NATS dist is named "nats")
  const natsDist = isBuiltInOptions(dist)
    ? dist.strategy === 'nats'
    : typeof dist === 'object' && dist !== null && (dist as { name?: unknown }).name === 'nats';
  if (!natsDist) return;
  const refused = findStrategy(discovery, 'discovery', 0);
  if (refused === undefined) return;
  const [option, strategy] = refused;
  throw new InvalidConfigError(
    strategy === 'nats'
      ? ConfigMessages.natsDiscoveryWithNatsDist(option)
      : ConfigMessages.localDiscoveryWithNatsDist(option),
    { option },
  );
}

/** The first `nats` or `local` discovery in `value` (an aggregate's children included). */
function findStrategy(
  value: unknown,
  option: string,
  depth: number,
): [string, 'nats' | 'local'] | undefined {
  if (!isBuiltInOptions(value) || depth > 8) return undefined;
  if (value.strategy === 'nats' || value.strategy === 'local') return [option, value.strategy];
  if (value.strategy !== 'aggregate' || !Array.isArray(value.of)) return undefined;
  for (const [i, child] of (value.of as unknown[]).entries()) {
    const found = findStrategy(child, `${option}.of[${i}]`, depth + 1);
    if (found) return found;
  }
  return undefined;
}
