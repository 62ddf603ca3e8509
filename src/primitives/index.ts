/**
 * The cluster primitives: the service registry (who serves which topic, kept by every node from
 * its peers' announcements) and `call` (ask whichever node serves a topic). Built on core's
 * `ClusterControl` and `ClusterMessaging`, so any dist with messaging carries them.
 */
export * from './primitives.types.js';
export {
  NoServerError,
  RegistryEntryError,
  type RegistryEntryDetails,
  type RegistryEntryProblem,
  type NoServerDetails,
  type PrimitivesErrorCode,
} from './primitives.errors.js';
export { PrimitivesMessages } from './primitives.messages.js';
export {
  ServiceRegistry,
  type RegistryTimings,
  type ServiceRegistryOptions,
} from './registry/service-registry.js';
export {
  type CallAttempt,
  ServiceCaller,
  type ServiceCallerOptions,
} from './calls/service-caller.js';
export { HRW_VERSION, owner, rank } from './calls/rendezvous.js';
export { checkServiceKey } from './calls/call-options.js';
export * from './system/system.types.js';
export {
  SystemService,
  type SystemCluster,
  type SystemServiceOptions,
} from './system/system-service.js';
export { createSystemClient, isOlderNodeError } from './system/system-client.js';
export { EVENT_RING_CAPACITY, EventRing, INFO_EVENTS } from './system/event-ring.js';
export * from './leadership/leadership.types.js';
export * from './groups/groups.types.js';
export {
  MAX_ENTRY_NAME_LENGTH,
  type RegistryEntry,
  type RegistryEntryChange,
  type RegistryEntryKind,
} from './registry/registry-entries.js';
export * from './leadership/index.js';
export { ProcessGroups, type ProcessGroupsOptions } from './groups/process-groups.js';
