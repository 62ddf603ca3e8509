import { NEVER, type Observable, startWith, throwError } from 'rxjs';
import type { GenClusterError } from '../core/index.js';
import type { TopicLike } from '../distribution/index.js';
import { rethrowRemote } from './cluster-messaging.helpers.js';
import type {
  CallOptions,
  DrainOptions,
  ServiceCaller,
  ServiceRegistry,
  ServicesChange,
  WaitForServersOptions,
} from '../primitives/index.js';

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

/** `services$`: the registry's; never on an idle cluster; the reason without a registry. @internal */
export function servicesStream(services: ClusterServices): Observable<ServicesChange> {
  if (services.kind === 'registry') return services.registry.services$;
  return services.kind === 'idle' ? NEVER : throwError(services.error);
}

/** `servers$(topic)`: the registry's; `[]` on an idle cluster; the reason without one. @internal */
export function serversStream(
  services: ClusterServices,
  topic: TopicLike,
): Observable<readonly string[]> {
  if (services.kind === 'registry') return services.registry.servers$(topic);
  return services.kind === 'idle' ? NEVER.pipe(startWith([])) : throwError(services.error);
}

/**
 * `waitForServers`: the registry's; on an idle cluster only a count of 0 resolves (no node serves
 * anything); the reason without a registry. @internal
 */
export function waitForServersOf(
  services: ClusterServices,
  topic: TopicLike,
  options: WaitForServersOptions | undefined,
): Promise<string[]> {
  if (services.kind === 'registry') return services.registry.waitForServers(topic, options);
  return (options?.count ?? 1) <= 0 && services.kind === 'idle'
    ? Promise.resolve([])
    : Promise.reject(services.error());
}

/**
 * `call`: through the registry's caller, a remote failure mapped as `request` maps it; the
 * reason when the cluster has no registry. @internal
 */
export function callOf(
  services: ClusterServices,
  topic: string,
  payload: unknown,
  options: CallOptions | undefined,
): Promise<unknown> {
  if (services.kind !== 'registry') return Promise.reject(services.error());
  return services.caller.call(topic, payload, options).then(undefined, rethrowRemote);
}
