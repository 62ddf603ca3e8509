/** The name of the cluster configured without a `name`. */
export const DEFAULT_CLUSTER_NAME = 'default';
/** Injection token of a module's cluster name. @internal */
export const GEN_CLUSTER_NAME = 'GEN_CLUSTER_NAME';
