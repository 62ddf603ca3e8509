import { checkInteger, checkMilliseconds, checkPort } from '../core/index.js';
import type { ClusterLogger } from '../core/index.js';
import { PortMapperMessages as M } from './port-mapper.messages.js';

/** Options of a {@link PortMapperServer}. */
export interface PortMapperServerOptions {
  /**
   * The address to listen on; `127.0.0.1` by default. Give `0.0.0.0` or `::` to let other hosts
   * ask for names and ports (the `local` discovery's `hosts` option); registering stays allowed
   * from loopback clients only, whatever the address.
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
   * of them is closed, so a flood of idle connections cannot lock out real clients.
   */
  readonly maxPendingConnections?: number;
  /** Where to report what it does; nothing is logged without one. */
  readonly logger?: ClusterLogger;
  /**
   * Let neither the listener nor the connections keep the process alive (`unref()`), for a mapper
   * embedded in a node: the node's own work decides when its process ends.
   */
  readonly unref?: boolean;
}

/** The most `maxRegistrations` and `maxPendingConnections` may be. */
const MAX_BOUND = 1_000_000;

/**
 * Refuses options a server cannot run with.
 * @throws InvalidConfigError naming the option, the value and what is accepted.
 */
export function checkServerOptions(options: PortMapperServerOptions): void {
  const option = (key: keyof PortMapperServerOptions) => M.optionName('server', key);
  if (options.port !== undefined) checkPort(option('port'), options.port, { allowZero: true });
  if (options.packetTimeoutMs !== undefined)
    checkMilliseconds(option('packetTimeoutMs'), options.packetTimeoutMs);
  for (const key of ['maxRegistrations', 'maxPendingConnections'] as const) {
    if (options[key] !== undefined) checkInteger(option(key), options[key], 1, MAX_BOUND);
  }
}
