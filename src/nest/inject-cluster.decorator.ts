import { Inject } from '@nestjs/common';
import { getClusterToken } from './get-cluster-token.util.js';

/**
 * Injects the {@link ClusterService} of the cluster called `name` (the default one when unset).
 * @publicApi
 */
export const InjectCluster = (name?: string): ReturnType<typeof Inject> =>
  Inject(getClusterToken(name));
