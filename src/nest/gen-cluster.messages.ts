import { describeValue } from '../core/index.js';

/** User-facing texts of the Nest layer. */
export const NestMessages = {
  duplicateCluster: (name: string) =>
    `GenClusterModule: a cluster named "${name}" is already registered in this application. Give each GenClusterModule.forRoot/forRootAsync a distinct "name".`,
  badStrategy: (kind: 'discovery' | 'dist', value: unknown) =>
    `Invalid ${kind} option: ${describeValue(value)}. Give a built-in strategy as { strategy: "<name>", ... }, a class, an instance, or a provider token.`,
  noSuchProvider: (kind: 'discovery' | 'dist', token: string | symbol) =>
    `Invalid ${kind} option ${String(token)}: no provider has this token${kind === 'discovery' ? ', and it is not a discovery short form ("static:a@h1,b@h2", "dns:svc.ns", "dns+srv:_dist._tcp.svc.ns", "local", "local:h1,h2", "kubernetes:svc")' : ''}. A custom strategy given as a token must be a provider visible to GenClusterModule (register it with isGlobal, or give it through forRootAsync({ imports, ... })).`,
  duplicateNode: (node: string, first: string, second: string) =>
    `GenClusterModule: clusters "${first}" and "${second}" both use the node name ${node}. Each cluster of an application is its own node: give each its own "node" (name@host).`,
  duplicatePort: (port: number, first: string, second: string) =>
    `GenClusterModule: clusters "${first}" and "${second}" both use dist port ${port}. Each cluster of an application is its own node: give each its own "dist: { port }" (GEN_CLUSTER_PORT can serve only one of them).`,
  notConfigured: (name: string) =>
    `Cluster "${name}" is not running: no discovery is configured, so there is no peer to reach. Set the "discovery" option of GenClusterModule.forRoot() (e.g. { strategy: "local" }) or GEN_CLUSTER_DISCOVERY (e.g. "local" or "dns:my-svc.my-ns").`,
  noCluster: (name: string) => `No discovery configured; cluster "${name}" is not started.`,
  noMessaging: (dist: string) => `The dist "${dist}" does not carry messages.`,
  badName: (name: unknown) =>
    `GenClusterModule: "name" must be a non-empty string; received ${describeValue(name)}.`,
} as const;
