import { isIP } from 'node:net';
import {
  InvalidConfigError,
  canonicalHost,
  checkNamespace,
  defaultNodeName,
  isPlainObject,
  nodeKey,
} from '../core/index.js';
import { multicastInterfaceAddress } from '../discovery/index.js';
import type { ClusterOptions } from './cluster-options.js';
import { ConfigMessages } from './config.messages.js';
import { isBuiltInOptions } from './built-in-strategies.js';
import {
  checkDiscoveryWithNatsDist,
  checkTcpOnlyVariables,
  fillDistFromEnv,
  withNatsCredentials,
} from './dist-env.js';
import {
  ENV,
  type EnvConfig,
  envToOptions,
  isDiscoveryShortForm,
  parseDiscoveryEnv,
  readEnvConfig,
} from './env.config.js';

/**
 * Any options that layer like {@link ClusterOptions}: the framework-free ones, or a framework's
 * (Nest's add classes and provider tokens as strategies).
 */
export type LayeredOptions = Omit<ClusterOptions, 'discovery' | 'dist'> & {
  readonly discovery?: unknown;
  readonly dist?: unknown;
};

/** Options after the environment and the explicit options were merged, with this node's name. */
export interface ResolvedClusterOptions<T extends LayeredOptions = ClusterOptions> {
  /** The merged options; `discovery` is unset when neither the options nor the environment name one. */
  readonly options: T;
  /** This node's canonical name. */
  readonly self: string;
}

/**
 * Layers the options of one cluster: the environment (`GEN_CLUSTER_*`, unless `useEnv: false`),
 * then the explicit options, then settings that discovery and the dist must share. Throws
 * `InvalidConfigError` for a bad variable. Framework-free: the Nest module and `createCluster()`
 * both resolve their options here.
 */
export function resolveClusterOptions<T extends LayeredOptions>(
  explicit: T,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ResolvedClusterOptions<T> {
  const fromEnv = explicit.useEnv === false ? {} : readEnvConfig(env);
  const layered = mergeOptions(envToOptions(fromEnv) as unknown as T, explicit);
  const merged =
    layered.dist === undefined
      ? layered
      : { ...layered, dist: fillDistFromEnv(layered.dist, fromEnv) };
  checkTcpOnlyVariables(merged.dist, fromEnv);
  if (merged.namespace !== undefined) checkNamespace('namespace', merged.namespace);
  checkEnvQuorum(merged, fromEnv);
  const options = shareHostSettings(merged, fromEnv);
  checkDiscoveryWithNatsDist(options.dist, options.discovery);
  if (options.node) return { options, self: nodeKey(options.node) };
  return { options, self: defaultNodeName(process.pid, zeroConfigurationHost(options)) };
}

/** The loopback address a zero-configuration node listens on and is named after. */
const ZERO_CONFIGURATION_HOST = '127.0.0.1';

/**
 * The host part of the default node name of a zero-configuration node (`local` discovery of this
 * host only, the TCP dist, no node name): a loopback address, so that it listens on loopback only
 * (the dist listens on the node's host when it is an IP) and advertises an address its peers can
 * dial. The host name would not do: it may resolve to an address a loopback listener does not
 * cover (127.0.1.1 on Debian, the container's address in a container). A loopback `bind` names
 * the node after it; any other `bind` (the node listens beyond loopback) keeps the host name.
 * `undefined` (the host name) for every other configuration.
 */
function zeroConfigurationHost(options: LayeredOptions): string | undefined {
  const { discovery, dist = { strategy: 'tcp' } } = options;
  const gossip = gossipOf(discovery);
  if (gossip && isBuiltInOptions(dist) && dist.strategy === 'tcp') {
    const option = gossip.interface;
    return multicastInterfaceAddress(typeof option === 'string' ? option : undefined);
  }
  if (!isBuiltInOptions(discovery) || discovery.strategy !== 'local') return undefined;
  const hosts = discovery.hosts;
  if (Array.isArray(hosts) && hosts.some(h => typeof h !== 'string' || !isThisHost(h)))
    return undefined;
  if (!isBuiltInOptions(dist) || dist.strategy !== 'tcp') return undefined;
  const bind = dist.bind;
  if (bind === undefined) return ZERO_CONFIGURATION_HOST;
  return typeof bind === 'string' && isLoopback(bind) ? bind : undefined;
}

/**
 * The gossip options of a discovery that is gossip, or an aggregate with a gossip child (the
 * first, depth first): its peers dial this node at the address it multicasts from, so the
 * default name carries that address (`node-<pid>@<IPv4 of the multicast interface>`).
 */
function gossipOf(discovery: unknown): Record<string, unknown> | undefined {
  if (!isBuiltInOptions(discovery)) return undefined;
  if (discovery.strategy === 'gossip') return discovery;
  if (discovery.strategy !== 'aggregate' || !Array.isArray(discovery.of)) return undefined;
  for (const child of discovery.of as unknown[]) {
    const found = gossipOf(child);
    if (found) return found;
  }
  return undefined;
}

/** `localhost` as `local` discovery reads it: this host, asked on loopback. */
const isThisHost = (host: string) => canonicalHost(host.trim()) === 'localhost';

function isLoopback(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith('127.');
  return isIP(address) === 6 && canonicalHost(address) === '::1';
}

/**
 * Explicit options win over the environment field by field; built-in strategy options of the
 * same strategy merge (so `GEN_CLUSTER_PORT` still applies to an explicit `{ strategy: 'tcp', tls }`).
 */
export function mergeOptions<T extends LayeredOptions>(base: T, explicit: T): T {
  const defined = definedOnly(explicit) as T;
  const merged: Record<string, unknown> = { ...(base as object), ...(defined as object) };
  // An explicit discovery replaces the environment's whole (fields of another record type must
  // not leak in); the resolvers and port-mapper port are shared by shareHostSettings().
  const b: unknown = base.dist;
  // `{ cookie: config.get('COOKIE') }` with the key unset must not erase GEN_CLUSTER_COOKIE.
  const e: unknown = isBuiltInOptions(defined.dist) ? definedOnly(defined.dist) : defined.dist;
  if (isBuiltInOptions(b) && isBuiltInOptions(e) && b.strategy === e.strategy) {
    const dist = { ...b, ...e };
    // the cookie and the cookie file are one setting: the explicit one wins whichever form it takes
    if (e.cookie !== undefined && e.cookieFile === undefined) delete dist.cookieFile;
    if (e.cookieFile !== undefined && e.cookie === undefined) delete dist.cookie;
    merged.dist = dist;
  }
  if (base.backoff || defined.backoff)
    merged.backoff = { ...base.backoff, ...definedOnly(defined.backoff ?? {}) };
  const quorum = mergeQuorum(base.quorum, defined.quorum);
  if (quorum !== undefined) merged.quorum = quorum;
  // GEN_CLUSTER_FORMATION_STABLE_MS still applies to { minMembers: 3 } in code, and back
  const formation: unknown = defined.formation;
  if (isPlainObject(base.formation) && isPlainObject(formation))
    merged.formation = { ...base.formation, ...definedOnly(formation) };
  return merged as T;
}

/**
 * The quorum rule field by field, explicit fields first (so `GEN_CLUSTER_QUORUM_STABLE_MS` still
 * applies to `{ expectedSize: 5 }` in code). An explicit `expectedSize` comes without the
 * environment's `unsafe`, which belongs to its `discovered-unsafe` only. Anything but two objects
 * is left to the engine's check, explicit first.
 */
function mergeQuorum(base: unknown, explicit: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(explicit)) return explicit ?? base;
  const fromBase = explicit.expectedSize === undefined ? base : { stableMs: base.stableMs };
  return { ...definedOnly(fromBase), ...definedOnly(explicit) };
}

/** Refuses `GEN_CLUSTER_QUORUM_STABLE_MS` when neither layer gave the rule an expected size. */
function checkEnvQuorum(merged: LayeredOptions, env: EnvConfig): void {
  if (env.quorumStableMs === undefined) return;
  const quorum: unknown = merged.quorum;
  // a quorum that is no object at all is the engine's to refuse, naming the option
  if (quorum !== undefined && (!isPlainObject(quorum) || quorum.expectedSize !== undefined)) return;
  throw new InvalidConfigError(
    ConfigMessages.stableMsWithoutSize(ENV.quorumStableMs, ENV.expectedSize),
    { option: ENV.quorumStableMs },
  );
}

/** The namespace a strategy instance (a dist or a discovery) says it belongs to, if any. */
function namespaceOf(strategy: unknown): unknown {
  return typeof strategy === 'object' && strategy !== null
    ? (strategy as { namespace?: unknown }).namespace
    : undefined;
}

/** The fields of `value` that are not `undefined`: an unset field never overrides another layer. */
function definedOnly(value: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

/** The built-in discoveries that take the cluster's namespace as their `namespace` option. */
const NAMESPACED = new Set(['local', 'gossip', 'hosts', 'etcd', 'nats']);

/**
 * Settings that discovery and the dist must agree on, whichever side they were given to: the DNS
 * resolvers (DNS discovery asks them, the TCP dist resolves peer host names with them), the port
 * mapper's port (local and hosts discovery ask it, the TCP dist registers with it) and the
 * namespace. The environment fills what neither says. An aggregate's children get the same,
 * each of them; a short form written in code becomes its options here, so all of this applies
 * to it as to the object form. The NATS dist takes the namespace as the TCP one does.
 */
function shareHostSettings<T extends LayeredOptions>(options: T, env: EnvConfig): T {
  const dist: unknown = options.dist ?? { strategy: 'tcp' };
  const builtIn =
    isBuiltInOptions(dist) && (dist.strategy === 'tcp' || dist.strategy === 'nats')
      ? { ...dist }
      : undefined;
  const tcp = builtIn?.strategy === 'tcp' ? builtIn : undefined;
  const shared: Shared = {
    tcp,
    env,
    given: [
      ['namespace', options.namespace],
      ['dist.namespace', builtIn ? builtIn.namespace : namespaceOf(dist)],
    ],
    namespaced: [],
  };
  const discovery = shareWithDiscovery(options.discovery, 'discovery', shared, 1);
  // The namespace is the cluster's: the TCP handshake, the local port mapper, gossip and etcd all
  // enforce it, so all get the same one, whichever place it was given in; two are refused.
  const given = shared.given.filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  const namespace = given[0]?.[1];
  for (const [option, value] of given) {
    if (value !== namespace)
      throw new InvalidConfigError(ConfigMessages.namespaceConflict(given), { option });
  }
  if (namespace !== undefined) {
    if (builtIn) builtIn.namespace = namespace;
    for (const found of shared.namespaced) found.namespace = namespace;
  }
  return {
    ...options,
    ...(discovery !== options.discovery ? { discovery } : {}),
    ...(builtIn ? { dist: builtIn } : {}),
  };
}

/** What {@link shareWithDiscovery} shares, and collects on its way down an aggregate. */
interface Shared {
  readonly tcp: Record<string, unknown> | undefined;
  readonly env: EnvConfig;
  /** Each place a namespace was given in: `[option, value]`. */
  readonly given: [string, unknown][];
  /** The discovery options that take the namespace. */
  readonly namespaced: Record<string, unknown>[];
}

/** Past this depth, aggregates are left for the factory to refuse (it names the limit). */
const MAX_SHARE_DEPTH = 8;

/** One discovery option with the shared settings filled in (a copy); other values as they are. */
function shareWithDiscovery(
  value: unknown,
  option: string,
  shared: Shared,
  depth: number,
): unknown {
  const parsed =
    typeof value === 'string' && isDiscoveryShortForm(value)
      ? parseDiscoveryEnv(value, option)
      : value;
  if (!isBuiltInOptions(parsed)) {
    // an instance keeps the namespace it was built with: one that differs is refused, as the dist's
    shared.given.push([`${option}.namespace`, namespaceOf(parsed)]);
    return parsed;
  }
  const { tcp, env } = shared;
  const found: Record<string, unknown> & { strategy: string } = { ...parsed };
  switch (found.strategy) {
    case 'dns': {
      const servers = (found.servers ?? tcp?.dnsServers ?? env.dnsServers) as
        readonly { host: string; port?: number }[] | undefined;
      if (servers) {
        found.servers = servers;
        if (tcp && tcp.dnsServers === undefined)
          tcp.dnsServers = servers.map(s => ({ host: s.host, port: s.port ?? 53 }));
      }
      break;
    }
    case 'local':
    case 'hosts': {
      const port = found.portMapperPort ?? tcp?.portMapperPort ?? env.portMapperPort;
      if (port !== undefined) {
        found.portMapperPort = port;
        if (tcp && tcp.portMapperPort === undefined) tcp.portMapperPort = port;
      }
      break;
    }
    case 'etcd':
      // credentials never travel in URLs: the environment names the user and a password file
      if (found.username === undefined && env.etcdUsername !== undefined)
        found.username = env.etcdUsername;
      if (
        found.password === undefined &&
        found.passwordFile === undefined &&
        env.etcdPasswordFile !== undefined
      )
        found.passwordFile = env.etcdPasswordFile;
      break;
    case 'nats':
      // as etcd's: credentials never travel in URLs; the environment names the user and files
      Object.assign(found, withNatsCredentials(found, env.nats));
      break;
    case 'aggregate':
      if (Array.isArray(found.of) && depth < MAX_SHARE_DEPTH)
        found.of = (found.of as unknown[]).map((child, i) =>
          shareWithDiscovery(child, `${option}.of[${i}]`, shared, depth + 1),
        );
      break;
  }
  if (NAMESPACED.has(found.strategy)) {
    shared.given.push([`${option}.namespace`, found.namespace]);
    shared.namespaced.push(found);
  }
  return found;
}
