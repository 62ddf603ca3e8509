/**
 * The `./nats` entry, and the index of the NATS layer: the NATS dist (membership and messaging
 * over a NATS cluster instead of the TCP mesh), the NATS discovery (members found through NATS,
 * connected by the TCP mesh), their options and the errors a user may branch on. Needs the
 * optional peer `@nats-io/transport-node`, loaded when a strategy starts (`init`), never when this
 * entry loads: an app without it can import this entry and gets `ERR_OPTIONAL_PACKAGE_MISSING`
 * only when it starts a NATS strategy. The main entry's `{ strategy: 'nats', ... }`,
 * `GEN_CLUSTER_DIST=nats://...` and `GEN_CLUSTER_DISCOVERY=nats://...` build the same classes
 * (their server lists are read by the same {@link parseNatsServers}).
 */
export {
  NATS_DIST_DEFAULTS,
  type NatsClientStats,
  NatsDist,
  type NatsDistCounters,
  type NatsDistOptions,
  type NatsDistStats,
  type NatsMessageAuth,
} from './dist/index.js';
export {
  NATS_DISCOVERY_DEFAULTS,
  NatsDiscovery,
  type NatsDiscoveryOptions,
  type NatsDiscoveryStats,
} from './discovery/index.js';
export {
  type NatsConnectionOptions,
  type NatsServerAddress,
  parseNatsServers,
  NatsConnectionError,
  type NatsConnectionErrorCode,
  NatsNotConnectedError,
  NatsPayloadTooLargeError,
} from './connection/index.js';
