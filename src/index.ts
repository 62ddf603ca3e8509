export * from './core/index.js';
export * from './discovery/index.js';
export * from './dist/index.js';
export * from './nest/index.js';
