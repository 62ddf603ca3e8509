import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { InvalidConfigError } from '../../core/index.js';
import { optionName } from '../option-checks.js';
import { GossipMessages } from './gossip.messages.js';

/**
 * The IPv4 address of the interface gossip multicasts on, which is also the address a node
 * without a configured name is reached at (the zero-configuration name `node-<pid>@<address>`).
 *
 * @param option the `interface` option: an IPv4 address of this host, or an interface name
 * (`eth0`: its first IPv4 address). Unset: the first non-internal IPv4 address of this host, or
 * `undefined` when it has none.
 * @throws InvalidConfigError when `option` is neither an IPv4 address of this host nor the name
 * of an interface with an IPv4 address; the message lists this host's interfaces.
 */
export function multicastInterfaceAddress(option?: string): string | undefined {
  const interfaces = networkInterfaces();
  if (option === undefined) {
    for (const addresses of Object.values(interfaces)) {
      const found = addresses?.find(a => a.family === 'IPv4' && !a.internal);
      if (found !== undefined) return found.address;
    }
    return undefined;
  }
  // An address must be this host's: the zero-configuration name is built from it, and a foreign
  // one would fail far from here (the dist cannot listen on it).
  const found = isIPv4(option)
    ? Object.values(interfaces)
        .flatMap(addresses => addresses ?? [])
        .find(a => a.family === 'IPv4' && a.address === option)
    : interfaces[option]?.find(a => a.family === 'IPv4');
  if (found !== undefined) return found.address;
  const listed = Object.entries(interfaces).map(([name, addresses]) => {
    const v4 = (addresses ?? []).filter(a => a.family === 'IPv4').map(a => a.address);
    return v4.length === 0 ? `${name} (no IPv4)` : `${name} (${v4.join(', ')})`;
  });
  const option_ = optionName('gossip', 'interface');
  throw new InvalidConfigError(GossipMessages.unknownInterface(option_, option, listed), {
    option: option_,
  });
}
