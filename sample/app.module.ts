import {
  Body,
  Controller,
  Get,
  Module,
  Param,
  Post,
  Query,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import {
  ClusterService,
  GenClusterModule,
  NodeDownError,
  RequestTimeoutError,
} from '../src/index.js';
import { ClusterHealthModule } from '../src/terminus/index.js';
import { ClusterUiController } from './cluster-ui/cluster-ui.controller.js';
import type { Greeting } from './greeting.dto.js';
import { MembershipLog, type MembershipChange } from './membership-log.js';
import { GroupReceipts, GroupsController } from './groups.js';
import { LeaderController } from './leadership.js';
import { Announce, Greet, type ReceivedAnnouncement, SampleMessaging } from './messaging.js';
import { HealthController, MetricsController } from './operations.js';
import { SampleServices, ServicesController } from './services.js';
import { SampleHeartbeat, SampleTicks } from './singleton.js';

export type { GroupAnswer, GroupReceipt } from './groups.js';
export type { LeaderAnswer } from './leadership.js';
export { MembershipLog, type MembershipChange } from './membership-log.js';
export {
  type CallAnswer,
  SAMPLE_SERVES,
  SampleServices,
  type ServedAnswer,
  type ServersAnswer,
} from './services.js';

/** Serves what this node sees of the cluster. */
@Controller('cluster')
export class ClusterController {
  constructor(
    private readonly cluster: ClusterService,
    private readonly log: MembershipLog,
    private readonly messaging: SampleMessaging,
  ) {}

  /**
   * `{"self":"name@host","members":[...],"namespace":"..."}`; members exclude self, like Erlang's
   * `nodes()`; `namespace` is the cluster namespace of the dist (the TCP mesh and the NATS dist
   * both say it; absent with no cluster).
   */
  @Get()
  view(): { self: string; members: string[]; namespace?: string } {
    const dist = this.cluster.engine?.strategies.dist;
    const named = dist && 'namespace' in dist ? dist.namespace : undefined;
    const namespace = typeof named === 'string' ? named : undefined;
    return { self: this.cluster.self, members: this.cluster.nodes(), namespace };
  }

  /** The nodes the last good discovery answer named (connected or not). */
  @Get('discovered')
  discovered(): string[] {
    return this.cluster.discovered();
  }

  /** The last 100 membership changes seen by this node. */
  @Get('events')
  events(): readonly MembershipChange[] {
    return this.log.changes;
  }

  /**
   * Asks `node` to greet `name` (`sample.greet`). An error of the remote handler keeps its HTTP
   * status: a name `ValidationPipe` refuses there gives a 400 here, with its messages. A node that
   * is not connected, or does not answer in time, gives a 503.
   */
  @Get('greet/:node')
  async greet(@Param('node') node: string, @Query('name') name: string): Promise<Greeting> {
    try {
      return await this.cluster.request(node, Greet, { name }, { timeoutMs: 2_000 });
    } catch (error) {
      if (error instanceof NodeDownError || error instanceof RequestTimeoutError)
        throw new ServiceUnavailableException(error.message);
      throw error;
    }
  }

  /** Broadcasts `{"text":...}` to every other node's `sample.announce` subscriber. */
  @Post('announce')
  announce(@Body() body: { text?: unknown }): { sent: number } {
    return { sent: this.cluster.broadcast(Announce, { text: String(body?.text ?? '') }) };
  }

  /** The last 20 announcements other nodes broadcast to this one. */
  @Get('announcements')
  announcements(): readonly ReceivedAnnouncement[] {
    return this.messaging.announcements;
  }
}

/**
 * The sample app: one cluster, configured from the `GEN_CLUSTER_*` environment, serving the
 * topics of `SAMPLE_SERVES`, with health probes, Prometheus metrics (`metrics: true`: prom-client's
 * global registry), the live page, a singleton and a scheduled job that run on the leader only,
 * and process groups. It exports {@link SampleServices} for apps built on it (the
 * e2e fixture withdraws a topic through it).
 */
@Module({
  imports: [
    GenClusterModule.forRoot({ metrics: true }),
    ClusterHealthModule,
    ScheduleModule.forRoot(),
  ],
  controllers: [
    ClusterController,
    ServicesController,
    HealthController,
    MetricsController,
    ClusterUiController,
    LeaderController,
    GroupsController,
  ],
  providers: [
    MembershipLog,
    SampleMessaging,
    SampleServices,
    SampleHeartbeat,
    SampleTicks,
    GroupReceipts,
  ],
  exports: [SampleServices],
})
export class AppModule {}
