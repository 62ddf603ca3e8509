import type { InjectionToken, Type } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import {
  type DiscoveryShortForm,
  createDiscovery,
  createDist,
  isDiscoveryShortForm,
  isStrategy,
} from '../config/index.js';
import { type DiscoveryStrategy, type DistStrategy, InvalidConfigError } from '../core/index.js';
import { NestMessages } from './gen-cluster.messages.js';

const isClass = (value: unknown): value is Type<unknown> => typeof value === 'function';

/**
 * Turns a strategy option into a strategy instance. Nest adds two forms to the framework-free
 * ones (built-in options, an instance): a provider token, and a class, taken from the providers
 * when registered there and otherwise instantiated with dependency injection.
 */
export async function resolveStrategy(
  kind: 'discovery',
  option: unknown,
  moduleRef: ModuleRef,
): Promise<DiscoveryStrategy>;
export async function resolveStrategy(
  kind: 'dist',
  option: unknown,
  moduleRef: ModuleRef,
): Promise<DistStrategy>;
export async function resolveStrategy(
  kind: 'discovery' | 'dist',
  option: unknown,
  moduleRef: ModuleRef,
): Promise<DiscoveryStrategy | DistStrategy> {
  const check = (value: unknown): DiscoveryStrategy | DistStrategy => {
    if (kind === 'discovery' ? isStrategy('discovery', value) : isStrategy('dist', value))
      return value as DiscoveryStrategy | DistStrategy;
    throw new InvalidConfigError(NestMessages.badStrategy(kind, value), { option: kind });
  };
  // A discovery written as in GEN_CLUSTER_DISCOVERY (`'local'`, `'dns:svc.ns'`) is taken as such;
  // any other string or symbol is a provider token.
  if (kind === 'discovery' && typeof option === 'string' && isDiscoveryShortForm(option)) {
    return createDiscovery(option as DiscoveryShortForm);
  }
  if (typeof option === 'string' || typeof option === 'symbol') {
    let provided: unknown;
    try {
      provided = moduleRef.get(option as InjectionToken, { strict: false });
    } catch (cause) {
      throw new InvalidConfigError(NestMessages.noSuchProvider(kind, option), {
        option: kind,
        cause,
      });
    }
    return check(provided);
  }
  if (isClass(option)) {
    try {
      return check(moduleRef.get(option, { strict: false }));
    } catch (error) {
      if (error instanceof InvalidConfigError) throw error;
      return check(await moduleRef.create(option));
    }
  }
  if (typeof option !== 'object' || option === null)
    throw new InvalidConfigError(NestMessages.badStrategy(kind, option), { option: kind });
  return kind === 'discovery'
    ? createDiscovery(option as Parameters<typeof createDiscovery>[0])
    : createDist(option as Parameters<typeof createDist>[0]);
}
