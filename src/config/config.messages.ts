import { describeValue } from '../core/index.js';

/** User-facing texts of the configuration layer (environment, strategy names, option merging). */
export const ConfigMessages = {
  badEnv: (variable: string, value: string, accepted: string, cause?: unknown) =>
    `Invalid ${variable}=${JSON.stringify(value)}: expected ${accepted}.${cause instanceof Error ? ` (${cause.message})` : ''}`,
  portInNodeName: () => 'a port does not belong in the node name; use GEN_CLUSTER_PORT',
  unknownStrategy: (kind: 'discovery' | 'dist', strategy: unknown, known: readonly string[]) =>
    `Unknown ${kind} strategy ${JSON.stringify(strategy)}; built-in ${kind} strategies: ${known.map(k => `"${k}"`).join(', ') || 'none'}. A custom strategy may be given as an instance (or, in Nest, a class or a provider token).`,
  badStrategy: (kind: 'discovery' | 'dist', value: unknown) =>
    `Invalid ${kind} option: ${describeValue(value)}. Give a built-in strategy as { strategy: "<name>", ... } or an object implementing the ${kind === 'discovery' ? 'DiscoveryStrategy' : 'DistStrategy'} interface.`,
  optionsNotObject: (where: string, value: unknown) =>
    `${where}: the options must be an object; received ${describeValue(value)}.`,
  unknownOption: (where: string, key: string, known: readonly string[]) =>
    `${where}: unknown option "${key}". The options are: ${known.join(', ')}.`,
  besideFactory: (where: string, key: string) =>
    `${where}: "${key}" was returned by the options factory, where it has no effect. It shapes the module graph, so it goes beside useFactory/useClass/useExisting: GenClusterModule.forRootAsync({ ${key}: ..., useFactory: ... }).`,
  notAShortForm: (value: string) =>
    `Invalid discovery option ${JSON.stringify(value)}: no provider has this token, and it is not a discovery short form ("static:a@h1,b@h2", "dns:svc.ns", "dns+srv:_dist._tcp.svc.ns", "local", "local:h1,h2", "kubernetes:svc").`,
  namespaceConflict: (given: readonly (readonly [string, string])[]) =>
    `The cluster's namespace is given differently in several places (${given.map(([o, v]) => `${o}: ${JSON.stringify(v)}`).join(', ')}): the TCP handshake and local discovery must use one. Set "namespace" (or GEN_CLUSTER_NAMESPACE) once.`,
  expectedSizeForms: (max: number) =>
    `the whole cluster's size, this node included: an integer from 1 to ${max}; or "discovered-unsafe" to take it from what discovery names (unsafe when discovery itself can be partitioned)`,
  stableMsWithoutSize: (variable: string, sizeVariable: string) =>
    `${variable} is set, but no quorum rule is: set ${sizeVariable} (or the quorum option's expectedSize) as well, or unset ${variable}.`,
  noDiscovery: () =>
    'No discovery is configured: set the "discovery" option (e.g. { strategy: "static", nodes: [...] }) or GEN_CLUSTER_DISCOVERY (e.g. "local" or "dns:my-svc.my-ns").',
} as const;
