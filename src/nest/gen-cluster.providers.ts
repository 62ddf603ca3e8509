import type { Provider } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import {
  checkOptionKeys,
  isBuiltInOptions,
  resolveClusterOptions,
  schedulerOptions,
} from '../config/index.js';
import {
  type ClusterMessaging,
  type DistStrategy,
  GenCluster,
  GenClusterError,
  IdleCluster,
  hasMessaging,
} from '../core/index.js';
import { DeferredMessaging } from '../distribution/index.js';
import { ClusterService } from './cluster.service.js';
import { createNestClusterLogger } from './cluster-logger.js';
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
    ['autoStart'],
    ['name', 'isGlobal'],
  );
  const { options, self } = resolveClusterOptions(explicit ?? {});
  // Built for both paths: it also checks logLevel/logFormat, so a bad one fails in dev too.
  const logger = createNestClusterLogger(name, options);
  if (options.discovery === undefined) {
    const idle = new IdleCluster(self, NestMessages.notConfigured(name));
    // never attached: handlers are checked and kept, a broadcast reaches nobody, sends fail
    const messaging = new DeferredMessaging(
      () => new GenClusterError('ERR_NOT_STARTED', NestMessages.notConfigured(name)),
      { broadcastBeforeAttach: 'nobody' },
    );
    return new ClusterService(name, idle, messaging, false, logger);
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
  const discovery = await resolveStrategy('discovery', options.discovery, moduleRef);
  const dist = await resolveStrategy('dist', options.dist ?? { strategy: 'tcp' }, moduleRef);
  const cluster = new GenCluster({
    ...schedulerOptions(options),
    node: self,
    discovery,
    dist,
    logger,
  });
  return new ClusterService(name, cluster, messagingOf(dist), options.autoStart ?? true, logger);
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
