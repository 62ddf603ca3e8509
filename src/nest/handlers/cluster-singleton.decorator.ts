import { InvalidConfigError, describeValue, isPlainObject } from '../../core/index.js';
import type { SingletonContext } from '../../primitives/index.js';
import { NestMessages } from '../gen-cluster.messages.js';
import { GEN_CLUSTER_SINGLETON_METADATA } from './cluster-handler.constants.js';
import { clusterName } from './cluster-hosts.js';
import { instanceMethod } from './cluster-handler.decorators.js';

/**
 * Options of `@ClusterSingleton`.
 * @publicApi
 */
export interface ClusterSingletonOptions {
  /**
   * The singleton's name: the class name (class form) or `Class.method` (method form) when unset.
   * A gated method's name appears only in the debug line logged when the gate refuses a call.
   */
  readonly name?: string;
  /** The cluster's name (`GenClusterModule.forRoot({ name })`); the default cluster when unset. */
  readonly cluster?: string;
}

/**
 * A `@ClusterSingleton()` provider: started on the node that leads, once per leadership.
 * @publicApi
 */
export interface OnSingletonStart {
  /** Runs when this node becomes the leader; `context.signal` aborts when the run must stop. */
  onSingletonStart(context: SingletonContext): void | Promise<void>;
}

/**
 * A `@ClusterSingleton()` provider that cleans up when leadership moves away.
 * @publicApi
 */
export interface OnSingletonStop {
  /** Runs when leadership moves away, quorum is lost, a freeze is detected, or on shutdown. */
  onSingletonStop(context: SingletonContext): void | Promise<void>;
}

/** What `@ClusterSingleton` keeps on a class or on a gated method. @internal */
export interface ClusterSingletonMetadata {
  readonly name: string;
  /** The cluster's name, resolved (`'default'` when the option is unset). */
  readonly cluster: string;
  readonly form: 'class' | 'method';
}

/** What a gated method asks, for its instance and cluster. @internal */
export interface SingletonGate {
  /** Whether the call of the gated method `name` may run now (this node leads); logs a refusal. */
  allow(name: string): boolean;
}

/** The clusters a provider instance's gated methods ask, bound by the explorer at bootstrap. */
const gates = new WeakMap<object, Map<string, SingletonGate>>();

/**
 * Makes a provider or a method run on one node of the cluster only: the leader (the eligible
 * member started first; see `ClusterService.leadership`).
 *
 * - **On a class** (a singleton-scope provider implementing {@link OnSingletonStart}, optionally
 *   {@link OnSingletonStop}): `onSingletonStart(context)` runs when this node becomes the leader,
 *   `onSingletonStop(context)` when leadership moves away, quorum is lost or on shutdown (before
 *   the successor starts on a planned shutdown). Request-scoped and transient providers are
 *   refused at bootstrap.
 * - **On a method**: a gate. Called on the leader, the method runs (with the caller's `this` and
 *   arguments); anywhere else (or before the cluster is up) it does not run and returns
 *   `undefined`, or `Promise.resolve(undefined)` when the method is `async` or declared to return a
 *   `Promise`, so `jobs.run().then(...)` works on every node. The gate keeps the method's `name`
 *   and `length`, and every metadata of the method, so decorators that keep their metadata on the
 *   method (e.g. `@Cron()`, `@Interval()` of `@nestjs/schedule`) work above or below it: each
 *   node's timer fires, only the leader's call runs the job. A refused call is logged at debug
 *   level (`singleton <name> skipped on <node>: <why>`), once each time the reason changes.
 *
 * A gated `@Timeout()` fires once per node at boot, usually while leadership is still settling,
 * so it may run on no node at all: start one-off work from a class singleton's
 * `onSingletonStart` instead.
 *
 * A tick during a handover may run on none or, when views disagree (a freeze, a partition), on
 * two nodes: make the job idempotent, or fence its writes with `context.term` / `cluster.term`.
 *
 * @example
 * @Cron('0 * * * * *')
 * @ClusterSingleton()
 * sendReport() { ... }
 *
 * @publicApi
 */
export function ClusterSingleton(
  nameOrOptions?: string | ClusterSingletonOptions,
): ClassDecorator & MethodDecorator {
  const options = singletonOptions(nameOrOptions);
  const cluster = clusterName(options.cluster);
  return ((target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (key === undefined) {
      const name = options.name ?? (target as { name: string }).name;
      const metadata: ClusterSingletonMetadata = { name, cluster, form: 'class' };
      Reflect.defineMetadata(GEN_CLUSTER_SINGLETON_METADATA, metadata, target);
      return undefined;
    }
    const original = instanceMethod('ClusterSingleton', target, key, descriptor) as (
      ...args: unknown[]
    ) => unknown;
    const name = options.name ?? `${target.constructor.name}.${String(key)}`;
    // `async`, or declared `Promise<...>` (emitDecoratorMetadata: design:returntype is Promise)
    const returnsPromise =
      original.constructor.name === 'AsyncFunction' ||
      Reflect.getMetadata('design:returntype', target, key) === Promise;
    const gated = function (this: object, ...args: unknown[]): unknown {
      if (gates.get(this)?.get(cluster)?.allow(name) === true) return original.apply(this, args);
      return returnsPromise ? Promise.resolve(undefined) : undefined;
    };
    Object.defineProperty(gated, 'name', { value: original.name });
    Object.defineProperty(gated, 'length', { value: original.length });
    // a decorator applied before this one (written below it) left its metadata on the original
    for (const metadataKey of Reflect.getOwnMetadataKeys(original) as unknown[])
      Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, original), gated);
    const metadata: ClusterSingletonMetadata = { name, cluster, form: 'method' };
    Reflect.defineMetadata(GEN_CLUSTER_SINGLETON_METADATA, metadata, gated);
    return { ...descriptor, value: gated };
  }) as ClassDecorator & MethodDecorator;
}

/** What `@ClusterSingleton` left on a class or a method, if anything. @internal */
export function singletonMetadata(target: object): ClusterSingletonMetadata | undefined {
  return Reflect.getOwnMetadata(GEN_CLUSTER_SINGLETON_METADATA, target) as
    ClusterSingletonMetadata | undefined;
}

/**
 * Lets the gated methods of `instance` ask `gate` whether to run, for the cluster `cluster`;
 * returns what removes the binding (the gates close again). @internal
 */
export function bindGates(instance: object, cluster: string, gate: SingletonGate): () => void {
  let byCluster = gates.get(instance);
  if (byCluster === undefined) gates.set(instance, (byCluster = new Map()));
  byCluster.set(cluster, gate);
  return () => {
    if (byCluster.get(cluster) === gate) byCluster.delete(cluster);
  };
}

function singletonOptions(value: unknown): ClusterSingletonOptions {
  const options = typeof value === 'string' ? { name: value } : (value ?? {});
  if (!isPlainObject(options))
    throw new InvalidConfigError(NestMessages.badSingletonOptions(describeValue(value)));
  const { name, cluster, ...unknown } = options as Record<string, unknown>;
  if (
    (name !== undefined && (typeof name !== 'string' || name.trim() === '')) ||
    (cluster !== undefined && (typeof cluster !== 'string' || cluster.trim() === '')) ||
    Object.keys(unknown).length > 0
  )
    throw new InvalidConfigError(NestMessages.badSingletonOptions(describeValue(value)));
  return options as ClusterSingletonOptions;
}
