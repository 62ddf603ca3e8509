/**
 * The `GEN_CLUSTER_DISCOVERY` short forms (also accepted as the `discovery` option in code): one
 * line per strategy, and `|` between short forms for an aggregate of them.
 */
import { isIP } from 'node:net';
import { InvalidConfigError, redactUrlCredentials } from '../core/index.js';
import { ConfigMessages } from './config.messages.js';
import { credentialsRefused, natsServerUrls } from './nats-env.js';

/** The short forms and the JSON form, as refusals list them. */
export const DISCOVERY_FORMS =
  'JSON such as {"strategy":"dns","domain":"svc.ns"}, or "static:a@h1,b@h2:4000", "dns:svc.ns", "dns+srv:_dist._tcp.svc.ns", "local", "local:host1,host2", "kubernetes:service", "gossip", "gossip:239.255.43.69:45892", "hosts:/etc/gen-cluster.hosts", "etcd:http://10.0.0.1:2379/prefix[,http://10.0.0.2:2379/prefix]", "nats://10.0.0.1:4222[,10.0.0.2:4222]" (tls:// for TLS), or several short forms joined by "|" ("hosts:/etc/gen-cluster.hosts|gossip")';

/** Options built from a short form: a built-in strategy's, by `strategy` name. */
export type ParsedDiscovery = Readonly<Record<string, unknown>> & { readonly strategy: string };

const SHORT_FORM =
  /^(static|dns|dns\+srv|local|kubernetes|k8s|gossip|hosts|etcd)(:|$)|^(nats|tls):\/\//i;
const NATS_URL = /^(nats|tls):\/\//i;

/**
 * Whether `value` is written as a `GEN_CLUSTER_DISCOVERY` short form (`static:...`, `local`,
 * `gossip`, `hosts:/path`, `nats://host:4222`, or several joined by `|`).
 */
export function isDiscoveryShortForm(value: string): boolean {
  const parts = value.split('|');
  return parts.every(part => SHORT_FORM.test(part.trim()));
}

/**
 * Parses a short form into a built-in strategy's options; `a|b` gives
 * `{ strategy: 'aggregate', of: [a, b] }`. Surrounding blanks are ignored, as
 * {@link isDiscoveryShortForm} ignores them. Throws {@link InvalidConfigError} naming `variable`,
 * the value (URL credentials hidden) and the accepted forms.
 */
export function parseDiscoveryShortForm(value: string, variable: string): ParsedDiscovery {
  const whole = value.trim();
  if (!whole.includes('|')) return parseOne(whole, variable);
  const parts = whole.split('|').map(part => part.trim());
  if (parts.some(part => part === '' || part.startsWith('{')))
    throw badValue(variable, whole, ConfigMessages.aggregateForms());
  // a `|` inside a hosts path or an etcd prefix splits it: the piece after it names no strategy
  const stray = parts.find(part => !SHORT_FORM.test(part));
  // ... or inside a password in a NATS URL: then nothing of the value is shown
  const nats = parts.findIndex(part => NATS_URL.test(part));
  if (stray !== undefined && nats >= 0 && parts.slice(nats).some(part => part.includes('@')))
    throw credentialsRefused(variable);
  if (stray !== undefined)
    throw badValue(
      variable,
      whole,
      ConfigMessages.pipeSplitValue(redactUrlCredentials(stray), DISCOVERY_FORMS),
    );
  // a bad short form among the parts is named alone: the message points at it
  return { strategy: 'aggregate', of: parts.map(part => parseOne(part, variable)) };
}

/**
 * The refusal of a `discovery` string given in code that is no short form: the short-form
 * parser's own refusal when the string is written like one (so code and `GEN_CLUSTER_DISCOVERY`
 * say the same for the same text), else {@link ConfigMessages.notAShortForm}.
 */
export function notAShortFormError(value: string, option: string): InvalidConfigError {
  const writtenAsOne = value.includes('|') || SHORT_FORM.test(value.trim());
  if (writtenAsOne) {
    try {
      parseDiscoveryShortForm(value, option);
    } catch (error) {
      if (error instanceof InvalidConfigError) return error;
    }
  }
  return new InvalidConfigError(ConfigMessages.notAShortForm(value), { option });
}

/** One short form (trimmed); its refusals quote it. */
function parseOne(value: string, variable: string): ParsedDiscovery {
  const colon = value.indexOf(':');
  const kind = (colon < 0 ? value : value.slice(0, colon)).toLowerCase();
  const rest = colon < 0 ? '' : value.slice(colon + 1).trim();
  const list = () =>
    rest
      .split(',')
      .map(s => s.trim())
      .filter(Boolean);
  switch (kind) {
    case 'static':
      return { strategy: 'static', nodes: list() };
    case 'dns':
      if (!rest) throw badValue(variable, value, 'a domain after "dns:", e.g. "dns:my-svc.my-ns"');
      return { strategy: 'dns', domain: rest };
    case 'dns+srv':
      if (!rest)
        throw badValue(
          variable,
          value,
          'an SRV name after "dns+srv:", e.g. "dns+srv:_dist._tcp.my-svc.my-ns"',
        );
      return { strategy: 'dns', recordType: 'srv', domain: rest };
    case 'local':
      return rest ? { strategy: 'local', hosts: list() } : { strategy: 'local' };
    case 'kubernetes':
    case 'k8s':
      if (!rest) throw badValue(variable, value, 'a service name after "kubernetes:"');
      return { strategy: 'kubernetes', service: rest };
    case 'gossip':
      return colon < 0 ? { strategy: 'gossip' } : gossip(rest, value, variable);
    case 'hosts':
      if (!rest) throw badValue(variable, value, ConfigMessages.hostsForms());
      return { strategy: 'hosts', file: rest };
    case 'etcd':
      return etcd(rest, value, variable);
    case 'nats':
    case 'tls':
      // the NATS discovery: members found through NATS, connected by the TCP mesh
      return {
        strategy: 'nats',
        servers: natsServerUrls(value, variable, ConfigMessages.natsForms('discovery')),
      };
    default:
      throw badValue(variable, value, DISCOVERY_FORMS);
  }
}

/** `gossip:<group>:<port>`: an IPv4 multicast group (224.0.0.0/4) and a UDP port. */
function gossip(rest: string, value: string, variable: string): ParsedDiscovery {
  const match = /^([^:]+):(\d{1,5})$/.exec(rest);
  const group = match?.[1];
  const port = Number(match?.[2]);
  if (!group || !isIPv4Multicast(group) || !(port >= 1 && port <= 65535))
    throw badValue(variable, value, ConfigMessages.gossipForms());
  return { strategy: 'gossip', group, port };
}

/** Whether `address` is an IPv4 multicast address (224.0.0.0 to 239.255.255.255). */
function isIPv4Multicast(address: string): boolean {
  if (isIP(address) !== 4) return false;
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

/**
 * `etcd:<url>[,<url>...]`: the endpoints, and the path they all carry as the key prefix. No
 * credentials in URLs: they would show in process listings and logs.
 */
function etcd(rest: string, value: string, variable: string): ParsedDiscovery {
  const urls = rest
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);
  if (urls.length === 0) throw badValue(variable, value, ConfigMessages.etcdForms());
  const endpoints: string[] = [];
  const paths = new Set<string>();
  for (const text of urls) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw badValue(variable, value, ConfigMessages.etcdForms());
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw badValue(variable, value, ConfigMessages.etcdForms());
    if (url.username || url.password)
      throw badValue(variable, value, ConfigMessages.etcdCredentialsInUrl());
    if (url.search || url.hash) throw badValue(variable, value, ConfigMessages.etcdForms());
    endpoints.push(url.origin);
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      throw badValue(variable, value, ConfigMessages.etcdForms());
    }
    paths.add(path.replace(/\/+$/, ''));
  }
  if (paths.size > 1)
    throw badValue(variable, value, ConfigMessages.etcdPrefixes([...paths].map(p => p || '/')));
  const prefix = [...paths][0]!;
  return prefix ? { strategy: 'etcd', endpoints, prefix } : { strategy: 'etcd', endpoints };
}

/**
 * A configuration error naming the variable (or option), the value and what is accepted. The
 * message hides URL credentials wherever they are in the value (see `ConfigMessages.badEnv`).
 */
export function badValue(
  variable: string,
  value: string,
  accepted: string,
  cause?: unknown,
): InvalidConfigError {
  return new InvalidConfigError(ConfigMessages.badEnv(variable, value, accepted, cause), {
    option: variable,
  });
}
