import type { InjectionToken, Type } from '@nestjs/common';
import type { ModuleRef } from '@nestjs/core';
import { createDiscovery, createDist, isStrategy } from '../config/index.js';
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
  if (typeof option !== 'object' || option === null)
    throw new InvalidConfigError(NestMessages.badStrategy(kind, option), { option: kind });
  return kind === 'discovery'
    ? createDiscovery(option as Parameters<typeof createDiscovery>[0])
    : createDist(option as Parameters<typeof createDist>[0]);
}
