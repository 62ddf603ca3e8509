export { ClusterService } from './cluster.service.js';
export { DEFAULT_CLUSTER_NAME } from './gen-cluster.constants.js';
export type {
  GenClusterModuleExtras,
  GenClusterModuleOptions,
  GenClusterOptionsFactory,
  StrategyOption,
} from './gen-cluster-options.interface.js';
export { GenClusterModule } from './gen-cluster.module.js';
export type {
  GenClusterModuleAsyncOptions,
  GenClusterModuleForRootOptions,
} from './gen-cluster.module-definition.js';
export { getClusterToken } from './get-cluster-token.util.js';
export { InjectCluster } from './inject-cluster.decorator.js';
