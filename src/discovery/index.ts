export * from './static.discovery.js';
import type { StaticDiscoveryOptions } from './static.discovery.js';

/** Options of the built-in discovery strategies, by `strategy` name. */
export type BuiltInDiscoveryOptions = StaticDiscoveryOptions;
