import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import {
  type ClusterState,
  type HealthDownReason,
  InvalidConfigError,
  type ReadinessOptions,
} from '../core/index.js';
import {
  type ClusterHealth,
  ClusterService,
  DEFAULT_CLUSTER_NAME,
  getClusterToken,
} from '../nest/index.js';
import { TerminusMessages } from './terminus.messages.js';

/**
 * Options of one cluster health check. `minMembers` defaults to `GEN_CLUSTER_MIN_MEMBERS`, else 0.
 * @publicApi
 */
export interface ClusterHealthOptions extends ReadinessOptions {
  /** The cluster to check, by its `name` (the default cluster when unset). */
  readonly cluster?: string;
}

/**
 * What a cluster health check reports beside its status (terminus' `info`/`error` entry).
 * @publicApi
 */
export interface ClusterHealthDetails {
  /** Connected peers, this node not counted. */
  readonly members: number;
  /** The peers readiness needs. */
  readonly minMembers: number;
  /** Nodes in the last good discovery answer, this node not counted. */
  readonly discovered: number;
  readonly state: ClusterState;
  /** Whether the cluster has formed; present only when the `formation` option is set. */
  readonly formed?: boolean;
  /** Why the check is down (`notFormed` while a configured formation gate waits). */
  readonly reason?: HealthDownReason;
  /** The same, for people. */
  readonly message?: string;
}

/**
 * Cluster readiness and liveness for `@nestjs/terminus`' `HealthCheckService`:
 * `health.check([() => cluster.isReady()])`. Import {@link ClusterHealthModule} to get it.
 * @publicApi
 */
@Injectable()
export class ClusterHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * Up when the cluster is running (or paused) and not shutting down, formed (when the `formation`
   * option is set), with at least `minMembers` peers, and discovery succeeded last or has failed
   * for less than `discoveryGraceMs`.
   */
  async isReady<const Key extends string = 'cluster'>(
    key: Key = 'cluster' as Key,
    options: ClusterHealthOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const { cluster, ...readiness } = options;
    const health = this.service(cluster).health(readiness);
    return this.result(key, health, health.ready);
  }

  /**
   * Down only when the dist stopped listening or the cluster engine stopped while the
   * application is not shutting down; never because of an event-loop stall or a GC pause.
   */
  async isAlive<const Key extends string = 'cluster'>(
    key: Key = 'cluster' as Key,
    options: Pick<ClusterHealthOptions, 'cluster'> = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const health = this.service(options.cluster).health();
    return this.result(key, health, health.live);
  }

  private result<Key extends string>(
    key: Key,
    health: ClusterHealth,
    verdict: ClusterHealth['ready'],
  ): HealthIndicatorResult<Key> {
    const details: ClusterHealthDetails = {
      members: health.snapshot.members,
      minMembers: health.minMembers,
      discovered: health.snapshot.discovered,
      state: health.snapshot.state,
      ...(health.snapshot.formed === undefined ? {} : { formed: health.snapshot.formed }),
      ...(verdict.reason === undefined ? {} : { reason: verdict.reason }),
      ...(verdict.message === undefined ? {} : { message: verdict.message }),
    };
    const session = this.indicators.check(key);
    return verdict.up ? session.up({ ...details }) : session.down({ ...details });
  }

  private service(cluster: string = DEFAULT_CLUSTER_NAME): ClusterService {
    try {
      return this.moduleRef.get<ClusterService>(getClusterToken(cluster), { strict: false });
    } catch (error) {
      throw new InvalidConfigError(TerminusMessages.unknownCluster(cluster), {
        option: 'cluster',
        cause: error,
      });
    }
  }
}
