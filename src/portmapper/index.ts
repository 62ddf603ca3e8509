/**
 * The port mapper: a host-local name -> port registry speaking Erlang's EPMD wire protocol, so
 * that nodes on one host find each other without configuration, and Erlang's `erl` and `epmd` can
 * take part.
 *
 * This is the only entry other layers import (the `local` discovery, the TCP dist), and the
 * package's `./portmapper` subpath. Each export is documented where it is declared.
 *
 * - {@link PortMapperRegistration}: keeps one node registered, serving the mapper when none runs.
 * - {@link PortMapperClient}: registers, looks up and lists names with any mapper; a registration
 *   may carry the node's cluster namespace in EPMD's `Extra` field, which `nodes()` reads back.
 * - {@link PortMapperServer}: the mapper itself.
 * - The EPMD codec (`encodeRequest`, `decodeNamesResponse`, ...), pure and socket-free.
 */
export {
  type Decoded,
  EPMD_LIMITS,
  type EpmdAlive2Response,
  EpmdCode,
  type EpmdNameEntry,
  type EpmdNamesResponse,
  type EpmdNodeInfo,
  EpmdNodeType,
  type EpmdRequest,
  checkNodeName,
  checkNodeNameBytes,
  decodeAlive2Response,
  decodeNamesResponse,
  decodePort2Response,
  decodeRequest,
  encodeAlive2Response,
  encodeNamesResponse,
  encodePort2Response,
  encodeRequest,
  readRequestFrame,
} from './epmd-protocol.js';
export {
  EpmdProtocolError,
  type EpmdProtocolErrorDetails,
  type EpmdProtocolFailure,
  type PortMapperCallErrorCode,
  PortMapperError,
  type PortMapperErrorCode,
  type PortMapperErrorDetails,
} from './port-mapper.errors.js';
export {
  type LookupOptions,
  PortMapperClient,
  type PortMapperClientOptions,
  type PortMapperEntry,
  type PortMapperNode,
  type RegisterOptions,
  type RegisteredNode,
  type RegistrationEnd,
} from './port-mapper.client.js';
export {
  DEFAULT_PORT_MAPPER_HOST,
  DEFAULT_PORT_MAPPER_PORT,
  PORT_MAPPER_DEFAULTS,
} from './port-mapper.defaults.js';
export { PortMapperServer } from './port-mapper.server.js';
export { type PortMapperServerOptions, isLoopbackAddress } from './server-options.js';
export {
  PortMapperRegistration,
  type PortMapperRegistrationEvent,
  type PortMapperRegistrationOptions,
} from './port-mapper.registration.js';
