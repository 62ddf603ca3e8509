import { describeValue } from '../core/index.js';

/** User-facing texts of the Nest layer. */
export const NestMessages = {
  duplicateCluster: (name: string) =>
    `GenClusterModule: a cluster named "${name}" is already registered in this application. Give each GenClusterModule.forRoot/forRootAsync a distinct "name".`,
  badStrategy: (kind: 'discovery' | 'dist', value: unknown) =>
    `Invalid ${kind} option: ${describeValue(value)}. Give a built-in strategy as { strategy: "<name>", ... }, a class, an instance, or a provider token.`,
  notConfigured: (name: string) =>
    `Cluster "${name}" is not running: no discovery is configured, so there is no peer to reach. Set the "discovery" option of GenClusterModule.forRoot() (e.g. { strategy: "local" }) or GEN_CLUSTER_DISCOVERY (e.g. "local" or "dns:my-svc.my-ns").`,
  noCluster: (name: string) => `No discovery configured; cluster "${name}" is not started.`,
  noMessaging: (dist: string) => `The dist "${dist}" does not carry messages.`,
  badName: (name: unknown) =>
    `GenClusterModule: "name" must be a non-empty string; received ${describeValue(name)}.`,
} as const;
