import { describeValue } from '../core/messages.js';
/** User-facing texts of the Nest layer. */
export const NestMessages = {
  badEnv: (variable: string, value: string, accepted: string, cause?: unknown) =>
    `Invalid ${variable}=${JSON.stringify(value)}: expected ${accepted}.${cause instanceof Error ? ` (${cause.message})` : ''}`,
  duplicateCluster: (name: string) =>
    `GenClusterModule: a cluster named "${name}" is already registered in this application. Give each GenClusterModule.forRoot/forRootAsync a distinct "name".`,
  unknownStrategy: (kind: 'discovery' | 'dist', strategy: unknown, known: readonly string[]) =>
    `Unknown ${kind} strategy ${JSON.stringify(strategy)}; built-in ${kind} strategies: ${known.map(k => `"${k}"`).join(', ') || 'none'}. A custom strategy may be given as a class, an instance or a provider token.`,
  badStrategy: (kind: 'discovery' | 'dist', value: unknown) =>
    `Invalid ${kind} option: ${describeValue(value)}. Give a built-in strategy as { strategy: "<name>", ... }, a class, an instance, or a provider token.`,
  notStarted: (name: string) =>
    `Cluster "${name}" is not running: no discovery is configured (set GEN_CLUSTER_DISCOVERY or the "discovery" option).`,
  noMessaging: (dist: string) => `The dist "${dist}" does not carry messages.`,
  badName: (name: unknown) =>
    `GenClusterModule: "name" must be a non-empty string; received ${describeValue(name)}.`,
} as const;
