/**
 * The `./terminus` entry: cluster readiness and liveness as a `@nestjs/terminus` health indicator
 * (needs `@nestjs/terminus`, an optional peer that only this entry imports).
 */
export {
  type ClusterHealthDetails,
  ClusterHealthIndicator,
  type ClusterHealthOptions,
} from './cluster-health.indicator.js';
export { ClusterHealthModule } from './cluster-health.module.js';
