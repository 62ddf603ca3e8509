import type { DnsDiscoveryOptions } from './dns.discovery.js';
import type { KubernetesDiscoveryOptions } from './kubernetes.discovery.js';
import type { LocalDiscoveryOptions } from './local.discovery.js';
import type { StaticDiscoveryOptions } from './static.discovery.js';

export * from './dns.discovery.js';
export * from './kubernetes.discovery.js';
export * from './local.discovery.js';
export * from './static.discovery.js';

/** Options of the built-in discovery strategies, by `strategy` name. */
export type BuiltInDiscoveryOptions =
  StaticDiscoveryOptions | DnsDiscoveryOptions | LocalDiscoveryOptions | KubernetesDiscoveryOptions;
