/**
 * The options of the `gossip` discovery: their types and defaults, and their resolution (checks,
 * defaults, the interface resolved to its address, the secret file read).
 */
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import {
  DEFAULT_NAMESPACE,
  InvalidConfigError,
  checkInteger,
  checkMilliseconds,
  checkNamespace,
  checkPort,
  invalidOption,
  toError,
  deriveLabelledKey,
} from '../../core/index.js';
import { checkStrategyOptions, optionName } from '../option-checks.js';
import { multicastInterfaceAddress } from './gossip-interface.js';
import { GOSSIP_KEY_LABEL } from './gossip-packet.js';
import { GossipMessages } from './gossip.messages.js';

/**
 * Options of the `gossip` discovery: every node announces itself on an IPv4 multicast group at
 * an interval and lists the nodes it heard, each announcement authenticated with a key derived
 * from the cluster's cookie. For one LAN (TTL 1 by default); no other configuration is needed.
 *
 * @example Every node on the LAN with the same cookie:
 * { strategy: 'gossip' }
 * @example A host whose multicast goes out of eth1 (it has no multicast route):
 * { strategy: 'gossip', interface: 'eth1' }
 */
export interface GossipDiscoveryOptions {
  readonly strategy: 'gossip';
  /** The IPv4 multicast group (224.0.0.0/4); `239.255.43.69` (administratively scoped) by default. */
  readonly group?: string;
  /** The UDP port of the group; `45892` by default. */
  readonly port?: number;
  /**
   * The interface to multicast on and to join the group on: an IPv4 address of this host or an
   * interface name (`eth0`). Unset: the one the multicast route names (`ip route add 224.0.0.0/4
   * dev eth0`); a host with neither cannot gossip.
   */
  readonly interface?: string;
  /** Hops a multicast packet may cross, 0-255; `1` (this LAN only) by default. */
  readonly ttl?: number;
  /** Between two announcements of this node, in ms (±10% jitter); `2000` by default. */
  readonly intervalMs?: number;
  /** A node not heard for this many intervals drops out of the answer; `3` by default. */
  readonly missedIntervals?: number;
  /** The most nodes remembered at once (the least recently heard is forgotten); `1024` by default. */
  readonly maxCandidates?: number;
  /**
   * The shared secret announcements are signed with (HKDF-SHA256, as the dist derives its key
   * from the cookie). Only needed when the dist has no secret to derive a key from (not TCP), or to
   * gossip under another secret than the cookie. Never logged.
   */
  readonly secret?: string;
  /** A file holding {@link secret} (trimmed), for a secret kept out of the configuration. */
  readonly secretFile?: string;
  /**
   * The cluster namespace (`GEN_CLUSTER_NAMESPACE`), `'default'` by default: only announcements
   * of this namespace are listed.
   */
  readonly namespace?: string;
}

/** The options in force, defaults filled in. */
export interface ResolvedGossipOptions {
  readonly group: string;
  readonly port: number;
  /** The `interface` option as given, for messages. */
  readonly interface: string | undefined;
  /** Its IPv4 address, `undefined` when unset (the multicast route decides). */
  readonly interfaceAddress: string | undefined;
  readonly ttl: number;
  readonly intervalMs: number;
  readonly missedIntervals: number;
  readonly maxCandidates: number;
  readonly namespace: string;
  /** The key derived from `secret`/`secretFile`; `undefined`: the dist derives it. */
  readonly key: Buffer | undefined;
}

/** Defaults of the `gossip` discovery. */
export const GOSSIP_DISCOVERY_DEFAULTS = Object.freeze({
  group: '239.255.43.69',
  port: 45_892,
  ttl: 1,
  intervalMs: 2_000,
  missedIntervals: 3,
  maxCandidates: 1_024,
  /** ± this share of `intervalMs` at random, so nodes started together do not send together. */
  jitter: 0.1,
} as const);

const KNOWN_OPTIONS = [
  'strategy',
  'group',
  'port',
  'interface',
  'ttl',
  'intervalMs',
  'missedIntervals',
  'maxCandidates',
  'secret',
  'secretFile',
  'namespace',
] as const;

const option = (key: string) => optionName('gossip', key);

/** Whether `value` is an IPv4 multicast address (224.0.0.0/4). */
export function isIPv4Multicast(value: unknown): value is string {
  if (typeof value !== 'string' || !isIPv4(value)) return false;
  const first = Number(value.slice(0, value.indexOf('.')));
  return first >= 224 && first <= 239;
}

/** The gossip key of a shared secret: HKDF-SHA256 with {@link GOSSIP_KEY_LABEL}, as the TCP dist. */
export function gossipKeyOf(secret: string | Buffer): Buffer {
  return deriveLabelledKey(secret, GOSSIP_KEY_LABEL);
}

/**
 * Validates the options, fills in defaults, resolves the interface and reads the secret file.
 * @throws InvalidConfigError naming the option, the value and the accepted forms.
 */
export function resolveGossipOptions(options: unknown): ResolvedGossipOptions {
  checkStrategyOptions('gossip', options, KNOWN_OPTIONS, GossipMessages.accepts.options);
  const o = options;
  const d = GOSSIP_DISCOVERY_DEFAULTS;
  const group = o.group ?? d.group;
  if (!isIPv4Multicast(group))
    throw invalidOption(option('group'), group, GossipMessages.accepts.group);
  const port = o.port ?? d.port;
  checkPort(option('port'), port);
  const ttl = o.ttl ?? d.ttl;
  checkInteger(option('ttl'), ttl, 0, 255);
  const intervalMs = o.intervalMs ?? d.intervalMs;
  checkMilliseconds(option('intervalMs'), intervalMs, { min: 10 });
  const missedIntervals = o.missedIntervals ?? d.missedIntervals;
  checkInteger(option('missedIntervals'), missedIntervals, 1, 1_000);
  const maxCandidates = o.maxCandidates ?? d.maxCandidates;
  checkInteger(option('maxCandidates'), maxCandidates, 1, 1_000_000);
  const namespace = o.namespace ?? DEFAULT_NAMESPACE;
  checkNamespace(option('namespace'), namespace);
  const iface = o.interface;
  if (iface !== undefined && (typeof iface !== 'string' || iface.trim() === ''))
    throw invalidOption(option('interface'), iface, GossipMessages.accepts.interface);
  const interfaceAddress = iface === undefined ? undefined : multicastInterfaceAddress(iface);
  return {
    group,
    port,
    interface: iface,
    interfaceAddress,
    ttl,
    intervalMs,
    missedIntervals,
    maxCandidates,
    namespace,
    key: secretKey(o.secret, o.secretFile),
  };
}

function secretKey(secret: unknown, secretFile: unknown): Buffer | undefined {
  if (secret !== undefined && secretFile !== undefined)
    throw new InvalidConfigError(GossipMessages.secretAndFile(), { option: option('secret') });
  if (secret !== undefined) {
    // Never quote the value: it is the secret, whatever its type.
    if (typeof secret !== 'string' || secret.length === 0)
      throw new InvalidConfigError(GossipMessages.badSecret(typeof secret), {
        option: option('secret'),
      });
    return gossipKeyOf(secret);
  }
  if (secretFile === undefined) return undefined;
  if (typeof secretFile !== 'string' || secretFile === '')
    throw invalidOption(option('secretFile'), secretFile, GossipMessages.accepts.secretFile);
  let text: string;
  try {
    text = readFileSync(secretFile, 'utf8').trim();
  } catch (error) {
    throw new InvalidConfigError(GossipMessages.unreadableSecretFile(secretFile, toError(error)), {
      option: option('secretFile'),
      cause: error,
    });
  }
  if (text === '')
    throw new InvalidConfigError(GossipMessages.emptySecretFile(secretFile), {
      option: option('secretFile'),
    });
  return gossipKeyOf(text);
}
