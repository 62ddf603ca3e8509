import {
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { InvalidConfigError } from '../../core/index.js';
import type { SingletonContext, SingletonRegistration } from '../../primitives/index.js';
import type { ClusterService } from '../cluster.service.js';
import { NestMessages } from '../gen-cluster.messages.js';
import { type Wrapper, clusterOf, clustersByName, prototypeOf } from './cluster-hosts.js';
import { type SingletonGate, bindGates, singletonMetadata } from './cluster-singleton.decorator.js';

/** A `@ClusterSingleton()` class found among the providers. */
interface SingletonClass {
  readonly where: string;
  readonly name: string;
  readonly cluster: ClusterService;
  readonly instance: {
    onSingletonStart(context: SingletonContext): unknown;
    onSingletonStop?(context: SingletonContext): unknown;
  };
}

/**
 * Finds the `@ClusterSingleton()` classes and gated methods of every provider and controller at
 * `onModuleInit`, checks them all (scope, hooks, names, clusters), binds each gated method's
 * instance to its cluster's leadership, and registers each class with
 * `ClusterService.singleton()` at bootstrap. Shutdown stops them (the cluster abdicates first).
 * @internal
 */
@Injectable()
export class ClusterSingletonExplorer
  implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly classes: SingletonClass[] = [];
  private readonly registrations: SingletonRegistration[] = [];
  private readonly unbind: (() => void)[] = [];
  private readonly gates = new Map<ClusterService, SingletonGate>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  onModuleInit(): void {
    const wrappers = [...this.discovery.getControllers(), ...this.discovery.getProviders()];
    let clusters: Map<string, ClusterService> | undefined;
    const clustersNow = () => (clusters ??= clustersByName(this.discovery));
    const named = new Map<string, string>();
    for (const wrapper of wrappers) {
      if (wrapper.isAlias) continue;
      const prototype = prototypeOf(wrapper);
      if (prototype === undefined) continue;
      const classRef = (prototype as { constructor: { name: string } }).constructor;
      const declared = singletonMetadata(classRef);
      if (declared !== undefined) {
        const where = classRef.name;
        const cluster = clusterOf(declared.cluster, where, clustersNow());
        const instance = this.staticInstance(wrapper, where);
        if (
          typeof (instance as Partial<SingletonClass['instance']>).onSingletonStart !== 'function'
        )
          throw new InvalidConfigError(NestMessages.singletonWithoutStart(where));
        const key = `${cluster.name}\u0000${declared.name}`;
        const first = named.get(key);
        if (first !== undefined)
          throw new InvalidConfigError(
            NestMessages.duplicateSingleton(declared.name, cluster.name, first, where),
          );
        named.set(key, where);
        this.classes.push({
          where,
          name: declared.name,
          cluster,
          instance: instance as SingletonClass['instance'],
        });
      }
      for (const key of this.scanner.getAllMethodNames(prototype)) {
        const method: unknown = (prototype as Record<string, unknown>)[key];
        if (typeof method !== 'function') continue;
        const gate = singletonMetadata(method);
        if (gate === undefined || gate.form !== 'method') continue;
        const where = `${classRef.name}.${key}`;
        const cluster = clusterOf(gate.cluster, where, clustersNow());
        this.unbind.push(
          bindGates(this.staticInstance(wrapper, where), gate.cluster, this.gateOf(cluster)),
        );
      }
    }
  }

  /** Registers the singleton classes; leadership starts them on the node that leads. */
  onApplicationBootstrap(): void {
    for (const { name, cluster, instance } of this.classes.splice(0))
      this.registrations.push(
        cluster.singleton(name, {
          start: context => instance.onSingletonStart(context) as void | Promise<void>,
          stop: context => instance.onSingletonStop?.(context) as void | Promise<void>,
        }),
      );
  }

  /** Closes the gates and unregisters the classes (already stopped when the cluster abdicated). */
  async onApplicationShutdown(): Promise<void> {
    for (const off of this.unbind.splice(0)) off();
    this.gates.clear();
    await Promise.allSettled(this.registrations.splice(0).map(r => r.unregister()));
  }

  /**
   * The gate of `cluster`'s gated methods: a call runs where this node leads; a refused one is
   * logged at debug level once each time its reason changes (a timer would repeat it each tick).
   */
  private gateOf(cluster: ClusterService): SingletonGate {
    let gate = this.gates.get(cluster);
    if (gate !== undefined) return gate;
    const lastReason = new Map<string, string | undefined>();
    gate = {
      allow: name => {
        if (cluster.isLeader()) {
          lastReason.delete(name);
          return true;
        }
        const reason = cluster.leadership.whyNot();
        if (!lastReason.has(name) || lastReason.get(name) !== reason) {
          lastReason.set(name, reason);
          cluster.logger.debug?.(NestMessages.singletonSkipped(name, cluster.self, reason));
        }
        return false;
      },
    };
    this.gates.set(cluster, gate);
    return gate;
  }

  /** The instance of a default-scope provider; a scoped or transient one is refused. */
  private staticInstance(wrapper: Wrapper, where: string): object {
    const instance = wrapper.instance as object | undefined;
    if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient || instance == null)
      throw new InvalidConfigError(NestMessages.singletonScoped(where));
    return instance;
  }
}
