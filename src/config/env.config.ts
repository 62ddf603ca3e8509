import { isIP } from 'node:net';
import {
  InvalidConfigError,
  MAX_INT32,
  MAX_TIMER_MS,
  NAMESPACE_FORMS,
  type RemovalPolicy,
  isClusterNamespace,
  nodeKey,
  parseNodeName,
} from '../core/index.js';
import {
  CLUSTER_LOG_LEVELS,
  type ClusterLogFormat,
  type ClusterLogLevel,
  type ClusterOptions,
} from './cluster-options.js';
import { ConfigMessages } from './config.messages.js';
import {
  type EnvDist,
  type EnvNatsCredentials,
  NATS_ENV,
  parseDistEnv,
  readNatsCredentials,
} from './nats-env.js';
import {
  DISCOVERY_FORMS,
  badValue as bad,
  isDiscoveryShortForm,
  parseDiscoveryShortForm,
} from './discovery-short-form.js';

/** The variables of the environment contract, by name. */
export const ENV = {
  node: 'GEN_CLUSTER_NODE',
  port: 'GEN_CLUSTER_PORT',
  cookie: 'GEN_CLUSTER_COOKIE',
  cookieFile: 'GEN_CLUSTER_COOKIE_FILE',
  discovery: 'GEN_CLUSTER_DISCOVERY',
  refreshInterval: 'GEN_CLUSTER_REFRESH_INTERVAL_MS',
  removalPolicy: 'GEN_CLUSTER_REMOVAL_POLICY',
  dnsServers: 'GEN_CLUSTER_DNS_SERVERS',
  portMapperPort: 'GEN_CLUSTER_PORTMAPPER_PORT',
  portMapperBind: 'GEN_CLUSTER_PORTMAPPER_BIND',
  bind: 'GEN_CLUSTER_BIND',
  namespace: 'GEN_CLUSTER_NAMESPACE',
  logLevel: 'GEN_CLUSTER_LOG_LEVEL',
  logFormat: 'GEN_CLUSTER_LOG_FORMAT',
  drainTimeout: 'GEN_CLUSTER_DRAIN_TIMEOUT_MS',
  minMembers: 'GEN_CLUSTER_MIN_MEMBERS',
  expectedSize: 'GEN_CLUSTER_EXPECTED_SIZE',
  quorumStableMs: 'GEN_CLUSTER_QUORUM_STABLE_MS',
  formationStableMs: 'GEN_CLUSTER_FORMATION_STABLE_MS',
  etcdUsername: 'GEN_CLUSTER_ETCD_USERNAME',
  etcdPasswordFile: 'GEN_CLUSTER_ETCD_PASSWORD_FILE',
  ...NATS_ENV,
} as const;

export { type EnvDist, type EnvNatsCredentials, parseDistEnv };

/** The `GEN_CLUSTER_EXPECTED_SIZE` value that derives the size from discovery (unsafe). */
export const DISCOVERED_UNSAFE = 'discovered-unsafe';

/** A resolver address from `GEN_CLUSTER_DNS_SERVERS`. */
export interface DnsServer {
  readonly host: string;
  readonly port: number;
}

/** What the environment says, parsed and checked. Absent variables are absent fields. */
export interface EnvConfig {
  readonly node?: string;
  readonly port?: number;
  readonly cookie?: string;
  readonly cookieFile?: string;
  readonly discovery?: Readonly<Record<string, unknown>> & { readonly strategy: string };
  readonly refreshIntervalMs?: number | 'infinity';
  readonly removalPolicy?: RemovalPolicy;
  readonly dnsServers?: readonly DnsServer[];
  readonly portMapperPort?: number;
  readonly portMapperBind?: string;
  readonly bind?: string;
  readonly namespace?: string;
  readonly logLevel?: ClusterLogLevel;
  readonly logFormat?: ClusterLogFormat;
  /** The bound of the Nest module's drain before leaving (its `drain.timeoutMs`). */
  readonly drainTimeoutMs?: number;
  /** Peers readiness needs connected (`ClusterService.health()`'s default `minMembers`). */
  readonly minMembers?: number;
  /**
   * The quorum rule's `expectedSize`: the whole cluster's size, this node included, or
   * `'discovered'` (`GEN_CLUSTER_EXPECTED_SIZE=discovered-unsafe`).
   */
  readonly expectedSize?: number | 'discovered';
  /** The quorum rule's `stableMs`. */
  readonly quorumStableMs?: number;
  /**
   * The formation gate's `stableMarginMs`; when set, the cluster has a `formation` option (its
   * `minMembers` from `GEN_CLUSTER_MIN_MEMBERS`, else 0).
   */
  readonly formationStableMs?: number;
  /** The user etcd discovery authenticates as (its `username`, when it has none). */
  readonly etcdUsername?: string;
  /** The file holding that user's password (etcd discovery's `passwordFile`, when it has none). */
  readonly etcdPasswordFile?: string;
  /** The dist (`GEN_CLUSTER_DIST`): `tcp`, or NATS server URLs. */
  readonly dist?: EnvDist;
  /**
   * The `GEN_CLUSTER_NATS_*` credentials, applied to the NATS dist and the NATS discovery where
   * their options leave them out.
   */
  readonly nats?: EnvNatsCredentials;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The values of `GEN_CLUSTER_REMOVAL_POLICY`, as the `removalPolicy` option takes them. */
const REMOVAL_POLICIES: readonly RemovalPolicy[] = ['keep', 'disconnect'];

/**
 * Reads the `GEN_CLUSTER_*` variables. A bad value throws {@link InvalidConfigError} naming the
 * variable, the value and the accepted forms, so a misconfigured node fails at bootstrap.
 */
export function readEnvConfig(env: Env = process.env): EnvConfig {
  const get = (name: string) => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const config: { -readonly [K in keyof EnvConfig]: EnvConfig[K] } = {};

  const node = get(ENV.node);
  if (node !== undefined) {
    try {
      const parsed = parseNodeName(node);
      if (parsed.port !== undefined) throw new InvalidConfigError(ConfigMessages.portInNodeName());
      config.node = nodeKey(node);
    } catch (error) {
      throw bad(ENV.node, node, '"name@host", e.g. "app@10.0.0.5" or "app@${POD_IP}"', error);
    }
  }
  const port = get(ENV.port);
  if (port !== undefined) config.port = portValue(ENV.port, port, 0);
  const cookie = env[ENV.cookie];
  if (cookie !== undefined && cookie !== '') config.cookie = cookie;
  const cookieFile = get(ENV.cookieFile);
  if (cookieFile !== undefined) config.cookieFile = cookieFile;
  const discovery = get(ENV.discovery);
  if (discovery !== undefined) config.discovery = parseDiscoveryEnv(discovery);
  const interval = get(ENV.refreshInterval);
  if (interval !== undefined) {
    if (interval.toLowerCase() === 'infinity') config.refreshIntervalMs = 'infinity';
    else if (/^\d+$/.test(interval) && Number(interval) > 0 && Number(interval) <= MAX_TIMER_MS)
      config.refreshIntervalMs = Number(interval);
    else
      throw bad(
        ENV.refreshInterval,
        interval,
        `a positive integer of milliseconds up to ${MAX_TIMER_MS}, or "infinity"`,
      );
  }
  const removalPolicy = get(ENV.removalPolicy);
  if (removalPolicy !== undefined) {
    if (!(REMOVAL_POLICIES as readonly string[]).includes(removalPolicy))
      throw bad(ENV.removalPolicy, removalPolicy, REMOVAL_POLICIES.map(p => `"${p}"`).join(' or '));
    config.removalPolicy = removalPolicy as RemovalPolicy;
  }
  const servers = get(ENV.dnsServers);
  if (servers !== undefined) config.dnsServers = parseDnsServers(servers);
  const mapper = get(ENV.portMapperPort);
  if (mapper !== undefined) config.portMapperPort = portValue(ENV.portMapperPort, mapper, 1);
  const bind = get(ENV.bind);
  if (bind !== undefined) config.bind = ipValue(ENV.bind, bind);
  const mapperBind = get(ENV.portMapperBind);
  if (mapperBind !== undefined) config.portMapperBind = ipValue(ENV.portMapperBind, mapperBind);
  const namespace = get(ENV.namespace);
  if (namespace !== undefined) {
    if (!isClusterNamespace(namespace)) throw bad(ENV.namespace, namespace, NAMESPACE_FORMS);
    config.namespace = namespace;
  }
  const logLevel = get(ENV.logLevel);
  if (logLevel !== undefined) {
    if (!(CLUSTER_LOG_LEVELS as readonly string[]).includes(logLevel))
      throw bad(ENV.logLevel, logLevel, CLUSTER_LOG_LEVELS.map(l => `"${l}"`).join(', '));
    config.logLevel = logLevel as ClusterLogLevel;
  }
  const logFormat = get(ENV.logFormat);
  if (logFormat !== undefined) {
    if (logFormat !== 'text' && logFormat !== 'json')
      throw bad(ENV.logFormat, logFormat, '"text" or "json"');
    config.logFormat = logFormat;
  }
  const drain = get(ENV.drainTimeout);
  if (drain !== undefined) {
    if (!/^\d+$/.test(drain) || Number(drain) < 1 || Number(drain) > MAX_TIMER_MS)
      throw bad(
        ENV.drainTimeout,
        drain,
        `a positive integer of milliseconds up to ${MAX_TIMER_MS}`,
      );
    config.drainTimeoutMs = Number(drain);
  }
  const minMembers = get(ENV.minMembers);
  if (minMembers !== undefined) {
    if (!/^\d+$/.test(minMembers) || Number(minMembers) > MAX_INT32)
      throw bad(ENV.minMembers, minMembers, `an integer from 0 to ${MAX_INT32}`);
    config.minMembers = Number(minMembers);
  }
  const expectedSize = get(ENV.expectedSize);
  if (expectedSize !== undefined) {
    if (expectedSize === DISCOVERED_UNSAFE) config.expectedSize = 'discovered';
    else if (
      /^\d+$/.test(expectedSize) &&
      Number(expectedSize) >= 1 &&
      Number(expectedSize) <= MAX_INT32
    )
      config.expectedSize = Number(expectedSize);
    else throw bad(ENV.expectedSize, expectedSize, ConfigMessages.expectedSizeForms(MAX_INT32));
  }
  const stable = get(ENV.quorumStableMs);
  if (stable !== undefined) {
    if (!/^\d+$/.test(stable) || Number(stable) > MAX_TIMER_MS)
      throw bad(ENV.quorumStableMs, stable, `an integer of milliseconds from 0 to ${MAX_TIMER_MS}`);
    config.quorumStableMs = Number(stable);
  }
  const formation = get(ENV.formationStableMs);
  if (formation !== undefined) {
    if (!/^\d+$/.test(formation) || Number(formation) > MAX_TIMER_MS)
      throw bad(
        ENV.formationStableMs,
        formation,
        `an integer of milliseconds from 0 to ${MAX_TIMER_MS}`,
      );
    config.formationStableMs = Number(formation);
  }
  const etcdUsername = get(ENV.etcdUsername);
  if (etcdUsername !== undefined) config.etcdUsername = etcdUsername;
  const etcdPasswordFile = get(ENV.etcdPasswordFile);
  if (etcdPasswordFile !== undefined) config.etcdPasswordFile = etcdPasswordFile;
  const dist = get(ENV.dist);
  if (dist !== undefined) config.dist = parseDistEnv(dist);
  const nats = readNatsCredentials(get);
  if (nats) config.nats = nats;
  return config;
}

/**
 * Parses `GEN_CLUSTER_DISCOVERY`: JSON options (`{"strategy":"dns","domain":"svc.ns"}`) or a
 * short form (see {@link parseDiscoveryShortForm}): `static:a@h1,b@h2:4000`, `dns:svc.ns`,
 * `dns+srv:_dist._tcp.svc.ns`, `local`, `local:host1,host2`, `kubernetes:service`, `gossip`,
 * `gossip:239.255.43.69:45892`, `hosts:/path`, `etcd:http://h:2379/prefix`,
 * `nats://h:4222[,h2:4222]`, and `a|b` aggregates.
 */
export function parseDiscoveryEnv(
  value: string,
  variable: string = ENV.discovery,
): Readonly<Record<string, unknown>> & { readonly strategy: string } {
  if (value.trimStart().startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      // JSON.parse's message quotes a piece of the text, which may be a password: give a position
      throw new InvalidConfigError(
        ConfigMessages.badJson(variable, jsonErrorPosition(error, value), DISCOVERY_FORMS),
        { option: variable },
      );
    }
    if (
      typeof parsed !== 'object' ||
      parsed === null ||
      typeof (parsed as { strategy?: unknown }).strategy !== 'string'
    ) {
      throw bad(
        variable,
        JSON.stringify(parsed, hideSecrets),
        `${DISCOVERY_FORMS} (the JSON needs a "strategy" string)`,
      );
    }
    return parsed as Record<string, unknown> & { strategy: string };
  }
  return parseDiscoveryShortForm(value, variable);
}

export { isDiscoveryShortForm };

/** Fields whose value a refusal never quotes, at any depth of a JSON value. */
const SECRET_FIELDS = /password|secret|token|cookie|passphrase|credential/i;

/** A `JSON.stringify` replacer that hides the values of {@link SECRET_FIELDS}. */
function hideSecrets(key: string, value: unknown): unknown {
  return key !== '' && SECRET_FIELDS.test(key) ? '(hidden)' : value;
}

/** Where `JSON.parse` stopped in `text`, when its message says (V8 gives a position or "end"). */
function jsonErrorPosition(error: unknown, text: string): number | undefined {
  const message = error instanceof Error ? error.message : '';
  const at = /position (\d+)/.exec(message);
  if (at) return Number(at[1]);
  return /end of JSON input/.test(message) ? text.length : undefined;
}

/** Parses `ip[:port]` entries, IPv6 in brackets when a port follows (`[::1]:5353`). */
export function parseDnsServers(value: string): DnsServer[] {
  return value
    .split(',')
    .map(s => s.trim())
    .filter(Boolean)
    .map(entry => {
      const accepted = '"ip" or "ip:port", comma-separated; IPv6 as "::1" or "[::1]:5353"';
      let host = entry;
      let port = 53;
      const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
      if (bracket) {
        host = bracket[1]!;
        if (bracket[2] !== undefined) port = portValue(ENV.dnsServers, bracket[2], 1);
      } else if (entry.split(':').length === 2) {
        const [h, p] = entry.split(':') as [string, string];
        host = h;
        port = portValue(ENV.dnsServers, p, 1);
      }
      if (isIP(host) === 0) throw bad(ENV.dnsServers, value, accepted);
      return { host, port };
    });
}

/** An IP address to listen on, or a configuration error naming `variable`. */
function ipValue(variable: string, text: string): string {
  if (isIP(text) === 0)
    throw bad(variable, text, 'an IPv4 or IPv6 address, e.g. "0.0.0.0", "::" or "10.0.0.5"');
  return text;
}

function portValue(variable: string, text: string, min: 0 | 1): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > 65535) {
    throw bad(
      variable,
      text,
      `an integer from ${min} to 65535${min === 0 ? ' (0 for an ephemeral port)' : ''}`,
    );
  }
  return n;
}

/** The cluster options the environment describes (the base that explicit options override). */
export function envToOptions(env: EnvConfig): ClusterOptions {
  const options: { -readonly [K in keyof ClusterOptions]: ClusterOptions[K] } = {};
  if (env.node) options.node = env.node;
  if (env.refreshIntervalMs !== undefined) options.refreshIntervalMs = env.refreshIntervalMs;
  if (env.removalPolicy !== undefined) options.removalPolicy = env.removalPolicy;
  if (env.namespace !== undefined) options.namespace = env.namespace;
  if (env.logLevel !== undefined) options.logLevel = env.logLevel;
  if (env.logFormat !== undefined) options.logFormat = env.logFormat;
  if (env.discovery) options.discovery = env.discovery as unknown as ClusterOptions['discovery'];
  const quorum = envQuorum(env);
  if (quorum) options.quorum = quorum as ClusterOptions['quorum'];
  if (env.formationStableMs !== undefined)
    options.formation = { stableMarginMs: env.formationStableMs, minMembers: env.minMembers ?? 0 };
  if (env.dist?.strategy === 'nats') {
    // the TCP mesh's variables (port, bind, ...) do not apply: resolveClusterOptions refuses them
    options.dist = {
      strategy: 'nats',
      servers: env.dist.servers,
      ...(env.cookie !== undefined && { cookie: env.cookie }),
      ...(env.cookieFile !== undefined && { cookieFile: env.cookieFile }),
    } as unknown as ClusterOptions['dist'];
    return options;
  }
  const dist: Record<string, unknown> = {};
  if (env.port !== undefined) dist.port = env.port;
  if (env.bind !== undefined) dist.bind = env.bind;
  if (env.cookie !== undefined) dist.cookie = env.cookie;
  if (env.cookieFile !== undefined) dist.cookieFile = env.cookieFile;
  if (env.dnsServers !== undefined) dist.dnsServers = env.dnsServers;
  if (env.portMapperPort !== undefined) dist.portMapperPort = env.portMapperPort;
  if (env.portMapperBind !== undefined) dist.portMapperBind = env.portMapperBind;
  if (Object.keys(dist).length || env.dist)
    options.dist = { strategy: 'tcp', ...dist } as unknown as ClusterOptions['dist'];
  return options;
}

/**
 * The `quorum` option the environment describes. `GEN_CLUSTER_QUORUM_STABLE_MS` alone gives a
 * rule without `expectedSize`: explicit options complete it (merged field by field), and
 * `resolveClusterOptions` refuses it when nothing does.
 */
function envQuorum(env: EnvConfig): Record<string, unknown> | undefined {
  const { expectedSize, quorumStableMs: stableMs } = env;
  if (expectedSize === undefined && stableMs === undefined) return undefined;
  return {
    ...(expectedSize !== undefined && { expectedSize }),
    ...(expectedSize === 'discovered' && { unsafe: true }),
    ...(stableMs !== undefined && { stableMs }),
  };
}
