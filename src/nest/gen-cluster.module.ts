import {
  type DynamicModule,
  Global,
  Injectable,
  Logger,
  Module,
  type Provider,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { GenClusterError, InvalidConfigError } from '../core/errors.js';
import { GenCluster } from '../core/gen-cluster.js';
import { defaultNodeName } from '../core/node-name.js';
import { nodeKey } from '../core/peer.js';
import type { DiscoveryStrategy, DistStrategy } from '../core/strategy.js';
import { ClusterService } from './cluster.service.js';
import { type EnvConfig, envToModuleOptions, readEnvConfig } from './env.config.js';
import type {
  GenClusterModuleExtras,
  GenClusterModuleOptions,
} from './gen-cluster-options.interface.js';
import { DEFAULT_CLUSTER_NAME } from './gen-cluster.constants.js';
import { NestMessages } from './gen-cluster.messages.js';
import {
  GEN_CLUSTER_MODULE_OPTIONS,
  GenClusterConfigurableModule,
  type GenClusterModuleAsyncOptions,
  type GenClusterModuleForRootOptions,
} from './gen-cluster.module-definition.js';
import { getClusterToken } from './inject-cluster.decorator.js';
import { resolveStrategy } from './strategy-resolver.js';

/** The cluster names registered in one application, to refuse duplicates. @internal */
@Injectable()
export class GenClusterRegistry {
  private readonly names = new Set<string>();

  register(name: string): void {
    if (this.names.has(name)) {
      throw new GenClusterError('ERR_DUPLICATE_CLUSTER_NAME', NestMessages.duplicateCluster(name));
    }
    this.names.add(name);
  }
}

/** One registry per application, shared by every `forRoot`. @internal */
@Global()
@Module({ providers: [GenClusterRegistry], exports: [GenClusterRegistry] })
export class GenClusterCoreModule {}

/**
 * Clusters the replicas of a Nest application.
 *
 * @example
 * @Module({ imports: [GenClusterModule.forRoot({ discovery: { strategy: 'dns', domain: 'my-svc.my-ns' } })] })
 * export class AppModule {}
 */
@Module({})
export class GenClusterModule extends GenClusterConfigurableModule {
  /**
   * Registers a cluster. With no options it is configured from the environment
   * (`GEN_CLUSTER_*`); with no discovery configured anywhere, `ClusterService` is injectable but
   * nothing starts.
   */
  static override forRoot(options: GenClusterModuleForRootOptions = {}): DynamicModule {
    return GenClusterModule.withCluster(super.forRoot(options), options);
  }

  /** Registers a cluster whose options come from a factory, a class or an existing provider. */
  static override forRootAsync(options: GenClusterModuleAsyncOptions): DynamicModule {
    return GenClusterModule.withCluster(super.forRootAsync(options), options);
  }

  private static withCluster(
    definition: DynamicModule,
    extras: GenClusterModuleExtras,
  ): DynamicModule {
    const name = extras.name ?? DEFAULT_CLUSTER_NAME;
    if (typeof name !== 'string' || name.trim() === '')
      throw new InvalidConfigError(NestMessages.badName(name));
    const token = getClusterToken(name);
    const clusterProvider: Provider = {
      provide: token,
      useFactory: (
        options: GenClusterModuleOptions,
        moduleRef: ModuleRef,
        registry: GenClusterRegistry,
      ) => {
        registry.register(name);
        return createClusterService(name, options, moduleRef);
      },
      inject: [GEN_CLUSTER_MODULE_OPTIONS, ModuleRef, GenClusterRegistry],
    };
    return {
      ...definition,
      global: extras.isGlobal ?? false,
      imports: [...(definition.imports ?? []), GenClusterCoreModule],
      providers: [...(definition.providers ?? []), clusterProvider],
      exports: [token],
    };
  }
}

/** Builds the service of one cluster: environment, then explicit options, then strategies. */
async function createClusterService(
  name: string,
  explicit: GenClusterModuleOptions,
  moduleRef: ModuleRef,
): Promise<ClusterService> {
  const env = explicit.useEnv === false ? {} : readEnvConfig();
  const options = shareHostSettings(mergeOptions(envToModuleOptions(env), explicit ?? {}), env);
  const self = options.node ? nodeKey(options.node) : defaultNodeName();
  if (options.discovery === undefined)
    return new ClusterService(name, self, undefined, undefined, false);
  const discovery = await resolveStrategy<DiscoveryStrategy>(
    'discovery',
    options.discovery,
    moduleRef,
  );
  const dist = await resolveStrategy<DistStrategy>(
    'dist',
    options.dist ?? { strategy: 'tcp' },
    moduleRef,
  );
  const cluster = new GenCluster({
    node: self,
    discovery,
    dist,
    logger: new Logger(`GenCluster:${name}`),
    refreshIntervalMs: options.refreshIntervalMs,
    removalPolicy: options.removalPolicy,
    connectConcurrency: options.connectConcurrency,
    connectTimeoutMs: options.connectTimeoutMs,
    discoveryTimeoutMs: options.discoveryTimeoutMs,
    backoff: options.backoff,
  });
  return new ClusterService(name, self, cluster, dist, options.autoStart ?? true);
}

const isBuiltInOptions = (
  value: unknown,
): value is Record<string, unknown> & { strategy: string } =>
  typeof value === 'object' &&
  value !== null &&
  Object.getPrototypeOf(value) === Object.prototype &&
  typeof (value as { strategy?: unknown }).strategy === 'string';

/**
 * Settings that discovery and the dist must agree on, whichever side they were given to: the DNS
 * resolvers (DNS discovery asks them, the TCP dist resolves peer host names with them) and the
 * port mapper's port (local discovery asks it, the TCP dist registers with it). The environment
 * fills what neither says.
 */
function shareHostSettings(
  options: GenClusterModuleOptions,
  env: EnvConfig,
): GenClusterModuleOptions {
  const discovery: unknown = options.discovery;
  const dist: unknown = options.dist ?? { strategy: 'tcp' };
  const tcp = isBuiltInOptions(dist) && dist.strategy === 'tcp' ? { ...dist } : undefined;
  let found: Record<string, unknown> | undefined;
  if (isBuiltInOptions(discovery)) {
    found = { ...discovery };
    if (found.strategy === 'dns') {
      const servers = (found.servers ?? tcp?.dnsServers ?? env.dnsServers) as
        readonly { host: string; port?: number }[] | undefined;
      if (servers) {
        found.servers = servers;
        if (tcp && tcp.dnsServers === undefined)
          tcp.dnsServers = servers.map(s => ({ host: s.host, port: s.port ?? 53 }));
      }
    }
    if (found.strategy === 'local') {
      const port = found.portMapperPort ?? tcp?.portMapperPort ?? env.portMapperPort;
      if (port !== undefined) {
        found.portMapperPort = port;
        if (tcp && tcp.portMapperPort === undefined) tcp.portMapperPort = port;
      }
    }
  }
  return {
    ...options,
    ...(found ? { discovery: found as unknown as GenClusterModuleOptions['discovery'] } : {}),
    ...(tcp ? { dist: tcp as unknown as GenClusterModuleOptions['dist'] } : {}),
  };
}

/**
 * Explicit options win over the environment field by field; built-in strategy options of the
 * same strategy merge (so `GEN_CLUSTER_PORT` still applies to an explicit `{ strategy: 'tcp', tls }`).
 */
export function mergeOptions(
  base: GenClusterModuleOptions,
  explicit: GenClusterModuleOptions,
): GenClusterModuleOptions {
  const defined = Object.fromEntries(
    Object.entries(explicit).filter(([, v]) => v !== undefined),
  ) as GenClusterModuleOptions;
  const merged: Record<string, unknown> = { ...base, ...defined };
  // An explicit discovery replaces the environment's whole (fields of another record type must
  // not leak in); the resolvers and port-mapper port are shared by shareHostSettings().
  const [b, e]: unknown[] = [base.dist, defined.dist];
  if (isBuiltInOptions(b) && isBuiltInOptions(e) && b.strategy === e.strategy) {
    const dist = { ...b, ...e };
    // the cookie and the cookie file are one setting: the explicit one wins whichever form it takes
    if (e.cookie !== undefined && e.cookieFile === undefined) delete dist.cookieFile;
    if (e.cookieFile !== undefined && e.cookie === undefined) delete dist.cookie;
    merged.dist = dist;
  }
  if (base.backoff || defined.backoff) merged.backoff = { ...base.backoff, ...defined.backoff };
  return merged as GenClusterModuleOptions;
}
