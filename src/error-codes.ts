import type { CoreErrorCode } from './core/index.js';
import type { DiscoveryErrorCode, KubernetesErrorCode } from './discovery/index.js';
import type { MessagingErrorCode, TcpErrorCode, TransportErrorCode } from './distribution/index.js';
import type { NatsConnectionErrorCode } from './nats/index.js';
import type { PortMapperErrorCode } from './portmapper/index.js';
import type { PrimitivesErrorCode } from './primitives/index.js';

/**
 * Every `code` a {@link GenClusterError} of this library can carry, across all layers: branch on
 * `error.code` with this type and the compiler checks the spelling.
 * @publicApi
 */
export type GenClusterErrorCode =
  | CoreErrorCode
  | DiscoveryErrorCode
  | KubernetesErrorCode
  | TransportErrorCode
  | MessagingErrorCode
  | TcpErrorCode
  | PortMapperErrorCode
  | NatsConnectionErrorCode
  | PrimitivesErrorCode;
