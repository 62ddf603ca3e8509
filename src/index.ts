export * from './core/index.js';
export * from './discovery/index.js';
