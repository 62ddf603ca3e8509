/**
 * Test helpers, the package's `./testing` entry: run several nodes of an application in one Jest
 * process (`GenClusterTestingModule`, `InMemoryNetwork`), or script a cluster's edge cases
 * (`TestDiscovery`, `TestDist`).
 */
export {
  GenClusterTestingModule,
  type GenClusterTestingOptions,
} from './gen-cluster-testing.module.js';
export { InMemoryDist, type InMemoryDistOptions, InMemoryNetwork } from './in-memory-network.js';
export { TestDiscovery, TestDist } from './test-strategies.js';
