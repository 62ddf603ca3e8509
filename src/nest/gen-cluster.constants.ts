/** The name of the cluster configured without a `name`. */
export const DEFAULT_CLUSTER_NAME = 'default';
