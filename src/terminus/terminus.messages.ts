import { describeValue } from '../core/index.js';

/** User-facing texts of the `./terminus` entry. */
export const TerminusMessages = {
  unknownCluster: (cluster: unknown) =>
    `ClusterHealthIndicator: no cluster named ${describeValue(cluster)} is configured in this application (give the "name" of a GenClusterModule.forRoot/forRootAsync, or leave "cluster" unset for the default one).`,
} as const;
