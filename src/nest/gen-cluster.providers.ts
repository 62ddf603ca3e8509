import type { Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  checkOptionKeys,
  distDiscovery,
  distFindsPeers,
  isBuiltInOptions,
  readEnvConfig,
  resolveClusterOptions,
  schedulerOptions,
} from '../config/index.js';
import {
  type ClusterLogger,
  type ClusterMessaging,
  type DistStrategy,
  GenCluster,
  GenClusterError,
  IdleCluster,
  InvalidConfigError,
  checkKnownKeys,
  checkMilliseconds,
  hasMessaging,
  hasRegistrySupport,
  isPlainObject,
} from '../core/index.js';
import { DeferredMessaging } from '../distribution/index.js';
import { type DrainOptions, ServiceCaller, ServiceRegistry } from '../primitives/index.js';
import { ClusterService } from './cluster.service.js';
import type { ClusterServices } from './cluster-services.js';
import {
  type ClusterPrimitives,
  PRIMITIVES_OPTION_KEYS,
  createPrimitives,
} from './cluster-primitives.js';
import { createNestClusterLogger } from './cluster-logger.js';
import {
  type ClusterOperations,
  OPERATIONS_OPTION_KEYS,
  attachOperations,
  checkOperationsOptions,
} from './cluster-operations.js';
import type { GenClusterModuleOptions } from './gen-cluster-options.interface.js';
import { GenClusterNameRegistry } from './gen-cluster-name.registry.js';
import { NestMessages } from './gen-cluster.messages.js';
import { GEN_CLUSTER_MODULE_OPTIONS } from './gen-cluster.module-definition.js';
import { getClusterToken } from './get-cluster-token.util.js';
import { resolveStrategy } from './strategy-resolver.js';

/** The provider of one cluster's {@link ClusterService}, under its token. @internal */
export function createClusterProvider(name: string): Provider {
  return {
    provide: getClusterToken(name),
    useFactory: (
      options: GenClusterModuleOptions,
      moduleRef: ModuleRef,
      registry: GenClusterNameRegistry,
    ) => {
      registry.register(name);
      return createClusterService(name, options, moduleRef, registry);
    },
    inject: [GEN_CLUSTER_MODULE_OPTIONS, ModuleRef, GenClusterNameRegistry],
  };
}

/** Builds the service of one cluster: environment, then explicit options, then strategies. */
async function createClusterService(
  name: string,
  explicit: GenClusterModuleOptions,
  moduleRef: ModuleRef,
  registry: GenClusterNameRegistry,
): Promise<ClusterService> {
  // forRoot() hands over its options without `name`/`isGlobal`; a forRootAsync factory's result
  // arrives as returned, where those two would be silently ignored.
  checkOptionKeys(
    `GenClusterModule (cluster "${name}")`,
    explicit ?? {},
    ['autoStart', 'drain', ...OPERATIONS_OPTION_KEYS, ...PRIMITIVES_OPTION_KEYS],
    ['name', 'isGlobal'],
  );
  const { options, self } = resolveClusterOptions(explicit ?? {});
  const env = options.useEnv === false ? {} : readEnvConfig();
  const drain = drainOptions(name, options.drain, env);
  checkOperationsOptions(name, options);
  // Built for both paths: it also checks logLevel/logFormat, so a bad one fails in dev too.
  const logger = createNestClusterLogger(name, options);
  // A dist given as a provider token cannot be told before it is resolved: with no discovery,
  // resolve it now, so that one finding its peers itself (as NATS does) runs a cluster.
  const tokenDist =
    options.discovery === undefined &&
    (typeof options.dist === 'string' || typeof options.dist === 'symbol')
      ? await resolveStrategy('dist', options.dist, moduleRef)
      : undefined;
  // no discovery and a dist that cannot find peers itself: no cluster runs
  if (options.discovery === undefined && !distFindsPeers(tokenDist ?? options.dist)) {
    const idle = new IdleCluster(self, NestMessages.notConfigured(name));
    // never attached: handlers are checked and kept, a broadcast reaches nobody, sends fail
    const messaging = new DeferredMessaging(
      () => new GenClusterError('ERR_NOT_STARTED', NestMessages.notConfigured(name)),
      { broadcastBeforeAttach: 'nobody' },
    );
    const services: ClusterServices = {
      kind: 'idle',
      error: () => new GenClusterError('ERR_NOT_STARTED', NestMessages.notConfigured(name)),
    };
    // built first: a bad leadership option fails before metrics are registered
    const primitives = createPrimitives({
      cluster: idle,
      idle: true,
      messaging,
      carriesMessages: false,
      services,
      quorumConfigured: false,
      leadership: options.leadership,
      logger,
    });
    // metrics of a cluster of one (members 0), and hooks that no message will ever reach
    const operations = await attachOperations(
      { name, engine: idle, messaging },
      options,
      env.minMembers,
    );
    return new ClusterService(
      name,
      idle,
      messaging,
      false,
      logger,
      services,
      operations,
      primitives,
    );
  }
  // Only a running cluster is a node: idle clusters may share the default name and port.
  const distOption: unknown = options.dist;
  registry.claim(
    name,
    self,
    isBuiltInOptions(distOption) && typeof distOption.port === 'number'
      ? distOption.port
      : undefined,
  );
  const configured =
    options.discovery === undefined
      ? undefined
      : await resolveStrategy('discovery', options.discovery, moduleRef);
  const dist =
    tokenDist ?? (await resolveStrategy('dist', options.dist ?? { strategy: 'tcp' }, moduleRef));
  const cluster = new GenCluster({
    ...schedulerOptions(options),
    node: self,
    // with no discovery configured, a dist that finds its peers itself is its own
    discovery: configured ?? distDiscovery(dist),
    dist,
    logger,
  });
  const messaging = messagingOf(dist);
  const services = servicesOf(name, dist.name, cluster, messaging, logger, drain);
  let operations: ClusterOperations;
  let primitives: ClusterPrimitives;
  try {
    // the system topics' event ring subscribes right after the registry (second in line)
    operations = await attachOperations(
      {
        name,
        engine: cluster,
        messaging,
        dist,
        systemOf: services.kind === 'registry' ? cluster : undefined,
        namespace: options.namespace,
      },
      options,
      env.minMembers,
    );
    try {
      primitives = createPrimitives({
        cluster,
        idle: false,
        dist,
        messaging,
        carriesMessages: hasMessaging(dist),
        services,
        quorumConfigured: options.quorum !== undefined,
        leadership: options.leadership,
        logger,
      });
    } catch (error) {
      operations.close();
      throw error;
    }
  } catch (error) {
    if (services.kind === 'registry') services.registry.close();
    throw error;
  }
  return new ClusterService(
    name,
    cluster,
    messaging,
    options.autoStart ?? true,
    logger,
    services,
    operations,
    primitives,
  );
}

/**
 * The service registry and its caller, built now so that the registry is the first subscriber
 * of the cluster's events (a node leaves every set in the same delivery as its nodeDown), or the
 * error every registry call gets when the dist's messaging cannot carry one.
 */
function servicesOf(
  name: string,
  distName: string,
  cluster: GenCluster,
  messaging: ClusterMessaging,
  logger: ClusterLogger,
  drain: DrainOptions | false,
): ClusterServices {
  if (!hasRegistrySupport(messaging))
    return {
      kind: 'unsupported',
      error: () =>
        new GenClusterError('ERR_MESSAGING_UNSUPPORTED', NestMessages.noRegistry(distName, name)),
    };
  const registry = new ServiceRegistry({ cluster, messaging, logger });
  return { kind: 'registry', registry, caller: new ServiceCaller(registry, messaging), drain };
}

/**
 * The `drain` option checked, with `GEN_CLUSTER_DRAIN_TIMEOUT_MS` under an unset `timeoutMs`;
 * `{}` (the registry's defaults) when neither is set.
 */
export function drainOptions(
  name: string,
  value: unknown,
  env: { readonly drainTimeoutMs?: number },
): DrainOptions | false {
  if (value === false) return false;
  if (value !== undefined && !isPlainObject(value))
    throw new InvalidConfigError(NestMessages.badDrain(name, value), { option: 'drain' });
  const given = (value ?? {}) as Record<string, unknown>;
  checkKnownKeys('drain', given, ['timeoutMs', 'ackTimeoutMs']);
  const drain: { timeoutMs?: number; ackTimeoutMs?: number } = {};
  const timeoutMs = given.timeoutMs ?? env.drainTimeoutMs;
  if (timeoutMs !== undefined) {
    checkMilliseconds('drain.timeoutMs', timeoutMs);
    drain.timeoutMs = timeoutMs;
  }
  if (given.ackTimeoutMs !== undefined) {
    checkMilliseconds('drain.ackTimeoutMs', given.ackTimeoutMs);
    drain.ackTimeoutMs = given.ackTimeoutMs;
  }
  return drain;
}

/** The dist's messaging, or one that says the dist carries none. */
function messagingOf(dist: DistStrategy): ClusterMessaging {
  if (hasMessaging(dist)) return dist.messaging;
  const unsupported = () =>
    new GenClusterError('ERR_MESSAGING_UNSUPPORTED', NestMessages.noMessaging(dist.name));
  return {
    send: () => {
      throw unsupported();
    },
    broadcast: () => {
      throw unsupported();
    },
    request: () => Promise.reject(unsupported()),
    requestAll: () => Promise.reject(unsupported()),
    on: () => {
      throw unsupported();
    },
    subscribe: () => {
      throw unsupported();
    },
  };
}
