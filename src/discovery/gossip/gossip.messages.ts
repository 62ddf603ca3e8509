import { describeValue } from '../../core/index.js';

/**
 * User-facing texts of the `gossip` discovery, kept in one place so they can be found and
 * improved.
 */
export const GossipMessages = {
  unencodable: (field: string, value: unknown, accepted: string) =>
    `Gossip cannot announce ${field} ${describeValue(value)}: it accepts ${accepted}.`,
  unknownInterface: (option: string, value: string, interfaces: readonly string[]) =>
    `Invalid option ${option}: ${describeValue(value)} is neither an IPv4 address nor an interface with an IPv4 address here. Interfaces: ${interfaces.length === 0 ? '(none)' : interfaces.join(', ')}.`,
} as const;
