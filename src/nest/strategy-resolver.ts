import type { InjectionToken, Type } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { InvalidConfigError } from '../core/errors.js';
import type { DiscoveryStrategy, DistStrategy } from '../core/strategy.js';
import { DnsDiscovery, type DnsDiscoveryOptions } from '../discovery/dns.discovery.js';
import {
  KubernetesDiscovery,
  type KubernetesDiscoveryOptions,
} from '../discovery/kubernetes.discovery.js';
import { LocalDiscovery, type LocalDiscoveryOptions } from '../discovery/local.discovery.js';
import { StaticDiscovery } from '../discovery/static.discovery.js';
import { TcpDist, type TcpDistOptions } from '../distribution/tcp/tcp.dist.js';
import { NestMessages } from './gen-cluster.messages.js';

type Factory<T> = (options: Readonly<Record<string, unknown>>) => T;

/** Built-in discovery strategies by name. */
export const BUILT_IN_DISCOVERY: Readonly<Record<string, Factory<DiscoveryStrategy>>> = {
  static: options => new StaticDiscovery(options as { nodes: string[] }),
  dns: options => new DnsDiscovery(options as unknown as DnsDiscoveryOptions),
  local: options => new LocalDiscovery(options as unknown as LocalDiscoveryOptions),
  kubernetes: options => new KubernetesDiscovery(options as unknown as KubernetesDiscoveryOptions),
};

/** Built-in dists by name. */
export const BUILT_IN_DIST: Readonly<Record<string, Factory<DistStrategy>>> = {
  tcp: options => new TcpDist(options as TcpDistOptions),
};

const isClass = (value: unknown): value is Type<unknown> => typeof value === 'function';
const hasMethods = (value: object, methods: readonly string[]) =>
  methods.every(m => typeof (value as Record<string, unknown>)[m] === 'function');

/** Turns a strategy option into a strategy instance. */
export async function resolveStrategy<T extends object>(
  kind: 'discovery' | 'dist',
  option: unknown,
  moduleRef: ModuleRef,
): Promise<T> {
  const builtIns = (kind === 'discovery' ? BUILT_IN_DISCOVERY : BUILT_IN_DIST) as Record<
    string,
    Factory<T>
  >;
  const methods =
    kind === 'discovery' ? ['peers'] : ['init', 'members', 'connect', 'disconnect', 'close'];
  const check = (value: unknown): T => {
    if (typeof value === 'object' && value !== null && hasMethods(value, methods))
      return value as T;
    throw new InvalidConfigError(NestMessages.badStrategy(kind, value));
  };
  if (typeof option === 'string' || typeof option === 'symbol') {
    return check(moduleRef.get(option as InjectionToken, { strict: false }));
  }
  if (isClass(option)) {
    try {
      return check(moduleRef.get(option, { strict: false }));
    } catch (error) {
      if (error instanceof InvalidConfigError) throw error;
      return check(await moduleRef.create(option));
    }
  }
  if (typeof option === 'object' && option !== null) {
    if (hasMethods(option, methods)) return option as T;
    const strategy = (option as { strategy?: unknown }).strategy;
    if (typeof strategy === 'string') {
      const factory = Object.hasOwn(builtIns, strategy) ? builtIns[strategy] : undefined;
      if (!factory)
        throw new InvalidConfigError(
          NestMessages.unknownStrategy(kind, strategy, Object.keys(builtIns)),
        );
      return factory(option as Record<string, unknown>);
    }
  }
  throw new InvalidConfigError(NestMessages.badStrategy(kind, option));
}
