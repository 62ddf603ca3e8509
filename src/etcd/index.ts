/**
 * The `./etcd` entry: the etcd discovery class, for apps that build their strategy themselves
 * (`new EtcdDiscovery({ endpoints: [...] })`). `{ strategy: 'etcd' }` and the `etcd:` short form
 * of the main entry load the same class lazily. No dependency: it talks to etcd's HTTP/JSON v3
 * gateway (etcd 3.4 or later).
 */
export { EtcdDiscovery } from '../discovery/etcd/etcd.discovery.js';
export {
  ETCD_DISCOVERY_DEFAULTS,
  type EtcdDiscoveryOptions,
  type ResolvedEtcdDiscoveryOptions,
} from '../discovery/etcd/etcd-options.js';
export {
  EtcdRequestError,
  type EtcdErrorCode,
  type EtcdFailure,
} from '../discovery/etcd/etcd.errors.js';
