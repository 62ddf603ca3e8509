import {
  type DiscoveryStrategy,
  type DistStrategy,
  InvalidConfigError,
  isPlainObject,
} from '../core/index.js';
import {
  AggregateDiscovery,
  type AggregateDiscoveryOptions,
  DnsDiscovery,
  type DnsDiscoveryOptions,
  type EtcdDiscoveryOptions,
  GossipDiscovery,
  type GossipDiscoveryOptions,
  HostsFileDiscovery,
  type HostsFileDiscoveryOptions,
  KubernetesDiscovery,
  type KubernetesDiscoveryOptions,
  LocalDiscovery,
  type LocalDiscoveryOptions,
  StaticDiscovery,
  type StaticDiscoveryOptions,
  aggregateChildren,
  checkAggregateDepth,
  createEtcdDiscovery,
} from '../discovery/index.js';
import { TcpDist, type TcpDistOptions } from '../distribution/index.js';
import {
  NatsDiscovery,
  type NatsDiscoveryOptions,
  NatsDist,
  type NatsDistOptions,
} from '../nats/index.js';
import type {
  BuiltInDiscoveryOptions,
  BuiltInDistOptions,
  DiscoveryShortForm,
} from './cluster-options.js';
import { ConfigMessages } from './config.messages.js';
import { notAShortFormError } from './discovery-short-form.js';
import { isDiscoveryShortForm, parseDiscoveryEnv } from './env.config.js';

/**
 * Builds a strategy from its options. `depth` is how many aggregates enclose it (0 at the top),
 * for the aggregate's own children.
 */
type Factory<T> = (options: Readonly<Record<string, unknown>>, depth: number) => T;

/** Built-in discovery strategies by the name their options carry in `strategy`. */
const DISCOVERY: Readonly<Record<string, Factory<DiscoveryStrategy>>> = {
  static: options => new StaticDiscovery(options as unknown as StaticDiscoveryOptions),
  dns: options => new DnsDiscovery(options as unknown as DnsDiscoveryOptions),
  local: options => new LocalDiscovery(options as unknown as LocalDiscoveryOptions),
  kubernetes: options => new KubernetesDiscovery(options as unknown as KubernetesDiscoveryOptions),
  gossip: options => new GossipDiscovery(options as unknown as GossipDiscoveryOptions),
  hosts: options => new HostsFileDiscovery(options as unknown as HostsFileDiscoveryOptions),
  // checked now, its implementation loaded at init: apps without etcd never load it
  etcd: options => createEtcdDiscovery(options as unknown as EtcdDiscoveryOptions),
  // members found through NATS, connected by the TCP mesh; the client loads at init
  nats: options => new NatsDiscovery(options as unknown as NatsDiscoveryOptions),
  aggregate: (options, depth) => {
    checkAggregateDepth(depth + 1);
    const children = aggregateChildren(options).map(child =>
      discoveryAt(child as BuiltInDiscoveryOptions, depth + 1),
    );
    return new AggregateDiscovery(children, options as unknown as AggregateDiscoveryOptions);
  },
};

/** Built-in dists by name. */
const DIST: Readonly<Record<string, Factory<DistStrategy>>> = {
  tcp: options => new TcpDist(options as TcpDistOptions),
  // the client (@nats-io/transport-node, an optional peer) loads at init
  nats: options => new NatsDist(options as unknown as NatsDistOptions),
};

/** The names of the built-in strategies of each kind. */
export const BUILT_IN_STRATEGY_NAMES = {
  discovery: Object.keys(DISCOVERY),
  dist: Object.keys(DIST),
} as const;

const METHODS = {
  discovery: ['peers'],
  dist: ['init', 'members', 'connect', 'disconnect', 'close'],
} as const;

/** Whether `value` implements the methods a strategy of `kind` must have. */
export function isStrategy(kind: 'discovery', value: unknown): value is DiscoveryStrategy;
export function isStrategy(kind: 'dist', value: unknown): value is DistStrategy;
export function isStrategy(kind: 'discovery' | 'dist', value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    METHODS[kind].every(m => typeof (value as Record<string, unknown>)[m] === 'function')
  );
}

/** Whether `value` is a plain options object naming a strategy (`{ strategy: 'dns', ... }`). */
export function isBuiltInOptions(
  value: unknown,
): value is Record<string, unknown> & { strategy: string } {
  return isPlainObject(value) && typeof value.strategy === 'string';
}

/**
 * Turns a discovery option (built-in options, a short form or an instance) into a strategy; an
 * aggregate's children are built the same way, recursively. Throws {@link InvalidConfigError}
 * for an unknown name or a value that is none of these.
 */
export function createDiscovery(
  option: BuiltInDiscoveryOptions | DiscoveryShortForm | DiscoveryStrategy,
): DiscoveryStrategy {
  return discoveryAt(option, 0);
}

function discoveryAt(
  option: BuiltInDiscoveryOptions | DiscoveryShortForm | DiscoveryStrategy,
  depth: number,
): DiscoveryStrategy {
  if (typeof option === 'string') {
    if (!isDiscoveryShortForm(option)) throw notAShortFormError(option, 'discovery');
    return create('discovery', parseDiscoveryEnv(option, 'discovery'), DISCOVERY, depth);
  }
  return create('discovery', option, DISCOVERY, depth);
}

/** Turns a dist option (built-in options or an instance) into a dist; see {@link createDiscovery}. */
export function createDist(option: BuiltInDistOptions | DistStrategy): DistStrategy {
  return create('dist', option, DIST, 0);
}

function create<T>(
  kind: 'discovery' | 'dist',
  option: unknown,
  factories: Readonly<Record<string, Factory<T>>>,
  depth: number,
): T {
  if (kind === 'discovery' ? isStrategy('discovery', option) : isStrategy('dist', option))
    return option as T;
  if (isBuiltInOptions(option)) {
    const factory = Object.hasOwn(factories, option.strategy)
      ? factories[option.strategy]
      : undefined;
    if (!factory) {
      throw new InvalidConfigError(
        ConfigMessages.unknownStrategy(kind, option.strategy, Object.keys(factories)),
        { option: kind },
      );
    }
    return factory(option, depth);
  }
  throw new InvalidConfigError(ConfigMessages.badStrategy(kind, option), { option: kind });
}
