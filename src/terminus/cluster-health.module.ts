import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ClusterHealthIndicator } from './cluster-health.indicator.js';

/**
 * Health checks of the cluster for `@nestjs/terminus`: imports `TerminusModule` and provides
 * {@link ClusterHealthIndicator}, exporting both (so `HealthCheckService` is injectable too).
 * @publicApi
 */
@Module({
  imports: [TerminusModule],
  providers: [ClusterHealthIndicator],
  exports: [ClusterHealthIndicator, TerminusModule],
})
export class ClusterHealthModule {}
