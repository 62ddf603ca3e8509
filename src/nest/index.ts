export * from './cluster.service.js';
export { DEFAULT_CLUSTER_NAME } from './gen-cluster.constants.js';
export * from './env.config.js';
export type * from './gen-cluster-options.interface.js';
export { GenClusterModule } from './gen-cluster.module.js';
export type {
  GenClusterModuleAsyncOptions,
  GenClusterModuleForRootOptions,
} from './gen-cluster.module-definition.js';
export * from './inject-cluster.decorator.js';
export { BUILT_IN_DISCOVERY } from './strategy-resolver.js';
