import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  type ClusterLogger,
  type DiscoveryContext,
  DiscoveryError,
  type DiscoveryStrategy,
  Limiter,
  type Peer,
  canonicalHost,
  ipv6Groups,
  parseNodeName,
  toError,
} from '../../core/index.js';
import {
  type DnsDiscoveryOptions,
  type ResolvedDnsDiscoveryOptions,
  resolveDnsDiscoveryOptions,
  serverText,
} from './dns-options.js';
import { DnsMessages } from './dns.messages.js';
import { type SearchConfig, readResolvConf } from './resolv-conf.js';

/** NXDOMAIN and NODATA: a real, empty answer. Every other code is a failed lookup. */
const EMPTY_ANSWER = new Set(['ENOTFOUND', 'ENODATA']);
/** How many PTR or target lookups run at once. */
const LOOKUP_CONCURRENCY = 32;

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
    const names = await eachLimited(addresses, ip => this.ptrName(call, ip));
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
      this.logger?.debug?.(DnsMessages.skippedNoPtr(address, answer.empty));
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
    const resolved = await eachLimited(targets, target =>
      this.addresses(call, target, DnsMessages.srvTarget(asked)),
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
    this.searchConfig ??= readResolvConf().then(system => ({
      search: search ?? system.search,
      ndots: ndots ?? system.ndots,
    }));
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

/** The PTR name of an address: `4.3.2.1.in-addr.arpa`, or 32 nibbles under `ip6.arpa`. */
function reverseName(address: string): string {
  if (isIP(address) === 4) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  const pct = address.indexOf('%');
  const hex = ipv6Groups(pct < 0 ? address : address.slice(0, pct))
    .map(group => group.toString(16).padStart(4, '0'))
    .join('');
  return `${[...hex].reverse().join('.')}.ip6.arpa`;
}

/**
 * Runs `lookup` for each item, {@link LOOKUP_CONCURRENCY} at a time, results in item order. After
 * a failure the lookups still waiting are not started: the answer is lost anyway, and an outage
 * must not turn into hundreds of queries.
 */
async function eachLimited<T, R>(
  items: readonly T[],
  lookup: (item: T) => Promise<R>,
): Promise<R[]> {
  const limiter = new Limiter(LOOKUP_CONCURRENCY);
  let failure: { readonly error: unknown } | undefined;
  return Promise.all(
    items.map(item =>
      limiter.run(async () => {
        if (failure) throw failure.error;
        try {
          return await lookup(item);
        } catch (error) {
          failure ??= { error };
          throw error;
        }
      }),
    ),
  );
}
