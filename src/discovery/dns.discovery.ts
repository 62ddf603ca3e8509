import { readFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DiscoveryError, InvalidConfigError, toError } from '../core/errors.js';
import type { ClusterLogger } from '../core/logger.js';
import {
  type Peer,
  canonicalHost,
  ipv6Groups,
  NAME_PART_FORMS,
  isNamePart,
  parseNodeName,
} from '../core/peer.js';
import type { DiscoveryContext, DiscoveryStrategy } from '../core/strategy.js';
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

/** NXDOMAIN and NODATA: a real, empty answer. Every other code is a failed lookup. */
const EMPTY_ANSWER = new Set(['ENOTFOUND', 'ENODATA']);
/** How many PTR or target lookups run at once. */
const LOOKUP_CONCURRENCY = 32;
const RESOLV_CONF = '/etc/resolv.conf';

type RecordType = 'A' | 'AAAA' | 'SRV' | 'PTR';

interface Answer<T> {
  readonly records: readonly T[];
  /** `ENOTFOUND` or `ENODATA` when the answer was empty. */
  readonly empty?: string;
}

/** One `peers()` call: its resolver (cancelled on abort) and what error texts need. */
interface Call {
  readonly resolver: Resolver;
  readonly signal: AbortSignal | undefined;
  readonly servers: readonly string[];
}

interface SearchConfig {
  readonly search: readonly string[];
  readonly ndots: number;
}

/**
 * Peers from DNS: one per A/AAAA address (`app@10.244.0.5`, dialled on the cluster's fixed port)
 * or one per SRV record (`app@pod-a.my-svc.my-ns.svc.cluster.local` with the record's port,
 * priority and weight).
 *
 * NXDOMAIN and NODATA are a real empty answer; any other outcome (SERVFAIL, REFUSED, timeout, no
 * server reachable) throws a {@link DiscoveryError} naming the record type and the name asked, so
 * the cluster keeps its last good peers. Truncated UDP answers are retried over TCP by the
 * resolver, so answers of hundreds of records work.
 */
export class DnsDiscovery implements DiscoveryStrategy {
  readonly name = 'dns';
  /** The options in force, defaults filled in. */
  readonly settings: ResolvedDnsDiscoveryOptions;

  private self: string | undefined;
  private selfName: string | undefined;
  private logger: ClusterLogger | undefined;
  private searchConfig: Promise<SearchConfig> | undefined;

  /** @throws InvalidConfigError naming the option, the value and the accepted forms. */
  constructor(options: DnsDiscoveryOptions | Omit<DnsDiscoveryOptions, 'strategy'>) {
    this.settings = resolveDnsDiscoveryOptions(options);
  }

  init(context: DiscoveryContext): void {
    this.self = context.self;
    this.selfName = parseNodeName(context.self).name;
    this.logger = context.logger;
  }

  async peers(signal?: AbortSignal): Promise<Peer[]> {
    const nodeName = this.settings.nodeName ?? this.selfName;
    if (nodeName === undefined) throw new DiscoveryError(DnsMessages.noNodeName());
    if (signal?.aborted) throw toError(signal.reason);
    const resolver = this.newResolver();
    const call: Call = { resolver, signal, servers: resolver.getServers() };
    const cancel = () => resolver.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      const peers =
        this.settings.recordType === 'srv'
          ? await this.srvPeers(call, nodeName)
          : await this.addressPeers(call, nodeName);
      const unique = new Map<string, Peer>();
      for (const peer of peers) {
        if (peer.node !== this.self && !unique.has(peer.node)) unique.set(peer.node, peer);
      }
      return [...unique.values()];
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }

  // --- A / AAAA ------------------------------------------------------------------------------

  private async addressPeers(call: Call, nodeName: string): Promise<Peer[]> {
    const addresses = await this.searchAddresses(call);
    if (this.settings.hostType === 'ip')
      return addresses.map(ip => ({ node: `${nodeName}@${ip}` }));
    const names = await mapLimit(addresses, LOOKUP_CONCURRENCY, ip => this.ptrName(call, ip));
    const peers: Peer[] = [];
    addresses.forEach((address, i) => {
      const host = names[i];
      if (host !== undefined) peers.push({ node: `${nodeName}@${host}`, meta: { address } });
    });
    return peers;
  }

  /** The addresses of the first search candidate that has any. */
  private async searchAddresses(call: Call): Promise<string[]> {
    for (const name of await this.candidates(this.settings.domain)) {
      const addresses = await this.addresses(call, name);
      if (addresses.length > 0) return addresses;
    }
    return [];
  }

  /** Addresses of `name` in the configured families, canonical and without duplicates. */
  private async addresses(call: Call, name: string, context?: string): Promise<string[]> {
    const families = this.families();
    const answers = await Promise.all(
      families.map(type =>
        this.query(
          call,
          type,
          name,
          () => (type === 'A' ? call.resolver.resolve4(name) : call.resolver.resolve6(name)),
          context,
        ),
      ),
    );
    const addresses = new Set<string>();
    for (const answer of answers) {
      for (const address of answer.records) {
        const host = canonicalHost(address);
        if (host !== undefined) addresses.add(host);
      }
    }
    this.logger?.debug?.(
      DnsMessages.answered(this.familyNames(), name, addresses.size, 'address(es)'),
    );
    return [...addresses];
  }

  private families(): RecordType[] {
    const { ipv6 } = this.settings;
    return ipv6 === 'auto' ? ['A', 'AAAA'] : ipv6 ? ['AAAA'] : ['A'];
  }

  private familyNames(): string {
    return this.families().join('/');
  }

  /** The first PTR name of an address, or `undefined` (logged) when it has none. */
  private async ptrName(call: Call, address: string): Promise<string | undefined> {
    // resolvePtr rather than reverse(): reverse() also reads /etc/hosts and reports every
    // failure (SERVFAIL, timeout) as ENOTFOUND, which would turn an outage into "no peers".
    const answer = await this.query(call, 'PTR', reverseName(address), () =>
      call.resolver.resolvePtr(reverseName(address)),
    );
    if (answer.empty !== undefined || answer.records.length === 0) {
      this.logger?.debug?.(DnsMessages.skippedNoPtr(address, answer.empty ?? 'no name'));
      return undefined;
    }
    const first = answer.records[0]!;
    const host = isIP(first) === 0 ? canonicalHost(first) : undefined;
    if (host === undefined) this.logger?.debug?.(DnsMessages.skippedBadPtr(address, first));
    return host;
  }

  // --- SRV -----------------------------------------------------------------------------------

  private async srvPeers(call: Call, nodeName: string): Promise<Peer[]> {
    let asked = this.settings.domain;
    let records: readonly { name: string; port: number; priority: number; weight: number }[] = [];
    for (const name of await this.candidates(this.settings.domain)) {
      const answer = await this.query(call, 'SRV', name, () => call.resolver.resolveSrv(name));
      this.logger?.debug?.(DnsMessages.answered('SRV', name, answer.records.length, 'record(s)'));
      if (answer.records.length > 0) {
        [asked, records] = [name, answer.records];
        break;
      }
    }
    const usable: { target: string; port: number; priority: number; weight: number }[] = [];
    for (const record of [...records].sort(
      (a, b) => a.priority - b.priority || b.weight - a.weight || a.name.localeCompare(b.name),
    )) {
      // RFC 2782: a target of "." means the service is decidedly not available there.
      const target =
        record.name === '' || record.name === '.' ? undefined : canonicalHost(record.name);
      if (target === undefined) {
        this.logger?.debug?.(DnsMessages.skippedBadTarget(record.name));
        continue;
      }
      usable.push({ target, port: record.port, priority: record.priority, weight: record.weight });
    }
    if (this.settings.hostType === 'hostname') {
      return usable.map(r => ({
        node: `${nodeName}@${r.target}`,
        port: r.port,
        meta: { priority: r.priority, weight: r.weight },
      }));
    }
    // hostType 'ip': each target resolved through the same resolver (gen_cluster crashes here).
    const targets = [...new Set(usable.map(r => r.target))].filter(t => isIP(t) === 0);
    const resolved = await mapLimit(targets, LOOKUP_CONCURRENCY, target =>
      this.addresses(call, target, `target of SRV "${asked}"`),
    );
    const byTarget = new Map(targets.map((target, i) => [target, resolved[i]!] as const));
    const peers: Peer[] = [];
    for (const r of usable) {
      const addresses = isIP(r.target) !== 0 ? [r.target] : byTarget.get(r.target)!;
      if (addresses.length === 0)
        this.logger?.debug?.(DnsMessages.skippedNoAddress(r.target, this.familyNames()));
      for (const address of addresses) {
        peers.push({
          node: `${nodeName}@${address}`,
          port: r.port,
          meta: { priority: r.priority, weight: r.weight, target: r.target },
        });
      }
    }
    return peers;
  }

  // --- plumbing ------------------------------------------------------------------------------

  /** Runs one query: records, an empty answer (NXDOMAIN/NODATA), or a thrown DiscoveryError. */
  private async query<T>(
    call: Call,
    type: RecordType,
    name: string,
    run: () => Promise<T[]>,
    context?: string,
  ): Promise<Answer<T>> {
    if (call.signal?.aborted) throw toError(call.signal.reason);
    try {
      return { records: await run() };
    } catch (error) {
      if (call.signal?.aborted) throw toError(call.signal.reason);
      const code = String((error as NodeJS.ErrnoException).code ?? toError(error).message);
      if (EMPTY_ANSWER.has(code)) return { records: [], empty: code };
      throw new DiscoveryError(DnsMessages.lookupFailed(type, name, code, call.servers, context), {
        cause: error,
      });
    }
  }

  /** The names to ask for `domain`, in order, as the system resolver would (resolv.conf(5)). */
  private async candidates(domain: string): Promise<string[]> {
    if (domain.endsWith('.')) return [domain.slice(0, -1)];
    const { search, ndots } = await this.loadSearchConfig();
    const searched = search.map(suffix => `${domain}.${suffix}`);
    const dots = domain.split('.').length - 1;
    return dots >= ndots ? [domain, ...searched] : [...searched, domain];
  }

  private loadSearchConfig(): Promise<SearchConfig> {
    const { search, ndots } = this.settings;
    if (search !== undefined && ndots !== undefined) return Promise.resolve({ search, ndots });
    this.searchConfig ??= readFile(RESOLV_CONF, 'utf8')
      .then(parseResolvConf, () => ({ search: [], ndots: 1 }))
      .then(system => ({ search: search ?? system.search, ndots: ndots ?? system.ndots }));
    return this.searchConfig;
  }

  private newResolver(): Resolver {
    const resolver = new Resolver({
      timeout: this.settings.lookupTimeoutMs,
      tries: this.settings.attempts,
    });
    if (this.settings.servers) resolver.setServers(this.settings.servers.map(serverText));
    return resolver;
  }
}

/** Validates the options and fills in defaults. */
function resolveDnsDiscoveryOptions(options: unknown): ResolvedDnsDiscoveryOptions {
  const bad = (option: string, value: unknown, accepted: string) =>
    new InvalidConfigError(DnsMessages.invalidOption(option, value, accepted));
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    throw bad(
      '(options)',
      options,
      'an object such as { strategy: "dns", domain: "my-svc.my-ns" }',
    );
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(KNOWN_OPTIONS as readonly string[]).includes(key))
      throw new InvalidConfigError(DnsMessages.unknownOption(key, KNOWN_OPTIONS));
  }
  if (o.strategy !== undefined && o.strategy !== 'dns') throw bad('strategy', o.strategy, '"dns"');

  const domain = o.domain;
  const absolute = typeof domain === 'string' && domain.endsWith('.');
  const host = typeof domain === 'string' ? canonicalHost(domain) : undefined;
  if (host === undefined || isIP(host) !== 0 || (domain as string).includes('[')) {
    throw bad(
      'domain',
      domain,
      'a DNS name such as "my-svc.my-ns" (A/AAAA) or "_dist._tcp.my-svc.my-ns" (SRV); a trailing "." makes it absolute (never searched)',
    );
  }

  const recordType = o.recordType ?? DNS_DISCOVERY_DEFAULTS.recordType;
  if (recordType !== 'a' && recordType !== 'srv')
    throw bad('recordType', o.recordType, '"a" (A/AAAA records) or "srv"');

  const ipv6 = o.ipv6 ?? DNS_DISCOVERY_DEFAULTS.ipv6;
  if (ipv6 !== true && ipv6 !== false && ipv6 !== 'auto')
    throw bad('ipv6', o.ipv6, 'false (A records), true (AAAA records) or "auto" (both)');

  const hostType = o.hostType ?? (recordType === 'srv' ? 'hostname' : 'ip');
  if (hostType !== 'ip' && hostType !== 'hostname')
    throw bad('hostType', o.hostType, '"ip" or "hostname"');

  if (o.nodeName !== undefined && !isNamePart(o.nodeName)) {
    throw bad('nodeName', o.nodeName, NAME_PART_FORMS);
  }
  const nodeName = o.nodeName;

  const lookupTimeoutMs = o.lookupTimeoutMs ?? DNS_DISCOVERY_DEFAULTS.lookupTimeoutMs;
  if (!isIntegerIn(lookupTimeoutMs, 1, 2 ** 31 - 1))
    throw bad('lookupTimeoutMs', o.lookupTimeoutMs, 'a positive integer number of milliseconds');

  const attempts = o.attempts ?? DNS_DISCOVERY_DEFAULTS.attempts;
  if (!isIntegerIn(attempts, 1, 100)) throw bad('attempts', o.attempts, 'an integer from 1 to 100');

  let servers: Required<DnsServerAddress>[] | undefined;
  if (o.servers !== undefined) {
    const entry =
      '{ host, port? } with an IPv4 or IPv6 address (no brackets) and a port from 1 to 65535 (default 53), e.g. { host: "10.96.0.10", port: 53 }';
    const accepted = `a non-empty array of ${entry}`;
    if (!Array.isArray(o.servers) || o.servers.length === 0)
      throw bad('servers', o.servers, accepted);
    servers = o.servers.map((server: unknown, i: number) => {
      const s = server as Partial<DnsServerAddress> | null;
      const port = s?.port ?? DNS_DISCOVERY_DEFAULTS.port;
      if (
        typeof s !== 'object' ||
        s === null ||
        typeof s.host !== 'string' ||
        isIP(s.host) === 0 ||
        !isIntegerIn(port, 1, 65535)
      )
        throw bad(`servers[${i}]`, server, entry);
      return { host: s.host, port: port as number };
    });
    try {
      new Resolver().setServers(servers.map(serverText));
    } catch (error) {
      throw bad('servers', o.servers, `${accepted} (${toError(error).message})`);
    }
  }

  let search: string[] | undefined;
  if (o.search !== undefined) {
    const accepted = 'an array of DNS names such as ["svc.cluster.local"], or [] for no search';
    if (!Array.isArray(o.search)) throw bad('search', o.search, accepted);
    search = o.search.map((suffix: unknown, i: number) => {
      const host = typeof suffix === 'string' ? canonicalHost(suffix) : undefined;
      if (host === undefined || isIP(host) !== 0) throw bad(`search[${i}]`, suffix, accepted);
      return host;
    });
  }

  const ndots = o.ndots;
  if (ndots !== undefined && !isIntegerIn(ndots, 0, 15))
    throw bad('ndots', ndots, 'an integer from 0 to 15');

  return {
    domain: absolute ? `${host}.` : host,
    recordType,
    ipv6,
    hostType,
    nodeName,
    lookupTimeoutMs: lookupTimeoutMs as number,
    attempts: attempts as number,
    servers,
    search,
    ndots: ndots as number | undefined,
  };
}

function isIntegerIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** `ip:port`, IPv6 in brackets, as `Resolver.setServers` takes it. */
function serverText(server: Required<DnsServerAddress>): string {
  return isIP(server.host) === 6
    ? `[${server.host}]:${server.port}`
    : `${server.host}:${server.port}`;
}

/** The search list and ndots of a resolv.conf text (the last `search`/`domain` line wins). */
function parseResolvConf(text: string): SearchConfig {
  let search: string[] = [];
  let ndots = 1;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [keyword, ...args] = line.split(/\s+/);
    if (keyword === 'search' || keyword === 'domain') {
      search = args
        .map(arg => canonicalHost(arg))
        .filter((h): h is string => h !== undefined && h !== '' && isIP(h) === 0);
    } else if (keyword === 'options') {
      for (const arg of args) {
        const match = /^ndots:(\d+)$/.exec(arg);
        if (match) ndots = Math.min(Number(match[1]), 15);
      }
    }
  }
  return { search, ndots };
}

/** The PTR name of an address: `4.3.2.1.in-addr.arpa`, or 32 nibbles under `ip6.arpa`. */
function reverseName(address: string): string {
  if (isIP(address) === 4) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  const pct = address.indexOf('%');
  const hex = ipv6Groups(pct < 0 ? address : address.slice(0, pct))
    .map(group => group.toString(16).padStart(4, '0'))
    .join('');
  return `${[...hex].reverse().join('.')}.ip6.arpa`;
}

/** Maps with at most `limit` calls in flight; stops starting new ones after a failure. */
async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
