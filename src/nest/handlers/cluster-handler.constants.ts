/** Metadata keys and the execution-context type of cluster handlers. */

/** `ExecutionContext.getType()` of cluster messages, for guards, interceptors and filters. */
export const GEN_CLUSTER_CONTEXT_TYPE = 'gen-cluster';

/** The context type of cluster messages, for `context.getType<GenClusterContextType>()`. */
export type GenClusterContextType = typeof GEN_CLUSTER_CONTEXT_TYPE;

/** Where `@ClusterHandler` keeps its registrations (an array, so decorators stack). */
export const GEN_CLUSTER_HANDLER_METADATA = 'gen-cluster:handler';
/** Where `@OnClusterMessage` keeps its registrations. */
export const GEN_CLUSTER_SUBSCRIBER_METADATA = 'gen-cluster:subscriber';
/** Where the node-event decorators keep their registrations. */
export const GEN_CLUSTER_EVENT_METADATA = 'gen-cluster:event';
/** Where `@Payload()` and `@ClusterContext()` keep their parameter metadata. */
export const GEN_CLUSTER_ARGS_METADATA = 'gen-cluster:args';

/** Parameter kinds, numbered as Nest's RPC ones so pipes see `type: 'body'` for the payload. */
export enum ClusterParamtype {
  PAYLOAD = 3,
  CONTEXT = 6,
}
/** Where `@ClusterSingleton` keeps its name and cluster (on the class, or on the gated method). */
export const GEN_CLUSTER_SINGLETON_METADATA = 'gen-cluster:singleton';
