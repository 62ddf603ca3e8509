import { isIP } from 'node:net';
import {
  type ClusterLogger,
  canonicalHost,
  checkInteger,
  checkMilliseconds,
  checkPort,
  invalidOption,
} from '../core/index.js';
import { stripBrackets } from './mapper-request.js';
import { PortMapperMessages as M } from './port-mapper.messages.js';

/** Options of a {@link PortMapperServer}. */
export interface PortMapperServerOptions {
  /**
   * The address to listen on, an IP address; `127.0.0.1` (loopback only) by default.
   *
   * Any other address exposes the mapper to other hosts, as an opt-in (it tells them the names
   * and ports of this host's nodes): `0.0.0.0` or `::` for every interface, or one interface's
   * address (the mapper then listens on `127.0.0.1` too, as epmd adds loopback to its addresses).
   * Other hosts may only ask (PORT_PLEASE2, NAMES): registrations (ALIVE2) and KILL are taken
   * from loopback clients only; those from elsewhere are closed without an answer.
   */
  readonly host?: string;
  /** The port to listen on; {@link DEFAULT_PORT_MAPPER_PORT} by default, `0` for an ephemeral one. */
  readonly port?: number;
  /**
   * How long a connection may stay without a complete request, and how long an answered one may
   * take to be read, before it is closed (epmd's `packet_timeout`); 10 s by default.
   */
  readonly packetTimeoutMs?: number;
  /** Names held at most (10,000 by default); a registration beyond is refused (result 1). */
  readonly maxRegistrations?: number;
  /**
   * Connections without a registration held at once (1,024 by default). Past the bound the oldest
   * one from another host is closed (the oldest loopback one only when no other host holds any),
   * so a flood of idle connections cannot lock out real clients, nor local nodes' registrations.
   */
  readonly maxPendingConnections?: number;
  /**
   * Connections without an answer held at once from one non-loopback address (32 by default),
   * for an exposed mapper: a new one past it is closed at once (logged as a warning, at most once
   * per address and 10 s), so one host cannot take the shared `maxPendingConnections` from
   * others. Loopback clients are never held to it: local nodes can always register.
   */
  readonly maxPendingPerAddress?: number;
  /** Where to report what it does; nothing is logged without one. */
  readonly logger?: ClusterLogger;
  /**
   * Let neither the listener nor the connections keep the process alive (`unref()`), for a mapper
   * embedded in a node: the node's own work decides when its process ends.
   */
  readonly unref?: boolean;
}

/** The most `maxRegistrations`, `maxPendingConnections` and `maxPendingPerAddress` may be. */
const MAX_BOUND = 1_000_000;

/**
 * Refuses options a server cannot run with.
 * @throws InvalidConfigError naming the option, the value and what is accepted.
 */
export function checkServerOptions(options: PortMapperServerOptions): void {
  const option = (key: keyof PortMapperServerOptions) => M.optionName('server', key);
  if (options.host !== undefined) checkListenAddress(option('host'), options.host);
  if (options.port !== undefined) checkPort(option('port'), options.port, { allowZero: true });
  if (options.packetTimeoutMs !== undefined)
    checkMilliseconds(option('packetTimeoutMs'), options.packetTimeoutMs);
  for (const key of [
    'maxRegistrations',
    'maxPendingConnections',
    'maxPendingPerAddress',
  ] as const) {
    if (options[key] !== undefined) checkInteger(option(key), options[key], 1, MAX_BOUND);
  }
}

/**
 * Refuses a port mapper listen address that is not an IP address (`127.0.0.1`, `0.0.0.0`, `::`,
 * `10.0.0.5`, `[::1]`) or `localhost`, for a mapper's `host` or a registration's `bind`.
 * @param option the option's name, as the refusal names it
 * @throws InvalidConfigError naming the option, the value and what is accepted.
 */
export function checkListenAddress(option: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || (value !== 'localhost' && isIP(stripBrackets(value)) === 0))
    throw invalidOption(option, value, M.acceptedBind());
}

/** How a mapper listening on `host` (an IP address) reaches clients. */
export type ListenScope = 'loopback' | 'every-interface' | 'one-interface';

/** Whether `host` (an IP address or `localhost`) is loopback, a wildcard, or one interface's. */
export function listenScope(host: string): ListenScope {
  const canonical = canonicalHost(host);
  if (canonical === '0.0.0.0' || canonical === '::') return 'every-interface';
  if (canonical === 'localhost') return 'loopback';
  return isLoopbackAddress(stripBrackets(host)) ? 'loopback' : 'one-interface';
}

/**
 * Whether an address is loopback: `127.0.0.0/8`, `::1`, or an IPv4-mapped `::ffff:127.x.x.x`.
 * Only loopback clients may register with the port mapper.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const lower = address.toLowerCase();
  if (lower === '::1' || lower === '0:0:0:0:0:0:0:1') return true;
  const v4 = lower.startsWith('::ffff:') ? lower.slice(7) : lower;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
