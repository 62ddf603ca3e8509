/**
 * A dist that finds its peers itself (`DistStrategy.discovery()`, the NATS dist hearing their
 * presence) is its own discovery when none is configured: `GEN_CLUSTER_DIST=nats://...` alone
 * starts a cluster. `createCluster()` and the Nest module both decide it here.
 */
import { type DiscoveryStrategy, type DistStrategy, InvalidConfigError } from '../core/index.js';
import { isBuiltInOptions, isStrategy } from './built-in-strategies.js';
import { ConfigMessages } from './config.messages.js';

/** The built-in dists that offer `discovery()`. */
const DISCOVERING_DISTS: ReadonlySet<string> = new Set(['nats']);

/**
 * Whether the dist `option` will offer a discovery of its own, known before it is built: a
 * built-in dist that does (`{ strategy: 'nats', ... }`), an instance with `discovery()`, or a class
 * whose instances have it (Nest's class form). A provider token cannot be told: `false`.
 */
export function distFindsPeers(option: unknown): boolean {
  if (isBuiltInOptions(option)) return DISCOVERING_DISTS.has(option.strategy);
  if (typeof option === 'function')
    return (
      typeof (option as { prototype?: { discovery?: unknown } }).prototype?.discovery === 'function'
    );
  return (
    typeof option === 'object' &&
    option !== null &&
    typeof (option as { discovery?: unknown }).discovery === 'function'
  );
}

/**
 * The discovery of a dist that finds its peers itself (its `discovery()`, called once, before
 * `init`). Throws {@link InvalidConfigError} for a dist without one (no discovery is configured,
 * then) or one that returns no discovery strategy.
 */
export function distDiscovery(dist: DistStrategy): DiscoveryStrategy {
  if (typeof dist.discovery !== 'function')
    throw new InvalidConfigError(ConfigMessages.noDiscovery(), { option: 'discovery' });
  const found: unknown = dist.discovery();
  if (!isStrategy('discovery', found))
    throw new InvalidConfigError(ConfigMessages.distDiscoveryNotAStrategy(dist.name, found), {
      option: 'dist',
    });
  return found;
}
