export * from './static.discovery.js';
