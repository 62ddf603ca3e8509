import { ClusterService } from './cluster.service.js';
import { DEFAULT_CLUSTER_NAME } from './gen-cluster.constants.js';

/**
 * The injection token of a cluster's {@link ClusterService}: the `ClusterService` class for the
 * default cluster, `GenCluster_<name>` for a named one. Use it with `overrideProvider` in tests.
 * @publicApi
 */
export function getClusterToken(
  name: string = DEFAULT_CLUSTER_NAME,
): typeof ClusterService | string {
  return name === DEFAULT_CLUSTER_NAME ? ClusterService : `GenCluster_${name}`;
}
