/**
 * Type tests of the discovery and formation options, compiled (never run) by
 * test/e2e/type-tests.e2e-spec.ts against the built declarations, as a user's application
 * compiles them (see typed-topics.ts for the `@ts-expect-error [code]` convention).
 */
import {
  type AggregateDiscoveryOptions,
  type ClusterOptions,
  type EtcdDiscoveryOptions,
  type GossipDiscoveryOptions,
  type HostsFileDiscoveryOptions,
  createCluster,
} from '../../src/index.js';
// @ts-expect-error [TS2724 EtcdDiscovery] the class is the ./etcd entry's, not the main one's
import { EtcdDiscovery } from '../../src/index.js';

const hosts: HostsFileDiscoveryOptions = { strategy: 'hosts', file: '/etc/gc.hosts' };
const gossip: GossipDiscoveryOptions = { strategy: 'gossip', interface: 'eth0', ttl: 1 };
const etcd: EtcdDiscoveryOptions = {
  strategy: 'etcd',
  endpoints: ['https://10.0.0.1:2379'],
  prefix: '/gen-cluster',
  username: 'gc',
  passwordFile: '/run/secrets/etcd',
};
const aggregate: AggregateDiscoveryOptions = {
  strategy: 'aggregate',
  of: [hosts, 'gossip', etcd, { strategy: 'aggregate', of: [{ strategy: 'local' }] }],
};

export const options: ClusterOptions[] = [
  { discovery: aggregate },
  { discovery: gossip },
  { discovery: 'gossip' },
  { discovery: 'gossip:239.255.43.69:45892' },
  { discovery: 'hosts:/etc/gc.hosts' },
  { discovery: 'etcd:http://10.0.0.1:2379/gen-cluster' },
  { discovery: 'hosts:/etc/gc.hosts|gossip' },
  { discovery: 'static:a@10.0.0.1', formation: { minMembers: 2, stableMarginMs: 3_000 } },
  { discovery: 'gossip', formation: {} },
];

export const cluster = createCluster({ discovery: 'gossip', formation: { minMembers: 1 } });
export const waited: Promise<void> = cluster.waitForFormation({ minMembers: 2, timeoutMs: 1_000 });
export const formed: boolean = cluster.formed;

export const misuses: ClusterOptions[] = [
  // @ts-expect-error [TS2322] a hosts discovery needs its file
  { discovery: { strategy: 'hosts' } },
  // @ts-expect-error [TS2322] the gossip port is a number
  { discovery: { strategy: 'gossip', port: '45892' } },
  // @ts-expect-error [TS2322] etcd endpoints are a list
  { discovery: { strategy: 'etcd', endpoints: 'http://10.0.0.1:2379' } },
  // @ts-expect-error [TS2322] no such short form
  { discovery: 'consul:my-service' },
  // @ts-expect-error [TS2322] minMembers is a number
  { discovery: 'gossip', formation: { minMembers: '2' } },
];
export { EtcdDiscovery };
