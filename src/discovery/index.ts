/**
 * The discovery layer: the built-in strategies and their options. Each strategy lives in its own
 * folder; only what is listed here leaves the layer.
 */
import type { AggregateDiscoveryOptions } from './aggregate/aggregate.discovery.js';
import type { DnsDiscoveryOptions } from './dns/dns-options.js';
import type { KubernetesDiscoveryOptions } from './kubernetes/kubernetes-options.js';
import type { EtcdDiscoveryOptions } from './etcd/etcd-options.js';
import type { GossipDiscoveryOptions } from './gossip/gossip-options.js';
import type { HostsFileDiscoveryOptions } from './hosts/hosts-options.js';
import type { LocalDiscoveryOptions } from './local/local.discovery.js';
import type { StaticDiscoveryOptions } from './static/static.discovery.js';

export { StaticDiscovery, type StaticDiscoveryOptions } from './static/static.discovery.js';
export { DnsDiscovery } from './dns/dns.discovery.js';
export {
  DNS_DISCOVERY_DEFAULTS,
  type DnsDiscoveryOptions,
  type DnsServerAddress,
  type ResolvedDnsDiscoveryOptions,
} from './dns/dns-options.js';
export { LocalDiscovery, type LocalDiscoveryOptions } from './local/local.discovery.js';
export { KubernetesDiscovery } from './kubernetes/kubernetes.discovery.js';
export {
  KUBERNETES_DISCOVERY_DEFAULTS,
  type KubernetesDiscoveryOptions,
  type ResolvedKubernetesDiscoveryOptions,
} from './kubernetes/kubernetes-options.js';
export { KubeRequestError, type KubernetesErrorCode } from './kubernetes/kubernetes.errors.js';
export {
  AggregateDiscovery,
  type AggregateDiscoveryOptions,
  MAX_AGGREGATE_DEPTH,
} from './aggregate/aggregate.discovery.js';
export { aggregateChildren, checkAggregateDepth } from './aggregate/aggregate-options.js';
export { HostsFileDiscovery } from './hosts/hosts.discovery.js';
export { HOSTS_DISCOVERY_DEFAULTS, type HostsFileDiscoveryOptions } from './hosts/hosts-options.js';
// etcd: the options type and the lazy factory only; the class is the `./etcd` entry's
export { createEtcdDiscovery } from './etcd/etcd-lazy.js';
export type { EtcdDiscoveryOptions } from './etcd/etcd-options.js';
export type { EtcdErrorCode } from './etcd/etcd.errors.js';
export { AnswerChangeNotifier, isCanonicalNodeName } from './answer-change.js';
export { multicastInterfaceAddress } from './gossip/gossip-interface.js';
export { GossipDiscovery, type GossipStats } from './gossip/gossip.discovery.js';
export { GOSSIP_DISCOVERY_DEFAULTS, type GossipDiscoveryOptions } from './gossip/gossip-options.js';
export {
  type GossipErrorCode,
  GossipSocketError,
  type GossipSocketOperation,
} from './gossip/gossip.errors.js';
export type { DiscoveryErrorCode } from './discovery.errors.js';

/** Options of the built-in discovery strategies, by `strategy` name. */
export type BuiltInDiscoveryOptions =
  | StaticDiscoveryOptions
  | DnsDiscoveryOptions
  | LocalDiscoveryOptions
  | KubernetesDiscoveryOptions
  | GossipDiscoveryOptions
  | HostsFileDiscoveryOptions
  | EtcdDiscoveryOptions
  | AggregateDiscoveryOptions;
