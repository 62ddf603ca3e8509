/**
 * The NATS discovery, for the TCP mesh: members found through NATS, connected by the TCP dist.
 */
export { NatsDiscovery, type NatsDiscoveryStats } from './nats.discovery.js';
export {
  NATS_DISCOVERY_DEFAULTS,
  NATS_DISCOVERY_KEY_LABEL,
  type NatsDiscoveryOptions,
  type ResolvedNatsDiscoveryOptions,
} from './nats-discovery-options.js';
