import type { GenClusterError } from '../core/index.js';
import type { DrainOptions, ServiceCaller, ServiceRegistry } from '../primitives/index.js';

/**
 * The service registry of one cluster as `ClusterService` uses it: the registry and its caller
 * when the dist's messaging can carry one; otherwise why not (`idle`: no cluster is configured;
 * `unsupported`: the dist lacks messaging or its local topics) and the error its calls get.
 * @internal
 */
export type ClusterServices =
  | {
      readonly kind: 'registry';
      readonly registry: ServiceRegistry;
      readonly caller: ServiceCaller;
      /** What the drain before leaving waits for, or `false` to leave at once. */
      readonly drain: DrainOptions | false;
    }
  | { readonly kind: 'idle' | 'unsupported'; readonly error: () => GenClusterError };

/**
 * The registry; `undefined` on an idle cluster, whose topics no call can reach (its messaging
 * never attaches); throws when the dist cannot carry a registry.
 * @internal
 */
export function registryOrNone(services: ClusterServices): ServiceRegistry | undefined {
  if (services.kind === 'registry') return services.registry;
  if (services.kind === 'idle') return undefined;
  throw services.error();
}
