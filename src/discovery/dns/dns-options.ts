/**
 * The options of the `dns` discovery: their types and defaults, and their resolution (checks and
 * defaults; the search list and ndots may be left to resolv.conf, read at the first lookup).
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  NAME_PART_FORMS,
  canonicalHost,
  checkInteger,
  checkMilliseconds,
  checkOneOf,
  invalidOption,
  isIntegerIn,
  isNamePart,
  toError,
} from '../../core/index.js';
import { checkStrategyOptions, optionName } from '../option-checks.js';
import { DnsMessages } from './dns.messages.js';

/** A DNS server to ask instead of the system's resolvers. */
export interface DnsServerAddress {
  /** IPv4 or IPv6 address (no brackets). */
  readonly host: string;
  /** UDP/TCP port; 53 when unset. */
  readonly port?: number;
}

/**
 * Options of the `dns` discovery (gen_cluster's `gc_discover_dns_ip` and `gc_discover_dns_srv`).
 *
 * @example A/AAAA records of a Kubernetes headless Service; every pod runs as `app@${POD_IP}`:
 * { strategy: 'dns', domain: 'my-svc.my-ns' }
 * @example SRV records, each naming a pod and its dist port:
 * { strategy: 'dns', recordType: 'srv', domain: '_dist._tcp.my-svc.my-ns' }
 */
export interface DnsDiscoveryOptions {
  readonly strategy: 'dns';
  /** The name to look up, e.g. `my-svc.my-ns` (A/AAAA) or `_dist._tcp.my-svc.my-ns` (SRV). */
  readonly domain: string;
  /** `'a'` (default): one peer per address; `'srv'`: one peer per SRV record, with its port. */
  readonly recordType?: 'a' | 'srv';
  /**
   * Address family: `false` (default) asks A, `true` asks AAAA, `'auto'` asks both, where one
   * family having no records is not an error. For SRV with `hostType: 'ip'`, the family the
   * targets are resolved to.
   */
  readonly ipv6?: boolean | 'auto';
  /**
   * The host part of each peer: `'ip'` the address (default for A/AAAA), `'hostname'` a DNS name
   * (default for SRV: the record's target; for A/AAAA: the first PTR name of each address, and an
   * address without one is skipped).
   */
  readonly hostType?: 'ip' | 'hostname';
  /** The name part of every peer (`<nodeName>@<host>`); this node's own name part by default. */
  readonly nodeName?: string;
  /** Timeout of one try of one query, in ms (default 5000; the resolver backs off on retries). */
  readonly lookupTimeoutMs?: number;
  /** Tries per query and server (default 2). */
  readonly attempts?: number;
  /** DNS servers to ask instead of the system's (`/etc/resolv.conf`), in order. */
  readonly servers?: readonly DnsServerAddress[];
  /**
   * Search domains appended to a `domain` with fewer than `ndots` dots, as the system resolver
   * does (`my-svc.my-ns` -> `my-svc.my-ns.svc.cluster.local` in Kubernetes). Default: the
   * `search`/`domain` line of `/etc/resolv.conf`; `[]` turns the search off. A domain ending in
   * `.` is never searched.
   */
  readonly search?: readonly string[];
  /** Dots a domain needs to be tried as is before the search list (default: resolv.conf's, else 1). */
  readonly ndots?: number;
}

/** The options in force, defaults filled in. */
export interface ResolvedDnsDiscoveryOptions {
  readonly domain: string;
  readonly recordType: 'a' | 'srv';
  readonly ipv6: boolean | 'auto';
  readonly hostType: 'ip' | 'hostname';
  readonly nodeName: string | undefined;
  readonly lookupTimeoutMs: number;
  readonly attempts: number;
  readonly servers: readonly Required<DnsServerAddress>[] | undefined;
  readonly search: readonly string[] | undefined;
  readonly ndots: number | undefined;
}

/** Defaults of the `dns` discovery. */
export const DNS_DISCOVERY_DEFAULTS = Object.freeze({
  recordType: 'a',
  ipv6: false,
  lookupTimeoutMs: 5_000,
  attempts: 2,
  port: 53,
} as const);

const KNOWN_OPTIONS = [
  'strategy',
  'domain',
  'recordType',
  'ipv6',
  'hostType',
  'nodeName',
  'lookupTimeoutMs',
  'attempts',
  'servers',
  'search',
  'ndots',
] as const;
const ACCEPTS = DnsMessages.accepts;
const option = (key: string) => optionName('dns', key);
const bad = (key: string, value: unknown, accepted: string) =>
  invalidOption(option(key), value, accepted);

/**
 * Validates the options and fills in defaults.
 * @throws InvalidConfigError naming the option, the value and the accepted forms.
 */
export function resolveDnsDiscoveryOptions(options: unknown): ResolvedDnsDiscoveryOptions {
  checkStrategyOptions('dns', options, KNOWN_OPTIONS, ACCEPTS.options);
  const o = options;

  const domain = o.domain;
  const absolute = typeof domain === 'string' && domain.endsWith('.');
  const host = typeof domain === 'string' ? canonicalHost(domain) : undefined;
  if (host === undefined || isIP(host) !== 0 || (domain as string).includes('[')) {
    throw bad('domain', domain, ACCEPTS.domain);
  }

  const recordType = o.recordType ?? DNS_DISCOVERY_DEFAULTS.recordType;
  // Not checkOneOf: the accepted forms say what each value asks for.
  if (recordType !== 'a' && recordType !== 'srv')
    throw bad('recordType', o.recordType, ACCEPTS.recordType);

  const ipv6 = o.ipv6 ?? DNS_DISCOVERY_DEFAULTS.ipv6;
  if (ipv6 !== true && ipv6 !== false && ipv6 !== 'auto') throw bad('ipv6', o.ipv6, ACCEPTS.ipv6);

  const hostType = o.hostType ?? (recordType === 'srv' ? 'hostname' : 'ip');
  checkOneOf(option('hostType'), hostType, ['ip', 'hostname'] as const);

  if (o.nodeName !== undefined && !isNamePart(o.nodeName)) {
    throw bad('nodeName', o.nodeName, NAME_PART_FORMS);
  }
  const nodeName = o.nodeName;

  const lookupTimeoutMs = o.lookupTimeoutMs ?? DNS_DISCOVERY_DEFAULTS.lookupTimeoutMs;
  checkMilliseconds(option('lookupTimeoutMs'), lookupTimeoutMs);

  const attempts = o.attempts ?? DNS_DISCOVERY_DEFAULTS.attempts;
  checkInteger(option('attempts'), attempts, 1, 100);

  let servers: Required<DnsServerAddress>[] | undefined;
  if (o.servers !== undefined) {
    if (!Array.isArray(o.servers) || o.servers.length === 0)
      throw bad('servers', o.servers, ACCEPTS.servers);
    servers = o.servers.map((server: unknown, i: number) => {
      const s = server as Partial<DnsServerAddress> | null;
      const port = s?.port ?? DNS_DISCOVERY_DEFAULTS.port;
      if (
        typeof s !== 'object' ||
        s === null ||
        typeof s.host !== 'string' ||
        isIP(s.host) === 0 ||
        !isIntegerIn(port, 1, 65_535)
      )
        throw bad(`servers[${i}]`, server, ACCEPTS.server);
      return { host: s.host, port };
    });
    try {
      new Resolver().setServers(servers.map(serverText));
    } catch (error) {
      throw bad('servers', o.servers, `${ACCEPTS.servers} (${toError(error).message})`);
    }
  }

  let search: string[] | undefined;
  if (o.search !== undefined) {
    if (!Array.isArray(o.search)) throw bad('search', o.search, ACCEPTS.search);
    search = o.search.map((suffix: unknown, i: number) => {
      const host = typeof suffix === 'string' ? canonicalHost(suffix) : undefined;
      if (host === undefined || isIP(host) !== 0) throw bad(`search[${i}]`, suffix, ACCEPTS.search);
      return host;
    });
  }

  const ndots = o.ndots;
  if (ndots !== undefined) checkInteger(option('ndots'), ndots, 0, 15);

  return {
    domain: absolute ? `${host}.` : host,
    recordType,
    ipv6,
    hostType,
    nodeName,
    lookupTimeoutMs,
    attempts,
    servers,
    search,
    ndots,
  };
}

/** `ip:port`, IPv6 in brackets, as `Resolver.setServers` takes it. */
export function serverText(server: Required<DnsServerAddress>): string {
  return isIP(server.host) === 6
    ? `[${server.host}]:${server.port}`
    : `${server.host}:${server.port}`;
}
