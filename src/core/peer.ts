import { isIP } from 'node:net';
import { InvalidNodeNameError } from './errors.js';
import { CoreMessages } from './messages.js';

/**
 * A node to connect to, or a connected node: `node` is `name@host` (as Erlang's `-name`), `port`
 * its dist port when known (a peer without one is dialled on the cluster's fixed port).
 *
 * Identity is the canonical node name alone: two live nodes may not share a name, so the port is
 * where to dial, not who the peer is. A peer discovered with a port and the same member reported
 * without one are the same node.
 */
export interface Peer {
  /** Canonical `name@host`. */
  readonly node: string;
  /** Dist port, when the discovery source knows it. */
  readonly port?: number;
  /** Extra facts from the discovery source (SRV priority and weight, pod name, ...). */
  readonly meta?: Readonly<Record<string, string | number | boolean>>;
}

/** The parts of a node name. */
export interface NodeName {
  /** The part before `@`. */
  readonly name: string;
  /** The host: an IPv4 or canonical IPv6 address (no brackets), or a lower-case DNS name. */
  readonly host: string;
  /** A port written into the node string (`name@host:port`), if any. */
  readonly port?: number;
}

const NAME_PART = /^[A-Za-z0-9_.+-]{1,255}$/;

/** What the name part of a node name may hold, for messages about it. */
export const NAME_PART_FORMS =
  'the name part of a node name (letters, digits, "_", ".", "+", "-"), without "@"';

/** Whether `value` can be the name part of a node name (the text before `@`). */
export function isNamePart(value: unknown): value is string {
  return typeof value === 'string' && NAME_PART.test(value);
}
const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/**
 * Parses `name@host`, `name@host:port`, `name@[v6]`, `name@[v6]:port` or `name@v6` (a bare IPv6
 * address never carries a port). Hosts are canonicalised: IPv6 per RFC 5952, DNS names lower-cased
 * without a trailing dot.
 * @throws InvalidNodeNameError naming the value and the accepted forms.
 */
export function parseNodeName(value: string): NodeName {
  if (typeof value !== 'string')
    throw new InvalidNodeNameError(CoreMessages.invalidNodeName(value, 'not a string'));
  const at = value.indexOf('@');
  if (at <= 0 || at !== value.lastIndexOf('@')) {
    throw new InvalidNodeNameError(
      CoreMessages.invalidNodeName(value, 'exactly one "@" with a name before it is required'),
    );
  }
  const name = value.slice(0, at);
  if (!NAME_PART.test(name)) {
    throw new InvalidNodeNameError(
      CoreMessages.invalidNodeName(
        value,
        'the name part may hold only letters, digits, "_", ".", "+" and "-"',
      ),
    );
  }
  let rest = value.slice(at + 1);
  let port: number | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0)
      throw new InvalidNodeNameError(CoreMessages.invalidNodeName(value, 'unclosed "["'));
    const after = rest.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':'))
        throw new InvalidNodeNameError(
          CoreMessages.invalidNodeName(value, 'unexpected text after "]"'),
        );
      port = parsePortText(value, after.slice(1));
    }
    rest = rest.slice(1, close);
    if (isIP(stripZone(rest)) !== 6)
      throw new InvalidNodeNameError(
        CoreMessages.invalidNodeName(value, 'brackets must hold an IPv6 address'),
      );
  } else {
    const colons = rest.split(':').length - 1;
    if (colons === 1) {
      const colon = rest.indexOf(':');
      port = parsePortText(value, rest.slice(colon + 1));
      rest = rest.slice(0, colon);
    }
  }
  const host = canonicalHost(rest);
  if (host === undefined)
    throw new InvalidNodeNameError(
      CoreMessages.invalidNodeName(value, `"${rest}" is not an IP address or a DNS name`),
    );
  return port === undefined ? { name, host } : { name, host, port };
}

function parsePortText(value: string, text: string): number {
  if (!/^\d{1,5}$/.test(text))
    throw new InvalidNodeNameError(CoreMessages.invalidNodeName(value, `"${text}" is not a port`));
  const port = Number(text);
  if (port < 1 || port > 65535)
    throw new InvalidNodeNameError(
      CoreMessages.invalidNodeName(value, `port ${port} is out of range 1-65535`),
    );
  return port;
}

/**
 * Canonical form of a host: IPv4 as is, IPv6 per RFC 5952 (lower case, longest zero run
 * compressed, IPv4-mapped addresses in dotted form), DNS names lower case without a trailing dot.
 * Returns `undefined` for text that is none of these.
 */
export function canonicalHost(host: string): string | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const family = isIP(stripZone(bare));
  if (family === 4) return bare;
  if (family === 6) return canonicalIPv6(bare);
  const lower = bare.toLowerCase().replace(/\.$/, '');
  return HOST_NAME.test(lower) ? lower : undefined;
}

function stripZone(address: string): string {
  const pct = address.indexOf('%');
  return pct < 0 ? address : address.slice(0, pct);
}

/** RFC 5952 text of an IPv6 address (zone id kept as given). */
export function canonicalIPv6(address: string): string {
  const pct = address.indexOf('%');
  const zone = pct < 0 ? '' : address.slice(pct);
  const groups = ipv6Groups(pct < 0 ? address : address.slice(0, pct));
  // IPv4-mapped addresses keep the dotted quad (RFC 5952 section 5).
  if (groups.slice(0, 5).every(g => g === 0) && groups[5] === 0xffff) {
    const [hi, lo] = [groups[6]!, groups[7]!];
    return `::ffff:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}${zone}`;
  }
  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map(g => g.toString(16));
  if (bestStart < 0) return hex.join(':') + zone;
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}${zone}`;
}

/** The eight 16-bit groups of an IPv6 address (without zone id), already validated. */
export function ipv6Groups(address: string): number[] {
  let text = address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    // An embedded IPv4 tail (already validated by isIP) becomes two hex groups.
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part === '' ? [] : part.split(':').map(h => parseInt(h, 16)));
  const doubleColon = text.indexOf('::');
  if (doubleColon < 0) return parse(text);
  const left = parse(text.slice(0, doubleColon));
  const right = parse(text.slice(doubleColon + 2));
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** `name@host` of a parsed node name (IPv6 hosts without brackets, as Erlang writes them). */
export function formatNodeName(name: NodeName): string {
  return `${name.name}@${name.host}`;
}

/**
 * How many node strings {@link nodeKey} remembers: the members of a large cluster, so a node
 * sending to every member in turn still finds each name known. At most a few MiB even with node
 * names of the longest valid form, about 100 bytes an entry for usual ones.
 */
const NODE_KEYS_KEPT = 4_096;

// Node string -> its canonical name. Messaging turns the node of every send and request into its
// key: parsing it each time (regular expressions, an IP check, a new string the link table must
// hash again) cost more than the rest of the send's own bookkeeping. Bounded: past the bound the
// oldest entry goes. A canonical string maps to itself, so its key is the caller's own string.
const nodeKeys = new Map<string, string>();

/** The canonical node name (`name@host`) of a node string, dropping any port written into it. */
export function nodeKey(node: string): string {
  const known = nodeKeys.get(node);
  if (known !== undefined) return known;
  const formatted = formatNodeName(parseNodeName(node));
  const key = formatted === node ? node : formatted;
  if (nodeKeys.size >= NODE_KEYS_KEPT) nodeKeys.delete(nodeKeys.keys().next().value as string);
  nodeKeys.set(node, key);
  return key;
}

/**
 * Builds a canonical {@link Peer} from a node string (possibly carrying a port) or a peer object.
 * @throws InvalidNodeNameError when the name is malformed or names two different ports.
 */
export function toPeer(input: string | Peer): Peer {
  const raw = typeof input === 'string' ? { node: input } : input;
  const parsed = parseNodeName(raw.node);
  const fieldPort = raw.port;
  if (
    fieldPort !== undefined &&
    !(Number.isInteger(fieldPort) && fieldPort >= 1 && fieldPort <= 65535)
  ) {
    throw new InvalidNodeNameError(CoreMessages.invalidPort(fieldPort));
  }
  if (parsed.port !== undefined && fieldPort !== undefined && parsed.port !== fieldPort) {
    throw new InvalidNodeNameError(CoreMessages.conflictingPort(raw.node, parsed.port, fieldPort));
  }
  const port = fieldPort ?? parsed.port;
  const peer: { node: string; port?: number; meta?: Peer['meta'] } = {
    node: formatNodeName(parsed),
  };
  if (port !== undefined) peer.port = port;
  if (raw.meta !== undefined) peer.meta = raw.meta;
  return peer;
}

/** Address text for dialling: IPv6 in brackets. */
export function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
