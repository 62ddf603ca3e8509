import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { ClusterService, DEFAULT_CLUSTER_NAME, getClusterToken } from '../nest/index.js';
import { GenClusterClientProxy, type GenClusterClientOptions } from './gen-cluster.client-proxy.js';

/** One client of {@link GenClusterClientsModule.register}. */
export interface GenClusterClientRegistration extends Omit<GenClusterClientOptions, 'cluster'> {
  /** The injection token of the client (`@Inject(name)`). */
  readonly name: string | symbol;
  /** The cluster to call through, by its `GenClusterModule` name (default `'default'`). */
  readonly cluster?: string;
}

/**
 * Provides {@link GenClusterClientProxy} instances under the given tokens, as Nest's
 * `ClientsModule.register` does for its transports, each built on its cluster's `ClusterService`.
 *
 * @example
 * GenClusterClientsModule.register([{ name: 'MATH', select: 'least-pending' }])
 * // then: constructor(@Inject('MATH') private readonly math: ClientProxy) {}
 * @publicApi
 */
@Module({})
export class GenClusterClientsModule {
  /** One provider per client; `isGlobal` makes them visible to every module. */
  static register(
    clients: readonly GenClusterClientRegistration[],
    options: { readonly isGlobal?: boolean } = {},
  ): DynamicModule {
    const providers: Provider[] = clients.map(({ name, cluster, ...clientOptions }) => ({
      provide: name,
      useFactory: (service: ClusterService) =>
        new GenClusterClientProxy({ ...clientOptions, cluster: service }),
      inject: [getClusterToken(cluster ?? DEFAULT_CLUSTER_NAME)],
    }));
    return {
      module: GenClusterClientsModule,
      global: options.isGlobal ?? false,
      providers,
      exports: providers,
    };
  }
}
