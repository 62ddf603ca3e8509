/**
 * The `servers` option of a NATS connection: one string (comma-separated for several) or an array
 * of strings, each `nats://host:port`, `tls://host:port`, `host:port`, `host` (port 4222) or
 * `[::1]:port`. Credentials in a URL are refused and never echoed. The one parser of server lists:
 * the configuration (`GEN_CLUSTER_DIST`, the `nats://` discovery short form) uses it too.
 */
import { InvalidConfigError, invalidOption } from '../../core/index.js';
import { NatsConnectionMessages } from './nats-connection.messages.js';

/** One server, checked. */
export interface NatsServerAddress {
  /** `tls` when the URL said `tls://` (TLS required), else `nats`. */
  readonly scheme: 'nats' | 'tls';
  /** The host name or IP address (an IPv6 address without brackets). */
  readonly host: string;
  readonly port: number;
  /** `host:port` (`[v6]:port` for IPv6), the form the client takes. */
  readonly listen: string;
  /** `scheme://listen`, for messages. */
  readonly url: string;
}

/** Most servers accepted. */
export const MAX_NATS_SERVERS = 32;
/** The NATS client port when a server names none. */
export const DEFAULT_NATS_PORT = 4222;

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const IPV6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;

/**
 * Hides what could be a credential in a refused value: everything before the last `@` of the whole
 * value (of each string of an array), whatever it holds (spaces, `/`, `#`, `?`, `,` included):
 * `nats://u:p@h:1` becomes `nats://***@h:1`, `u:p@h:1` becomes `***@h:1`. A value without `@` is
 * returned as it is.
 */
export function hideServerCredentials(value: unknown): unknown {
  if (typeof value === 'string') return hideOne(value);
  if (Array.isArray(value)) return value.map(item => hideServerCredentials(item));
  return value;
}

function hideOne(text: string): string {
  const at = text.lastIndexOf('@');
  if (at < 0) return text;
  const scheme = /^\s*[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(text)?.[0] ?? '';
  return `${scheme.trim()}***${text.slice(at)}`;
}

/**
 * Checks `value` and returns the servers, duplicates dropped, in the order given. A server without
 * a scheme (`host:port`) takes the scheme of the first one (`tls://h1:4222,h2:4222` is two TLS
 * servers), `nats` when the first has none either.
 * @param option the option's name in messages, e.g. `dist (nats).servers`
 * @throws InvalidConfigError naming the option; a value holding `@` anywhere (credentials) is
 *   refused before anything else is checked, showing nothing before its last `@`.
 */
export function parseNatsServers(option: string, value: unknown): NatsServerAddress[] {
  const shown = hideServerCredentials(value);
  const refuse = () => invalidOption(option, shown, NatsConnectionMessages.accepts.servers);
  let items: unknown[];
  if (typeof value === 'string') items = [value];
  else if (Array.isArray(value)) items = value as unknown[];
  else throw refuse();
  // credentials first, on each whole string: a password may hold ",", " ", "/", "?" or "#", so
  // nothing split out of it may be shown
  const withAt = items.find(item => typeof item === 'string' && item.includes('@'));
  if (typeof withAt === 'string')
    throw new InvalidConfigError(
      NatsConnectionMessages.credentialsInServer(option, JSON.stringify(hideOne(withAt.trim()))),
      { option },
    );
  const parts: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') throw refuse();
    parts.push(...item.split(',').map(part => part.trim()));
  }
  if (parts.length === 0 || parts.length > MAX_NATS_SERVERS) throw refuse();
  const first = /^([A-Za-z]+):\/\//.exec(parts[0]!)?.[1]?.toLowerCase();
  const fallback = first === 'tls' ? 'tls' : 'nats';
  const servers: NatsServerAddress[] = [];
  for (const part of parts) {
    const server = parseOne(part, fallback);
    if (server === undefined) throw refuse();
    if (!servers.some(s => s.url === server.url)) servers.push(server);
  }
  return servers;
}

function parseOne(text: string, fallback: 'nats' | 'tls'): NatsServerAddress | undefined {
  if (text === '' || /[\s/?#\\]/.test(text.replace(/^[A-Za-z]+:\/\//, ''))) return undefined;
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/.exec(text);
  let scheme: 'nats' | 'tls' = fallback;
  let rest = text;
  if (schemeMatch) {
    const name = schemeMatch[1]!.toLowerCase();
    if (name !== 'nats' && name !== 'tls') return undefined;
    scheme = name;
    rest = schemeMatch[2]!;
  }
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return undefined;
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return undefined;
    portText = after === '' ? undefined : after.slice(1);
    if (!IPV6.test(host) || !host.includes(':')) return undefined;
  } else {
    const colons = rest.split(':').length - 1;
    if (colons > 1) return undefined; // a bare IPv6 address: brackets are needed
    [host, portText] = rest.split(':') as [string, string | undefined];
    if (!HOSTNAME.test(host)) return undefined;
  }
  let port = DEFAULT_NATS_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
    if (port < 1 || port > 65_535) return undefined;
  }
  const listen = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return { scheme, host, port, listen, url: `${scheme}://${listen}` };
}
