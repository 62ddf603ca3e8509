import {
  type ClusterLogger,
  GenCluster,
  type GenClusterOptions,
  InvalidConfigError,
  createClusterLogger,
} from '../core/index.js';
import { createDiscovery, createDist } from './built-in-strategies.js';
import { distDiscovery, distFindsPeers } from './dist-discovery.js';
import type { ClusterOptions } from './cluster-options.js';
import { ConfigMessages } from './config.messages.js';
import { checkOptionKeys } from './option-keys.js';
import { type LayeredOptions, resolveClusterOptions } from './merge-options.js';

/** What {@link createCluster} takes beside the cluster options. */
export interface CreateClusterOptions extends ClusterOptions {
  /**
   * Where the cluster's text lines go (filtered by `logLevel`); the console when unset. With
   * `logFormat: 'json'`, lines go to stdout instead.
   */
  readonly logger?: ClusterLogger;
  /** The environment to read instead of `process.env` (tests). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Builds a {@link GenCluster} from options as `GenClusterModule.forRoot()` takes them, without
 * Nest: built-in strategies by name (`{ strategy: 'dns', domain: 'svc.ns' }`), the
 * `GEN_CLUSTER_*` environment underneath (unless `useEnv: false`). Call `start()` on the result.
 *
 * @example
 * const cluster = createCluster({ discovery: { strategy: 'static', nodes: ['a@10.0.0.1'] } });
 * await cluster.start();
 * cluster.membership$.subscribe(m => console.log(m.members));
 *
 * With no discovery configured, a dist that finds its peers itself is its own discovery
 * (`GEN_CLUSTER_DIST=nats://10.0.0.1:4222` alone starts a cluster).
 *
 * @throws InvalidConfigError when no discovery is configured (and the dist finds no peers
 * itself), or an option or variable is bad.
 */
export function createCluster(options: CreateClusterOptions = {}): GenCluster {
  checkOptionKeys('createCluster()', options, ['logger', 'env']);
  const { logger, env, ...clusterOptions } = options;
  const { options: resolved, self } = resolveClusterOptions(clusterOptions, env);
  if (resolved.discovery === undefined && !distFindsPeers(resolved.dist)) {
    throw new InvalidConfigError(ConfigMessages.noDiscovery(), { option: 'discovery' });
  }
  const configured =
    resolved.discovery === undefined ? undefined : createDiscovery(resolved.discovery);
  const dist = createDist(resolved.dist ?? { strategy: 'tcp' });
  return new GenCluster({
    ...schedulerOptions(resolved),
    node: self,
    // with no discovery configured, a dist that finds its peers itself (NATS) is its own
    discovery: configured ?? distDiscovery(dist),
    dist,
    logger: createClusterLogger({
      level: resolved.logLevel,
      format: resolved.logFormat,
      context: `GenCluster:${self}`,
      sink: logger,
    }),
  });
}

/**
 * The engine's fields of the options (scheduler tunables and the quorum rule), ready for the
 * `GenCluster` constructor.
 */
export function schedulerOptions(
  options: LayeredOptions,
): Omit<GenClusterOptions, 'node' | 'discovery' | 'dist' | 'logger'> {
  return {
    refreshIntervalMs: options.refreshIntervalMs,
    removalPolicy: options.removalPolicy,
    connectConcurrency: options.connectConcurrency,
    connectTimeoutMs: options.connectTimeoutMs,
    discoveryTimeoutMs: options.discoveryTimeoutMs,
    backoff: options.backoff,
    quorum: options.quorum,
    formation: options.formation,
  };
}
