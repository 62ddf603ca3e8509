export * from './built-in-strategies.js';
export * from './cluster-options.js';
export * from './create-cluster.js';
export * from './dist-discovery.js';
export * from './env.config.js';
export * from './merge-options.js';
export * from './option-keys.js';
