const SERVER_ENTRY =
  '{ host, port? } with an IPv4 or IPv6 address (no brackets) and a port from 1 to 65535 (default 53), e.g. { host: "10.96.0.10", port: 53 }';

/** User-facing texts of the `dns` discovery, kept in one place so they can be found and improved. */
export const DnsMessages = {
  /** What each option accepts, for refusals. */
  accepts: {
    options: 'an object such as { strategy: "dns", domain: "my-svc.my-ns" }',
    domain:
      'a DNS name such as "my-svc.my-ns" (A/AAAA) or "_dist._tcp.my-svc.my-ns" (SRV); a trailing "." makes it absolute (never searched)',
    recordType: '"a" (A/AAAA records) or "srv"',
    ipv6: 'false (A records), true (AAAA records) or "auto" (both)',
    servers: `a non-empty array of ${SERVER_ENTRY}`,
    server: SERVER_ENTRY,
    search: 'an array of DNS names such as ["svc.cluster.local"], or [] for no search',
  },
  lookupFailed: (
    type: string,
    name: string,
    code: string,
    servers: readonly string[],
    context?: string,
  ) =>
    `DNS discovery: the ${type} lookup of "${name}"${context ? ` (${context})` : ''} failed with ${describeCode(code)} from ${servers.length ? servers.join(', ') : 'the system resolvers'}; keeping the last good peers.`,
  srvTarget: (name: string) => `target of SRV "${name}"`,
  noNodeName: () =>
    'DNS discovery has no node name for its peers: give the "nodeName" option, or let the cluster call init() first (it passes this node\'s name).',
  skippedNoPtr: (address: string, code: string | undefined) =>
    `DNS discovery: no PTR record for ${address} (${code ?? 'no name'}); skipped.`,
  skippedBadPtr: (address: string, name: string) =>
    `DNS discovery: the PTR record of ${address} names ${JSON.stringify(name)}, which is not a usable host name; skipped.`,
  skippedNoAddress: (target: string, types: string) =>
    `DNS discovery: SRV target ${target} has no ${types} record; skipped.`,
  skippedBadTarget: (target: string) =>
    `DNS discovery: SRV target ${JSON.stringify(target)} is not a usable host name; skipped.`,
  answered: (type: string, name: string, count: number, what: string) =>
    `DNS discovery: ${type} ${name} answered ${count} ${what}.`,
} as const;

/** DNS error codes of `node:dns` (c-ares), in words. */
const CODE_WORDS: Readonly<Record<string, string>> = {
  ESERVFAIL: 'SERVFAIL',
  EREFUSED: 'REFUSED',
  ETIMEOUT: 'a timeout',
  ECONNREFUSED: 'connection refused',
  EFORMERR: 'FORMERR',
  ENOTIMP: 'NOTIMP',
  EBADRESP: 'a malformed response',
  ECANCELLED: 'cancellation',
  EOF: 'end of file',
};

function describeCode(code: string): string {
  const words = CODE_WORDS[code];
  return words ? `${words} (${code})` : code;
}
