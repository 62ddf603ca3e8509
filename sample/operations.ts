import { Controller, Get, Header } from '@nestjs/common';
import { HealthCheck, type HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { register } from 'prom-client';
import { ClusterHealthIndicator } from '../src/terminus/index.js';

/**
 * Kubernetes probes: `GET /health/live` and `GET /health/ready`, 200 when up and 503 when down,
 * with terminus' JSON (`{status, info, error, details}`; the cluster's under the key `cluster`).
 * Readiness needs `GEN_CLUSTER_MIN_MEMBERS` connected peers (the indicator's default) and, with
 * `GEN_CLUSTER_FORMATION_STABLE_MS` set, a formed cluster (503 with reason `notFormed` until the
 * discovered set has stayed unchanged that long with those peers connected).
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly cluster: ClusterHealthIndicator,
  ) {}

  /** Down only when the dist stopped listening or the cluster engine stopped on its own. */
  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([() => this.cluster.isAlive('cluster')]);
  }

  /** Up when running, not shutting down, formed, with enough members and discovery answering. */
  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.cluster.isReady('cluster')]);
  }
}

/** `GET /metrics`: prom-client's global registry (the cluster's `metrics: true`) as Prometheus text. */
@Controller('metrics')
export class MetricsController {
  /** Every metric of the process, the cluster's `gen_cluster_*` among them. */
  @Get()
  @Header('Content-Type', register.contentType)
  @Header('Cache-Control', 'no-store')
  metrics(): Promise<string> {
    return register.metrics();
  }
}
