export * from './epmd-protocol.js';
export * from './port-mapper.errors.js';
export * from './port-mapper.client.js';
export * from './port-mapper.defaults.js';
export * from './port-mapper.server.js';
export * from './port-mapper.registration.js';
