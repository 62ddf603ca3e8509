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
 * where the options leave them out, field by field as for etcd's variables: the user; the password
 * file unless a password or a password file is given; the token file unless a token or a token
 * file is; the nkey seed file; the creds file; each TLS file in `tls`. A copy; the input as it is
 * without credentials in the environment.
 */
export function withNatsCredentials<T extends Record<string, unknown>>(
  options: T,
  credentials: EnvNatsCredentials | undefined,
): T {
  if (!credentials) return options;
  const found: Record<string, unknown> = { ...options };
  const { user, passwordFile, tokenFile, nkeySeedFile, credsFile } = credentials;
  if (found.user === undefined && user !== undefined) found.user = user;
  if (found.password === undefined && found.passwordFile === undefined && passwordFile)
    found.passwordFile = passwordFile;
  if (found.token === undefined && found.tokenFile === undefined && tokenFile)
    found.tokenFile = tokenFile;
  if (found.nkeySeedFile === undefined && nkeySeedFile) found.nkeySeedFile = nkeySeedFile;
  if (found.credsFile === undefined && credsFile) found.credsFile = credsFile;
  const files = {
    ...(credentials.caFile !== undefined && { caFile: credentials.caFile }),
    ...(credentials.certFile !== undefined && { certFile: credentials.certFile }),
    ...(credentials.keyFile !== undefined && { keyFile: credentials.keyFile }),
  };
  // a `tls` that is no object is the connection's to refuse, naming the option
  if (Object.keys(files).length && (found.tls === undefined || isPlainObject(found.tls))) {
    const given = (found.tls ?? {}) as Record<string, unknown>;
    const tls: Record<string, unknown> = { ...files };
    for (const [key, value] of Object.entries(given)) if (value !== undefined) tls[key] = value;
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
