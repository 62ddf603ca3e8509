/**
 * The environment's NATS variables: `GEN_CLUSTER_DIST` (`tcp` or NATS servers), the server lists
 * of `GEN_CLUSTER_DIST` and of the `nats://` discovery short form (read by the NATS connection's
 * own parser, so options and variables take the same forms), and the `GEN_CLUSTER_NATS_*`
 * credentials. No credentials in URLs: they would show in process listings and logs; a value
 * holding `@` is refused without being quoted.
 */
import { InvalidConfigError } from '../core/index.js';
import { parseNatsServers } from '../nats/index.js';
import { ConfigMessages } from './config.messages.js';

/** The dist's variable and the NATS credentials' variables, by field. */
export const NATS_ENV = {
  dist: 'GEN_CLUSTER_DIST',
  natsUser: 'GEN_CLUSTER_NATS_USER',
  natsPasswordFile: 'GEN_CLUSTER_NATS_PASSWORD_FILE',
  natsTokenFile: 'GEN_CLUSTER_NATS_TOKEN_FILE',
  natsNkeySeedFile: 'GEN_CLUSTER_NATS_NKEY_SEED_FILE',
  natsCredsFile: 'GEN_CLUSTER_NATS_CREDS_FILE',
  natsCaFile: 'GEN_CLUSTER_NATS_CA_FILE',
  natsCertFile: 'GEN_CLUSTER_NATS_CERT_FILE',
  natsKeyFile: 'GEN_CLUSTER_NATS_KEY_FILE',
} as const;

/** The dist `GEN_CLUSTER_DIST` names: the TCP mesh, or the NATS dist on these servers. */
export type EnvDist =
  { readonly strategy: 'tcp' } | { readonly strategy: 'nats'; readonly servers: readonly string[] };

/**
 * The NATS credentials and TLS files of the environment (`GEN_CLUSTER_NATS_*`), as the options of
 * the NATS dist and the NATS discovery name them: a user, and paths to the secrets (never the
 * secrets themselves, which would show in process listings).
 */
export interface EnvNatsCredentials {
  readonly user?: string;
  readonly passwordFile?: string;
  readonly tokenFile?: string;
  readonly nkeySeedFile?: string;
  readonly credsFile?: string;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** Each field of {@link EnvNatsCredentials} and its variable. */
const NATS_CREDENTIAL_VARIABLES: readonly [keyof EnvNatsCredentials, string][] = [
  ['user', NATS_ENV.natsUser],
  ['passwordFile', NATS_ENV.natsPasswordFile],
  ['tokenFile', NATS_ENV.natsTokenFile],
  ['nkeySeedFile', NATS_ENV.natsNkeySeedFile],
  ['credsFile', NATS_ENV.natsCredsFile],
  ['caFile', NATS_ENV.natsCaFile],
  ['certFile', NATS_ENV.natsCertFile],
  ['keyFile', NATS_ENV.natsKeyFile],
];

/** The `GEN_CLUSTER_NATS_*` credentials that are set (`get` trims and drops empty values). */
export function readNatsCredentials(
  get: (name: string) => string | undefined,
): EnvNatsCredentials | undefined {
  const nats: { -readonly [K in keyof EnvNatsCredentials]: string } = {};
  for (const [field, variable] of NATS_CREDENTIAL_VARIABLES) {
    const value = get(variable);
    if (value !== undefined) nats[field] = value;
  }
  return Object.keys(nats).length ? nats : undefined;
}

/** Whether `value` starts like a NATS server URL (`nats://` or `tls://`, any case). */
export function isNatsUrlList(value: string): boolean {
  return /^\s*(nats|tls):\/\//i.test(value);
}

/**
 * Parses `GEN_CLUSTER_DIST`: `tcp` (the TCP mesh, the default), or one or more NATS servers,
 * comma-separated, the first with its scheme (`nats://10.0.0.1:4222,10.0.0.2:4222`, `tls://` for
 * TLS) for the NATS dist. URL credentials are refused, never quoted.
 */
export function parseDistEnv(value: string, variable: string = NATS_ENV.dist): EnvDist {
  const text = value.trim();
  if (text.toLowerCase() === 'tcp') return { strategy: 'tcp' };
  if (text.includes('@')) throw credentialsRefused(variable);
  const accepted = ConfigMessages.natsForms('dist');
  if (!isNatsUrlList(text)) throw badEnv(variable, text, accepted);
  return { strategy: 'nats', servers: natsServerUrls(text, variable, accepted) };
}

/**
 * The server URLs of a list of NATS servers given in a variable (`GEN_CLUSTER_DIST`, the
 * `nats://` discovery short form), each `scheme://host:port`, through the NATS connection's parser
 * (a server without a scheme takes the first one's). Refuses, naming `variable`: a value holding
 * `@` (credentials), never quoted; any other bad value quoted, with `accepted`.
 */
export function natsServerUrls(value: string, variable: string, accepted: string): string[] {
  if (value.includes('@')) throw credentialsRefused(variable);
  // blanks around the entries and a trailing comma are forgiven, as in the other variables' lists
  const entries = value
    .split(',')
    .map(entry => entry.trim())
    .filter(Boolean)
    .join(',');
  try {
    return parseNatsServers(variable, entries).map(server => server.url);
  } catch (error) {
    if (error instanceof InvalidConfigError) throw badEnv(variable, value, accepted);
    throw error;
  }
}

/** The refusal of credentials in a NATS URL: the value is not shown. */
export function credentialsRefused(variable: string): InvalidConfigError {
  return new InvalidConfigError(ConfigMessages.natsCredentialsRefused(variable), {
    option: variable,
  });
}

const badEnv = (variable: string, value: string, accepted: string) =>
  new InvalidConfigError(ConfigMessages.badEnv(variable, value, accepted), { option: variable });
