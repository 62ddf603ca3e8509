import { describeValue } from '../../core/index.js';
import type { GossipSocketOperation } from './gossip.errors.js';

const ROUTE_ADVICE = (example: string) =>
  `Give this host a multicast route (ip route add 224.0.0.0/4 dev ${example}), or set the gossip option "interface" to the address or name of the interface to gossip on (e.g. {"strategy":"gossip","interface":"${example}"}).`;

/**
 * User-facing texts of the `gossip` discovery, kept in one place so they can be found and
 * improved.
 */
export const GossipMessages = {
  /** What each option accepts, for refusals. */
  accepts: {
    options: 'an object such as { strategy: "gossip" }',
    group: 'an IPv4 multicast address (224.0.0.0 to 239.255.255.255), e.g. "239.255.43.69"',
    interface: 'an IPv4 address of this host or an interface name, e.g. "10.0.0.5" or "eth0"',
    secretFile: 'the path of a file holding the secret',
  },
  // Options.
  secretAndFile: () =>
    'Invalid gossip options: "secret" and "secretFile" are both set; give one of them.',
  badSecret: (type: string) =>
    `Invalid gossip option "secret": expected a non-empty string, got ${type === 'string' ? 'an empty string' : `a ${type}`}.`,
  unreadableSecretFile: (file: string, error: Error) =>
    `Invalid gossip option "secretFile": ${JSON.stringify(file)} cannot be read (${error.message}).`,
  emptySecretFile: (file: string) =>
    `Invalid gossip option "secretFile": ${JSON.stringify(file)} is empty.`,
  unknownInterface: (option: string, value: string, interfaces: readonly string[]) =>
    `Invalid option ${option}: ${describeValue(value)} is neither an IPv4 address of this host nor an interface with an IPv4 address here. Interfaces: ${interfaces.length === 0 ? '(none)' : interfaces.join(', ')}.`,
  unencodable: (field: string, value: unknown, accepted: string) =>
    `Gossip cannot announce ${field} ${describeValue(value)}: it accepts ${accepted}.`,
  // Startup.
  noKey: (dist: string) =>
    `Gossip discovery needs a key to sign announcements: the dist (${dist}) derives none from a secret. Set the gossip option "secret" or "secretFile" (the same on every node).`,
  noPort: () =>
    'Gossip discovery needs the port this node listens on, and the dist reports none. Use a dist with a port (the TCP dist), or another discovery strategy.',
  // Runtime.
  socketFailed: (
    operation: GossipSocketOperation,
    group: string,
    port: number,
    iface: string | undefined,
    why: string,
    example: string,
  ) => {
    const what = {
      bind: `bind UDP port ${port}`,
      join: `join the multicast group ${group}${iface === undefined ? '' : ` on ${iface}`}`,
      send: `send to ${group}:${port}${iface === undefined ? '' : ` from ${iface}`}`,
    }[operation];
    const advice =
      operation === 'bind'
        ? `Is the port free for sharing (another program holding it exclusively)? Set the gossip option "port" otherwise.`
        : ROUTE_ADVICE(example);
    return `Gossip discovery cannot ${what} (${why}); keeping the last good peers. ${advice}`;
  },
  socketTimeout: (ms: number) => `no completion within ${ms} ms`,
  socketRecovered: (operation: GossipSocketOperation) =>
    `Gossip discovery: the socket works again (${operation}).`,
  badMac: (from: string) =>
    `Gossip discovery: ignored announcements from ${from} signed with another key (another cookie or gossip secret?).`,
  duplicateName: (node: string, from: string) =>
    `Gossip discovery: ${from} announces this node's name ${node} under another start: another node with the same name (node names must be unique), or a replay of a packet of an earlier start of this node.`,
} as const;
