import { ConfigurableModuleBuilder } from '@nestjs/common';
import type {
  GenClusterModuleExtras,
  GenClusterModuleOptions,
  GenClusterOptionsFactory,
} from './gen-cluster-options.interface.js';

export const {
  ConfigurableModuleClass: GenClusterConfigurableModule,
  MODULE_OPTIONS_TOKEN: GEN_CLUSTER_MODULE_OPTIONS,
  OPTIONS_TYPE: GEN_CLUSTER_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: GEN_CLUSTER_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<GenClusterModuleOptions>({ moduleName: 'GenCluster' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createGenClusterOptions' satisfies keyof GenClusterOptionsFactory)
  .setExtras<GenClusterModuleExtras>({ isGlobal: true, name: undefined }, definition => definition)
  .build();

/** What `GenClusterModule.forRoot()` takes: the cluster options plus `name` and `isGlobal`. */
export type GenClusterModuleForRootOptions = typeof GEN_CLUSTER_OPTIONS_TYPE;
/** What `GenClusterModule.forRootAsync()` takes: `useFactory`/`useClass`/`useExisting`, `imports`, `inject`, plus `name` and `isGlobal`. */
export type GenClusterModuleAsyncOptions = typeof GEN_CLUSTER_ASYNC_OPTIONS_TYPE;
