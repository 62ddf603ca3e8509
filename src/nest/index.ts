export { ClusterService } from './cluster.service.js';
export type { ClusterLeadership } from './cluster-leadership.types.js';
export { DEFAULT_CLUSTER_NAME } from './gen-cluster.constants.js';
export type { ClusterHealth } from './cluster-health.helpers.js';
export type {
  ClusterMetricsSettings,
  GenClusterModuleExtras,
  GenClusterModuleOptions,
  GenClusterOptionsFactory,
  MetricsRegistryLike,
  StrategyOption,
} from './gen-cluster-options.interface.js';
export { GenClusterModule } from './gen-cluster.module.js';
export type {
  GenClusterModuleAsyncOptions,
  GenClusterModuleForRootOptions,
} from './gen-cluster.module-definition.js';
export { getClusterToken } from './get-cluster-token.util.js';
export { InjectCluster } from './inject-cluster.decorator.js';
export {
  GEN_CLUSTER_CONTEXT_TYPE,
  type GenClusterContextType,
} from './handlers/cluster-handler.constants.js';
export {
  ClusterHandler,
  type ClusterHandlerOptions,
  OnClusterMessage,
} from './handlers/cluster-handler.decorators.js';
export {
  type ClusterEventHandlerOptions,
  OnClusterEvent,
  OnMembershipChange,
  OnNodeDown,
  OnNodeUp,
} from './handlers/cluster-event.decorators.js';
export { ClusterContext, ClusterPayload, Payload } from './handlers/cluster-params.decorators.js';
export {
  ClusterSingleton,
  type ClusterSingletonOptions,
  type OnSingletonStart,
  type OnSingletonStop,
} from './handlers/cluster-singleton.decorator.js';
export type { ClusterEventRequest, ClusterRequest } from './handlers/cluster-request.interface.js';
export { RemoteHttpException } from './errors/remote-http.exception.js';
export type {
  HandlerResult,
  ParameterDoesNotAcceptPayload,
  TypedHandlerDecorator,
  TypedMessageHandler,
  TypedSubscriberDecorator,
} from './typed-topic.types.js';
