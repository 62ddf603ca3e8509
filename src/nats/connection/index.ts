/**
 * The NATS connection (used by the NATS dist and the NATS discovery): options, their resolution,
 * and {@link NatsLink}, the client wrapper. No value import of `@nats-io/*`: the client loads in
 * {@link NatsLink.open}.
 */
export {
  NATS_CONNECTION_DEFAULTS,
  NATS_CONNECTION_OPTION_KEYS,
  type NatsAuthMethod,
  type NatsConnectionOptions,
  NatsSecrets,
  type ResolvedNatsConnection,
  resolveNatsConnectionOptions,
} from './nats-connection-options.js';
export {
  DEFAULT_NATS_PORT,
  MAX_NATS_SERVERS,
  type NatsServerAddress,
  hideServerCredentials,
  parseNatsServers,
} from './nats-servers.js';
export {
  NatsConnectionError,
  type NatsConnectionErrorCode,
  NatsNotConnectedError,
  NatsPayloadTooLargeError,
} from './nats-connection.errors.js';
export { NatsConnectionMessages } from './nats-connection.messages.js';
export { NatsLink } from './nats-link.js';
export type { NatsLinkPorts, NatsLinkStats } from './nats-link.types.js';
