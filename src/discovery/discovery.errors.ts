/**
 * The codes of the discovery layer. Its strategies throw core's error classes: an
 * `InvalidConfigError` at construction, a `DiscoveryError` from `peers()` (whose `cause` may be a
 * Kubernetes API error, a gossip socket error or an etcd request error, each with a code of its
 * own). The aggregate reports a failing child as a `DiscoveryError` too, keeping its code.
 */
import type { KubernetesErrorCode } from './kubernetes/kubernetes.errors.js';
import type { GossipErrorCode } from './gossip/gossip.errors.js';
import type { EtcdErrorCode } from './etcd/etcd.errors.js';

/** Every code raised by the discovery layer, its errors' causes included. */
export type DiscoveryErrorCode =
  | 'ERR_INVALID_CONFIG'
  | 'ERR_DISCOVERY_FAILED'
  | 'ERR_DISCOVERY_TIMEOUT'
  | KubernetesErrorCode
  | GossipErrorCode
  | EtcdErrorCode;
