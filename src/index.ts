export * from './core/index.js';
export * from './discovery/index.js';
export * from './distribution/index.js';
export * from './nest/index.js';
export {
  DEFAULT_PORT_MAPPER_PORT,
  EpmdProtocolError,
  PortMapperClient,
  type PortMapperClientOptions,
  type PortMapperEntry,
  PortMapperError,
  PortMapperRegistration,
  type PortMapperRegistrationOptions,
  type RegisteredNode,
  PortMapperServer,
  type PortMapperServerOptions,
} from './portmapper/index.js';
