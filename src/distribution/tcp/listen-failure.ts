import { networkInterfaces } from 'node:os';
import { InvalidConfigError, toError } from '../../core/index.js';
import { TcpMessages as M } from './tcp.messages.js';

/** Where the dist tried to listen, and which setting chose the address. */
export interface ListenAttempt {
  /** The address listened on; `undefined` for every interface. */
  readonly bind: string | undefined;
  /**
   * `'bind'`: the `bind` option (or `GEN_CLUSTER_BIND`) gave the address; `'node'`: it is the
   * host of this node's name (the default when that host is an IP).
   */
  readonly bindFrom: 'bind' | 'node';
  /** The configured port (0: ephemeral). */
  readonly port: number;
  /** This node's name. */
  readonly self: string;
}

/** At most this many of the machine's addresses are listed in a message. */
const MAX_LISTED_ADDRESSES = 8;

/**
 * Turns a failed `listen` into an {@link InvalidConfigError} that names the setting behind it
 * and what to do: Node's own text (`listen EADDRINUSE 127.0.0.101:39701`) says neither that it is
 * the cluster's port nor which variable chose it. The Node error is kept as `cause`.
 */
export function listenFailure(error: unknown, attempt: ListenAttempt): InvalidConfigError {
  const cause = toError(error);
  const code = (cause as NodeJS.ErrnoException).code;
  const address = attempt.bind ?? M.allInterfaces();
  switch (code) {
    case 'EADDRINUSE':
      return new InvalidConfigError(M.portInUse(address, attempt.port), { option: 'port', cause });
    case 'EACCES':
      return new InvalidConfigError(M.portNotPermitted(address, attempt.port), {
        option: 'port',
        cause,
      });
    case 'EADDRNOTAVAIL':
      return attempt.bindFrom === 'bind'
        ? new InvalidConfigError(M.bindNotLocal(address, localAddresses()), {
            option: 'bind',
            cause,
          })
        : new InvalidConfigError(M.nodeHostNotLocal(attempt.self, address, localAddresses()), {
            option: 'node',
            cause,
          });
    default:
      return new InvalidConfigError(M.listenFailed(address, attempt.port, cause.message), {
        option: 'bind',
        cause,
      });
  }
}

/** This machine's addresses, for a message that asks to pick one. */
function localAddresses(): string {
  const all = new Set<string>();
  for (const list of Object.values(networkInterfaces()))
    for (const entry of list ?? []) all.add(entry.address);
  const shown = [...all].slice(0, MAX_LISTED_ADDRESSES);
  if (shown.length === 0) return M.noLocalAddress();
  return all.size > shown.length ? `${shown.join(', ')}, ...` : shown.join(', ');
}
