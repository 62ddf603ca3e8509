import { type DynamicModule, Module } from '@nestjs/common';
import { InvalidConfigError } from '../core/index.js';
import type { GenClusterModuleExtras } from './gen-cluster-options.interface.js';
import { GenClusterCoreModule } from './gen-cluster-core.module.js';
import { DEFAULT_CLUSTER_NAME } from './gen-cluster.constants.js';
import { NestMessages } from './gen-cluster.messages.js';
import {
  GenClusterConfigurableModule,
  type GenClusterModuleAsyncOptions,
  type GenClusterModuleForRootOptions,
} from './gen-cluster.module-definition.js';
import { createClusterProvider } from './gen-cluster.providers.js';
import { getClusterToken } from './get-cluster-token.util.js';

/**
 * Clusters the replicas of a Nest application.
 *
 * @example
 * @Module({ imports: [GenClusterModule.forRoot({ discovery: { strategy: 'dns', domain: 'my-svc.my-ns' } })] })
 * export class AppModule {}
 *
 * @publicApi
 */
@Module({})
export class GenClusterModule extends GenClusterConfigurableModule {
  /**
   * Registers a cluster. With no options it is configured from the environment
   * (`GEN_CLUSTER_*`); with no discovery configured anywhere, `ClusterService` is injectable but
   * nothing starts.
   */
  static override forRoot(options: GenClusterModuleForRootOptions = {}): DynamicModule {
    return GenClusterModule.withCluster(super.forRoot(options), options);
  }

  /** Registers a cluster whose options come from a factory, a class or an existing provider. */
  static override forRootAsync(options: GenClusterModuleAsyncOptions): DynamicModule {
    return GenClusterModule.withCluster(super.forRootAsync(options), options);
  }

  private static withCluster(
    definition: DynamicModule,
    extras: GenClusterModuleExtras,
  ): DynamicModule {
    const name = extras.name ?? DEFAULT_CLUSTER_NAME;
    if (typeof name !== 'string' || name.trim() === '')
      throw new InvalidConfigError(NestMessages.badName(name), { option: 'name' });
    return {
      ...definition,
      global: extras.isGlobal ?? true,
      imports: [...(definition.imports ?? []), GenClusterCoreModule],
      providers: [...(definition.providers ?? []), createClusterProvider(name)],
      exports: [getClusterToken(name)],
    };
  }
}
