import { ModuleRef } from '@nestjs/core';
import type { DiscoveryService } from '@nestjs/core';
import { InvalidConfigError } from '../../core/index.js';
import { ClusterService } from '../cluster.service.js';
import { DEFAULT_CLUSTER_NAME } from '../gen-cluster.constants.js';
import { NestMessages } from '../gen-cluster.messages.js';
import type { ScopedHost } from './cluster-context.creator.js';

/** A provider or controller as `DiscoveryService` lists it. @internal */
export type Wrapper = ReturnType<DiscoveryService['getProviders']>[number];

/** A decorated method's host: its instance (static) or how to build one per message. @internal */
export interface Host {
  readonly className: string;
  readonly classRef: object;
  /** Built once at bootstrap: the fast path. */
  readonly instance: object | undefined;
  /** Built per message or event: request-scoped, transient, or depending on one. */
  readonly scoped: ScopedHost | undefined;
}

/** The name a decorator's `cluster` option designates. @internal */
export function clusterName(option: unknown): string {
  return option === undefined ? DEFAULT_CLUSTER_NAME : (option as string);
}

/**
 * The cluster a decorator's `cluster` option designates, or the error listing those configured.
 * @internal
 */
export function clusterOf(
  option: unknown,
  where: string,
  clusters: ReadonlyMap<string, ClusterService>,
): ClusterService {
  const cluster =
    typeof option === 'string' || option === undefined
      ? clusters.get(clusterName(option))
      : undefined;
  if (cluster === undefined)
    throw new InvalidConfigError(
      NestMessages.unknownCluster(where, clusterName(option), [...clusters.keys()].sort()),
      { option: 'cluster' },
    );
  return cluster;
}

/**
 * Where a wrapper's methods are: its instance's prototype, or its class's for a scoped class.
 * @internal
 */
export function prototypeOf(wrapper: Wrapper): object | undefined {
  const instance: unknown = wrapper.instance;
  if (wrapper.isDependencyTreeStatic() && !wrapper.isTransient) {
    return typeof instance === 'object' && instance !== null
      ? ((Object.getPrototypeOf(instance) as object | null) ?? undefined)
      : undefined;
  }
  // a scoped factory's product is unknown until it is built; its class cannot be scanned
  if (wrapper.isNotMetatype || typeof wrapper.metatype !== 'function') return undefined;
  return wrapper.metatype.prototype as object | undefined;
}

/** The host of a wrapper's decorated methods. @internal */
export function hostOf(wrapper: Wrapper, prototype: object): Host {
  const classRef = (prototype as { constructor: { name: string } }).constructor;
  if (wrapper.isDependencyTreeStatic() && !wrapper.isTransient)
    return {
      className: classRef.name,
      classRef,
      instance: wrapper.instance as object,
      scoped: undefined,
    };
  const moduleRef = wrapper.host?.getProviderByKey(ModuleRef)?.instance as ModuleRef;
  return {
    className: classRef.name,
    classRef,
    instance: undefined,
    scoped: { moduleRef, token: wrapper.token, id: wrapper.id },
  };
}

/** The application's clusters by name, as the providers list them. @internal */
export function clustersByName(discovery: DiscoveryService): Map<string, ClusterService> {
  const clusters = new Map<string, ClusterService>();
  for (const wrapper of discovery.getProviders()) {
    const instance: unknown = wrapper.instance;
    if (!wrapper.isAlias && instance instanceof ClusterService)
      clusters.set(instance.name, instance);
  }
  return clusters;
}
