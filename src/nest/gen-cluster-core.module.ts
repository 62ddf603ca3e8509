import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { GenClusterNameRegistry } from './gen-cluster-name.registry.js';
import { ClusterContextCreator } from './handlers/cluster-context.creator.js';
import { ClusterEventListeners } from './handlers/cluster-event.listeners.js';
import { ClusterHandlersExplorer } from './handlers/cluster-handlers.explorer.js';
import { ClusterMetadataAccessor } from './handlers/cluster-metadata.accessor.js';
import { ClusterSingletonExplorer } from './handlers/cluster-singleton.explorer.js';

/**
 * What every `forRoot` of an application shares, once: the name registry, and the explorers that
 * register decorated handlers (`@ClusterHandler` and the others) and singletons
 * (`@ClusterSingleton`) with their clusters. @internal
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    GenClusterNameRegistry,
    ClusterMetadataAccessor,
    ClusterContextCreator,
    ClusterEventListeners,
    ClusterHandlersExplorer,
    ClusterSingletonExplorer,
  ],
  exports: [GenClusterNameRegistry],
})
export class GenClusterCoreModule {}
